import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import {
  DeleteSessionDocument,
  DeleteSessionsDocument,
  SessionDocument,
  SessionsDocument,
} from '../generated/graphql.js';
import { startStack, type Stack, type StackOptions } from '../helpers/stack.js';

const READ = 'https://jans.io/oauth/jans-auth-server/session.readonly';
const LEAKS = /127\.0\.0\.1|jans-config-api|jans-db|Exception|<html|stack|at .+\.java|token scopes/i;

describe('error codes in pass-through mode (the caller token is forwarded)', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({ mode: 'pass-through', emulator: { sessionCount: 30 } });
  });
  afterAll(async () => {
    await stack.close();
  });
  beforeEach(() => {
    stack.emulator.resetCounts();
  });

  it.each([
    ['no Authorization header', {}],
    ['a Basic one', { authorization: 'Basic YTpi' }],
  ])(
    '%s: HTTP 401, UNAUTHENTICATED saying what to send, a challenge, no upstream call',
    async (_, headers) => {
      for (let round = 0; round < 2; round += 1) {
        // The second round is a repeat the fast path answers: same status, header and body.
        const response = await stack.gql(SessionsDocument, {}, headers);
        expect(response.status).toBe(401);
        expect(response.headers.get('www-authenticate')).toBe('Bearer realm="jans-sessions-graphql"');
        expect(response.body.errors?.[0]).toMatchObject({
          message:
            "No bearer token: each request must carry the caller's Janssen token in the Authorization header",
          extensions: { code: 'UNAUTHENTICATED' },
        });
        expect(stack.emulator.count()).toBe(0);
      }
    },
  );

  it.each([
    ['an empty Bearer', { authorization: 'Bearer ' }],
    ['a Bearer with two tokens', { authorization: 'Bearer a b' }],
  ])(
    '%s: HTTP 400, BAD_USER_INPUT saying what to send, an invalid_request challenge, no upstream call',
    async (_, headers) => {
      for (let round = 0; round < 2; round += 1) {
        // The second round is a repeat the fast path answers: same status, header and body.
        const response = await stack.gql(SessionsDocument, {}, headers);
        expect(response.status).toBe(400);
        expect(response.headers.get('www-authenticate')).toBe(
          'Bearer realm="jans-sessions-graphql", error="invalid_request"',
        );
        expect(response.body.errors?.[0]).toMatchObject({
          message: 'Malformed Authorization header: send exactly one, in the form "Bearer <token>"',
          extensions: { code: 'BAD_USER_INPUT' },
        });
        expect(stack.emulator.count()).toBe(0);
      }
    },
  );

  it('no Authorization header is no problem for what needs no upstream call (a gateway reading the SDL)', async () => {
    const response = await stack.gql('{ _service { sdl } }');
    expect(response.status).toBe(200);
    expect(response.body.errors).toBeUndefined();
  });

  it('a token Janssen refuses: UNAUTHENTICATED, HTTP 401 with an invalid_token challenge, alike twice', async () => {
    for (let round = 0; round < 2; round += 1) {
      const response = await stack.gql(SessionsDocument, {}, { authorization: 'Bearer nope' });
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toBe(
        'Bearer realm="jans-sessions-graphql", error="invalid_token"',
      );
      expect(response.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      expect(JSON.stringify(response.body)).not.toMatch(LEAKS);
    }
  });

  it('a read token on deleteSessions: each failure FORBIDDEN, and no more DELETEs once refused', async () => {
    const token = stack.emulator.issueToken([READ]);
    const response = await stack.gql(
      DeleteSessionsDocument,
      { filter: { state: 'AUTHENTICATED' }, dryRun: false, max: 1000 },
      { authorization: `Bearer ${token}` },
    );
    const result = response.body.data?.deleteSessions;
    expect(result?.matched).toBeGreaterThan(8);
    expect(result?.deleted).toBe(0);
    expect(result?.failed).toHaveLength(result!.matched);
    expect(new Set(result?.failed.map((failure) => failure.code))).toEqual(new Set(['FORBIDDEN']));
    // At most the DELETEs already in flight (4 at a time) when the first refusal came back.
    expect(stack.emulator.count('delete')).toBeLessThanOrEqual(4);
  });

  it('a token without the delete scopes: FORBIDDEN naming the scopes, nothing deleted', async () => {
    const sid = stack.emulator.store.all()[0]!.sid;
    const token = stack.emulator.issueToken([READ]);
    const response = await stack.gql(DeleteSessionDocument, { sid }, { authorization: `Bearer ${token}` });
    const error = response.body.errors?.[0];
    expect(response.status).toBe(403);
    expect(response.headers.get('www-authenticate')).toBe(
      'Bearer realm="jans-sessions-graphql", error="insufficient_scope", ' +
        `scope="${(error?.extensions?.requiredScopes as string[]).join(' ')}"`,
    );
    expect(error?.extensions?.requiredScopes).toEqual(
      expect.arrayContaining(['https://jans.io/oauth/jans-auth-server/session.delete', 'revoke_session']),
    );
    expect(error?.extensions?.code).toBe('FORBIDDEN');
    expect(error?.message).toContain('https://jans.io/oauth/jans-auth-server/session.delete');
    expect(error?.message).toContain('revoke_session');
    expect(JSON.stringify(response.body)).not.toContain(token);
    expect(JSON.stringify(response.body)).not.toMatch(LEAKS);
    expect(stack.emulator.store.get(sid)).toBeDefined();
  });

  it('a read token reads', async () => {
    const token = stack.emulator.issueToken([READ]);
    const response = await stack.gql(
      SessionsDocument,
      { page: { limit: 3 } },
      { authorization: `Bearer ${token}` },
    );
    expect(response.body.data?.sessions.nodes).toHaveLength(3);
  });
});

