import http from 'node:http';
import type { AddressInfo } from 'node:net';

import { describe, expect, it } from 'vitest';

import { SessionDocument, SessionsDocument } from '../generated/graphql.js';
import { writeHugeToken } from '../helpers/huge-token.js';
import { startStack } from '../helpers/stack.js';

import { codeOf, LEAKS, timed } from './helpers.js';

/** The provider refreshes a token 10% of its lifetime early: every 1.8 s for a 2 s token. */
const REFRESH_EVERY_MS = 1800;

describe('token lifecycle with 2-second tokens', () => {
  it('50 concurrent queries across several expiries all succeed, with one token request per expiry', async () => {
    const stack = await startStack({
      emulator: { sessionCount: 60, tokenTtlSeconds: 2 },
      env: { JANS_TIMEOUT_MS: '2000' },
    });
    try {
      const { emulator } = stack;
      // Slow reads keep queries in flight across each refresh; some reach Janssen after their token expired.
      emulator.setFault('get', { latencyMs: 250 });
      const sids = emulator.store.all().map((s) => s.sid);
      const started = performance.now();
      const responses = await Promise.all(
        Array.from({ length: 50 }, async (_, i) => {
          await new Promise((resolve) => setTimeout(resolve, i * 80));
          return stack.gql(SessionDocument, { sid: sids[i]! });
        }),
      );
      const elapsed = performance.now() - started;
      expect(responses.map(codeOf)).toEqual(responses.map(() => 'OK'));
      responses.forEach((r, i) => expect(r.body.data?.session?.sid).toBe(sids[i]));
      expect(elapsed).toBeGreaterThan(2 * REFRESH_EVERY_MS);
      const tokenRequests = emulator.count('token');
      // At least one refresh; a third token depends on when the first was fetched, which a busy machine delays.
      expect(tokenRequests).toBeGreaterThanOrEqual(2);
      expect(tokenRequests).toBeLessThanOrEqual(Math.floor(elapsed / REFRESH_EVERY_MS) + 1);
    } finally {
      await stack.close();
    }
  });

  it('a token Janssen stops accepting is renewed once and the call retried once', async () => {
    let skewMs = 0;
    const stack = await startStack({
      emulator: { sessionCount: 10, now: () => new Date(Date.now() + skewMs) },
    });
    try {
      const { emulator } = stack;
      const sid = emulator.store.all()[0]!.sid;
      expect(codeOf(await stack.gql(SessionDocument, { sid }))).toBe('OK');
      expect(emulator.count('token')).toBe(1);
      emulator.resetCounts();
      // Janssen's clock jumps past the cached token's expiry: it answers 401 to a token we still think valid.
      skewMs = 2 * 3600 * 1000;
      const response = await stack.gql(SessionDocument, { sid });
      expect(response.body.data?.session?.sid).toBe(sid);
      expect(emulator.count('token')).toBe(1);
      expect(emulator.requests.filter((r) => r.route === 'get').map((r) => r.status)).toEqual([401, 200]);
    } finally {
      await stack.close();
    }
  });

  it('a token that keeps being refused is renewed only once per call: UPSTREAM_ERROR for the operator, no loop', async () => {
    let ticks = 0;
    const stack = await startStack({
      // Janssen's clock runs 3 s ahead on every look, so each 2 s token is dead by the time it is checked.
      emulator: { sessionCount: 5, tokenTtlSeconds: 2, now: () => new Date(Date.now() + 3000 * ticks++) },
    });
    try {
      const response = await stack.gql(SessionsDocument, {});
      expect(codeOf(response)).toBe('UPSTREAM_ERROR');
      expect(stack.emulator.count('search')).toBe(2);
      expect(stack.emulator.count('token')).toBe(2);
    } finally {
      await stack.close();
    }
  });
});

/** A token endpoint the emulator cannot imitate, on an ephemeral loopback port. */
async function tokenEndpoint(
  handle: (res: http.ServerResponse) => void,
): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => handle(res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe('a token endpoint that misbehaves', () => {
  it('a huge token response is UPSTREAM_ERROR at once, well inside the budget', async () => {
    const endpoint = await tokenEndpoint((res) => {
      writeHugeToken(res);
    });
    const stack = await startStack({ tokenUrl: endpoint.url, env: { JANS_TIMEOUT_MS: '3000' } });
    try {
      const sid = stack.emulator.store.all()[0]!.sid;
      const { value, ms } = await timed(() => stack.gql(SessionDocument, { sid }));
      expect(codeOf(value)).toBe('UPSTREAM_ERROR');
      expect(ms).toBeLessThan(1500);
      expect(stack.emulator.count('get')).toBe(0);
    } finally {
      await stack.close();
      await endpoint.close();
    }
  });

  it('a redirect is not followed: UPSTREAM_ERROR, logged by its status without its Location', async () => {
    const endpoint = await tokenEndpoint((res) => {
      res.writeHead(302, { location: 'http://localhost:1/secret-internal-host/token' }).end();
    });
    const stack = await startStack({ tokenUrl: endpoint.url });
    try {
      const sid = stack.emulator.store.all()[0]!.sid;
      const response = await stack.gql(SessionDocument, { sid });
      expect(codeOf(response)).toBe('UPSTREAM_ERROR');
      expect(JSON.stringify(response.body)).not.toMatch(LEAKS);
      const failed = stack.logs.filter((line) => line.msg === 'upstream call failed');
      expect(failed.map((line) => (line.cause as { message: string }).message)).toEqual([
        'token: the auth server answered 302, a redirect, which is not followed',
      ]);
      expect(JSON.stringify(stack.logs)).not.toMatch(/secret-internal-host/);
    } finally {
      await stack.close();
      await endpoint.close();
    }
  });
});
