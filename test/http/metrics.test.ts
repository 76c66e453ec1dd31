import { register } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createMetrics } from '../../src/http/metrics.js';
import { startStack, type Stack } from '../helpers/stack.js';

/** The value of one sample in Prometheus text format, 0 when absent; `labels` must match exactly. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  const wanted = Object.entries(labels)
    .map(([key, value]) => `${key}="${value}"`)
    .sort()
    .join(',');
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (match?.[1] === name) {
      const have = (match[2] ?? '').split(',').filter(Boolean).sort().join(',');
      if (have === wanted) {
        return Number(match[3]);
      }
    }
  }
  return 0;
}

let stack: Stack;

async function scrape(target: Stack = stack) {
  const response = await fetch(`${target.url}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return response.text();
}

const ACTIVE = /* GraphQL */ `
  query Active {
    sessions(filter: { state: AUTHENTICATED }, page: { limit: 3 }) {
      nodes {
        sid
      }
    }
  }
`;

beforeAll(async () => {
  stack = await startStack();
});

afterAll(async () => {
  await stack.close();
});

describe('GET /metrics', () => {
  it('exposes Node process metrics and a closed circuit before any traffic', async () => {
    const text = await scrape();
    expect(sample(text, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(sample(text, 'nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
    expect(text).toContain('# TYPE jans_upstream_circuit_state gauge');
    expect(sample(text, 'jans_upstream_circuit_state')).toBe(0);
  });

  it('counts and times operations by name and outcome, and errors by code', async () => {
    const before = await scrape();
    expect((await stack.gql(ACTIVE)).body.errors).toBeUndefined();
    const bad = await stack.gql('query Bad { sessions(page: { limit: 0 }) { totalCount } }');
    expect(bad.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const after = await scrape();

    const ok = { operation: 'Active', outcome: 'ok' };
    expect(sample(after, 'jans_graphql_operations_total', ok)).toBe(
      sample(before, 'jans_graphql_operations_total', ok) + 1,
    );
    expect(sample(after, 'jans_graphql_operation_duration_seconds_count', ok)).toBe(
      sample(before, 'jans_graphql_operation_duration_seconds_count', ok) + 1,
    );
    expect(sample(after, 'jans_graphql_operation_duration_seconds_sum', ok)).toBeGreaterThan(0);
    expect(sample(after, 'jans_graphql_operations_total', { operation: 'Bad', outcome: 'error' })).toBe(1);
    expect(sample(after, 'jans_graphql_errors_total', { code: 'BAD_USER_INPUT' })).toBeGreaterThanOrEqual(1);
  });

  it('counts and times upstream calls by operation and status, failures included', async () => {
    const before = await scrape();
    await stack.gql(ACTIVE);
    stack.emulator.setFault('search', { status: 500 });
    const failed = await stack.gql(ACTIVE);
    stack.emulator.setFault('search', null);
    expect(failed.body.errors?.[0]?.extensions?.code).toBe('UPSTREAM_ERROR');
    const after = await scrape();

    const ok = { operation: 'search-session', status: '200', outcome: 'ok' };
    expect(sample(after, 'jans_upstream_requests_total', ok)).toBe(
      sample(before, 'jans_upstream_requests_total', ok) + 1,
    );
    const error = { operation: 'search-session', status: '500', outcome: 'error' };
    expect(sample(after, 'jans_upstream_requests_total', error)).toBe(
      sample(before, 'jans_upstream_requests_total', error) + 1,
    );
    const timed = { operation: 'search-session', outcome: 'ok' };
    expect(sample(after, 'jans_upstream_request_duration_seconds_count', timed)).toBe(
      sample(before, 'jans_upstream_request_duration_seconds_count', timed) + 1,
    );
  });

  it('counts retried attempts apart from calls', async () => {
    const before = await scrape();
    stack.emulator.setFault('search', { status: 503, times: 2 });
    expect((await stack.gql(ACTIVE)).body.errors).toBeUndefined();
    const after = await scrape();
    const ok = { operation: 'search-session', status: '200', outcome: 'ok' };
    expect(sample(after, 'jans_upstream_requests_total', ok)).toBe(
      sample(before, 'jans_upstream_requests_total', ok) + 1,
    );
    expect(sample(after, 'jans_upstream_retries_total', { operation: 'search-session' })).toBe(
      sample(before, 'jans_upstream_retries_total', { operation: 'search-session' }) + 2,
    );
  });

  it('records the size of each DataLoader batch', async () => {
    const [first, second] = stack.emulator.store.all();
    const before = await scrape();
    const response = await stack.gql(
      `query Two($a: ID!, $b: ID!) { a: session(sid: $a) { sid } b: session(sid: $b) { sid } }`,
      { a: first!.sid, b: second!.sid },
    );
    expect(response.body.errors).toBeUndefined();
    const after = await scrape();
    expect(sample(after, 'jans_dataloader_batch_size_count')).toBe(
      sample(before, 'jans_dataloader_batch_size_count') + 1,
    );
    expect(sample(after, 'jans_dataloader_batch_size_sum')).toBe(
      sample(before, 'jans_dataloader_batch_size_sum') + 2,
    );
  });

  it('keeps operation names from growing the series without bound', async () => {
    for (let index = 0; index < 105; index += 1) {
      await stack.gql(`query Name${index} { __typename }`);
    }
    await stack.gql('{ __typename }');
    const text = await scrape();
    const names = new Set(
      [...text.matchAll(/jans_graphql_operations_total\{operation="([^"]+)"/g)].map((m) => m[1]),
    );
    expect(names.size).toBeLessThanOrEqual(102);
    expect(
      sample(text, 'jans_graphql_operations_total', { operation: 'other', outcome: 'ok' }),
    ).toBeGreaterThan(0);
    expect(sample(text, 'jans_graphql_operations_total', { operation: 'anonymous', outcome: 'ok' })).toBe(1);
  });

  it('counts an operation name over 64 characters as other, however long (a name is one token: it may be 1 MB)', async () => {
    // A server of its own: the other tests have used up its 100 names.
    const fresh = await startStack();
    try {
      await fresh.gql(`query Long${'x'.repeat(1_000_000)} { __typename }`);
      await fresh.gql(`query Long${'x'.repeat(61)} { __typename }`);
      await fresh.gql(`query Long${'x'.repeat(60)} { __typename }`);
      const text = await scrape(fresh);
      expect(sample(text, 'jans_graphql_operations_total', { operation: 'other', outcome: 'ok' })).toBe(2);
      const names = [...text.matchAll(/jans_graphql_operations_total\{operation="([^"]+)"/g)].map(
        (m) => m[1],
      );
      expect(names.sort()).toEqual([`Long${'x'.repeat(60)}`, 'other']);
    } finally {
      await fresh.close();
    }
  });

  it('keeps each server in a registry of its own, apart from the global one', async () => {
    const other = await startStack();
    try {
      await other.gql('query OnlyOnOther { __typename }');
      expect(await scrape(other)).toContain('operation="OnlyOnOther"');
      expect(await scrape()).not.toContain('OnlyOnOther');
      expect(await register.metrics()).not.toContain('jans_');
    } finally {
      await other.close();
    }
  });
});

describe('createMetrics', () => {
  it('reads the circuit state at each scrape', async () => {
    let state: 'closed' | 'half-open' | 'open' = 'open';
    const metrics = createMetrics({ circuitState: () => state });
    expect(sample((await metrics.render()).body, 'jans_upstream_circuit_state')).toBe(2);
    state = 'half-open';
    expect(sample((await metrics.render()).body, 'jans_upstream_circuit_state')).toBe(1);
  });
});