describe('error codes for upstream failures', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({ emulator: { sessionCount: 30 }, env: { JANS_TIMEOUT_MS: '400' } });
  });
  afterAll(async () => {
    await stack.close();
  });
  beforeEach(() => {
    stack.emulator.setFault('*', null);
    stack.emulator.resetCounts();
  });

  const sid = () => stack.emulator.store.all()[0]!.sid;

  it.each([
    ['a hang', { hang: true }, 'UPSTREAM_TIMEOUT'],
    ['503', { status: 503 as const }, 'UPSTREAM_UNAVAILABLE'],
    ['502', { status: 502 as const }, 'UPSTREAM_UNAVAILABLE'],
    ['a connection reset', { reset: true }, 'UPSTREAM_UNAVAILABLE'],
    ['a Jetty HTML 500 with a stack trace', { status: 500 as const, html: true }, 'UPSTREAM_ERROR'],
    ['truncated JSON', { truncatedJson: true }, 'UPSTREAM_ERROR'],
  ])('%s -> %s, no leak, and the next request succeeds', async (_name, fault, code) => {
    stack.emulator.setFault('get', fault);
    const started = Date.now();
    const response = await stack.gql(SessionDocument, { sid: sid() });
    expect(Date.now() - started).toBeLessThan(2500);
    expect(response.body.errors?.[0]?.extensions?.code).toBe(code);
    expect(response.body.data).toEqual({ session: null });
    expect(JSON.stringify(response.body)).not.toMatch(LEAKS);
    stack.emulator.setFault('get', null);
    const next = await stack.gql(SessionDocument, { sid: sid() });
    expect(next.body.data?.session?.sid).toBe(sid());
  });

  it('a 400 to a single read: no page.limit hint, which is only for searches', async () => {
    stack.emulator.setFault('get', { status: 400 });
    const response = await stack.gql(SessionDocument, { sid: sid() });
    expect(response.body.errors?.[0]).toMatchObject({
      message: 'Janssen rejected the request parameters',
      extensions: { code: 'BAD_USER_INPUT' },
    });
    stack.emulator.setFault('search', { status: 400 });
    const search = await stack.gql(SessionsDocument, {});
    expect(search.body.errors?.[0]).toMatchObject({
      message: 'Janssen rejected the request parameters (is page.limit above its maximum page size?)',
      extensions: { code: 'BAD_USER_INPUT' },
    });
  });

  it('the token endpoint down: UPSTREAM_UNAVAILABLE, and no config API call', async () => {
    const fresh = await startStack({ emulator: { sessionCount: 5 }, env: { JANS_TIMEOUT_MS: '400' } });
    try {
      fresh.emulator.setFault('token', { status: 503 });
      const response = await fresh.gql(SessionsDocument, {});
      expect(response.body.errors?.[0]?.extensions?.code).toBe('UPSTREAM_UNAVAILABLE');
      expect(fresh.emulator.count('search')).toBe(0);
      fresh.emulator.setFault('token', null);
      expect((await fresh.gql(SessionsDocument, {})).body.data?.sessions.totalCount).toBe(5);
    } finally {
      await fresh.close();
    }
  });
});

