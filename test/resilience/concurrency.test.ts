import { afterEach, describe, expect, it } from 'vitest';

import type { Emulator } from '../../src/emulator/emulator.js';
import { SessionDocument } from '../generated/graphql.js';
import { startStack, type Stack } from '../helpers/stack.js';

import { codeOf, timed } from './helpers.js';

/** Samples how many GETs the emulator holds open at once, until `stop()`. */
function watchConcurrency(emulator: Emulator): { max: () => number; stop: () => void } {
  let max = 0;
  const timer = setInterval(() => {
    const pending = emulator.requests.filter((r) => r.route === 'get' && r.status === 0).length;
    max = Math.max(max, pending);
  }, 2);
  return { max: () => max, stop: () => clearInterval(timer) };
}

describe('bounded concurrent upstream requests (JANS_MAX_CONCURRENCY)', () => {
  let stack: Stack | undefined;

  afterEach(async () => {
    await stack?.close();
    stack = undefined;
  });

  it('a burst of 24 queries never has more than 3 requests at Janssen, and all succeed', async () => {
    stack = await startStack({
      emulator: { sessionCount: 30 },
      env: { JANS_MAX_CONCURRENCY: '3', JANS_TIMEOUT_MS: '3000' },
    });
    const { emulator } = stack;
    expect(codeOf(await stack.gql(SessionDocument, { sid: emulator.store.all()[0]!.sid }))).toBe('OK');
    emulator.setFault('get', { latencyMs: 60 });
    const watch = watchConcurrency(emulator);
    const sids = emulator.store.all().slice(0, 24);
    const { value: responses, ms } = await timed(() =>
      Promise.all(sids.map((s) => stack!.gql(SessionDocument, { sid: s.sid }))),
    );
    watch.stop();
    expect(responses.map(codeOf)).toEqual(sids.map(() => 'OK'));
    expect(watch.max()).toBeLessThanOrEqual(3);
    expect(watch.max()).toBeGreaterThanOrEqual(2);
    // 24 requests of 60 ms through 3 slots take at least 8 rounds.
    expect(ms).toBeGreaterThanOrEqual(8 * 60 - 20);
    expect(stack.server.upstream.limit.active).toBe(0);
    expect(stack.server.upstream.limit.queued).toBe(0);
  });

  it('a request waiting for a slot still ends within its budget, as UPSTREAM_TIMEOUT', async () => {
    stack = await startStack({
      emulator: { sessionCount: 10 },
      env: { JANS_MAX_CONCURRENCY: '1', JANS_TIMEOUT_MS: '500', JANS_CIRCUIT_THRESHOLD: '1000' },
    });
    const { emulator } = stack;
    expect(codeOf(await stack.gql(SessionDocument, { sid: emulator.store.all()[0]!.sid }))).toBe('OK');
    emulator.resetCounts();
    emulator.setFault('get', { latencyMs: 300 });
    const results = await Promise.all(
      emulator.store
        .all()
        .slice(0, 5)
        .map((s) => timed(() => stack!.gql(SessionDocument, { sid: s.sid }))),
    );
    const codes = results.map((r) => codeOf(r.value));
    expect(codes.filter((c) => c === 'OK')).toHaveLength(1);
    expect(codes.filter((c) => c === 'UPSTREAM_TIMEOUT')).toHaveLength(4);
    for (const { ms } of results) {
      expect(ms).toBeLessThan(1000);
    }
    // The queued ones gave up without ever reaching Janssen (one more may have started with 200 ms left).
    expect(emulator.count('get')).toBeLessThanOrEqual(2);
    expect(stack.server.upstream.limit.queued).toBe(0);
  });

  it('a call that never got a slot is counted as rejected (no_slot), not as a request to Janssen', async () => {
    stack = await startStack({
      emulator: { sessionCount: 3 },
      env: { JANS_MAX_CONCURRENCY: '1', JANS_TIMEOUT_MS: '300', JANS_CIRCUIT_THRESHOLD: '1000' },
    });
    const { emulator } = stack;
    const sid = emulator.store.all()[0]!.sid;
    expect(codeOf(await stack.gql(SessionDocument, { sid }))).toBe('OK');
    emulator.resetCounts();
    // The only slot is held past the query's budget.
    const release = await stack.server.upstream.limit.acquire();
    try {
      expect(codeOf(await stack.gql(SessionDocument, { sid }))).toBe('UPSTREAM_TIMEOUT');
    } finally {
      release();
    }
    expect(emulator.count('get')).toBe(0);
    const metrics = await (await fetch(`${stack.url}/metrics`)).text();
    const sample = (series: string) =>
      Number(
        metrics
          .split('\n')
          .find((line) => line.startsWith(`${series} `))
          ?.split(' ')[1] ?? 0,
      );
    expect(sample('jans_upstream_rejected_total{operation="get-session-by-id",reason="no_slot"}')).toBe(1);
    expect(
      sample('jans_upstream_requests_total{operation="get-session-by-id",status="none",outcome="timeout"}'),
    ).toBe(0);
  });
});
