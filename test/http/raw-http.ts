import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** The body bytes as received: not decompressed. */
  body: Buffer;
  text: string;
}

/**
 * One request through node:http rather than fetch, which refuses TRACE, hides HEAD bodies and decodes gzip: what
 * the server sends is what this returns.
 */
export function send(
  baseUrl: string,
  method: string,
  path: string,
  options: { headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    // node:http frames a body itself only for methods that usually carry one: a DELETE body would go unframed.
    const headers = {
      ...(options.body === undefined ? {} : { 'content-length': String(Buffer.byteLength(options.body)) }),
      ...options.headers,
    };
    const req = httpRequest(`${baseUrl}${path}`, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text: body.toString('utf8') });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

export interface StalledAnswer {
  /** The status line the server sent before closing, or '' when it closed without one. */
  statusLine: string;
  /** Everything the server sent (latin1). */
  text: string;
  /** From the last byte sent to the socket's close. */
  elapsedMs: number;
}

/** Writes `head` (raw HTTP text) on a fresh connection, then nothing more, and waits for the server to close it. */
export function sendAndStall(baseUrl: string, head: string): Promise<StalledAnswer> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    let received = '';
    let sentAt = 0;
    const socket = connect(Number(port), hostname, () => {
      socket.write(head, () => {
        sentAt = performance.now();
      });
    });
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      received += chunk;
    });
    // A server that answers and closes before reading all of `head` resets the connection: still an answer.
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'ECONNRESET' && error.code !== 'EPIPE') {
        reject(error);
      }
    });
    socket.on('close', () =>
      resolve({
        statusLine: received.split('\r\n')[0] ?? '',
        text: received,
        elapsedMs: performance.now() - sentAt,
      }),
    );
  });
}

/**
 * Writes `head` on a fresh connection and closes it abruptly, as a client giving up mid-request does; `reset`
 * sends a TCP RST instead of a FIN (the server sees ECONNRESET).
 */
export async function sendAndHangUp(baseUrl: string, head: string, reset = false): Promise<void> {
  const { hostname, port } = new URL(baseUrl);
  await new Promise<void>((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => {
      socket.write(head, () => {
        // Long enough for the server to have read the headers and started on the body.
        setTimeout(() => {
          if (reset) {
            socket.resetAndDestroy();
          } else {
            socket.destroy();
          }
          resolve();
        }, 100);
      });
    });
    socket.on('error', reject);
  });
}
