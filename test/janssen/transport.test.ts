import http from 'node:http';
import https from 'node:https';
import net, { type AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

import { afterAll, afterEach, describe, expect, it } from 'vitest';

import { JanssenApiError } from '../../src/janssen/errors.js';
import { toJanssenError } from '../../src/janssen/http-client.js';
import {
  Transport,
  type TransportOptions,
  UpstreamNetworkError,
  UpstreamParseError,
  UpstreamStatusError,
  UpstreamTimeoutError,
} from '../../src/janssen/transport.js';

/** The path `JanssenClient` puts under the config API base. */
const RESOURCE = '/jans-config-api/api/v1/jans-auth-server/';

interface Upstream {
  server: http.Server;
  port: number;
  /** `http://127.0.0.1:<port>/jans-config-api/api/v1/jans-auth-server/` */
  prefixUrl: string;
  /** Requests received, in order. */
  requests: http.IncomingMessage[];
  /** TCP connections accepted. */
  connections: () => number;
}

const servers: http.Server[] = [];
const agents: http.Agent[] = [];
const httpsAgent = new https.Agent();

/** A real HTTP server on an ephemeral loopback port, closed after the test. */
async function serve(handler: http.RequestListener): Promise<Upstream> {
  const requests: http.IncomingMessage[] = [];
  let connections = 0;
  const server = http.createServer((req, res) => {
    requests.push(req);
    handler(req, res);
  });
  server.on('connection', () => {
    connections += 1;
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    server,
    port,
    prefixUrl: `http://127.0.0.1:${port}${RESOURCE}`,
    requests,
    connections: () => connections,
  };
}

function agent(options: http.AgentOptions = {}): http.Agent {
  const created = new http.Agent(options);
  agents.push(created);
  return created;
}

function transport(prefixUrl: string, options: Partial<TransportOptions> = {}): Transport {
  return new Transport({
    prefixUrl,
    agents: { http: options.agents?.http ?? agent(), https: httpsAgent },
    headers: { accept: 'application/json' },
    connectTimeoutMs: 1000,
    ...options,
  });
}

/** A signal that never aborts. */
const noBudget = () => new AbortController().signal;

const get = (path: string, signal: AbortSignal = noBudget()) => ({ method: 'GET' as const, path, signal });

async function rejection<T extends Error>(
  promise: Promise<unknown>,
  type: new (...args: never[]) => T,
): Promise<T> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(type);
    return error as T;
  }
  throw new Error(`expected ${type.name}`);
}

/** `promise`, or a failure after `ms` (so a socket that never closes fails the test quickly). */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  const late = sleep(ms, undefined, { ref: false }).then(() => {
    throw new Error(`${what}: not within ${ms} ms`);
  });
  return Promise.race([promise, late]);
}

function json(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

afterEach(async () => {
  for (const created of agents.splice(0)) {
    created.destroy();
  }
  await Promise.all(
    servers.splice(0).map(
      (server) =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    ),
  );
});

afterAll(() => {
  httpsAgent.destroy();
});

describe('Transport: 2xx answers', () => {
  it('parses a 200 JSON body and returns the status', async () => {
    const upstream = await serve((_req, res) =>
      json(res, 200, { entries: [{ sid: 's1' }], totalEntriesCount: 1 }),
    );
    const response = await transport(upstream.prefixUrl).request(get('session/search'));
    expect(response).toEqual({ status: 200, body: { entries: [{ sid: 's1' }], totalEntriesCount: 1 } });
  });

  it("returns '' for a 200 with an empty body (Janssen's answer for an unknown sid)", async () => {
    const upstream = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': 0 });
      res.end();
    });
    const response = await transport(upstream.prefixUrl).request(get('session/unknown'));
    expect(response).toEqual({ status: 200, body: '' });
  });

  it('parses a chunked body written in pieces, with a multi-byte character split between two', async () => {
    const body = { name: 'Jürgen ✓', entries: Array.from({ length: 50 }, (_, i) => ({ sid: `sid-${i}` })) };
    const bytes = Buffer.from(JSON.stringify(body));
    const inCheck = bytes.indexOf(Buffer.from('✓')) + 1;
    const upstream = await serve(async (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      for (const piece of [bytes.subarray(0, inCheck), bytes.subarray(inCheck, inCheck + 100)]) {
        res.write(piece);
        await sleep(15);
      }
      res.end(bytes.subarray(inCheck + 100));
    });
    const response = await transport(upstream.prefixUrl).request(get('session/search'));
    expect(response).toEqual({ status: 200, body });
    expect(upstream.requests[0]?.headers['content-length']).toBeUndefined();
  });
});

