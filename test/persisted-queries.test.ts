import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { connect, createServer } from 'node:net';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { MAX_PERSISTED_QUERY_LENGTH } from '../src/persisted-queries.js';

import { startStack, type Stack } from './helpers/stack.js';

const QUERY = '{ sessions(page: { limit: 2 }) { totalCount nodes { sid } } }';
const HASH = createHash('sha256').update(QUERY).digest('hex');
const persisted = { persistedQuery: { version: 1, sha256Hash: HASH } };

type Body = { data?: { sessions: { totalCount: number } }; errors?: { extensions?: { code?: string } }[] };

async function post(stack: Stack, body: Record<string, unknown>): Promise<Body> {
  const response = await fetch(`${stack.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return (await response.json()) as Body;
}

/** A GET by hash alone: what a CDN can cache. `apollo-require-preflight` satisfies CSRF prevention. */
async function getByHash(stack: Stack): Promise<Body> {
  const search = new URLSearchParams({ extensions: JSON.stringify(persisted) });
  const response = await fetch(`${stack.url}/graphql?${search}`, {
    headers: { 'apollo-require-preflight': '1' },
  });
  return (await response.json()) as Body;
}

describe('automatic persisted queries, in memory', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack();
  });

  afterAll(async () => {
    await stack.close();
  });

  it('asks for the query once, then runs it by its sha256 hash alone', async () => {
    const unknown = await post(stack, { extensions: persisted });
    expect(unknown.errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_NOT_FOUND');
    expect(unknown.data).toBeUndefined();

    const registered = await post(stack, { query: QUERY, extensions: persisted });
    expect(registered.errors).toBeUndefined();
    const total = stack.emulator.store.all().length;
    expect(registered.data?.sessions.totalCount).toBe(total);

    expect((await post(stack, { extensions: persisted })).data?.sessions.totalCount).toBe(total);
    expect((await getByHash(stack)).data?.sessions.totalCount).toBe(total);
  });

  it('refuses, without running it, a query whose hash does not match', async () => {
    const response = await fetch(`${stack.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        query: '{ sessions { totalCount } }',
        extensions: { persistedQuery: { version: 1, sha256Hash: '0'.repeat(64) } },
      }),
    });
    expect(response.status).toBe(400);
    const body = (await response.json()) as Body & { errors?: { extensions?: { code?: string } }[] };
    expect(body.data).toBeUndefined();
    expect(body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});

describe('automatic persisted queries with REDIS_URL set and Redis unreachable', () => {
  let stack: Stack;

  beforeAll(async () => {
    // A port that was free a moment ago: connections to it are refused.
    const port = await freePort();
    stack = await startStack({ env: { REDIS_URL: `redis://127.0.0.1:${port}` } });
  });

  afterAll(async () => {
    await stack.close();
  });

  it('still answers: a cache failure reads as a miss, and the client sends the query', async () => {
    const started = performance.now();
    expect((await post(stack, { extensions: persisted })).errors?.[0]?.extensions?.code).toBe(
      'PERSISTED_QUERY_NOT_FOUND',
    );
    const registered = await post(stack, { query: QUERY, extensions: persisted });
    expect(registered.data?.sessions.totalCount).toBe(stack.emulator.store.all().length);
    expect(performance.now() - started).toBeLessThan(3_000);
    expect(stack.logs.some((line) => /persisted-query cache \(Redis\) failed/.test(String(line.msg)))).toBe(
      true,
    );
  });
});

/** Debian's Redis (`apt-get install redis-server`); CI installs it and sets REQUIRE_REDIS=1. */
const REDIS_SERVER = '/usr/bin/redis-server';

describe('automatic persisted queries shared through Redis', () => {
  const available = existsSync(REDIS_SERVER);
  let redis: ChildProcess | undefined;
  let replicas: Stack[] = [];

  beforeAll(async () => {
    if (!available) {
      return;
    }
    const port = await freePort();
    redis = spawn(
      REDIS_SERVER,
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      {
        stdio: 'ignore',
      },
    );
    await waitForPort(port);
    const env = { REDIS_URL: `redis://127.0.0.1:${port}` };
    replicas = await Promise.all([startStack({ env }), startStack({ env })]);
  });

  afterAll(async () => {
    await Promise.all(replicas.map((replica) => replica.close()));
    redis?.kill();
  });

  it('finds a query registered through one replica when asked through another', async (ctx) => {
    if (!available) {
      if (process.env.REQUIRE_REDIS === '1') {
        throw new Error(`REQUIRE_REDIS=1 but ${REDIS_SERVER} is missing (apt-get install -y redis-server)`);
      }
      ctx.skip(`${REDIS_SERVER} is missing: apt-get install redis-server to run the shared-cache test`);
    }
    const [first, second] = replicas as [Stack, Stack];
    const query = `{ sessions(page: { limit: 1 }) { totalCount } } # ${Date.now()}`;
    const extensions = {
      persistedQuery: { version: 1, sha256Hash: createHash('sha256').update(query).digest('hex') },
    };
    expect((await post(second, { extensions })).errors?.[0]?.extensions?.code).toBe(
      'PERSISTED_QUERY_NOT_FOUND',
    );
    expect((await post(first, { query, extensions })).errors).toBeUndefined();
    // Apollo writes the registered query without waiting for it: allow that write a moment to land.
    await expect
      .poll(async () => (await post(second, { extensions })).data?.sessions.totalCount, { timeout: 2_000 })
      .toBe(second.emulator.store.all().length);
    expect(second.logs.some((line) => /Redis/.test(String(line.msg)))).toBe(false);
  });

  it(`does not write a query text over ${MAX_PERSISTED_QUERY_LENGTH} characters to Redis; it is still answered`, async (ctx) => {
    if (!available) {
      ctx.skip(`${REDIS_SERVER} is missing`);
    }
    const [first, second] = replicas as [Stack, Stack];
    const query = `{ sessions(page: { limit: 1 }) { totalCount } } # ${Date.now()}${'x'.repeat(MAX_PERSISTED_QUERY_LENGTH)}`;
    const extensions = {
      persistedQuery: { version: 1, sha256Hash: createHash('sha256').update(query).digest('hex') },
    };
    expect((await post(first, { query, extensions })).data?.sessions.totalCount).toBe(
      first.emulator.store.all().length,
    );
    // The small query of the test above landed within this; this one never does.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect((await post(second, { extensions })).errors?.[0]?.extensions?.code).toBe(
      'PERSISTED_QUERY_NOT_FOUND',
    );
    expect((await post(second, { query, extensions })).errors).toBeUndefined();
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.end();
        resolve(true);
      }).on('error', () => resolve(false));
    });
    if (open) {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`nothing listens on port ${port}`);
}
