import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { SessionsDocument } from '../generated/graphql.js';
import { startStack, type Stack } from '../helpers/stack.js';

/**
 * What the callers' key server (`AUTH_JWKS_URL`) does: relay the emulator's JWKS (`up`), or fail in one of the
 * ways a key server fails.
 */
type KeyServerMode = 'up' | 'reset' | '503' | 'html' | 'not-a-jwks';

interface KeyServer {
  url: string;
  mode: KeyServerMode;
  /** The key set relayed when `up`: the emulator's JWKS URL. */
  upstream: string;
  /** Requests received. */
  hits: number;
  close(): Promise<void>;
}

async function startKeyServer(): Promise<KeyServer> {
  const state: KeyServer = {
    url: '',
    mode: 'reset',
    upstream: '',
    hits: 0,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  const server: Server = createServer((req, res) => {
    state.hits += 1;
    switch (state.mode) {
      case 'reset':
        req.socket.destroy();
        return;
      case '503':
        res.writeHead(503, { 'content-type': 'text/plain' }).end('maintenance');
        return;
      case 'html':
        res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>Sign in</body></html>');
        return;
      case 'not-a-jwks':
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"keys":"none"}');
        return;
      case 'up':
        void fetch(state.upstream)
          .then((answer) => answer.text())
          .then((text) => res.writeHead(200, { 'content-type': 'application/json' }).end(text));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`;
  return state;
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const audience = 'jans-sessions-graphql';
const OUTAGE_LINE = 'caller JWTs cannot be checked: their key set (AUTH_JWKS_URL) cannot be had';

const outageLines = (stack: Stack) => stack.logs.filter((line) => line.msg === OUTAGE_LINE);

describe('AUTH_JWKS_URL on a port nothing listens on (client-credentials mode)', () => {
  let stack: Stack;
  let port: number;

  beforeAll(async () => {
    port = await closedPort();
    stack = await startStack({
      emulator: { sessionCount: 5 },
      env: { AUTH_AUDIENCE: audience },
      envFrom: (emulator) => ({
        AUTH_JWKS_URL: `http://127.0.0.1:${port}/jwks`,
        AUTH_ISSUER: emulator.origin,
      }),
    });
  });
  afterAll(async () => {
    await stack.close();
  });

  it('a correctly signed JWT gets UPSTREAM_UNAVAILABLE, HTTP 503, no invalid_token challenge', async () => {
    const token = await stack.emulator.issueJwt({ sub: 'alice', aud: audience, scope: 'openid' });
    const response = await stack.gql(SessionsDocument, {}, { authorization: `Bearer ${token}` });
    expect(response.status).toBe(503);
    expect(response.body.errors).toHaveLength(1);
    expect(response.body.errors?.[0]?.extensions?.code).toBe('UPSTREAM_UNAVAILABLE');
    expect(response.body.errors?.[0]?.message).not.toMatch(/127\.0\.0\.1|jwks|http/i);
    expect(response.headers.get('www-authenticate')).toBeNull();
    expect(stack.emulator.count()).toBe(0);
  });

  it('logs a warning with the cause, at most once a minute, never with the token', async () => {
    const tokens = await Promise.all(
      ['bob', 'carol'].map((sub) => stack.emulator.issueJwt({ sub, aud: audience, scope: 'openid' })),
    );
    for (const token of tokens) {
      expect((await stack.gql(SessionsDocument, {}, { authorization: `Bearer ${token}` })).status).toBe(503);
    }
    const lines = outageLines(stack);
    expect(lines).toHaveLength(1);
    expect(lines[0]?.level).toBe(40);
    expect(lines[0]?.jwksUrl).toBe(`http://127.0.0.1:${port}/jwks`);
    expect(String(lines[0]?.cause)).toMatch(/ECONNREFUSED/);
    // Each refusal still has its own line, with its request id.
    expect(
      stack.logs.filter((line) => line.msg === 'graphql request refused' && line.httpStatus === 503).length,
    ).toBeGreaterThanOrEqual(tokens.length);
    const all = JSON.stringify(stack.logs);
    for (const token of tokens) {
      expect(all).not.toContain(token.split('.')[2]);
    }
  });

  it("a token that is not a JWT at all is still the caller's mistake: 401 invalid_token", async () => {
    const response = await stack.gql(SessionsDocument, {}, { authorization: 'Bearer not.a.jwt' });
    expect(response.status).toBe(401);
    expect(response.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(response.headers.get('www-authenticate')).toContain('error="invalid_token"');
  });

  it('counts the refusal in jans_graphql_errors_total as UPSTREAM_UNAVAILABLE', async () => {
    const scrape = async () => (await fetch(`${stack.url}/metrics`)).text();
    const count = (text: string) =>
      Number(/^jans_graphql_errors_total\{code="UPSTREAM_UNAVAILABLE"\} (\d+)$/m.exec(text)?.[1] ?? 0);
    const before = count(await scrape());
    const token = await stack.emulator.issueJwt({ sub: 'dave', aud: audience, scope: 'openid' });
    await stack.gql(SessionsDocument, {}, { authorization: `Bearer ${token}` });
    expect(count(await scrape())).toBe(before + 1);
  });

  it('leaves /readyz at 200: Janssen is up, and API-key callers would still be served', async () => {
    const ready = await fetch(`${stack.url}/readyz`);
    expect(ready.status).toBe(200);
  });
});