describe('Transport: other answers are errors', () => {
  it('a 401 in plain text is UpstreamStatusError with the status and the text', async () => {
    const text = 'oAuth authorization error Insufficient scopes! , Required scope: [a, b]';
    const upstream = await serve((_req, res) => {
      res.writeHead(401, { 'content-type': 'text/plain' });
      res.end(text);
    });
    const error = await rejection(
      transport(upstream.prefixUrl).request(get('session/search')),
      UpstreamStatusError,
    );
    expect(error.status).toBe(401);
    expect(error.text).toBe(text);
  });

  it('a 500 HTML page is UpstreamStatusError carrying the page', async () => {
    const page = '<html><body><h2>HTTP ERROR 500 java.lang.NullPointerException</h2></body></html>';
    const upstream = await serve((_req, res) => {
      res.writeHead(500, { 'content-type': 'text/html' });
      res.end(page);
    });
    const error = await rejection(
      transport(upstream.prefixUrl).request(get('session/search')),
      UpstreamStatusError,
    );
    expect(error.status).toBe(500);
    expect(error.text).toBe(page);
  });

  it('does not follow a 302: UpstreamStatusError 302, and the Location target receives nothing', async () => {
    const target = await serve((_req, res) => json(res, 200, { followed: true }));
    const upstream = await serve((_req, res) => {
      res.writeHead(302, { location: `${target.prefixUrl}session/search`, 'content-length': 0 });
      res.end();
    });
    const error = await rejection(
      transport(upstream.prefixUrl, { headers: { authorization: 'Bearer secret' } }).request(
        get('session/search'),
      ),
      UpstreamStatusError,
    );
    expect(error.status).toBe(302);
    await sleep(50);
    expect(target.connections()).toBe(0);
    expect(target.requests).toHaveLength(0);
  });

  it('a 200 whose body is not JSON is UpstreamParseError with the status and the SyntaxError as cause', async () => {
    const upstream = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"entries": [{"sid": "s1"');
    });
    const error = await rejection(
      transport(upstream.prefixUrl).request(get('session/search')),
      UpstreamParseError,
    );
    expect(error.status).toBe(200);
    expect(error.cause).toBeInstanceOf(SyntaxError);
  });
});

