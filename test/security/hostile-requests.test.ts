import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { INTERNAL_DB_HOST } from '../../src/emulator/faults.js';
import { startStack, type Stack } from '../helpers/stack.js';

/**
 * The bad-input suite: hostile or malformed requests, each with the answer it must get, no upstream call where
 * none should happen, and a healthy server afterwards. Every response body is kept and checked for leaks.
 */
let stack: Stack;
const bodies: string[] = [];

async function post(body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${stack.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  bodies.push(text);
  return {
    status: response.status,
    text,
    json: () =>
      JSON.parse(text) as {
        errors?: { message: string; extensions?: { code?: string; field?: string } }[];
        data?: unknown;
      },
  };
}

const codeOf = (json: { errors?: { extensions?: { code?: string } }[] }) =>
  json.errors?.[0]?.extensions?.code;

beforeAll(async () => {
  stack = await startStack({
    emulator: { sessionCount: 60 },
    env: {
      MAX_QUERY_DEPTH: '6',
      MAX_ALIASES: '15',
      MAX_ROOT_FIELDS: '5',
      MAX_COST: '5000',
      MAX_TOKENS: '3000',
    },
  });
});

afterAll(async () => {
  // Nothing any hostile request caused may reach a client.
  const all = bodies.join('\n');
  expect(all).not.toContain(INTERNAL_DB_HOST);
  expect(all).not.toContain(stack.emulator.origin);
  expect(all).not.toMatch(/Exception|\bat [\w.$]+\(|stacktrace|jans-config-api/);
  await stack.close();
});

afterEach(async () => {
  stack.emulator.setFault('*', null);
  const health = await fetch(`${stack.url}/healthz`);
  expect(health.status).toBe(200);
  const ok = await post({ query: '{ sessions(page: { limit: 1 }) { totalCount } }' });
  expect(ok.json().data).toMatchObject({ sessions: { totalCount: stack.emulator.store.all().length } });
  stack.emulator.resetCounts();
});

function expectNoUpstream() {
  expect(stack.emulator.count()).toBe(0);
}

describe('hostile GraphQL documents are refused before any resolver runs', () => {
  it('too deep', async () => {
    const r = await post({
      query: '{ sessions { nodes { user { sessions { nodes { user { sessions { totalCount } } } } } } } }',
    });
    expect(r.status).toBe(400);
    expect(codeOf(r.json())).toBe('QUERY_TOO_COMPLEX');
    expectNoUpstream();
  });

  it('too deep through fragments', async () => {
    const r = await post({
      query:
        'query { ...A } fragment A on Query { sessions { nodes { ...B } } } fragment B on Session { user { sessions { nodes { user { inum } } } } }',
    });
    expect(codeOf(r.json())).toBe('QUERY_TOO_COMPLEX');
    expectNoUpstream();
  });

  it('an alias bomb', async () => {
    const fields = Array.from({ length: 40 }, (_, i) => `a${i}: __typename`).join(' ');
    const r = await post({ query: `{ ${fields} }` });
    expect(codeOf(r.json())).toBe('QUERY_TOO_COMPLEX');
    expectNoUpstream();
  });

  it('an alias bomb on an upstream field', async () => {
    const fields = Array.from(
      { length: 20 },
      (_, i) => `s${i}: session(sid: "00000000-0000-4000-8000-${String(i).padStart(12, '0')}") { sid }`,
    ).join(' ');
    const r = await post({ query: `{ ${fields} }` });
    expect(codeOf(r.json())).toBe('QUERY_TOO_COMPLEX');
    expectNoUpstream();
  });

  it('too many root fields', async () => {
    const fields = Array.from({ length: 6 }, (_, i) => `r${i}: sessionStats { total }`).join(' ');
    const r = await post({ query: `{ ${fields} }` });
    expect(codeOf(r.json())).toBe('QUERY_TOO_COMPLEX');
    expect(r.json().errors?.[0]?.message).toContain('root fields');
    expectNoUpstream();
  });

  it('a cost bomb: nested pages multiply', async () => {
    const r = await post({
      query:
        '{ sessions(page: { limit: 200 }) { nodes { user { sessions(page: { limit: 200 }) { nodes { sid } } } } } }',
    });
    expect(codeOf(r.json())).toBe('QUERY_TOO_COMPLEX');
    expect(r.json().errors?.[0]?.message).toMatch(/cost \d+ is over the limit of 5000/);
    expectNoUpstream();
  });

  it('a cost bomb hidden in variables', async () => {
    const r = await post({
      query:
        'query($p: PageInput, $q: PageInput) { sessions(page: $p) { nodes { user { sessions(page: $q) { nodes { sid clientId } } } } } }',
      variables: { p: { limit: 200 }, q: { limit: 100 } },
    });
    expect(codeOf(r.json())).toBe('QUERY_TOO_COMPLEX');
    expectNoUpstream();
  });

  it('_entities with thousands of representations', async () => {
    const representations = Array.from({ length: 3000 }, (_, i) => ({
      __typename: 'Session',
      sid: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    }));
    const r = await post({
      query: 'query($r: [_Any!]!) { _entities(representations: $r) { ... on Session { sid clientId } } }',
      variables: { r: representations },
    });
    expect(codeOf(r.json())).toBe('QUERY_TOO_COMPLEX');
    expectNoUpstream();
  });

  it('a document with too many tokens', async () => {
    const r = await post({ query: `{ ${'__typename '.repeat(4000)}}` });
    expect(r.status).toBe(400);
    expect(codeOf(r.json())).toBe('QUERY_TOO_COMPLEX');
    expectNoUpstream();
  });

  it('a body over MAX_BODY_BYTES: 413', async () => {
    const r = await post({ query: `# ${'x'.repeat(1_200_000)}\n{ __typename }` });
    expect(r.status).toBe(413);
    expectNoUpstream();
  });

  it('a fragment cycle', async () => {
    const r = await post({ query: '{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }' });
    expect(codeOf(r.json())).toBe('GRAPHQL_VALIDATION_FAILED');
    expectNoUpstream();
  });
});

describe('malformed HTTP requests', () => {
  it('malformed JSON: 400', async () => {
    const r = await post('{"query": "{ __typename }"');
    expect(r.status).toBe(400);
    expect(codeOf(r.json())).toBe('BAD_USER_INPUT');
  });

  it('a JSON array batch: refused', async () => {
    const r = await post([{ query: '{ __typename }' }, { query: '{ __typename }' }]);
    expect(r.status).toBe(400);
    expectNoUpstream();
  });

  it('query is not a string', async () => {
    const r = await post({ query: { a: 1 } });
    expect(r.status).toBe(400);
  });

  it('variables are not an object', async () => {
    const r = await post({ query: 'query($sid: ID!) { session(sid: $sid) { sid } }', variables: '["x"]' });
    expect(r.status).toBe(400);
    expectNoUpstream();
  });

  it('an empty body', async () => {
    const r = await post('');
    expect(r.status).toBe(400);
  });

  it('text/plain POST (a CSRF-able simple request): refused', async () => {
    const r = await post(JSON.stringify({ query: '{ sessions { totalCount } }' }), {
      'content-type': 'text/plain',
    });
    expect(r.status).toBe(400);
    expectNoUpstream();
  });

  it('form-encoded POST: refused', async () => {
    const r = await post('query=%7B__typename%7D', { 'content-type': 'application/x-www-form-urlencoded' });
    expect(r.status).toBe(400);
    expectNoUpstream();
  });

  it('GET without a preflight header (CSRF): refused', async () => {
    const response = await fetch(
      `${stack.url}/graphql?query=${encodeURIComponent('{ sessions { totalCount } }')}`,
    );
    bodies.push(await response.text());
    expect(response.status).toBe(400);
    expectNoUpstream();
  });

  it('a mutation over GET: 405, nothing deleted', async () => {
    const sid = stack.emulator.store.all()[0]!.sid;
    const query = `mutation { deleteSession(sid: "${sid}") { deleted } }`;
    const response = await fetch(`${stack.url}/graphql?query=${encodeURIComponent(query)}`, {
      headers: { 'apollo-require-preflight': 'true' },
    });
    bodies.push(await response.text());
    expect(response.status).toBe(405);
    expect(stack.emulator.store.get(sid)).toBeDefined();
    expectNoUpstream();
  });

  it('an unknown route: 404', async () => {
    const response = await fetch(`${stack.url}/graphql/../admin`);
    bodies.push(await response.text());
    expect([400, 404]).toContain(response.status);
  });

  it('a request id with control characters is replaced, not echoed', async () => {
    const response = await fetch(`${stack.url}/healthz`, { headers: { 'x-request-id': 'abc def<script>' } });
    expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('injection attempts in every filter field: refused before any upstream call', () => {
  const refused: [string, Record<string, unknown>][] = [
    ['clientId with a comma (a second fieldValuePair)', { clientId: 'x,state=authenticated' }],
    ['clientId with =', { clientId: 'a=b' }],
    ['authUser with >', { authUser: 'admin>x' }],
    ['acr with <', { acr: 'a<b' }],
    ['authUser with a newline', { authUser: 'admin\nx' }],
    ['clientId very long', { clientId: 'c'.repeat(10_000) }],
    ['search with %', { search: '%' }],
    ['search with _', { search: 'a_b' }],
    ['search with a comma', { search: 'a,b' }],
    ['search empty', { search: '' }],
    ['userDn with /', { userDn: 'inum=a/b,ou=people,o=jans' }],
    ['userDn with ..', { userDn: '../../etc' }],
    ['userDn with %2F', { userDn: 'inum=a%2Fb,ou=people,o=jans' }],
    ['userDn with a comma inside an inum', { userDn: 'a,b' }],
    ['a date without a zone', { createdAfter: '2026-11-29T10:15:00' }],
    ['a date that does not exist', { createdAfter: '2026-13-45T00:00:00Z' }],
    ['a date as a number', { expiresBefore: 1764410100 }],
    ['a reversed range', { createdAfter: '2026-02-01T00:00:00Z', createdBefore: '2026-01-01T00:00:00Z' }],
  ];

  it.each(refused)('%s', async (_name, filter) => {
    const r = await post({
      query: 'query($f: SessionFilter) { sessions(filter: $f) { totalCount } }',
      variables: { f: filter },
    });
    expect(codeOf(r.json())).toBe('BAD_USER_INPUT');
    expectNoUpstream();
  });

  it.each([
    ['sid ..', '..'],
    ['sid with /', '../user/inum=x'],
    ['sid with %2F', 'a%2Fb'],
    ['sid with a newline', 'a\nb'],
    ['sid very long', 'a'.repeat(5000)],
  ])('%s', async (_name, sid) => {
    const r = await post({ query: 'query($sid: ID!) { session(sid: $sid) { sid } }', variables: { sid } });
    expect(codeOf(r.json())).toBe('BAD_USER_INPUT');
    expectNoUpstream();
  });

  it.each([
    ['page.limit 0 (unlimited upstream)', { limit: 0 }],
    ['page.limit over the maximum', { limit: 100_000 }],
    ['page.offset negative', { offset: -5 }],
    ['page.limit over Int', { limit: 2 ** 40 }],
  ])('%s', async (_name, page) => {
    const r = await post({
      query: 'query($p: PageInput) { sessions(page: $p) { totalCount } }',
      variables: { p: page },
    });
    expect(codeOf(r.json())).toBe('BAD_USER_INPUT');
    expectNoUpstream();
  });

  it('a wildcard sid in _entities', async () => {
    const r = await post({
      query: 'query($r: [_Any!]!) { _entities(representations: $r) { ... on Session { sid } } }',
      variables: { r: [{ __typename: 'Session', sid: '%' }] },
    });
    expect(codeOf(r.json())).toBe('BAD_USER_INPUT');
    expectNoUpstream();
  });

  it('a bad Session and a keyless User in one _entities: two errors, no unhandled rejection', async () => {
    // Once crashed the process: the User resolver threw synchronously while the Session one's rejection waited.
    const r = await post({
      query:
        'query($r: [_Any!]!) { _entities(representations: $r) { ... on Session { sid } ... on User { inum } } }',
      variables: { r: [{ __typename: 'Session', sid: 'a/b' }, { __typename: 'User' }] },
    });
    const body = r.json() as { errors?: { extensions?: { code?: string } }[] };
    expect(body.errors?.map((e) => e.extensions?.code)).toEqual(['BAD_USER_INPUT', 'BAD_USER_INPUT']);
    expectNoUpstream();
  });

  it('a hostile userDn in revokeUserSessions deletes nothing', async () => {
    const before = stack.emulator.store.all().length;
    const r = await post({
      query: 'mutation($dn: String!) { revokeUserSessions(userDn: $dn) { revoked } }',
      variables: { dn: 'inum=x,ou=people,o=jans/../../session/sid/y' },
    });
    expect(codeOf(r.json())).toBe('BAD_USER_INPUT');
    expect(stack.emulator.store.all()).toHaveLength(before);
    expectNoUpstream();
  });

  it('characters that are legal in an exact match reach Janssen exactly, encoded', async () => {
    const r = await post({
      query: 'query($f: SessionFilter) { sessions(filter: $f) { totalCount } }',
      variables: { f: { clientId: 'a%b&c#d' } },
    });
    expect(r.json().data).toEqual({ sessions: { totalCount: 0 } });
    expect(stack.emulator.requests.at(-1)?.params.fieldValuePair).toBe('client_id=a%b&c#d');
  });
});

describe('upstream error pages never reach a client', () => {
  it('a Jetty error page with a stack trace and an internal host name', async () => {
    stack.emulator.setFault('search', { status: 500, html: true });
    const r = await post({ query: '{ sessions { totalCount } }' });
    expect(codeOf(r.json())).toBe('UPSTREAM_ERROR');
    expect(r.text).not.toContain(INTERNAL_DB_HOST);
    expect(r.text).not.toMatch(/Exception|<html|\.java/);
  });
});