describe('a key server that answers, but not with a key set', () => {
  let stack: Stack;
  let keys: KeyServer;
  const key = 'k-outage-2b9d41';

  beforeAll(async () => {
    keys = await startKeyServer();
    stack = await startStack({
      emulator: { sessionCount: 5 },
      env: { AUTH_AUDIENCE: audience, JANS_API_KEYS: key, AUTH_JWKS_URL: keys.url },
      envFrom: (emulator) => ({ AUTH_ISSUER: emulator.origin }),
    });
    keys.upstream = stack.emulator.jwksUrl;
  });
  afterAll(async () => {
    await stack.close();
    await keys.close();
  });
  beforeEach(() => {
    keys.hits = 0;
  });

  const token = () => stack.emulator.issueJwt({ sub: 'alice', aud: audience, scope: 'openid' });

  it.each<[KeyServerMode]>([['reset'], ['503'], ['html'], ['not-a-jwks']])(
    '%s: UPSTREAM_UNAVAILABLE, HTTP 503',
    async (mode) => {
      keys.mode = mode;
      const response = await stack.gql(SessionsDocument, {}, { authorization: `Bearer ${await token()}` });
      expect(response.status).toBe(503);
      expect(response.body.errors?.[0]?.extensions?.code).toBe('UPSTREAM_UNAVAILABLE');
      expect(response.headers.get('www-authenticate')).toBeNull();
      expect(keys.hits).toBeGreaterThanOrEqual(1);
    },
  );

  it('asks the key server once per request, even when the fast path hands the request to Apollo', async () => {
    keys.mode = '503';
    // Apollo answers it once (with the API key), so the fast path knows the operation.
    expect((await stack.gql(SessionsDocument, {}, { 'x-api-key': key })).status).toBe(200);
    keys.hits = 0;
    const response = await stack.gql(SessionsDocument, {}, { authorization: `Bearer ${await token()}` });
    expect(response.status).toBe(503);
    expect(keys.hits).toBe(1);
  });

  it('once the key server is back, the same kind of token reads; a forged one is 401 invalid_token', async () => {
    keys.mode = 'up';
    const response = await stack.gql(SessionsDocument, {}, { authorization: `Bearer ${await token()}` });
    expect(response.status).toBe(200);
    expect(response.body.data?.sessions.totalCount).toBe(5);
    const [header, payload] = (await token()).split('.');
    const forged = await stack.gql(
      SessionsDocument,
      {},
      { authorization: `Bearer ${header}.${payload}.${'A'.repeat(342)}` },
    );
    expect(forged.status).toBe(401);
    expect(forged.headers.get('www-authenticate')).toContain('error="invalid_token"');
  });
});
