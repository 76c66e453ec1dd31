import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { type Emulator, type RouteName, startEmulator } from '../../src/emulator/emulator.js';
import { INTERNAL_DB_HOST } from '../../src/emulator/faults.js';

import { call, json, NOW, sessionPath } from './helpers.js';

let emulator: Emulator;

beforeAll(async () => {
  emulator = await startEmulator({ sessionCount: 30, now: () => NOW });
});

afterEach(() => {
  emulator.setFault('*', null);
  emulator.resetCounts();
});

afterAll(async () => {
  await emulator.close();
});

const list = (token?: string | null) => call(emulator, sessionPath(), token === undefined ? {} : { token });

async function failure(promise: Promise<unknown>): Promise<Error & { cause?: { code?: string } }> {
  try {
    await promise;
  } catch (error) {
    return error as Error & { cause?: { code?: string } };
  }
  throw new Error('expected the request to fail');
}

describe('faults', () => {
  it('latencyMs delays an otherwise normal response', async () => {
    emulator.setFault('list', { latencyMs: 150 });
    const started = performance.now();
    const reply = await list();
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
    expect(reply.status).toBe(200);
  });

  it('hang never answers; the request stays recorded with status 0', async () => {
    emulator.setFault('get', { hang: true });
    const error = await failure(
      fetch(`${emulator.origin}${sessionPath('/sid/x')}`, { signal: AbortSignal.timeout(200) }),
    );
    expect(error.name).toBe('TimeoutError');
    expect(emulator.requests.at(-1)).toMatchObject({ route: 'get', status: 0 });
  });

  it('reset destroys the connection without a response', async () => {
    emulator.setFault('delete', { reset: true });
    const error = await failure(fetch(`${emulator.origin}${sessionPath('/sid/x')}`, { method: 'DELETE' }));
    expect(error).toBeInstanceOf(TypeError);
    expect(error.cause?.code).toMatch(/ECONNRESET|UND_ERR_SOCKET/);
    expect(emulator.count('delete')).toBe(1);
  });

  it('status answers with that status and a Jetty JSON error body', async () => {
    for (const status of [500, 502, 503, 504] as const) {
      emulator.setFault('search', { status });
      const reply = await call(emulator, sessionPath('/search'));
      expect(reply.status).toBe(status);
      expect(json<{ status: string }>(reply).status).toBe(String(status));
    }
  });

  it('html serves a Jetty HTML page leaking a stack trace and an internal host', async () => {
    emulator.setFault('search', { status: 502, html: true });
    const reply = await call(emulator, sessionPath('/search'));
    expect(reply.status).toBe(502);
    expect(reply.headers.get('content-type')).toMatch(/^text\/html/);
    expect(reply.text).toContain('<title>Error 502 Bad Gateway</title>');
    expect(reply.text).toContain(INTERNAL_DB_HOST);
    expect(reply.text).toMatch(/\tat io\.jans\.\S+\(\w+\.java:\d+\)/);
    emulator.setFault('search', { html: true });
    expect((await call(emulator, sessionPath('/search'))).status).toBe(500);
  });

  it('truncatedJson sends 200 application/json that does not parse', async () => {
    for (const route of ['list', 'get', 'token'] as const) {
      emulator.setFault(route, { truncatedJson: true });
    }
    const replies = [
      await list(),
      await call(emulator, sessionPath('/sid/whatever')),
      await call(emulator, '/jans-auth/restv1/token', { method: 'POST', token: null, body: 'grant_type=x' }),
    ];
    for (const reply of replies) {
      expect(reply.status).toBe(200);
      expect(reply.headers.get('content-type')).toBe('application/json');
      expect(reply.text.startsWith('{')).toBe(true);
      expect(() => JSON.parse(reply.text)).toThrow(SyntaxError);
    }
  });

  it('faults apply before authorization', async () => {
    emulator.setFault('list', { status: 503 });
    expect((await list(null)).status).toBe(503);
  });

  it('times limits the fault to the next N requests', async () => {
    emulator.setFault('list', { status: 500, times: 2 });
    const statuses = [];
    for (let i = 0; i < 4; i++) {
      statuses.push((await list()).status);
    }
    expect(statuses).toEqual([500, 500, 200, 200]);
  });

  it('failureRate applies the fault to roughly that share of requests', async () => {
    emulator.setFault('list', { status: 503, failureRate: 0.3 });
    let failed = 0;
    for (let i = 0; i < 100; i++) {
      if ((await list()).status === 503) {
        failed += 1;
      }
    }
    expect(failed).toBeGreaterThan(15);
    expect(failed).toBeLessThan(45);
    emulator.setFault('list', { status: 503, failureRate: 0 });
    expect((await list()).status).toBe(200);
  });

  it('failureRate dice are seeded: the same seed fails the same requests', async () => {
    const outcomes = async (seed: number) => {
      const e = await startEmulator({ seed, sessionCount: 1, now: () => NOW });
      try {
        e.setFault('list', { status: 500, failureRate: 0.5 });
        const statuses: number[] = [];
        for (let i = 0; i < 20; i++) {
          statuses.push((await call(e, sessionPath())).status);
        }
        return statuses;
      } finally {
        await e.close();
      }
    };
    const first = await outcomes(11);
    expect(await outcomes(11)).toEqual(first);
    expect(first).toContain(500);
    expect(first).toContain(200);
  });

  it('rejects invalid fault settings', () => {
    expect(() => emulator.setFault('list', { failureRate: 1.5 })).toThrow(RangeError);
    expect(() => emulator.setFault('list', { times: 0 })).toThrow(RangeError);
  });

  it("'*' applies to every route including the token endpoint and a route's own fault wins", async () => {
    emulator.setFault('*', { status: 502 });
    emulator.setFault('get', { status: 504 });
    expect((await list()).status).toBe(502);
    expect((await call(emulator, sessionPath('/sid/x'))).status).toBe(504);
    const token = await call(emulator, '/jans-auth/restv1/token', { method: 'POST', token: null, body: '' });
    expect(token.status).toBe(502);
  });

  it("null removes a route's fault; setFault('*', null) removes every fault", async () => {
    emulator.setFault('*', { status: 502 });
    emulator.setFault('get', { status: 504 });
    emulator.setFault('list', { status: 500 });
    emulator.setFault('list', null);
    expect((await list()).status).toBe(502);
    emulator.setFault('*', null);
    expect((await list()).status).toBe(200);
    expect((await call(emulator, sessionPath('/sid/x'))).status).toBe(200);
  });

  it('unmatched routes are never faulted', async () => {
    emulator.setFault('*', { status: 503 });
    expect((await call(emulator, sessionPath('/nope'))).status).toBe(404);
    expect((await call(emulator, sessionPath('/search'), { method: 'POST' })).status).toBe(405);
  });
});