describe("the token endpoint refusing this service's client credentials", () => {
  it('is an operator problem: UPSTREAM_ERROR saying so, and /readyz names it', async () => {
    // Configured by hand, as an operator would, with the emulator's client id and a wrong secret.
    const fresh = await startStack({
      mode: 'pass-through',
      emulator: { sessionCount: 5 },
      envFrom: (emulator) => ({
        JANS_CONFIG_API_URL: emulator.configApiUrl,
        JANS_TOKEN_URL: emulator.tokenUrl,
        JANS_CLIENT_ID: emulator.clientId,
        JANS_CLIENT_SECRET: 'not-the-secret',
        JANS_API_KEYS: 'caller-key',
      }),
    });
    try {
      const response = await fresh.gql(SessionsDocument, {}, { 'x-api-key': 'caller-key' });
      expect(response.body.errors?.[0]).toMatchObject({
        message:
          "Janssen's token endpoint refused this service's own client credentials: its operator must fix them",
        extensions: { code: 'UPSTREAM_ERROR' },
      });
      expect(fresh.emulator.count('search')).toBe(0);
      const sid = fresh.emulator.store.all()[0]!.sid;
      const mutation = await fresh.gql(DeleteSessionDocument, { sid }, { 'x-api-key': 'caller-key' });
      expect(mutation.body.errors?.[0]).toMatchObject({
        message:
          "Janssen's token endpoint refused this service's own client credentials: its operator must fix them. " +
          'Nothing was changed',
        extensions: { code: 'UPSTREAM_ERROR', outcome: 'NOT_APPLIED' },
      });
      const ready = await fetch(`${fresh.url}/readyz`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toEqual({
        status: 'unavailable',
        reason: 'token endpoint: client credentials refused',
      });
    } finally {
      await fresh.close();
    }
  });
});

describe("Janssen refusing this service's own token or its scopes (client-credentials mode)", () => {
  const KEY = 'caller-key';
  const DELETE = 'https://jans.io/oauth/jans-auth-server/session.delete';

  /** Client-credentials mode configured as an operator would, callers authenticating with an API key. */
  const startWithClient = (emulator: StackOptions['emulator']) =>
    startStack({
      mode: 'pass-through',
      emulator,
      env: { LOG_LEVEL: 'info' },
      envFrom: (e) => ({
        JANS_CONFIG_API_URL: e.configApiUrl,
        JANS_TOKEN_URL: e.tokenUrl,
        JANS_CLIENT_ID: e.clientId,
        JANS_CLIENT_SECRET: e.clientSecret,
        JANS_API_KEYS: KEY,
      }),
    });
  const operatorLines = (stack: Stack) =>
    stack.logs.filter((l) => l.level === 50 && /operator/.test(String(l.msg)));
  const auditLines = (stack: Stack) => stack.logs.filter((l) => l.audit === true);

  it('a token Janssen keeps refusing, after the one renewal: UPSTREAM_ERROR for the operator, not UNAUTHENTICATED', async () => {
    let ticks = 0;
    // Janssen's clock runs 3 s ahead on every look, so each 2 s token is dead by the time it is checked.
    const stack = await startWithClient({
      sessionCount: 5,
      tokenTtlSeconds: 2,
      now: () => new Date(Date.now() + 3000 * ticks++),
    });
    try {
      for (let round = 0; round < 2; round += 1) {
        const response = await stack.gql(SessionsDocument, {}, { 'x-api-key': KEY });
        expect(response.status).toBe(200);
        expect(response.headers.get('www-authenticate')).toBeNull();
        expect(response.body.errors?.[0]).toMatchObject({
          message:
            "Janssen refused this service's own access token, a freshly issued one too: its operator must fix " +
            "the service's Janssen client",
          extensions: { code: 'UPSTREAM_ERROR' },
        });
        expect(JSON.stringify(response.body)).not.toMatch(LEAKS);
      }
      expect(stack.emulator.count('search')).toBe(4);
      // One line for the operator however many requests fail alike (rate-limited), without a token or URL.
      expect(operatorLines(stack)).toEqual([
        expect.objectContaining({ operation: 'search-session', kind: 'UNAUTHORIZED' }),
      ]);
      expect(JSON.stringify(operatorLines(stack))).not.toMatch(/Bearer|127\.0\.0\.1/);

      const sid = stack.emulator.store.all()[0]!.sid;
      const mutation = await stack.gql(
        DeleteSessionDocument,
        { sid },
        { 'x-api-key': KEY, 'x-request-id': 'refused-delete' },
      );
      expect(mutation.status).toBe(200);
      expect(mutation.body.errors?.[0]).toMatchObject({
        message: expect.stringMatching(/this service's own access token.*operator.*\. Nothing was changed$/),
        extensions: { code: 'UPSTREAM_ERROR', outcome: 'NOT_APPLIED' },
      });
      expect(stack.emulator.store.get(sid)).toBeDefined();
      expect(auditLines(stack)).toEqual([
        expect.objectContaining({
          requestId: 'refused-delete',
          action: 'deleteSession',
          sid,
          outcome: 'failed',
          code: 'UPSTREAM_ERROR',
          change: 'NOT_APPLIED',
        }),
      ]);
    } finally {
      await stack.close();
    }
  });

  it('a client without the delete scopes: UPSTREAM_ERROR naming them for the operator, audited failed, bulk stops', async () => {
    const stack = await startWithClient({ sessionCount: 30 });
    try {
      // The service's own client may read but not delete.
      stack.emulator.addClient(stack.emulator.clientId, stack.emulator.clientSecret, [READ]);
      const sid = stack.emulator.store.all()[0]!.sid;
      const response = await stack.gql(
        DeleteSessionDocument,
        { sid },
        { 'x-api-key': KEY, 'x-request-id': 'no-scope-delete' },
      );
      expect(response.status).toBe(200);
      expect(response.headers.get('www-authenticate')).toBeNull();
      expect(response.body.errors?.[0]).toEqual({
        message:
          `This service's Janssen client lacks a scope this operation needs: ${DELETE} and revoke_session; ` +
          'its operator must grant them. Nothing was changed',
        path: ['deleteSession'],
        locations: expect.any(Array),
        extensions: { code: 'UPSTREAM_ERROR', outcome: 'NOT_APPLIED' },
      });
      expect(stack.emulator.store.get(sid)).toBeDefined();
      expect(auditLines(stack)).toEqual([
        expect.objectContaining({ sid, outcome: 'failed', code: 'UPSTREAM_ERROR', change: 'NOT_APPLIED' }),
      ]);
      expect(operatorLines(stack)).toEqual([
        expect.objectContaining({
          operation: 'delete-session',
          kind: 'INSUFFICIENT_SCOPE',
          requiredScopes: [DELETE, 'revoke_session'],
        }),
      ]);

      stack.emulator.resetCounts();
      const bulk = await stack.gql(
        DeleteSessionsDocument,
        { filter: { state: 'AUTHENTICATED' }, dryRun: false, max: 1000 },
        { 'x-api-key': KEY, 'x-request-id': 'no-scope-bulk' },
      );
      const result = bulk.body.data?.deleteSessions;
      expect(result?.matched).toBeGreaterThan(8);
      expect(result?.deleted).toBe(0);
      expect(result?.failed).toHaveLength(result!.matched);
      expect(new Set(result?.failed.map((failure) => failure.code))).toEqual(new Set(['UPSTREAM_ERROR']));
      expect(result?.failed[0]?.message).toContain("This service's Janssen client lacks a scope");
      // At most the DELETEs already in flight (4 at a time) when the first refusal came back.
      expect(stack.emulator.count('delete')).toBeLessThanOrEqual(4);
      const bulkAudit = auditLines(stack).filter((l) => l.requestId === 'no-scope-bulk');
      expect(bulkAudit).toHaveLength(result!.matched);
      expect(new Set(bulkAudit.map((l) => `${String(l.outcome)} ${String(l.code)}`))).toEqual(
        new Set(['failed UPSTREAM_ERROR']),
      );
      // Still one line for the operator: the same refusal within the minute.
      expect(operatorLines(stack)).toHaveLength(1);
    } finally {
      await stack.close();
    }
  });
});

describe('GraphQL-level error codes', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({ emulator: { sessionCount: 5 }, env: { MAX_QUERY_DEPTH: '4' } });
  });
  afterAll(async () => {
    await stack.close();
  });

  it('introspection is not counted in the depth (GraphiQL and codegen nest ofType deeply)', async () => {
    const response = await stack.gql(
      '{ __schema { types { fields { type { ofType { ofType { name } } } } } } }',
    );
    expect(response.body.errors).toBeUndefined();
  });

  it('a syntax error: GRAPHQL_PARSE_FAILED, HTTP 400', async () => {
    const response = await stack.gql('query { sessions { ');
    expect(response.status).toBe(400);
    expect(response.body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_PARSE_FAILED');
  });

  it('an unknown field: GRAPHQL_VALIDATION_FAILED', async () => {
    const response = await stack.gql('query { sessions { nope } }');
    expect(response.body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });

  it('too deep: QUERY_TOO_COMPLEX before any upstream call', async () => {
    stack.emulator.resetCounts();
    const response = await stack.gql(
      '{ sessions { nodes { user { sessions { nodes { user { inum } } } } } } }',
    );
    expect(response.body.errors?.[0]?.extensions?.code).toBe('QUERY_TOO_COMPLEX');
    expect(stack.emulator.count()).toBe(0);
  });

  it('malformed JSON: HTTP 400 with a GraphQL error body', async () => {
    const response = await fetch(`${stack.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"query": ',
    });
    expect(response.status).toBe(400);
    expect(
      ((await response.json()) as { errors: { extensions: { code: string } }[] }).errors[0]?.extensions.code,
    ).toBe('BAD_USER_INPUT');
  });

  it('a body over MAX_BODY_BYTES: HTTP 413', async () => {
    const response = await fetch(`${stack.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: `{ __typename }`, padding: 'x'.repeat(1_100_000) }),
    });
    expect(response.status).toBe(413);
  });

  it('no error response carries a stacktrace', async () => {
    const response = await stack.gql('query { sessions { nope } }');
    expect(JSON.stringify(response.body)).not.toContain('stacktrace');
  });
});
