import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { register } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

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

/** Every sample of one metric, by its labels (`code=UNAUTHENTICATED`), 0-valued ones left out. */
function samples(text: string, name: string): Record<string, number> {
  const found: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (match?.[1] === name && Number(match[3]) !== 0) {
      found[(match[2] ?? '').replaceAll('"', '')] = Number(match[3]);
    }
  }
  return found;
}

/** How each sample of `name` changed between two scrapes; unchanged ones left out. */
function delta(before: string, after: string, name: string): Record<string, number> {
  const was = samples(before, name);
  const changed: Record<string, number> = {};
  for (const [labels, value] of Object.entries(samples(after, name))) {
    if (value !== (was[labels] ?? 0)) {
      changed[labels] = value - (was[labels] ?? 0);
    }
  }
  return changed;
}

/**
 * What `send` changed of the GraphQL counters, read over HTTP before and after: errors by code, operations by
 * labels, and the count of timed operations (which must move with operations).
 */
async function countsOf(target: Stack, send: () => Promise<unknown>) {
  const before = await scrape(target);
  await send();
  const after = await scrape(target);
  const operations = delta(before, after, 'jans_graphql_operations_total');
  expect(delta(before, after, 'jans_graphql_operation_duration_seconds_count')).toEqual(operations);
  return { errors: delta(before, after, 'jans_graphql_errors_total'), operations };
}