describe('Transport: the request it sends', () => {
  it('puts the path after the prefix path and form-encodes searchParams exactly like URLSearchParams', async () => {
    const upstream = await serve((_req, res) => json(res, 200, {}));
    const searchParams = {
      pattern: 'a b,c%d',
      name: 'Jürgen ✓',
      fieldValuePair: 'state=authenticated,userDn=inum=x',
      limit: 5,
      startIndex: 0,
    };
    await transport(upstream.prefixUrl).request({ ...get('session/search'), searchParams });
    const expectedQuery =
      'pattern=a+b%2Cc%25d&name=J%C3%BCrgen+%E2%9C%93' +
      '&fieldValuePair=state%3Dauthenticated%2CuserDn%3Dinum%3Dx&limit=5&startIndex=0';
    expect(upstream.requests[0]?.url).toBe(`${RESOURCE}session/search?${expectedQuery}`);
    const asUrlSearchParams = new URLSearchParams(
      Object.entries(searchParams).map(([key, value]): [string, string] => [key, String(value)]),
    ).toString();
    expect(expectedQuery).toBe(asUrlSearchParams);
  });

  it('sends an already-encoded path as is, with no query string when there are no searchParams', async () => {
    const upstream = await serve((_req, res) => json(res, 200, {}));
    const dn = encodeURIComponent('inum=a b,ou=people,o=jans');
    await transport(upstream.prefixUrl).request({
      method: 'DELETE',
      path: `session/user/${dn}`,
      signal: noBudget(),
    });
    expect(upstream.requests[0]?.method).toBe('DELETE');
    expect(upstream.requests[0]?.url).toBe(`${RESOURCE}session/user/inum%3Da%20b%2Cou%3Dpeople%2Co%3Djans`);
  });

  it('adds the slash between a prefix URL without one and the path', async () => {
    const upstream = await serve((_req, res) => json(res, 200, {}));
    await transport(upstream.prefixUrl.replace(/\/$/, '')).request(get('session'));
    expect(upstream.requests[0]?.url).toBe(`${RESOURCE}session`);
  });

  it('sends the default headers; per-request headers override and add to them, leaving the defaults as they were', async () => {
    const upstream = await serve((_req, res) => json(res, 200, {}));
    const defaults = { accept: 'application/json', 'user-agent': 'jans-sessions-graphql' };
    const wire = transport(upstream.prefixUrl, { headers: defaults });
    await wire.request({
      ...get('session'),
      headers: { accept: 'text/plain', authorization: 'Bearer t1' },
    });
    await wire.request(get('session'));
    const [first, second] = upstream.requests.map((req) => req.headers);
    expect(first).toMatchObject({
      accept: 'text/plain',
      'user-agent': 'jans-sessions-graphql',
      authorization: 'Bearer t1',
      host: `127.0.0.1:${upstream.port}`,
    });
    expect(second).toMatchObject({ accept: 'application/json', 'user-agent': 'jans-sessions-graphql' });
    expect(second?.authorization).toBeUndefined();
    expect(defaults).toEqual({ accept: 'application/json', 'user-agent': 'jans-sessions-graphql' });
  });
});

describe('Transport: broken exchanges', () => {
  it('refuses a body over maxBodyBytes (ERR_BODY_TOO_LARGE), drops that connection, and keeps working', async () => {
    const closed: Promise<void>[] = [];
    const upstream = await serve((req, res) => {
      if (req.url?.endsWith('/small')) {
        json(res, 200, { ok: true });
        return;
      }
      closed.push(new Promise((resolve) => req.socket.once('close', () => resolve())));
      res.writeHead(200, { 'content-type': 'application/json' });
      const piece = Buffer.alloc(16 * 1024, 'a');
      // Keeps writing until the client goes away: only the limit ends this exchange.
      const pump = () => {
        while (!res.destroyed && res.write(piece)) {
          // fill the socket buffer
        }
        if (!res.destroyed) {
          res.once('drain', pump);
        }
      };
      pump();
    });
    const wire = transport(upstream.prefixUrl, { maxBodyBytes: 64 * 1024 });
    const error = await rejection(wire.request(get('big')), UpstreamNetworkError);
    expect(error.code).toBe('ERR_BODY_TOO_LARGE');
    await within(closed[0]!, 1000, 'server socket closed');
    expect(await wire.request(get('small'))).toEqual({ status: 200, body: { ok: true } });
  });

  it('accepts a body of exactly maxBodyBytes', async () => {
    const text = JSON.stringify({ pad: 'x'.repeat(100) });
    const upstream = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(text);
    });
    const response = await transport(upstream.prefixUrl, { maxBodyBytes: Buffer.byteLength(text) }).request(
      get('session'),
    );
    expect(response.body).toEqual({ pad: 'x'.repeat(100) });
  });

  it('a refused connection (a port just closed) is UpstreamNetworkError ECONNREFUSED', async () => {
    const upstream = await serve((_req, res) => json(res, 200, {}));
    await new Promise<void>((resolve) => upstream.server.close(() => resolve()));
    const error = await rejection(
      transport(upstream.prefixUrl).request(get('session')),
      UpstreamNetworkError,
    );
    expect(error.code).toBe('ECONNREFUSED');
  });

  it('a socket destroyed in the middle of the body is UpstreamNetworkError ECONNRESET', async () => {
    const upstream = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': 1000 });
      res.write('{"entries"', () => res.socket?.destroy());
    });
    const error = await rejection(
      transport(upstream.prefixUrl).request(get('session/search')),
      UpstreamNetworkError,
    );
    expect(error.code).toBe('ECONNRESET');
  });

  it('a socket destroyed before any answer is UpstreamNetworkError ECONNRESET', async () => {
    const upstream = await serve((req) => req.socket.destroy());
    const error = await rejection(
      transport(upstream.prefixUrl).request(get('session/search')),
      UpstreamNetworkError,
    );
    expect(error.code).toBe('ECONNRESET');
  });
});

