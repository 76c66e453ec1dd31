import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import { startStack, type Stack, type StackOptions } from '../helpers/stack.js';

async function get(stack: Stack, path: string) {
  const response = await fetch(`${stack.url}${path}`);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** Readiness answers are reused for 2 s: jump the clock past that so the next probe is fresh. */
function expireReadinessCache() {
  vi.setSystemTime(Date.now() + 2_500);
}

const READY = { status: 200, body: { status: 'ready' } };
const unavailable = (reason: string) => ({ status: 503, body: { status: 'unavailable', reason } });

function withStack(options: StackOptions, body: (stack: () => Stack) => void) {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack(options);
    vi.useFakeTimers({ toFake: ['Date'], shouldAdvanceTime: true });
  });
  afterAll(async () => {
    vi.useRealTimers();
    await stack.close();
  });
  body(() => stack);
}

describe('client-credentials mode (the demo wiring)', () => {
  withStack({}, (stack) => {
    it('is ready when Janssen answers and a token can be had', async () => {
      expect(await get(stack(), '/readyz')).toEqual(READY);
    });

    it('is unavailable, saying why, while the config API answers 503, and ready again after', async () => {
      stack().emulator.setFault('search', { status: 503 });
      expireReadinessCache();
      expect(await get(stack(), '/readyz')).toEqual(unavailable('config API: unavailable'));
      stack().emulator.setFault('search', null);
      expireReadinessCache();
      expect(await get(stack(), '/readyz')).toEqual(READY);
    });

    it('is unavailable when Janssen is gone, while /healthz stays up', async () => {
      await stack().emulator.close();
      expireReadinessCache();
      expect(await get(stack(), '/readyz')).toEqual(unavailable('config API: unavailable'));
      expect(await get(stack(), '/healthz')).toEqual({ status: 200, body: { status: 'ok' } });
    });
  });
});

describe('client-credentials mode with the token endpoint down', () => {
  withStack({}, (stack) => {
    it('is unavailable while no token can be had, and ready once one can', async () => {
      stack().emulator.setFault('token', { status: 503 });
      expect(await get(stack(), '/readyz')).toEqual(unavailable('token endpoint: unavailable'));
      stack().emulator.setFault('token', null);
      expireReadinessCache();
      expect(await get(stack(), '/readyz')).toEqual(READY);
    });
  });
});

describe("client-credentials mode with the service's client lacking the read scope", () => {
  withStack({}, (stack) => {
    it('is unavailable, naming the scope the operator must grant the client', async () => {
      const { emulator } = stack();
      emulator.addClient(emulator.clientId, emulator.clientSecret, ['revoke_session']);
      expireReadinessCache();
      expect(await get(stack(), '/readyz')).toEqual(
        unavailable('config API: client lacks scope https://jans.io/oauth/jans-auth-server/session.readonly'),
      );
    });
  });
});

describe('pass-through mode', () => {
  withStack({ mode: 'pass-through' }, (stack) => {
    it("is ready when Janssen answers, even with a 401 to the probe's missing token", async () => {
      expect(await get(stack(), '/readyz')).toEqual(READY);
      expect(stack().emulator.count('search')).toBe(1);
    });

    it('is unavailable when Janssen is gone', async () => {
      await stack().emulator.close();
      expireReadinessCache();
      expect(await get(stack(), '/readyz')).toEqual(unavailable('config API: unavailable'));
    });
  });
});