describe('request recording', () => {
  it('records method, route, raw path and query, decoded params and status, in order', async () => {
    await call(emulator, sessionPath('/search?limit=5&pattern=a%2Cb&limit=7'));
    await call(emulator, sessionPath('/sid/abc'), { method: 'DELETE' });
    await call(emulator, sessionPath('/nope'));
    expect(emulator.requests.map((r) => [r.method, r.route, r.status])).toEqual([
      ['GET', 'search', 200],
      ['DELETE', 'delete', 404],
      ['GET', null, 404],
    ]);
    const first = emulator.requests[0];
    expect(first?.path).toBe(sessionPath('/search'));
    expect(first?.query).toBe('limit=5&pattern=a%2Cb&limit=7');
    expect(first?.params).toEqual({ limit: '5', pattern: 'a,b' });
    expect(first?.headers.authorization).toMatch(/^Bearer /);
  });

  it('count(route) counts one operation, count() everything, resetCounts() starts over', async () => {
    await list();
    await list();
    await call(emulator, sessionPath('/sid/x'));
    await call(emulator, '/jans-auth/.well-known/openid-configuration');
    const counts = Object.fromEntries(
      (['list', 'search', 'get', 'delete', 'revoke', 'token'] as RouteName[]).map((r) => [
        r,
        emulator.count(r),
      ]),
    );
    expect(counts).toEqual({ list: 2, search: 0, get: 1, delete: 0, revoke: 0, token: 0 });
    expect(emulator.count()).toBe(4);
    emulator.resetCounts();
    expect(emulator.count()).toBe(0);
    expect(emulator.requests).toEqual([]);
  });
});

describe('close()', () => {
  it('ends hanging requests, refuses new connections and is idempotent', async () => {
    const e = await startEmulator({ sessionCount: 1, now: () => NOW });
    e.setFault('*', { hang: true });
    const pending = failure(fetch(`${e.origin}${sessionPath()}`));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = performance.now();
    await Promise.all([e.close(), e.close()]);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(await pending).toBeInstanceOf(TypeError);
    await expect(fetch(`${e.origin}${sessionPath()}`)).rejects.toThrow(TypeError);
    await e.close();
  });

  it('interrupts a pending latency', async () => {
    const e = await startEmulator({ sessionCount: 1, now: () => NOW });
    e.setFault('list', { latencyMs: 60_000 });
    const pending = failure(fetch(`${e.origin}${sessionPath()}`));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = performance.now();
    await e.close();
    expect(await pending).toBeInstanceOf(TypeError);
    expect(performance.now() - started).toBeLessThan(1000);
  });
});