describe('Transport: budget and connect timeout', () => {
  it('a signal aborted before the call is UpstreamTimeoutError budget, and nothing is sent', async () => {
    const upstream = await serve((_req, res) => json(res, 200, {}));
    const error = await rejection(
      transport(upstream.prefixUrl).request(get('session', AbortSignal.abort())),
      UpstreamTimeoutError,
    );
    expect(error.event).toBe('budget');
    await sleep(20);
    expect(upstream.connections()).toBe(0);
  });

  it('an abort while the upstream hangs settles at once as budget and destroys the socket', async () => {
    let socketClosed!: Promise<void>;
    let received!: () => void;
    const arrived = new Promise<void>((resolve) => (received = resolve));
    const upstream = await serve((req) => {
      socketClosed = new Promise((resolve) => req.socket.once('close', () => resolve()));
      received();
    });
    const budget = new AbortController();
    const pending = rejection(
      transport(upstream.prefixUrl).request(get('session', budget.signal)),
      UpstreamTimeoutError,
    );
    await arrived;
    const abortedAt = performance.now();
    budget.abort();
    const error = await pending;
    expect(performance.now() - abortedAt).toBeLessThan(200);
    expect(error.event).toBe('budget');
    await within(socketClosed, 1000, 'server socket closed');
  });

  it('an abort while the body is still coming settles as budget and destroys the socket', async () => {
    let socketClosed!: Promise<void>;
    let headersSent!: () => void;
    const sent = new Promise<void>((resolve) => (headersSent = resolve));
    const upstream = await serve((req, res) => {
      socketClosed = new Promise((resolve) => req.socket.once('close', () => resolve()));
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': 100 });
      res.write('{"entries": [', () => headersSent());
    });
    const budget = new AbortController();
    const pending = rejection(
      transport(upstream.prefixUrl).request(get('session', budget.signal)),
      UpstreamTimeoutError,
    );
    await sent;
    await sleep(20);
    budget.abort();
    expect((await pending).event).toBe('budget');
    await within(socketClosed, 1000, 'server socket closed');
  });

  it('no connection within connectTimeoutMs is UpstreamTimeoutError connect, and the pending socket is destroyed', async () => {
    // An agent whose sockets stay in the connecting state: the name lookup never answers. (On loopback a TCP
    // connect completes or is refused at once, so that is the reliable way to hold a connection attempt open.)
    const opened: net.Socket[] = [];
    const stalled = agent();
    stalled.createConnection = () => {
      const socket = net.connect({ host: 'upstream.invalid', port: 9, lookup: () => undefined });
      opened.push(socket);
      return socket;
    };
    const wire = transport('http://127.0.0.1:9/jans-config-api/', {
      agents: { http: stalled, https: httpsAgent },
      connectTimeoutMs: 100,
    });
    const started = performance.now();
    const error = await rejection(wire.request(get('session')), UpstreamTimeoutError);
    const elapsed = performance.now() - started;
    expect(error.event).toBe('connect');
    expect(elapsed).toBeGreaterThanOrEqual(95);
    expect(elapsed).toBeLessThan(1000);
    expect(opened).toHaveLength(1);
    expect(opened[0]?.destroyed).toBe(true);
  });

  it('once connected, a slow answer is not a connect timeout', async () => {
    const upstream = await serve(async (_req, res) => {
      await sleep(150);
      json(res, 200, { slow: true });
    });
    const response = await transport(upstream.prefixUrl, { connectTimeoutMs: 30 }).request(get('session'));
    expect(response.body).toEqual({ slow: true });
  });
});

