import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import type { Fault, RouteName } from '../../src/emulator/emulator.js';
import { SessionDocument, SessionsDocument } from '../generated/graphql.js';
import { startStack, type Stack } from '../helpers/stack.js';

import { codeOf, LEAKS, timed } from './helpers.js';

const BUDGET_MS = 400;
/** What a request may take beyond the budget: our own work and the GraphQL round trip on a busy CI core. */
const SLACK_MS = 600;

/** One row per fault, printed at the end: the evidence the issue asks for. */
const table: { fault: string; code: string; ms: number; upstreamRequests: number }[] = [];

afterAll(() => {
  console.table(table);
});

describe('each upstream fault on a read: the code, a bounded time, the service still answers, recovery', () => {
  let stack: Stack;

  beforeAll(async () => {
    // The breaker is tested on its own (circuit.test.ts); here it must not mask one fault's effect on the next.
    stack = await startStack({
      emulator: { sessionCount: 20 },
      env: { JANS_TIMEOUT_MS: String(BUDGET_MS), JANS_CIRCUIT_THRESHOLD: '1000' },
    });
    expect(codeOf(await stack.gql(SessionsDocument, { page: { limit: 1 } }))).toBe('OK');
  });
  afterAll(async () => {
    await stack.close();
  });
  beforeEach(() => {
    stack.emulator.setFault('*', null);
    stack.emulator.resetCounts();
  });

  const sid = () => stack.emulator.store.all()[0]!.sid;

  it.each<[string, string, Fault, { min: number; max: number }]>([
    ['latency beyond the budget', 'UPSTREAM_TIMEOUT', { latencyMs: 1500 }, { min: 1, max: 1 }],
    ['a hang', 'UPSTREAM_TIMEOUT', { hang: true }, { min: 1, max: 1 }],
    ['a connection reset', 'UPSTREAM_UNAVAILABLE', { reset: true }, { min: 2, max: 5 }],
    ['503', 'UPSTREAM_UNAVAILABLE', { status: 503 }, { min: 2, max: 5 }],
    ['502', 'UPSTREAM_UNAVAILABLE', { status: 502 }, { min: 2, max: 5 }],
    ['504', 'UPSTREAM_UNAVAILABLE', { status: 504 }, { min: 2, max: 5 }],
    ['a Jetty HTML 500 page', 'UPSTREAM_ERROR', { status: 500, html: true }, { min: 1, max: 1 }],
    ['truncated JSON', 'UPSTREAM_ERROR', { truncatedJson: true }, { min: 1, max: 1 }],
  ])('%s -> %s', async (name, code, fault, attempts) => {
    stack.emulator.setFault('get', fault);
    const { value: response, ms } = await timed(() => stack.gql(SessionDocument, { sid: sid() }));
    table.push({ fault: name, code: codeOf(response), ms, upstreamRequests: stack.emulator.count('get') });

    expect(codeOf(response)).toBe(code);
    expect(response.body.data).toEqual({ session: null });
    expect(JSON.stringify(response.body)).not.toMatch(LEAKS);
    expect(ms).toBeLessThan(BUDGET_MS + SLACK_MS);
    // Reads are retried only for a broken connection or 502/503/504, and only within the budget.
    expect(stack.emulator.count('get')).toBeGreaterThanOrEqual(attempts.min);
    expect(stack.emulator.count('get')).toBeLessThanOrEqual(attempts.max);

    // While the fault lasts the service keeps answering: health at once, other operations normally.
    const health = await timed(() => fetch(`${stack.url}/healthz`));
    expect(health.value.status).toBe(200);
    expect(health.ms).toBeLessThan(500);
    const other = await stack.gql(SessionsDocument, { page: { limit: 2 } });
    expect(other.body.data?.sessions.nodes).toHaveLength(2);

    stack.emulator.setFault('get', null);
    const recovered = await stack.gql(SessionDocument, { sid: sid() });
    expect(recovered.body.errors).toBeUndefined();
    expect(recovered.body.data?.session?.sid).toBe(sid());
  });

  it('latency within the budget is only slower', async () => {
    stack.emulator.setFault('get', { latencyMs: 150 });
    const { value: response, ms } = await timed(() => stack.gql(SessionDocument, { sid: sid() }));
    table.push({
      fault: 'latency 150 ms',
      code: codeOf(response),
      ms,
      upstreamRequests: stack.emulator.count('get'),
    });
    expect(response.body.data?.session?.sid).toBe(sid());
    expect(ms).toBeGreaterThanOrEqual(150);
    expect(stack.emulator.count('get')).toBe(1);
  });

  it('a 503 that clears before the retries run out is invisible to the client', async () => {
    stack.emulator.setFault('get', { status: 503, times: 2 });
    const response = await stack.gql(SessionDocument, { sid: sid() });
    expect(response.body.errors).toBeUndefined();
    expect(response.body.data?.session?.sid).toBe(sid());
    expect(stack.emulator.count('get')).toBe(3);
  });

  it('a fault on every route leaves health and GraphQL validation unaffected', async () => {
    stack.emulator.setFault('*', { hang: true });
    const { value: invalid, ms } = await timed(() => stack.gql('{ session(sid: "x") { nope } }'));
    expect(codeOf(invalid)).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(ms).toBeLessThan(500);
    expect((await fetch(`${stack.url}/healthz`)).status).toBe(200);
  });
});

describe('token endpoint faults (client-credentials mode)', () => {
  it.each<[string, string, Fault]>([
    ['503', 'UPSTREAM_UNAVAILABLE', { status: 503 }],
    ['a connection reset', 'UPSTREAM_UNAVAILABLE', { reset: true }],
    ['a Jetty HTML 500 page', 'UPSTREAM_UNAVAILABLE', { status: 500, html: true }],
    ['a hang', 'UPSTREAM_TIMEOUT', { hang: true }],
  ])('%s -> %s, nothing sent to the config API, then recovery', async (name, code, fault) => {
    const stack = await startStack({
      emulator: { sessionCount: 5 },
      env: { JANS_TIMEOUT_MS: String(BUDGET_MS) },
    });
    try {
      stack.emulator.setFault('token' satisfies RouteName, fault);
      const { value: response, ms } = await timed(() => stack.gql(SessionsDocument, {}));
      table.push({
        fault: `token: ${name}`,
        code: codeOf(response),
        ms,
        upstreamRequests: stack.emulator.count('token'),
      });
      expect(codeOf(response)).toBe(code);
      expect(JSON.stringify(response.body)).not.toMatch(LEAKS);
      expect(ms).toBeLessThan(BUDGET_MS + SLACK_MS);
      expect(stack.emulator.count('search')).toBe(0);
      // The failure is in the log, with its cause, for the operator.
      expect(
        stack.logs.some((line) => line.msg === 'upstream call failed' && line.operation === 'token'),
      ).toBe(true);
      stack.emulator.setFault('token', null);
      expect((await stack.gql(SessionsDocument, {})).body.data?.sessions.totalCount).toBe(5);
    } finally {
      await stack.close();
    }
  });
});
