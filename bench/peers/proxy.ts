/**
 * Bench peer: a plain keep-alive HTTP reverse proxy in front of the upstream, with nothing else (no parsing, no
 * auth, no logging). It is the ceiling for any facade: what one extra Node hop costs.
 *
 *   BENCH_UPSTREAM=http://127.0.0.1:43567 PORT=4001 node <compiled proxy>
 *
 * `bench/run.ts` compiles it to plain JavaScript and runs it in its own process. Self-contained: imports
 * nothing from the project.
 */
import { Agent, createServer, type IncomingHttpHeaders, request } from 'node:http';
import { pipeline } from 'node:stream';

/** Hop-by-hop headers (RFC 9110 §7.6.1): they describe one connection and are not forwarded. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
]);

function forwardable(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const out: IncomingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!HOP_BY_HOP.has(name)) {
      out[name] = value;
    }
  }
  return out;
}

const upstream = new URL(process.env.BENCH_UPSTREAM ?? 'http://127.0.0.1:8080');
const port = Number(process.env.PORT ?? 4001);
const agent = new Agent({ keepAlive: true, maxSockets: 256 });

/** Methods that may be resent when a reused keep-alive socket turns out to be closed (RFC 9110 §9.2.2). */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS']);

const server = createServer((req, res) => {
  const length = req.headers['content-length'];
  const hasBody = (length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined;
  // A request without a body can be sent again; one with a body is streamed once.
  const resendable = !hasBody && IDEMPOTENT.has(req.method ?? '');
  const forward = (retried: boolean) => {
    const proxied = request(
      {
        protocol: upstream.protocol,
        hostname: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: { ...forwardable(req.headers), host: upstream.host },
        agent,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, forwardable(answer.headers));
        // pipeline, not pipe: a client gone mid-answer destroys the upstream response, which frees its socket.
        pipeline(answer, res, () => undefined);
      },
    );
    // A client gone before the answer aborts the upstream request (else its socket would stay taken).
    res.once('close', () => {
      if (!res.writableFinished) {
        proxied.destroy();
      }
    });
    proxied.on('error', (error: NodeJS.ErrnoException) => {
      // The upstream may close an idle keep-alive socket just as it is reused: Node's documented retry.
      if (!retried && resendable && proxied.reusedSocket && error.code === 'ECONNRESET') {
        forward(true);
        return;
      }
      if (!res.headersSent) {
        res.writeHead(502, { 'content-type': 'text/plain' });
      }
      res.end(`bad gateway: ${error.code ?? 'error'}`);
    });
    if (hasBody) {
      req.pipe(proxied);
    } else {
      proxied.end();
    }
  };
  if (!hasBody) {
    req.resume();
  }
  forward(false);
});
server.keepAliveTimeout = 65_000;
server.listen(port, '127.0.0.1');

const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