describe('Transport: keep-alive', () => {
  it('two sequential calls share one connection on a keep-alive agent', async () => {
    const upstream = await serve((_req, res) => json(res, 200, { ok: true }));
    const wire = transport(upstream.prefixUrl, {
      agents: { http: agent({ keepAlive: true }), https: httpsAgent },
    });
    await wire.request(get('session'));
    await wire.request(get('session'));
    expect(upstream.requests).toHaveLength(2);
    expect(upstream.connections()).toBe(1);
  });

  it('without keep-alive each call opens its own connection', async () => {
    const upstream = await serve((_req, res) => json(res, 200, { ok: true }));
    const wire = transport(upstream.prefixUrl, {
      agents: { http: agent({ keepAlive: false }), https: httpsAgent },
    });
    await wire.request(get('session'));
    await wire.request(get('session'));
    expect(upstream.connections()).toBe(2);
  });
});

describe('toJanssenError: transport errors become JanssenApiError kinds', () => {
  const map = (error: unknown) => {
    const mapped = toJanssenError('getSession', error);
    expect(mapped).toBeInstanceOf(JanssenApiError);
    expect(mapped.operation).toBe('getSession');
    expect(mapped.cause).toBe(error);
    return mapped;
  };

  it("a 401 with Janssen's scope text is INSUFFICIENT_SCOPE naming the required scopes", () => {
    const mapped = map(
      new UpstreamStatusError(
        401,
        'oAuth authorization error Insufficient scopes! , Required scope: [a, b], however token scopes: [c]',
      ),
    );
    expect(mapped.kind).toBe('INSUFFICIENT_SCOPE');
    expect(mapped.details.requiredScopes).toEqual(['a', 'b']);
    expect(mapped.status).toBe(401);
  });

  it('any other 401 is UNAUTHORIZED', () => {
    const mapped = map(new UpstreamStatusError(401, 'Unauthorized'));
    expect(mapped.kind).toBe('UNAUTHORIZED');
    expect(mapped.status).toBe(401);
  });

  it('503 is UNAVAILABLE', () => {
    const mapped = map(new UpstreamStatusError(503, ''));
    expect(mapped.kind).toBe('UNAVAILABLE');
    expect(mapped.status).toBe(503);
  });

  it('500 is ERROR, and its page is not in the message', () => {
    const mapped = map(
      new UpstreamStatusError(500, '<html>java.lang.NullPointerException at jans-db</html>'),
    );
    expect(mapped.kind).toBe('ERROR');
    expect(mapped.status).toBe(500);
    expect(mapped.message).not.toMatch(/NullPointer|jans-db|<html/);
  });

  it('an unparsable 2xx body is ERROR with its status', () => {
    const mapped = map(
      new UpstreamParseError(200, { cause: new SyntaxError('Unexpected end of JSON input') }),
    );
    expect(mapped.kind).toBe('ERROR');
    expect(mapped.status).toBe(200);
  });

  it('a budget or connect timeout is TIMEOUT', () => {
    expect(map(new UpstreamTimeoutError('budget')).kind).toBe('TIMEOUT');
    expect(map(new UpstreamTimeoutError('connect')).kind).toBe('TIMEOUT');
  });

  it('a refused connection is UNAVAILABLE; a refused oversized body is ERROR', () => {
    const refused = new UpstreamNetworkError(
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }),
    );
    expect(refused.code).toBe('ECONNREFUSED');
    expect(map(refused).kind).toBe('UNAVAILABLE');
    const tooLarge = new UpstreamNetworkError(
      Object.assign(new Error('upstream body too large'), { code: 'ERR_BODY_TOO_LARGE' }),
    );
    expect(map(tooLarge).kind).toBe('ERROR');
  });
});
