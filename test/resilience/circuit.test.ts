import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { DeleteSessionDocument, SessionDocument } from '../generated/graphql.js';
import { startStack, type Stack } from '../helpers/stack.js';

import { codeOf, timed } from './helpers.js';

const OPEN_MS = 300;

describe('circuit breaker: fail fast while Janssen is down, probe, close on recovery', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({
      emulator: { sessionCount: 20 },
      env: {
        JANS_TIMEOUT_MS: '1500',
        JANS_RETRIES: '1',
        JANS_CIRCUIT_THRESHOLD: '3',
        JANS_CIRCUIT_OPEN_MS: String(OPEN_MS),
      },
    });
  });
  afterAll(async () => {
    await stack.close();
  });
  beforeEach(async () => {
    stack.emulator.setFault('*', null);
    // Each test starts closed: wait out any open period, then let one success close it.
    await new Promise((resolve) => setTimeout(resolve, OPEN_MS));
    expect(codeOf(await stack.gql(SessionDocument, { sid: sid() }))).toBe('OK');
    expect(stack.server.upstream.circuit.state()).toBe('closed');
    stack.emulator.resetCounts();
  });

  const sid = () => stack.emulator.store.all()[0]!.sid;
  const circuit = () => stack.server.upstream.circuit.state();

  async function openIt(): Promise<void> {
    stack.emulator.setFault('get', { status: 503 });
    for (let i = 0; i < 3; i += 1) {
      expect(codeOf(await stack.gql(SessionDocument, { sid: sid() }))).toBe('UPSTREAM_UNAVAILABLE');
    }
    expect(circuit()).toBe('open');
  }

  it('opens after 3 failed calls and then answers UPSTREAM_UNAVAILABLE at once, sending nothing', async () => {
    await openIt();
    stack.emulator.resetCounts();
    for (let i = 0; i < 10; i += 1) {
      const { value, ms } = await timed(() => stack.gql(SessionDocument, { sid: sid() }));
      expect(codeOf(value)).toBe('UPSTREAM_UNAVAILABLE');
      expect(ms).toBeLessThan(250);
    }
    expect(stack.emulator.count()).toBe(0);
    expect(stack.logs.some((line) => line.msg === 'upstream circuit open: failing fast')).toBe(true);
  });

  it('calls it refuses are counted as rejected, not as calls to Janssen', async () => {
    const scrape = async () => (await fetch(`${stack.url}/metrics`)).text();
    const sample = (text: string, series: string) =>
      Number(
        text
          .split('\n')
          .find((line) => line.startsWith(`${series} `))
          ?.split(' ')[1] ?? 0,
      );
    const sent =
      'jans_upstream_requests_total{operation="get-session-by-id",status="503",outcome="unavailable"}';
    const unsent =
      'jans_upstream_requests_total{operation="get-session-by-id",status="none",outcome="unavailable"}';
    const rejected = 'jans_upstream_rejected_total{operation="get-session-by-id",reason="circuit_open"}';
    const before = await scrape();
    await openIt();
    for (let i = 0; i < 4; i += 1) {
      expect(codeOf(await stack.gql(SessionDocument, { sid: sid() }))).toBe('UPSTREAM_UNAVAILABLE');
    }
    const after = await scrape();
    expect(sample(after, sent) - sample(before, sent)).toBe(3);
    expect(sample(after, unsent) - sample(before, unsent)).toBe(0);
    expect(sample(after, rejected) - sample(before, rejected)).toBe(4);
    expect(after).toMatch(/# TYPE jans_upstream_rejected_total counter/);
  });

  it('a mutation refused by the open circuit says nothing was changed', async () => {
    await openIt();
    stack.emulator.resetCounts();
    const victim = stack.emulator.store.all()[1]!.sid;
    const response = await stack.gql(DeleteSessionDocument, { sid: victim });
    expect(codeOf(response)).toBe('UPSTREAM_UNAVAILABLE');
    expect(response.body.errors?.[0]?.extensions?.outcome).toBe('NOT_APPLIED');
    expect(response.body.errors?.[0]?.message).toMatch(/Nothing was changed/);
    expect(stack.emulator.count('delete')).toBe(0);
    expect(stack.emulator.store.get(victim)).toBeDefined();
  });

  it('after the open period one probe goes through; while it runs other calls still fail fast', async () => {
    await openIt();
    // Janssen is back but slow: the probe takes 600 ms, so a call that waited for it could not finish in 300.
    stack.emulator.setFault('get', { latencyMs: 600 });
    await new Promise((resolve) => setTimeout(resolve, OPEN_MS));
    expect(circuit()).toBe('half-open');
    stack.emulator.resetCounts();
    const probe = stack.gql(SessionDocument, { sid: sid() });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const others = await Promise.all(
      Array.from({ length: 5 }, () => timed(() => stack.gql(SessionDocument, { sid: sid() }))),
    );
    for (const other of others) {
      expect(codeOf(other.value)).toBe('UPSTREAM_UNAVAILABLE');
      expect(other.ms).toBeLessThan(300);
    }
    expect((await probe).body.data?.session?.sid).toBe(sid());
    expect(stack.emulator.count('get')).toBe(1);
    expect(circuit()).toBe('closed');
    expect(codeOf(await stack.gql(SessionDocument, { sid: sid() }))).toBe('OK');
    expect(stack.logs.some((line) => line.msg === 'upstream circuit closed: upstream answers again')).toBe(
      true,
    );
  });

  it('a failed probe re-opens it; it closes by itself once the fault is gone', async () => {
    await openIt();
    await new Promise((resolve) => setTimeout(resolve, OPEN_MS));
    stack.emulator.resetCounts();
    expect(codeOf(await stack.gql(SessionDocument, { sid: sid() }))).toBe('UPSTREAM_UNAVAILABLE');
    expect(stack.emulator.count('get')).toBe(2); // the probe and its one retry
    expect(circuit()).toBe('open');

    stack.emulator.setFault('get', null);
    await new Promise((resolve) => setTimeout(resolve, OPEN_MS));
    const recovered = await stack.gql(SessionDocument, { sid: sid() });
    expect(recovered.body.data?.session?.sid).toBe(sid());
    expect(circuit()).toBe('closed');
  });

  it('a probe answered with a 500 closes it: Janssen is up', async () => {
    await openIt();
    stack.emulator.setFault('get', { status: 500 });
    await new Promise((resolve) => setTimeout(resolve, OPEN_MS));
    expect(circuit()).toBe('half-open');
    expect(codeOf(await stack.gql(SessionDocument, { sid: sid() }))).toBe('UPSTREAM_ERROR');
    expect(circuit()).toBe('closed');
  });

  it('a search probe answered 500 lets the GETs that replace it through', async () => {
    await openIt();
    stack.emulator.setFault('get', null);
    stack.emulator.setFault('search', { status: 500 });
    await new Promise((resolve) => setTimeout(resolve, OPEN_MS));
    stack.emulator.resetCounts();
    const sids = stack.emulator.store
      .all()
      .slice(0, 3)
      .map((s) => s.sid);
    const response = await stack.gql<{ _entities: ({ sid: string } | null)[] }, object>(
      /* GraphQL */ `
        query ($representations: [_Any!]!) {
          _entities(representations: $representations) {
            ... on Session {
              sid
            }
          }
        }
      `,
      { representations: sids.map((s) => ({ __typename: 'Session', sid: s })) },
    );
    expect(response.body.errors).toBeUndefined();
    expect(response.body.data?._entities.map((e) => e?.sid)).toEqual(sids);
    expect(stack.emulator.count('search')).toBe(1);
    expect(stack.emulator.count('get')).toBe(3);
    expect(circuit()).toBe('closed');
  });

  it('answers that prove Janssen is up (a 500 page, a 404) do not open it', async () => {
    stack.emulator.setFault('get', { status: 500, html: true });
    for (let i = 0; i < 5; i += 1) {
      expect(codeOf(await stack.gql(SessionDocument, { sid: sid() }))).toBe('UPSTREAM_ERROR');
    }
    stack.emulator.setFault('get', null);
    for (let i = 0; i < 5; i += 1) {
      const missing = await stack.gql(DeleteSessionDocument, {
        sid: '00000000-0000-4000-8000-00000000000' + i,
      });
      expect(missing.body.data?.deleteSession.deleted).toBe(false);
    }
    expect(circuit()).toBe('closed');
  });
});
