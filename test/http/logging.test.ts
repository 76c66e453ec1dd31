import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startStack, type Stack } from '../helpers/stack.js';

import { sendAndHangUp } from './raw-http.js';

const ACTIVE = /* GraphQL */ `
  query Active {
    sessions(filter: { state: AUTHENTICATED }, page: { limit: 2 }) {
      totalCount
    }
  }
`;

describe('request logs (client-credentials demo wiring, API key required)', () => {
  const API_KEY = 'caller-key-do-not-log';
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({ env: { JANS_API_KEYS: API_KEY } });
  });

  afterAll(async () => {
    await stack.close();
  });

  it('writes one JSON line per operation carrying the request id it echoes', async () => {
    const from = stack.logs.length;
    const response = await stack.gql(ACTIVE, undefined, {
      'x-api-key': API_KEY,
      'x-request-id': 'req-42.a:b',
    });
    expect(response.body.errors).toBeUndefined();
    expect(response.headers.get('x-request-id')).toBe('req-42.a:b');

    const lines = stack.logs.slice(from).filter((line) => line.requestId === 'req-42.a:b');
    const operations = lines.filter((line) => line.msg === 'graphql operation');
    expect(operations).toHaveLength(1);
    expect(operations[0]).toMatchObject({
      level: 30,
      service: 'jans-sessions-graphql',
      operationName: 'Active',
      outcome: 'ok',
      method: 'POST',
      httpStatus: 200,
      upstreamCalls: 1,
    });
    expect(operations[0]!.durationMs).toEqual(expect.any(Number));
    expect(operations[0]!.time).toEqual(expect.any(Number));
  });

  it('cuts an operation name to 100 characters in its line (a name is one token: it may be 1 MB)', async () => {
    const answered = stack.server.fastPath.answered;
    // 1 MB: answered by Apollo each time. 50,000 characters: by Apollo, then by the fast path.
    for (const [length, requestIds] of [
      [1_000_000, ['long-1', 'long-2']],
      [50_000, ['long-3', 'long-4']],
    ] as const) {
      const name = `Long${'x'.repeat(length)}`;
      for (const requestId of requestIds) {
        const response = await stack.gql(`query ${name} { __typename }`, undefined, {
          'x-api-key': API_KEY,
          'x-request-id': requestId,
        });
        expect(response.body.data).toEqual({ __typename: 'Query' });
        const line = stack.logs.find((l) => l.requestId === requestId && l.msg === 'graphql operation');
        expect(line?.operationName).toBe(`${name.slice(0, 100)}…`);
        expect(JSON.stringify(line).length).toBeLessThan(1_000);
      }
    }
    expect(stack.server.fastPath.answered).toBe(answered + 1);
  });

  it('generates a request id when none (or a malformed one) is sent, and logs with it', async () => {
    for (const sent of [undefined, 'has spaces and <html>']) {
      const from = stack.logs.length;
      const response = await stack.gql(ACTIVE, undefined, {
        'x-api-key': API_KEY,
        ...(sent ? { 'x-request-id': sent } : {}),
      });
      const id = response.headers.get('x-request-id')!;
      expect(id).toMatch(/^[0-9a-f-]{36}$/);
      expect(stack.logs.slice(from).find((line) => line.msg === 'graphql operation')?.requestId).toBe(id);
    }
  });

  it('tags every line of a failing request with its id, upstream failures included', async () => {
    stack.emulator.setFault('search', { status: 500 });
    const from = stack.logs.length;
    const response = await stack.gql(ACTIVE, undefined, {
      'x-api-key': API_KEY,
      'x-request-id': 'failing-1',
    });
    stack.emulator.setFault('search', null);
    expect(response.body.errors?.[0]?.extensions?.code).toBe('UPSTREAM_ERROR');

    const lines = stack.logs.slice(from);
    expect(lines.map((line) => line.msg)).toEqual(
      expect.arrayContaining(['upstream call failed', 'graphql operation']),
    );
    expect(lines.every((line) => line.requestId === 'failing-1')).toBe(true);
    expect(lines.find((line) => line.msg === 'graphql operation')).toMatchObject({ outcome: 'error' });
  });

  it('logs requests Apollo refuses before any operation starts', async () => {
    const from = stack.logs.length;
    // A GET without a preflight-forcing header is what CSRF prevention refuses.
    const response = await fetch(`${stack.url}/graphql?query=${encodeURIComponent('{ __typename }')}`, {
      headers: { 'x-request-id': 'refused-1' },
    });
    expect(response.status).toBe(400);
    const lines = stack.logs.slice(from);
    expect(lines).toEqual([
      expect.objectContaining({
        requestId: 'refused-1',
        msg: 'graphql request refused',
        method: 'GET',
        httpStatus: 400,
        outcome: 'refused',
      }),
    ]);
  });

  it('logs a client closing mid-body at debug, without a stack, and counts it nowhere', async () => {
    const metricsBefore = await (await fetch(`${stack.url}/metrics`)).text();
    const from = stack.logs.length;
    await sendAndHangUp(
      stack.url,
      'POST /graphql HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: 26\r\n' +
        'X-Request-Id: gone-1\r\n\r\n{"query":"',
    );
    await expect
      .poll(() => stack.logs.slice(from).filter((line) => line.requestId === 'gone-1'))
      .toEqual([expect.objectContaining({ level: 20, msg: 'client closed the request', method: 'POST' })]);
    const lines = stack.logs.slice(from);
    expect(lines.some((line) => (line.level as number) >= 40 || 'err' in line)).toBe(false);
    const graphqlSeries = (text: string) =>
      text.split('\n').filter((line) => line.startsWith('jans_graphql_'));
    const metricsAfter = await (await fetch(`${stack.url}/metrics`)).text();
    expect(graphqlSeries(metricsAfter)).toEqual(graphqlSeries(metricsBefore));
    expect(metricsAfter).not.toContain('INTERNAL_SERVER_ERROR');
  });

  it('never writes credentials: API keys, the client secret, tokens', async () => {
    stack.emulator.setFault('search', { status: 503, times: 1 });
    await stack.gql(ACTIVE, undefined, { 'x-api-key': API_KEY });
    await stack.gql(ACTIVE, undefined, { 'x-api-key': 'wrong-key-do-not-log' });
    const text = stack.logs.map((line) => JSON.stringify(line)).join('\n');
    expect(text).not.toContain(API_KEY);
    expect(text).not.toContain('wrong-key-do-not-log');
    expect(text).not.toContain(stack.emulator.clientSecret);
    expect(text).not.toMatch(/Bearer \S{8,}/);
  });
});

describe('request logs in pass-through mode', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({ mode: 'pass-through' });
  });

  afterAll(async () => {
    await stack.close();
  });

  it("never writes the caller's bearer token, even when Janssen refuses it", async () => {
    const token = stack.emulator.issueToken(['https://jans.io/oauth/jans-auth-server/session.readonly']);
    const refused = 'not-a-valid-token-do-not-log';
    stack.emulator.setFault('search', { status: 503, times: 1 });
    await stack.gql(ACTIVE, undefined, { authorization: `Bearer ${token}` });
    const denied = await stack.gql(ACTIVE, undefined, { authorization: `Bearer ${refused}` });
    expect(denied.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const text = stack.logs.map((line) => JSON.stringify(line)).join('\n');
    expect(stack.logs.some((line) => line.msg === 'upstream call failed')).toBe(true);
    expect(text).not.toContain(token);
    expect(text).not.toContain(refused);
  });
});