/** Raw request to /graphql over node:http (no body rewriting, any method and header). */
function raw(
  target: Stack,
  options: { method?: string; path?: string; headers?: Record<string, string>; body?: string },
): Promise<{ status: number; body: { errors?: { extensions?: { code?: string } }[] } }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${target.url}${options.path ?? '/graphql'}`,
      { method: options.method ?? 'POST', headers: options.headers ?? {} },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as never }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

const REFUSED = 'operation=(refused),outcome=error';
const JSON_TYPE = { 'content-type': 'application/json' };

describe("GraphQL error responses written before or outside Apollo's pipeline", () => {
  let keyed: Stack;
  const key = 'k1secret';
  const withKey = { ...JSON_TYPE, 'x-api-key': key };
  const activeBody = JSON.stringify({ query: ACTIVE });

  beforeAll(async () => {
    keyed = await startStack({ env: { JANS_API_KEYS: key, MAX_BODY_BYTES: '2048' } });
  });
  afterAll(async () => {
    await keyed.close();
  });

  it('a wrong x-api-key (three times) and none: UNAUTHENTICATED 4 times, 4 refused operations', async () => {
    const counts = await countsOf(keyed, async () => {
      for (const headers of [
        { 'x-api-key': 'nope' } as Record<string, string>,
        { 'x-api-key': 'k1' },
        { 'x-api-key': 'K1SECRET' },
        {},
      ]) {
        expect((await keyed.gql(ACTIVE, {}, headers)).status).toBe(401);
      }
    });
    expect(counts).toEqual({ errors: { 'code=UNAUTHENTICATED': 4 }, operations: { [REFUSED]: 4 } });
  });

  it('a wrong key for an operation the fast path knows: counted once', async () => {
    expect((await keyed.gql(ACTIVE, {}, { 'x-api-key': key })).status).toBe(200);
    const counts = await countsOf(keyed, async () => {
      expect((await keyed.gql(ACTIVE, {}, { 'x-api-key': 'nope' })).status).toBe(401);
    });
    expect(counts).toEqual({ errors: { 'code=UNAUTHENTICATED': 1 }, operations: { [REFUSED]: 1 } });
  });

  it.each<[string, number, () => Parameters<typeof raw>[1]]>([
    ['a body that is not JSON', 400, () => ({ headers: withKey, body: '{"query": ' })],
    [
      'a body over MAX_BODY_BYTES',
      413,
      () => ({ headers: withKey, body: JSON.stringify({ query: `{${' '.repeat(4096)}__typename}` }) }),
    ],
    [
      'a compressed body',
      415,
      () => ({ headers: { ...withKey, 'content-encoding': 'gzip' }, body: activeBody }),
    ],
    ['PUT', 405, () => ({ method: 'PUT', headers: withKey, body: activeBody })],
    ['DELETE without a body', 405, () => ({ method: 'DELETE' })],
    [
      'a GET without a preflight header (CSRF prevention)',
      400,
      () => ({ method: 'GET', path: `/graphql?query=${encodeURIComponent('{ __typename }')}` }),
    ],
    ['a POST with no query', 400, () => ({ headers: withKey, body: '{}' })],
  ])('%s: HTTP %i, BAD_USER_INPUT once, one refused operation', async (_name, status, make) => {
    const counts = await countsOf(keyed, async () => {
      const response = await raw(keyed, make());
      expect(response.status).toBe(status);
      expect(response.body.errors?.map((error) => error.extensions?.code)).toEqual(['BAD_USER_INPUT']);
    });
    expect(counts).toEqual({ errors: { 'code=BAD_USER_INPUT': 1 }, operations: { [REFUSED]: 1 } });
  });

  it('a 500 of a request that failed outside Apollo (the fast path threw): INTERNAL_SERVER_ERROR once', async () => {
    const execute = vi.spyOn(keyed.server.fastPath, 'execute').mockRejectedValueOnce(new Error('boom'));
    try {
      const counts = await countsOf(keyed, async () => {
        const response = await raw(keyed, { headers: withKey, body: activeBody });
        expect(response.status).toBe(500);
        expect(response.body.errors?.[0]?.extensions?.code).toBe('INTERNAL_SERVER_ERROR');
      });
      expect(counts).toEqual({ errors: { 'code=INTERNAL_SERVER_ERROR': 1 }, operations: { [REFUSED]: 1 } });
    } finally {
      execute.mockRestore();
    }
  });

  it('operations Apollo or the fast path answered are counted once, as before, and nothing for a success', async () => {
    const ok = await countsOf(keyed, async () => {
      for (let index = 0; index < 3; index += 1) {
        expect((await keyed.gql(ACTIVE, {}, { 'x-api-key': key })).body.errors).toBeUndefined();
      }
    });
    expect(ok).toEqual({ errors: {}, operations: { 'operation=Active,outcome=ok': 3 } });
    const bad = await countsOf(keyed, async () => {
      for (let index = 0; index < 2; index += 1) {
        const response = await keyed.gql(
          'query Bad { sessions(page: { limit: 0 }) { totalCount } }',
          {},
          {
            'x-api-key': key,
          },
        );
        expect(response.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      }
    });
    expect(bad).toEqual({
      errors: { 'code=BAD_USER_INPUT': 2 },
      operations: { 'operation=Bad,outcome=error': 2 },
    });
  });
});

describe('trusted-document refusals (TRUSTED_DOCUMENTS_FILE, enforce)', () => {
  let trusted: Stack;
  const dir = mkdtempSync(join(tmpdir(), 'metrics-trusted-'));
  const listed = 'query Listed { __typename }';

  beforeAll(async () => {
    const file = join(dir, 'persisted-documents.json');
    writeFileSync(
      file,
      JSON.stringify({ [`sha256:${createHash('sha256').update(listed).digest('hex')}`]: listed }),
    );
    trusted = await startStack({ env: { TRUSTED_DOCUMENTS_FILE: file } });
  });
  afterAll(async () => {
    await trusted.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it.each<[string, number, string, unknown]>([
    ['a text not in the manifest', 403, 'FORBIDDEN', { query: '{ __typename }' }],
    [
      'an id not in the manifest',
      404,
      'PERSISTED_QUERY_NOT_FOUND',
      { documentId: `sha256:${'0'.repeat(64)}` },
    ],
  ])('%s: HTTP %i, %s once, one refused operation', async (_name, status, code, body) => {
    const counts = await countsOf(trusted, async () => {
      const response = await raw(trusted, { headers: JSON_TYPE, body: JSON.stringify(body) });
      expect(response.status).toBe(status);
      expect(response.body.errors?.[0]?.extensions?.code).toBe(code);
    });
    expect(counts).toEqual({ errors: { [`code=${code}`]: 1 }, operations: { [REFUSED]: 1 } });
  });
});

describe('the same refusal in both credential modes', () => {
  it("pass-through: no bearer token is UNAUTHENTICATED once, under its operation (Apollo's pipeline refused it)", async () => {
    const passThrough = await startStack({ mode: 'pass-through' });
    try {
      const counts = await countsOf(passThrough, async () => {
        expect((await passThrough.gql(ACTIVE)).status).toBe(401);
      });
      expect(counts).toEqual({
        errors: { 'code=UNAUTHENTICATED': 1 },
        operations: { 'operation=Active,outcome=error': 1 },
      });
    } finally {
      await passThrough.close();
    }
  });
});
