import { createConnection } from 'node:net';

import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { MAX_SINGLE_SESSION_READS } from '../../src/loaders/session.loader.js';
import { MAX_SINGLE_USER_READS } from '../../src/loaders/user-sessions.loader.js';
import { startStack, type Stack } from '../helpers/stack.js';

/**
 * Mistakes a client can make that graphql-js, Apollo or @apollo/subgraph would answer as internal errors (an
 * `errorId`, an error-level log line, a count in the internal-error metric): each gets a client code instead, and
 * none is logged as unexpected.
 */
let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ emulator: { sessionCount: 40 } });
});

afterAll(async () => {
  await stack.close();
});

beforeEach(() => {
  stack.emulator.resetCounts();
  stack.logs.length = 0;
});

async function post(body: unknown) {
  const response = await fetch(`${stack.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return {
    status: response.status,
    json: (await response.json()) as {
      data?: Record<string, unknown> | null;
      errors?: { message: string; path?: unknown[]; extensions?: Record<string, unknown> }[];
    },
  };
}

const unexpectedLogs = () => stack.logs.filter((line) => line.msg === 'unexpected error');

describe('client mistakes get a client code, never INTERNAL_SERVER_ERROR', () => {
  it('a subscription: refused while validating', async () => {
    const { status, json } = await post({ query: 'subscription S { sessions { totalCount } }' });
    expect(status).toBe(400);
    expect(json.errors?.map((e) => e.extensions?.code)).toContain('GRAPHQL_VALIDATION_FAILED');
    expect(json.errors?.map((e) => e.message)).toContain(
      'Subscriptions are not supported: this API has queries and mutations only',
    );
    expect(unexpectedLogs()).toEqual([]);
  });

  it.each([{ version: 2, sha256Hash: 'abc' }, 'x', { sha256Hash: 'abc' }])(
    'a persisted query of an unsupported version (%j)',
    async (persistedQuery) => {
      const { status, json } = await post({ query: '{ __typename }', extensions: { persistedQuery } });
      expect(status).toBe(400);
      expect(json.errors).toEqual([
        { message: 'Unsupported persisted query version', extensions: { code: 'BAD_USER_INPUT' } },
      ]);
      expect(unexpectedLogs()).toEqual([]);
    },
  );

  it('a document nested thousands deep, within the token limit', async () => {
    const query = `{ session(sid: ${'['.repeat(2000)}"x"${']'.repeat(2000)}) { sid } }`;
    const { status, json } = await post({ query });
    expect(status).toBe(400);
    expect(json.errors).toEqual([
      { message: 'The document is nested too deeply', extensions: { code: 'QUERY_TOO_COMPLEX' } },
    ]);
    expect(unexpectedLogs()).toEqual([]);
  });

  it('one field repeated past graphql-js validation work budget', async () => {
    const { status, json } = await post({ query: `{ ${'__typename '.repeat(800)}}` });
    expect(status).toBe(400);
    expect(json.errors).toEqual([
      {
        message: 'The document repeats the same fields too often to be validated',
        extensions: { code: 'QUERY_TOO_COMPLEX' },
      },
    ]);
  });

  it('a Session representation without its sid: an error for that item only', async () => {
    const sid = stack.emulator.store.all()[0]!.sid;
    const { json } = await post({
      query: 'query E($r: [_Any!]!) { _entities(representations: $r) { ... on Session { sid } } }',
      variables: { r: [{ __typename: 'Session' }, { __typename: 'Session', sid }] },
    });
    expect(json.data?._entities).toEqual([null, { sid }]);
    expect(json.errors).toHaveLength(1);
    expect(json.errors?.[0]).toMatchObject({
      path: ['_entities', 0],
      extensions: { code: 'BAD_USER_INPUT', field: 'representations.0.sid' },
    });
    expect(unexpectedLogs()).toEqual([]);
  });
});

describe('_entities errors name the representation they are about: representations.<index>[.<key>]', () => {
  const ENTITIES =
    'query E($r: [_Any!]!) { _entities(representations: $r) { ... on Session { sid } ... on User { inum activeSessionCount } } }';
  const session = () => ({ __typename: 'Session', sid: stack.emulator.store.all()[0]!.sid });
  const shortSids = (n: number) =>
    Array.from({ length: n }, (_, i) => ({ __typename: 'Session', sid: `s-${i}` }));
  const shortInums = (n: number) =>
    Array.from({ length: n }, (_, i) => ({ __typename: 'User', inum: `u-${i}` }));

  it.each([
    [
      'a Session without sid',
      'representations.1.sid',
      ['_entities', 1],
      () => [session(), { __typename: 'Session' }],
    ],
    [
      'a sid that is not a string',
      'representations.0.sid',
      ['_entities', 0],
      () => [{ __typename: 'Session', sid: 5 }],
    ],
    [
      'a wildcard sid among users',
      'representations.1.sid',
      ['_entities', 1],
      () => [
        { __typename: 'User', inum: 'abc' },
        { __typename: 'Session', sid: 'a%b' },
      ],
    ],
    ['a User without keys', 'representations.1', ['_entities', 1], () => [session(), { __typename: 'User' }]],
    [
      'a bad inum',
      'representations.1.inum',
      ['_entities', 1],
      () => [session(), { __typename: 'User', inum: 'a/b' }],
    ],
    [
      'an inum that is not a string',
      'representations.0.inum',
      ['_entities', 0],
      () => [{ __typename: 'User', inum: 5 }],
    ],
    [
      'a bad userDn',
      'representations.1.userDn',
      ['_entities', 1],
      () => [session(), { __typename: 'User', userDn: 'cn=x' }],
    ],
    ['not an object (the whole field refused)', 'representations.1', ['_entities'], () => [session(), 'x']],
    [
      'an unknown __typename (the whole field refused)',
      'representations.0',
      ['_entities'],
      () => [{ __typename: 'Nope' }],
    ],
  ])('%s: BAD_USER_INPUT naming %s, alike on Apollo and the fast path', async (_name, field, path, r) => {
    const variables = { r: r() };
    const first = await post({ query: ENTITIES, variables });
    const again = await post({ query: ENTITIES, variables });
    expect(again).toEqual(first);
    expect(first.json.errors).toHaveLength(1);
    const [error] = first.json.errors!;
    expect(error).toMatchObject({ path, extensions: { code: 'BAD_USER_INPUT', field } });
    expect(error!.message.startsWith(`${field}: `), error!.message).toBe(true);
    expect(unexpectedLogs()).toEqual([]);
  });

  it.each([
    ['sessions', () => shortSids(MAX_SINGLE_SESSION_READS + 3), ['_entities', MAX_SINGLE_SESSION_READS]],
    [
      'users',
      () => shortInums(MAX_SINGLE_USER_READS + 3),
      ['_entities', MAX_SINGLE_USER_READS, 'activeSessionCount'],
    ],
  ])('the single-read cap on %s names the first representation it did not read', async (_name, r, path) => {
    const { json } = await post({ query: ENTITIES, variables: { r: r() } });
    expect(json.errors?.[0]).toMatchObject({
      path,
      extensions: { code: 'QUERY_TOO_COMPLEX', field: `representations.${path[1]}` },
    });
  });

  it('a list of only users (resolved as one list) answers as the per-item resolver does', async () => {
    const users = [
      { __typename: 'User', inum: 'a/b' },
      { __typename: 'User' },
      {
        __typename: 'User',
        userDn: stack.emulator.store.all().find((record) => record.jansUsrDN)!.jansUsrDN,
      },
      ...shortInums(MAX_SINGLE_USER_READS + 3),
      { __typename: 'User', inum: 5 },
    ];
    const alone = await post({ query: ENTITIES, variables: { r: users } });
    const searches = stack.emulator.count('search');
    // A session at the end sends the list through @apollo/subgraph's resolver, one representation at a time.
    const mixed = await post({ query: ENTITIES, variables: { r: [...users, session()] } });
    expect(stack.emulator.count('search')).toBe(2 * searches);
    expect(mixed.json.errors).toEqual(alone.json.errors);
    expect((mixed.json.data?._entities as unknown[]).slice(0, -1)).toEqual(alone.json.data?._entities);
    // The bad references in index order, then what the loader refused (the cap, at the first user it did not read).
    expect(alone.json.errors?.map((error) => error.extensions?.field)).toEqual([
      'representations.0.inum',
      'representations.1',
      `representations.${users.length - 1}.inum`,
      `representations.${3 + MAX_SINGLE_USER_READS}`,
    ]);
  });
});

describe('more client mistakes', () => {
  it.each([{ inum: 5 }, { inum: true }, { inum: ['a'] }, { userDn: { a: 1 } }, { userDn: 7 }])(
    'a User representation whose key is not a string (%j): BAD_USER_INPUT for that item',
    async (keys) => {
      const { json } = await post({
        query: 'query E($r: [_Any!]!) { _entities(representations: $r) { ... on User { inum } } }',
        variables: { r: [{ __typename: 'User', ...keys }] },
      });
      expect(json.data?._entities).toEqual([null]);
      expect(json.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(json.errors?.[0]?.message).toMatch(/must be a string/);
      expect(unexpectedLogs()).toEqual([]);
    },
  );

  it.each([
    ['dryRun', 'Boolean'],
    ['max', 'Int'],
  ])(
    'an explicit null for %s (a nullable variable where the argument has a default): BAD_USER_INPUT, alike twice',
    async (argument, type) => {
      const request = {
        query: `mutation M($v: ${type}) { deleteSessions(filter: {authUser: "x"}, ${argument}: $v) { dryRun } }`,
        variables: { v: null },
      };
      // The second is a repeat: the fast path must answer it as Apollo did (here: by leaving it to Apollo).
      const first = await post(request);
      const second = await post(request);
      expect(second).toEqual(first);
      expect(first.json.data).toBeNull();
      expect(first.json.errors).toEqual([
        {
          message: `Argument "${argument}" of non-null type "${type}!" must not be null.`,
          locations: [expect.any(Object)],
          path: ['deleteSessions'],
          extensions: { code: 'BAD_USER_INPUT' },
        },
      ]);
      expect(unexpectedLogs()).toEqual([]);
      expect(stack.emulator.count()).toBe(0);
    },
  );

  it.each(['abc\u2028', 'inum=abc\u2029,ou=people,o=jans', '\ufeffabc', 'abc\u00a0', '\u3000abc'])(
    'a DN or inum with a Unicode separator or BOM at an end (%j) is refused, not trimmed',
    async (userDn) => {
      const { json } = await post({
        query: 'mutation R($u: String!) { revokeUserSessions(userDn: $u) { revoked } }',
        variables: { u: userDn },
      });
      expect(json.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'userDn' });
      expect(stack.emulator.count()).toBe(0);
    },
  );

  it('CONNECT gets a 405, not a dropped socket', async () => {
    const { port } = new URL(stack.url);
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = createConnection({ host: '127.0.0.1', port: Number(port) }, () => {
        socket.write('CONNECT example.org:443 HTTP/1.1\r\nHost: example.org:443\r\n\r\n');
      });
      let text = '';
      socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
    expect(answer.split('\r\n')[0]).toBe('HTTP/1.1 405 Method Not Allowed');
    expect(answer).toContain('Allow: GET, POST');
  });
});

describe('one request cannot turn into unbounded upstream calls', () => {
  /** Posts twice, so Apollo answers the first and the fast path the repeat; both answers must be the same. */
  async function postTwice(body: unknown) {
    const first = await fetch(`${stack.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const text = await first.text();
    const answered = stack.server.fastPath.answered;
    const again = await post(body);
    expect(stack.server.fastPath.answered).toBe(answered + 1);
    expect(again.json).toEqual(JSON.parse(text));
    return { bytes: Buffer.byteLength(text), json: again.json };
  }
  const SESSION_ENTITIES =
    'query E($r: [_Any!]!) { _entities(representations: $r) { ... on Session { sid } } }';
  const USER_ENTITIES =
    'query U($r: [_Any!]!) { _entities(representations: $r) { ... on User { activeSessionCount } } }';
  /** Shorter than 16 characters: as a search pattern they could match other sessions, so each needs its own GET. */
  const shortSid = (i: number) => ({ __typename: 'Session', sid: `short-${i}` });
  const shortInum = (i: number) => ({ __typename: 'User', inum: `u-${i}` });

  it(`_entities reads at most ${MAX_SINGLE_SESSION_READS} sessions one GET at a time; the rest share one QUERY_TOO_COMPLEX`, async () => {
    const r = Array.from({ length: MAX_SINGLE_SESSION_READS + 30 }, (_, i) => shortSid(i));
    const { json } = await post({ query: SESSION_ENTITIES, variables: { r } });
    expect(stack.emulator.count('get')).toBe(MAX_SINGLE_SESSION_READS);
    expect(stack.emulator.count('search')).toBe(0);
    const entities = json.data?._entities as unknown[];
    expect(entities).toHaveLength(r.length);
    expect(entities.every((entity) => entity === null)).toBe(true);
    expect(json.errors).toEqual([
      {
        message:
          `This request needs more than ${MAX_SINGLE_SESSION_READS} sessions read one upstream call at a time ` +
          '(ids that cannot be batched into one search, or every id while Janssen search is failing): ' +
          '30 representations were not read and are null, this error standing for all of them; send fewer per request',
        locations: [expect.any(Object)],
        path: ['_entities', MAX_SINGLE_SESSION_READS],
        extensions: { code: 'QUERY_TOO_COMPLEX', field: `representations.${MAX_SINGLE_SESSION_READS}` },
      },
    ]);
  });

  /** `jans_graphql_errors_total{code="QUERY_TOO_COMPLEX"}`, as scraped. */
  const tooComplexCount = async () => {
    const text = await (await fetch(`${stack.url}/metrics`)).text();
    return Number(/^jans_graphql_errors_total\{code="QUERY_TOO_COMPLEX"\} (\d+)$/m.exec(text)?.[1] ?? 0);
  };

  it('19000 short sids in one _entities: 100 GETs and one error, not 18900 (a bounded response)', async () => {
    const r = Array.from({ length: 19_000 }, (_, i) => shortSid(i));
    const counted = await tooComplexCount();
    const { bytes, json } = await postTwice({ query: SESSION_ENTITIES, variables: { r } });
    // One error per response, on both paths, in the metrics too.
    expect(await tooComplexCount()).toBe(counted + 2);
    expect(stack.emulator.count('get')).toBe(2 * MAX_SINGLE_SESSION_READS);
    expect(json.errors).toHaveLength(1);
    expect(json.errors?.[0]).toMatchObject({
      path: ['_entities', MAX_SINGLE_SESSION_READS],
      extensions: { code: 'QUERY_TOO_COMPLEX', field: `representations.${MAX_SINGLE_SESSION_READS}` },
    });
    expect(json.errors?.[0]?.message).toContain('18900 representations were not read');
    expect((json.data?._entities as unknown[]).every((entity) => entity === null)).toBe(true);
    // 19000 nulls and one error: about 5 bytes a representation, against ~340 with an error each (6.5 MB).
    expect(bytes).toBeLessThan(19_000 * 5 + 2_000);
  }, 60_000);

  it(`5000 users needing a search each: ${MAX_SINGLE_USER_READS} searches and one error`, async () => {
    const r = Array.from({ length: 5_000 }, (_, i) => shortInum(i));
    const { bytes, json } = await postTwice({ query: USER_ENTITIES, variables: { r } });
    expect(stack.emulator.count('search')).toBe(2 * MAX_SINGLE_USER_READS);
    expect(json.errors).toHaveLength(1);
    expect(json.errors?.[0]).toMatchObject({
      path: ['_entities', MAX_SINGLE_USER_READS, 'activeSessionCount'],
      extensions: { code: 'QUERY_TOO_COMPLEX', field: `representations.${MAX_SINGLE_USER_READS}` },
    });
    expect(json.errors?.[0]?.message).toContain(`more than ${MAX_SINGLE_USER_READS} users`);
    expect(json.errors?.[0]?.message).toContain('4900 representations were not read');
    const entities = json.data?._entities as ({ activeSessionCount: number } | null)[];
    expect(entities.slice(0, MAX_SINGLE_USER_READS).every((entity) => entity !== null)).toBe(true);
    expect(entities.slice(MAX_SINGLE_USER_READS).every((entity) => entity === null)).toBe(true);
    expect(bytes).toBeLessThan(MAX_SINGLE_USER_READS * 30 + 5_000 * 5 + 2_000);
  }, 60_000);

  it('one representation past the cap: the error says so in the singular', async () => {
    const r = Array.from({ length: MAX_SINGLE_SESSION_READS + 1 }, (_, i) => shortSid(i));
    const { json } = await post({ query: SESSION_ENTITIES, variables: { r } });
    expect(json.errors).toHaveLength(1);
    expect(json.errors?.[0]?.message).toContain(': 1 representation was not read and is null, this error');
  });

  it('a capped sid repeated thousands of times, and both caps in one request: one error per cap', async () => {
    const r = [
      ...Array.from({ length: MAX_SINGLE_SESSION_READS }, (_, i) => shortSid(i)),
      ...Array.from({ length: 5_000 }, () => shortSid(MAX_SINGLE_SESSION_READS)),
      ...Array.from({ length: MAX_SINGLE_USER_READS + 7 }, (_, i) => shortInum(i)),
    ];
    const { json } = await postTwice({
      query:
        'query B($r: [_Any!]!) { _entities(representations: $r) { ... on Session { sid } ... on User { activeSessionCount } } }',
      variables: { r },
    });
    const firstUser = MAX_SINGLE_SESSION_READS + 5_000 + MAX_SINGLE_USER_READS;
    expect(json.errors?.map((error) => [error.path, error.extensions?.field])).toEqual([
      [['_entities', MAX_SINGLE_SESSION_READS], `representations.${MAX_SINGLE_SESSION_READS}`],
      [['_entities', firstUser, 'activeSessionCount'], `representations.${firstUser}`],
    ]);
    expect(json.errors?.[0]?.message).toContain('5000 representations were not read');
    expect(json.errors?.[1]?.message).toContain('7 representations were not read');
  });

  it(`_entities reads at most ${MAX_SINGLE_USER_READS} users one search at a time`, async () => {
    const r = Array.from({ length: MAX_SINGLE_USER_READS + 5 }, (_, i) => shortInum(i));
    const { json } = await post({
      query:
        'query E($r: [_Any!]!) { _entities(representations: $r) { ... on User { inum activeSessionCount } } }',
      variables: { r },
    });
    expect(stack.emulator.count('search')).toBe(MAX_SINGLE_USER_READS);
    expect(json.errors).toHaveLength(1);
    expect(json.errors?.[0]?.extensions?.code).toBe('QUERY_TOO_COMPLEX');
    expect(json.errors?.[0]?.message).toContain(`more than ${MAX_SINGLE_USER_READS} users`);
    expect(json.errors?.[0]?.message).toContain('5 representations were not read');
  });

  it('40 real sids still cost one search and no GET', async () => {
    const r = stack.emulator.store
      .all()
      .slice(0, 40)
      .map((session) => ({ __typename: 'Session', sid: session.sid }));
    const { json } = await post({
      query: 'query E($r: [_Any!]!) { _entities(representations: $r) { ... on Session { sid } } }',
      variables: { r },
    });
    expect(json.errors).toBeUndefined();
    expect(stack.emulator.count('get')).toBe(0);
    expect(stack.emulator.count('search')).toBe(1);
  });
});

describe('production hides field suggestions everywhere', () => {
  let production: Stack;

  beforeAll(async () => {
    production = await startStack({ emulator: { sessionCount: 5 }, env: { NODE_ENV: 'production' } });
  });

  afterAll(async () => {
    await production.close();
  });

  it.each([
    [{ authUsr: 'x' }, 'Field "authUsr" is not defined by type "SessionFilter".'],
    [{ state: 'authenticated' }, 'Value "authenticated" does not exist in "SessionState" enum.'],
  ])('a variable that does not coerce (%j)', async (filter, ending) => {
    const response = await production.gql(
      'query Q($f: SessionFilter) { sessions(filter: $f) { totalCount } }',
      { f: filter } as never,
    );
    const message = response.body.errors?.[0]?.message ?? '';
    expect(message).not.toContain('Did you mean');
    expect(message.endsWith(ending)).toBe(true);
  });
});
