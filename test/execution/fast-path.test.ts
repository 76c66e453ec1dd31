import { readFileSync } from 'node:fs';

import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import type { Fault, RouteName } from '../../src/emulator/emulator.js';
import { smallJson } from '../../src/execution/fast-path.js';
import { type Stack, type StackOptions, startStack } from '../helpers/stack.js';

/**
 * The fast path (src/execution/fast-path.ts) must answer exactly as Apollo Server would: same status, same headers,
 * same bytes, same log lines, same metrics. Each pair of stacks is a reference (`GRAPHQL_FAST_PATH=off`, every
 * request through Apollo) and a fast one; both get the very same requests in the same order (so upstream state
 * such as the circuit, search health or the token cache evolves alike), and every answer of the fast one is
 * compared with the reference's.
 *
 * The clock is frozen (only `Date`): both emulators then generate the same demo data, and `expired`,
 * `sessionStats.computedAt` and the expiry counts agree between stacks and requests.
 */

const FROZEN_NOW = new Date(Math.floor(Date.now() / 1000) * 1000);
const API_KEY = 'fast-path-test-key';
const AUDIENCE = 'jans-sessions-graphql';
const DELETE_SCOPE = 'https://jans.io/oauth/jans-auth-server/session.delete';
const UNKNOWN_SID = '00000000-0000-4000-8000-000000000000';
/** The same operation as a new request text (a comment makes it one). */
const tagged = (query: string, tag: string) => `${query}\n# ${tag}\n`;
const OPERATIONS = readFileSync(new URL('../operations/sessions.graphql', import.meta.url), 'utf8');

type Via = 'apollo' | 'fast';
type Headers = Record<string, string>;

interface Answer {
  status: number;
  /** Every response header but `date`. */
  headers: Headers;
  body: string;
}

interface SendOptions {
  /** Which path of the fast stack must answer. */
  via: Via;
  /** Request headers, per stack (credentials differ: each emulator signs its own JWTs). */
  headers?: (stack: Stack) => Headers;
  /** Compare bodies after this (for answers that legitimately differ, e.g. trace timings). */
  normalize?: (body: string) => string;
}

const ERROR_ID = /"errorId":"[0-9a-f-]{36}"/g;

function normalizeBody(body: string): string {
  return body.replace(ERROR_ID, '"errorId":"<errorId>"');
}

/** A request body sent as this text (one `JSON.stringify` cannot write, e.g. nested thousands deep). */
class RawJson {
  constructor(readonly text: string) {}
}

async function post(stack: Stack, payload: unknown, headers: Headers, requestId: string): Promise<Answer> {
  const response = await fetch(`${stack.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-request-id': requestId, ...headers },
    body: payload instanceof RawJson ? payload.text : JSON.stringify(payload),
  });
  const body = await response.text();
  const kept: Headers = {};
  response.headers.forEach((value, name) => {
    if (name !== 'date') {
      kept[name] = value;
    }
  });
  return { status: response.status, headers: kept, body };
}

/** The log lines of one request, without what differs between any two runs (time, durations, ports, stacks). */
function logsOf(stack: Stack, requestId: string): Record<string, unknown>[] {
  const port = new URL(stack.emulator.origin).port;
  return stack.logs
    .filter((line) => line.requestId === requestId)
    .map((line) => {
      const { time: _time, pid: _pid, hostname: _hostname, durationMs, errorId, err, ...rest } = line;
      const kept: Record<string, unknown> = { ...rest };
      if (durationMs !== undefined) {
        kept.durationMs = typeof durationMs;
      }
      if (errorId !== undefined) {
        kept.errorId = typeof errorId;
      }
      if (err !== undefined) {
        const { stack: _stack, ...error } = err as Record<string, unknown>;
        kept.err = error;
      }
      return JSON.parse(JSON.stringify(kept).replaceAll(`:${port}`, ':<port>')) as Record<string, unknown>;
    });
}

const METRICS =
  /^(jans_graphql_operations_total|jans_graphql_errors_total|jans_graphql_operation_duration_seconds_count)\{/;

async function graphqlMetrics(stack: Stack): Promise<string[]> {
  const text = await (await fetch(`${stack.url}/metrics`)).text();
  return text.split('\n').filter((line) => METRICS.test(line));
}

/** A reference stack and a fast-path stack, fed the same requests. */
class Pair {
  private sequence = 0;

  private constructor(
    readonly ref: Stack,
    readonly fast: Stack,
    private readonly defaultHeaders: (stack: Stack) => Headers,
  ) {}

  static async start(options: StackOptions, defaultHeaders: (stack: Stack) => Headers = () => ({})) {
    const ref = await startStack({ ...options, env: { ...options.env, GRAPHQL_FAST_PATH: 'off' } });
    const fast = await startStack(options);
    return new Pair(ref, fast, defaultHeaders);
  }

  async close(): Promise<void> {
    await Promise.all([this.ref.close(), this.fast.close()]);
  }

  /** Sends one request to each stack; the fast stack's answer must equal the reference's. */
  async send(payload: unknown, options: SendOptions): Promise<Answer> {
    const requestId = `fast-path-${++this.sequence}`;
    const headers = options.headers ?? this.defaultHeaders;
    const before = this.fast.server.fastPath.answered;
    const expected = await post(this.ref, payload, headers(this.ref), requestId);
    const actual = await post(this.fast, payload, headers(this.fast), requestId);
    const normalize = ({ headers: { 'content-length': length, ...rest }, ...answer }: Answer) => ({
      ...answer,
      // A body normalized by the case differs in length.
      headers: options.normalize ? rest : { ...rest, 'content-length': length },
      body: (options.normalize ?? normalizeBody)(answer.body),
    });
    expect(normalize(actual), `answer to ${requestId}`).toEqual(normalize(expected));
    expect(this.fast.server.fastPath.answered - before, `fast path answers of ${requestId}`).toBe(
      options.via === 'fast' ? 1 : 0,
    );
    expect(this.ref.server.fastPath.answered).toBe(0);
    const logs = logsOf(this.ref, requestId);
    expect(logs.length).toBeGreaterThan(0);
    expect(logsOf(this.fast, requestId), `log lines of ${requestId}`).toEqual(logs);
    return expected;
  }

  /** A new request text: Apollo answers the first, the fast path the repeat. */
  async twice(payload: unknown, options: Omit<SendOptions, 'via'> = {}): Promise<[Answer, Answer]> {
    const first = await this.send(payload, { ...options, via: 'apollo' });
    const second = await this.send(payload, { ...options, via: 'fast' });
    return [first, second];
  }

  setFault(route: RouteName | '*', fault: Fault | null): void {
    this.ref.emulator.setFault(route, fault);
    this.fast.emulator.setFault(route, fault);
  }

  async expectSameMetrics(): Promise<void> {
    const expected = await graphqlMetrics(this.ref);
    expect(expected.length).toBeGreaterThan(0);
    expect(await graphqlMetrics(this.fast)).toEqual(expected);
  }
}

function json(answer: Answer): {
  data?: Record<string, unknown> | null;
  errors?: { message: string; path?: unknown[]; extensions?: Record<string, unknown> }[];
  extensions?: Record<string, unknown>;
} {
  return JSON.parse(answer.body) as never;
}

const SESSION_FULL = /* GraphQL */ `
  query SessionFull($sid: ID!, $withUser: Boolean!, $skipAttributes: Boolean = false) {
    __typename
    session(sid: $sid) {
      __typename
      id: sid
      sid
      ...Dates
      ... on Session {
        state
        userDn
        userInum
        sessionState
        expired
        deletable
        permissionGranted
        permissionGrantedMap
        clientId
        authUser
        acr
        opbrowserState
        deviceSecrets
      }
      sessionAttributes @skip(if: $skipAttributes)
      user @include(if: $withUser) {
        __typename
        userDn
        inum
        activeSessionCount
        sessions(page: { limit: 2 }, sort: { field: CREATION_DATE, order: DESC }) {
          totalCount
          nodes {
            sid
            ...Dates
          }
        }
      }
    }
    again: session(sid: $sid) {
      sid
      expired
    }
  }

  fragment Dates on Session {
    authenticationTime
    creationDate
    lastUsedAt
    expirationDate
  }
`;

const SESSIONS = /* GraphQL */ `
  query Page($filter: SessionFilter, $page: PageInput, $sort: SessionSort) {
    sessions(filter: $filter, page: $page, sort: $sort) {
      totalCount
      offset
      limit
      hasNextPage
      hasPreviousPage
      nodes {
        sid
        state
        creationDate
        expirationDate
        expired
        clientId
        acr
        user {
          inum
        }
      }
    }
  }
`;

const SIDS = /* GraphQL */ `
  query Sids($page: PageInput, $filter: SessionFilter) {
    sessions(page: $page, filter: $filter) {
      totalCount
      nodes {
        sid
      }
    }
  }
`;

const CONNECTION = /* GraphQL */ `
  query Connection($first: Int, $after: String, $last: Int, $before: String, $sort: SessionSort) {
    sessionsConnection(first: $first, after: $after, last: $last, before: $before, sort: $sort) {
      totalCount
      pageInfo {
        hasNextPage
        hasPreviousPage
        startCursor
        endCursor
      }
      edges {
        cursor
        node {
          sid
          creationDate
        }
      }
      nodes {
        sid
      }
    }
  }
`;

/** The `Session` part of both `_entities` queries below. */
const SESSION_ENTITY = /* GraphQL */ `
  ... on Session {
    sid
    state
    expired
    expirationDate
    user {
      inum
    }
  }
`;

const ENTITIES = /* GraphQL */ `
  query Entities($representations: [_Any!]!) {
    _entities(representations: $representations) {
      __typename
      ${SESSION_ENTITY}
      ... on User {
        userDn
        inum
        activeSessionCount
        sessions(page: { limit: 3 }, sort: { field: EXPIRATION_DATE }) {
          totalCount
          hasNextPage
          nodes {
            sid
          }
        }
      }
    }
  }
`;

const DELETE_SESSION = /* GraphQL */ `
  mutation Delete($sid: ID!) {
    deleteSession(sid: $sid) {
      sid
      deleted
    }
  }
`;

describe('fast path answers exactly as Apollo: reads, mutations, caller auth, fallbacks', () => {
  let pair: Pair;
  const jwts = new Map<Stack, { read: string; write: string }>();
  const apiKey = () => ({ 'x-api-key': API_KEY });
  const readJwt = (stack: Stack) => ({ authorization: `Bearer ${jwts.get(stack)!.read}` });
  const writeJwt = (stack: Stack) => ({ authorization: `Bearer ${jwts.get(stack)!.write}` });

  beforeAll(async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: FROZEN_NOW });
    pair = await Pair.start(
      {
        env: {
          JANS_API_KEYS: API_KEY,
          AUTH_AUDIENCE: AUDIENCE,
          MAX_COST: '2000',
          JANS_CIRCUIT_THRESHOLD: '1000',
        },
        envFrom: (emulator) => ({ AUTH_JWKS_URL: emulator.jwksUrl, AUTH_ISSUER: emulator.origin }),
      },
      apiKey,
    );
    for (const stack of [pair.ref, pair.fast]) {
      const claims = { sub: 'alice', aud: AUDIENCE };
      jwts.set(stack, {
        read: await stack.emulator.issueJwt({ ...claims, scope: 'openid' }, { expiresInSeconds: 3600 }),
        write: await stack.emulator.issueJwt(
          { ...claims, scope: `openid ${DELETE_SCOPE}` },
          { expiresInSeconds: 3600 },
        ),
      });
    }
  });
  afterAll(async () => {
    await pair?.close();
    vi.useRealTimers();
  });

  const records = () => pair.fast.emulator.store.all();
  const authenticated = () => records().find((r) => r.jansState === 'authenticated' && r.jansUsrDN)!;
  const unauthenticated = () => records().find((r) => r.jansState !== 'authenticated')!;

  it('both emulators hold the same demo data', () => {
    expect(pair.fast.emulator.store.all()).toEqual(pair.ref.emulator.store.all());
    expect(records().length).toBe(300);
  });

  it('session(sid): many fields, dates, nested user, attributes, aliases, fragments, directives', async () => {
    const sid = authenticated().sid;
    const [first] = await pair.twice({ query: SESSION_FULL, variables: { sid, withUser: true } });
    const session = json(first).data?.session as Record<string, unknown>;
    expect(session).toMatchObject({ __typename: 'Session', id: sid, sid, state: 'AUTHENTICATED' });
    expect(session.user).toMatchObject({ __typename: 'User' });
    expect(session.sessionAttributes).toBeTypeOf('object');
    // The same text with other variables: prepared already, so the fast path answers at once.
    await pair.send(
      { query: SESSION_FULL, variables: { sid, withUser: false, skipAttributes: true } },
      { via: 'fast' },
    );
    await pair.send(
      { query: SESSION_FULL, variables: { sid: unauthenticated().sid, withUser: true } },
      { via: 'fast' },
    );
    const unknown = await pair.send(
      { query: SESSION_FULL, variables: { sid: UNKNOWN_SID, withUser: true } },
      { via: 'fast' },
    );
    expect(json(unknown)).toEqual({ data: { __typename: 'Query', session: null, again: null } });
  });

  it('session(sid) of an unknown sid, without variables', async () => {
    const [first] = await pair.twice({ query: `{ session(sid: "${UNKNOWN_SID}") { sid state } }` });
    expect(first.body).toBe('{"data":{"session":null}}\n');
  });

  it('variables and operationName sent as null', async () => {
    const query = `query Nulls { sessions(page: { limit: 2 }) { nodes { sid } } }`;
    await pair.twice({ query });
    await pair.send({ query, variables: null, operationName: null }, { via: 'fast' });
    await pair.send({ query, operationName: 'Nulls' }, { via: 'apollo' });
    await pair.send({ query, operationName: 'Nulls', variables: {} }, { via: 'fast' });
  });

  it('sessions(filter, page, sort): filters with dates, DESC, default arguments', async () => {
    const createdAfter = new Date(FROZEN_NOW.getTime() - 3 * 24 * 3600_000).toISOString();
    const [first] = await pair.twice({
      query: SESSIONS,
      variables: {
        filter: { state: 'AUTHENTICATED', createdAfter },
        page: { limit: 5, offset: 3 },
        sort: { field: 'CREATION_DATE', order: 'DESC' },
      },
    });
    const page = json(first).data?.sessions as { nodes: unknown[]; totalCount: number };
    expect(page.nodes).toHaveLength(5);
    for (const variables of [
      {},
      { page: { limit: 7 } },
      { sort: { field: 'EXPIRATION_DATE' } },
      { sort: { field: 'USER_DN', order: 'DESC' }, page: { offset: 290 } },
      { filter: { expiresBefore: FROZEN_NOW.toISOString() }, sort: { field: 'LAST_USED_AT' } },
      { filter: { expiresAfter: '2000-01-01T00:00:00+02:00', state: 'UNAUTHENTICATED' } },
      { filter: { clientId: authenticated().jansSessAttr.client_id } },
      { filter: { search: authenticated().sid.slice(0, 8) } },
      { filter: { userDn: authenticated().jansUsrDN } },
      { page: { offset: 1000 } },
    ]) {
      await pair.send({ query: SESSIONS, variables }, { via: 'fast' });
    }
  });

  it('sessions with literal arguments and no variables', async () => {
    await pair.twice({
      query: `{
        sessions(filter: { state: UNAUTHENTICATED }, page: { limit: 3, offset: 1 }, sort: { field: EXPIRATION_DATE, order: DESC }) {
          totalCount hasNextPage hasPreviousPage nodes { sid state expired lastUsedAt authenticationTime }
        }
      }`,
    });
  });

  it('the operations of test/operations/sessions.graphql, selected by operationName', async () => {
    const sid = authenticated().sid;
    const cases: [string, Record<string, unknown>][] = [
      ['Session', { sid }],
      ['Sessions', { page: { limit: 20 }, sort: { field: 'AUTHENTICATION_TIME', order: 'DESC' } }],
      ['SessionCounts', {}],
      ['SessionStatsGrouped', { filter: { state: 'AUTHENTICATED' } }],
      ['SessionsConnection', { first: 4 }],
      ['DeleteSessions', { filter: { state: 'UNAUTHENTICATED' }, max: 200 }],
      ['DeleteSession', { sid: UNKNOWN_SID }],
    ];
    for (const [operationName, variables] of cases) {
      const [first] = await pair.twice({ query: OPERATIONS, operationName, variables });
      expect(json(first).errors, operationName).toBeUndefined();
    }
    // Each operation name is its own entry: the second operation was not answered from the first's.
    await pair.send(
      { query: OPERATIONS, operationName: 'Session', variables: { sid: UNKNOWN_SID } },
      {
        via: 'fast',
      },
    );
    // Without an operation name the document is ambiguous: Apollo refuses it, and keeps refusing it.
    await pair.send({ query: OPERATIONS, variables: { sid } }, { via: 'apollo' });
    await pair.send({ query: OPERATIONS, variables: { sid } }, { via: 'apollo' });
    // An unknown operation name likewise.
    await pair.send({ query: OPERATIONS, operationName: 'Nope' }, { via: 'apollo' });
    await pair.send({ query: OPERATIONS, operationName: 'Nope' }, { via: 'apollo' });
  });

  it('an empty operationName is not the same as none', async () => {
    const query = `query Named { sessions(page: { limit: 1 }) { totalCount } }`;
    await pair.twice({ query });
    const refused = await pair.send({ query, operationName: '' }, { via: 'apollo' });
    expect(refused.status).toBe(400);
    await pair.send({ query, operationName: '' }, { via: 'apollo' });
    await pair.send({ query, operationName: 'Named' }, { via: 'apollo' });
    await pair.send({ query, operationName: 'Named' }, { via: 'fast' });
  });

  it('an operation name and a text are not confused with another split of the same characters', async () => {
    const head = 'query B { __typename }';
    const tail = 'query A { sessions(page: { limit: 1 }) { totalCount } }';
    await pair.twice({ query: `${head}\n${tail}`, operationName: 'A' });
    // Apollo: `tail` has no operation named "A\nquery B { __typename }" (names cannot hold a newline).
    const refused = await pair.send({ query: tail, operationName: `A\n${head}` }, { via: 'apollo' });
    expect(refused.status).toBe(400);
  });

  it('sessionsConnection: forward and backward with cursors', async () => {
    const [first] = await pair.twice({
      query: CONNECTION,
      variables: { first: 3, sort: { field: 'CREATION_DATE' } },
    });
    const { endCursor, startCursor } = (
      json(first).data?.sessionsConnection as { pageInfo: { endCursor: string; startCursor: string } }
    ).pageInfo;
    const second = await pair.send(
      { query: CONNECTION, variables: { first: 3, after: endCursor, sort: { field: 'CREATION_DATE' } } },
      { via: 'fast' },
    );
    const next = (json(second).data?.sessionsConnection as { pageInfo: { endCursor: string } }).pageInfo;
    await pair.send(
      { query: CONNECTION, variables: { last: 2, before: next.endCursor, sort: { field: 'CREATION_DATE' } } },
      { via: 'fast' },
    );
    await pair.send({ query: CONNECTION, variables: { last: 5 } }, { via: 'fast' });
    await pair.send({ query: CONNECTION, variables: {} }, { via: 'fast' });
    // A cursor of another sort, and a made-up cursor: the connection's own errors.
    await pair.send({ query: CONNECTION, variables: { first: 1, after: startCursor } }, { via: 'fast' });
    await pair.send({ query: CONNECTION, variables: { first: 1, after: 'bm9wZQ' } }, { via: 'fast' });
  });

  it('sessionStats, counts and grouped', async () => {
    const [first] = await pair.twice({
      query: `query Stats($filter: SessionFilter) {
        sessionStats(filter: $filter) {
          computedAt total authenticated unauthenticated expired live expiringWithin1h expiringWithin24h
          byClient { key count }
          ...Acr
        }
      }
      fragment Acr on SessionStats { byAcr { key count } }`,
    });
    expect((json(first).data?.sessionStats as { total: number }).total).toBe(300);
    await pair.twice({
      query: `query Counts($filter: SessionFilter) { sessionStats(filter: $filter) { computedAt total expired live } }`,
      variables: { filter: { state: 'UNAUTHENTICATED' } },
    });
  });

  it('User fields through sessions.nodes.user', async () => {
    await pair.twice({
      query: `query Users($limit: Int) {
        sessions(filter: { state: AUTHENTICATED }, page: { limit: $limit }) {
          nodes {
            sid
            user {
              userDn inum activeSessionCount
              sessions(filter: { state: AUTHENTICATED }, page: { limit: 2 }) { totalCount hasNextPage nodes { sid expired } }
            }
          }
        }
      }`,
      variables: { limit: 4 },
    });
  });

  it('_entities with Session and User representations, and _service { sdl }', async () => {
    const user = authenticated();
    const inum = /^inum=([^,]+)/.exec(user.jansUsrDN!)![1]!;
    const [first] = await pair.twice({
      query: ENTITIES,
      variables: {
        representations: [
          { __typename: 'Session', sid: user.sid },
          { __typename: 'Session', sid: UNKNOWN_SID },
          { __typename: 'User', inum },
          { __typename: 'User', userDn: user.jansUsrDN },
          { __typename: 'Session', sid: unauthenticated().sid },
        ],
      },
    });
    const entities = json(first).data?._entities as unknown[];
    expect(entities).toHaveLength(5);
    expect(entities[1]).toBeNull();
    // A representation the resolver refuses: partial data with a BAD_USER_INPUT error.
    const partial = await pair.send(
      {
        query: ENTITIES,
        variables: {
          representations: [
            { __typename: 'Session', sid: 'not/a/sid' },
            { __typename: 'Session', sid: user.sid },
          ],
        },
      },
      { via: 'fast' },
    );
    expect(json(partial).errors?.map((e) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);
    expect((json(partial).data?._entities as unknown[])[0]).toBeNull();
    // A User reference without keys is an error for that item only; the other representations still resolve.
    const keyless = await pair.send(
      {
        query: ENTITIES,
        variables: { representations: [{ __typename: 'User' }, { __typename: 'Session', sid: user.sid }] },
      },
      { via: 'fast' },
    );
    expect(json(keyless).errors?.map((e) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);
    expect(json(keyless).data?._entities).toEqual([null, expect.objectContaining({ sid: user.sid })]);
    // Unknown types and a representation without __typename: the caller's mistake, refused for the whole field.
    for (const representations of [
      [{ __typename: 'Nope' }],
      [{ __typename: 'Session', sid: user.sid }, { sid: user.sid }],
      ['just a string'],
    ]) {
      const refused = json(
        await pair.send({ query: ENTITIES, variables: { representations } }, { via: 'fast' }),
      );
      const index = representations.length - 1;
      expect(refused.errors).toHaveLength(1);
      expect(refused.errors?.[0]).toMatchObject({
        message: `representations.${index}: must be an object whose __typename is one of Session, User`,
        extensions: { code: 'BAD_USER_INPUT', field: `representations.${index}` },
      });
      expect(refused.data).toBeNull();
    }
    // One representation given as a single value (input coercion makes it a list).
    await pair.send(
      { query: ENTITIES, variables: { representations: { __typename: 'Session', sid: user.sid } } },
      { via: 'fast' },
    );
    const [sdl] = await pair.twice({ query: `{ _service { sdl } }` });
    expect((json(sdl).data?._service as { sdl: string }).sdl).toContain('type Session');
  });

  it('_entities of sessions only (resolved as one list) answers as the per-representation resolver', async () => {
    const user = authenticated();
    const inum = /^inum=([^,]+)/.exec(user.jansUsrDN!)![1]!;
    const sessions = [user.sid, UNKNOWN_SID, unauthenticated().sid, user.sid].map((sid) => ({
      __typename: 'Session',
      sid,
    }));
    // The user's fields need no upstream call, so its errors cannot mix with the sessions'.
    const query = /* GraphQL */ `
      query SessionEntities($representations: [_Any!]!) {
        _entities(representations: $representations) {
          __typename
          ${SESSION_ENTITY}
          ... on User {
            inum
          }
        }
      }
    `;
    const compare = async (tag: string) => {
      const [batched] = await pair.twice({
        query: tagged(query, `${tag}: sessions only`),
        variables: { representations: sessions },
      });
      // A User representation at the end leaves every representation to @apollo/subgraph's own resolver. Sent
      // once, so Apollo answers on both stacks (the fast path's answer to this mix has a test of its own below).
      const generic = await pair.send(
        {
          query: tagged(query, `${tag}: sessions and a user`),
          variables: { representations: [...sessions, { __typename: 'User', inum }] },
        },
        { via: 'apollo' },
      );
      const entities = json(generic).data?._entities as unknown[];
      expect(json(batched).data?._entities).toEqual(entities.slice(0, sessions.length));
      expect(json(batched).errors).toEqual(json(generic).errors);
      return json(batched);
    };
    const ok = await compare('found');
    expect(ok.errors).toBeUndefined();
    expect((ok.data?._entities as unknown[])[1]).toBeNull();
    pair.setFault('search', { status: 503 });
    try {
      const failed = await compare('upstream down');
      expect(failed.errors?.map((e) => [e.path, e.extensions?.code])).toEqual(
        [0, 1, 2, 3].map((i) => [['_entities', i], 'UPSTREAM_UNAVAILABLE']),
      );
    } finally {
      pair.setFault('search', null);
    }
  });

  it('_entities mixing types, with failing items: same list as Apollo (graphql-jit would pad it with nulls)', async () => {
    const user = authenticated();
    const inum = /^inum=([^,]+)/.exec(user.jansUsrDN!)![1]!;
    const representations = [
      ...[user.sid, UNKNOWN_SID, unauthenticated().sid, user.sid].map((sid) => ({
        __typename: 'Session',
        sid,
      })),
      { __typename: 'User', inum },
    ];
    const query = /* GraphQL */ `
      query MixedEntities($representations: [_Any!]!) {
        _entities(representations: $representations) {
          __typename
          ... on Session {
            sid
          }
          ... on User {
            inum
          }
        }
      }
    `;
    await pair.twice({ query, variables: { representations } });
    pair.setFault('search', { status: 503 });
    try {
      const failed = await pair.send({ query, variables: { representations } }, { via: 'fast' });
      expect(json(failed).data?._entities).toHaveLength(representations.length);
      expect(json(failed).errors?.length).toBeGreaterThan(0);
    } finally {
      pair.setFault('search', null);
    }
  });

  it('introspection and __typename', async () => {
    await pair.twice({
      query: `query Intro {
        __typename
        __schema { queryType { name } mutationType { name } subscriptionType { name } }
        session: __type(name: "Session") { name kind keys: fields { name type { kind name ofType { name } } } }
        state: __type(name: "SessionState") { enumValues { name } }
        filter: __type(name: "SessionFilter") { inputFields { name defaultValue } }
        nope: __type(name: "Nope") { name }
      }`,
    });
  });

  it('merged fields: one key per response name in first-seen order, one error with every location', async () => {
    const query = `query Merged($sid: ID!, $skip: Boolean!) {
      session(sid: $sid) { ...Head sid @skip(if: $skip) ... on Session @include(if: $skip) { state sid } }
      session(sid: $sid) { expired __typename ...Head }
      ...Root
    }
    fragment Head on Session { expired sid __typename }
    fragment Root on Query { session(sid: $sid) { acr } }`;
    await pair.twice({ query, variables: { sid: authenticated().sid, skip: true } });
    await pair.send({ query, variables: { sid: authenticated().sid, skip: false } }, { via: 'fast' });
    const failed = await pair.send({ query, variables: { sid: 'no/sid', skip: false } }, { via: 'fast' });
    expect(json(failed).errors).toHaveLength(1);
  });

  it('errors below a non-null field null the nearest nullable parent, one error per item', async () => {
    const query = `query Bubble($inner: PageInput) {
      sessions(filter: { state: AUTHENTICATED }, page: { limit: 3 }) {
        nodes { sid user { inum sessions(page: $inner) { totalCount } } }
      }
    }`;
    await pair.twice({ query, variables: { inner: { limit: 1 } } });
    const failed = await pair.send({ query, variables: { inner: { limit: 201 } } }, { via: 'fast' });
    expect(json(failed).errors).toHaveLength(3);
  });

  it('BAD_USER_INPUT from values that pass validation: sid format, page limit over the maximum, filter values', async () => {
    const [first] = await pair.twice({ query: SIDS, variables: { page: { limit: 201 } } });
    expect(json(first).errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'page.limit',
    });
    expect(json(first).data).toBeNull();
    await pair.send({ query: SIDS, variables: { filter: { clientId: 'a,b' } } }, { via: 'fast' });
    await pair.send({ query: SIDS, variables: { filter: { search: '100%' } } }, { via: 'fast' });
    await pair.send({ query: SIDS, variables: { page: { offset: -1 } } }, { via: 'fast' });
    await pair.send({ query: SIDS, variables: { page: { limit: 1 } } }, { via: 'fast' });
    const query = `query One($sid: ID!) { session(sid: $sid) { sid } ok: sessions(page: { limit: 1 }) { totalCount } }`;
    const [bad] = await pair.twice({ query, variables: { sid: 'bad/sid' } });
    // Partial data: the other root field still answers.
    expect(json(bad).data).toMatchObject({ session: null, ok: { totalCount: 300 } });
    expect(json(bad).errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    await pair.send({ query, variables: { sid: 'x'.repeat(200) } }, { via: 'fast' });
  });

  it('mutations: FORBIDDEN with HTTP 403 for a JWT without the mutation scope; deleteSession of an unknown sid', async () => {
    const sid = authenticated().sid;
    const [forbidden] = await pair.twice({ query: DELETE_SESSION, variables: { sid } }, { headers: readJwt });
    expect(forbidden.status).toBe(403);
    expect(json(forbidden).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(pair.fast.emulator.store.get(sid)).toBeDefined();
    const revoke = `mutation Revoke($userDn: String!) { revokeUserSessions(userDn: $userDn) { userDn revoked } }`;
    const [revoked] = await pair.twice(
      { query: revoke, variables: { userDn: authenticated().jansUsrDN } },
      { headers: readJwt },
    );
    expect(revoked.status).toBe(403);
    // The scoped JWT and the API key may delete: an unknown sid deletes nothing, however often.
    const gone = await pair.send(
      { query: DELETE_SESSION, variables: { sid: UNKNOWN_SID } },
      { via: 'fast', headers: writeJwt },
    );
    expect(json(gone).data).toEqual({ deleteSession: { sid: UNKNOWN_SID, deleted: false } });
    await pair.send({ query: DELETE_SESSION, variables: { sid: UNKNOWN_SID } }, { via: 'fast' });
    await pair.send({ query: DELETE_SESSION, variables: { sid: 'bad/sid' } }, { via: 'fast' });
    // A read with a read-only JWT is fine.
    await pair.send({ query: SIDS, variables: { page: { limit: 2 } } }, { via: 'fast', headers: readJwt });
    expect(pair.fast.emulator.store.all()).toEqual(pair.ref.emulator.store.all());
    expect(records()).toHaveLength(300);
  });

  it('falls back to Apollo for variables that do not coerce', async () => {
    const query = tagged(SIDS, 'coercion');
    await pair.twice({ query, variables: { page: { limit: 3 } } });
    for (const variables of [
      { page: { limit: 'x' } },
      { page: { limit: 2.5 } },
      { page: { limit: 2147483648 } },
      { filter: { state: 'NOPE' } },
      { filter: { state: 'authenticated' } },
      { filter: { clientId: 5 } },
      { filter: { expiresAfter: 'yesterday' } },
      { filter: { expiresAfter: '2026-11-29T10:15:00' } },
      { filter: { nope: 1 } },
      { page: 'x' },
      { page: [{ limit: 1 }] },
    ]) {
      const answer = await pair.send({ query, variables }, { via: 'apollo' });
      expect(answer.status).toBe(400);
    }
    // Coercions both engines accept: an Int given as 3.0 (JSON 3), a list given as one value.
    await pair.send({ query, variables: { page: { limit: 3.0 }, filter: null } }, { via: 'fast' });
    const mutation = tagged(DELETE_SESSION, 'coercion');
    const [missing] = await pair.twice({ query: mutation, variables: { sid: UNKNOWN_SID } });
    expect(missing.status).toBe(200);
    for (const variables of [{}, undefined, { sid: null }, { sid: 1.5 }, { sid: true }, { sid: ['a'] }]) {
      await pair.send({ query: mutation, variables }, { via: 'apollo' });
    }
    // An integer ID is coerced to a string by both.
    await pair.send({ query: mutation, variables: { sid: 12345 } }, { via: 'fast' });
  });

  it('variables nested thousands deep or a megabyte long: the answers of Apollo, not a 500', async () => {
    const query = tagged(SIDS, 'deep');
    await pair.twice({ query, variables: { page: { limit: 1 } } });
    const nested = (depth: number, leaf: string) => '{"a":'.repeat(depth) + leaf + '}'.repeat(depth);
    const payload = (variables: string) =>
      new RawJson(`{"query":${JSON.stringify(query)},"operationName":"Sids","variables":${variables}}`);
    for (const variables of [
      `{"filter":${nested(6000, '1')}}`,
      `{"page":{"limit":1},"filter":${'['.repeat(6000)}${']'.repeat(6000)}}`,
    ]) {
      const answer = await pair.send(payload(variables), { via: 'apollo' });
      expect(answer.status).toBe(400);
      expect(json(answer).errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    }
    // Variables that coerce, however long: the fast path answers (the service refuses the value itself).
    const long = await pair.send(payload(`{"filter":{"clientId":${JSON.stringify('x'.repeat(500_000))}}}`), {
      via: 'fast',
    });
    expect(json(long).errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    // A scalar may hold anything: representations nested deep are answered by the fast path, as Apollo answers.
    const entities = tagged(ENTITIES, 'deep');
    const sid = authenticated().sid;
    await pair.twice({ query: entities, variables: { representations: [{ __typename: 'Session', sid }] } });
    const deep = await pair.send(
      new RawJson(
        `{"query":${JSON.stringify(entities)},"variables":{"representations":[{"__typename":"Session","sid":"${sid}","x":${nested(6000, '1')}}]}}`,
      ),
      { via: 'fast' },
    );
    expect(deep.status).toBe(200);
    expect(json(deep).data?._entities).toMatchObject([{ sid }]);
  });

  it('falls back to Apollo when only the variables push the cost over MAX_COST', async () => {
    const query = `query Costly($page: PageInput) { sessions(page: $page) { nodes { sid state clientId acr expired creationDate expirationDate lastUsedAt authUser userDn userInum } } }`;
    await pair.twice({ query, variables: { page: { limit: 5 } } });
    const refused = await pair.send({ query, variables: { page: { limit: 200 } } }, { via: 'apollo' });
    expect(json(refused).errors?.[0]?.extensions?.code).toBe('QUERY_TOO_COMPLEX');
    await pair.send({ query, variables: { page: { limit: 200 } } }, { via: 'apollo' });
    // Default page size (50): under the limit again.
    await pair.send({ query, variables: {} }, { via: 'fast' });
  });

  it('falls back to Apollo for a wrong or missing API key and a bad bearer token (401)', async () => {
    const payload = { query: tagged(SIDS, 'auth'), variables: { page: { limit: 1 } } };
    await pair.twice(payload);
    for (const headers of [
      { 'x-api-key': 'wrong' } as Headers,
      {},
      { authorization: 'Bearer not.a.jwt' },
      { authorization: 'Basic Zm9vOmJhcg==' },
    ]) {
      const answer = await pair.send(payload, { via: 'apollo', headers: () => headers });
      expect(answer.status).toBe(401);
      expect(json(answer).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    }
    // An expired JWT.
    const expired = new Map<Stack, string>();
    for (const stack of [pair.ref, pair.fast]) {
      expired.set(
        stack,
        await stack.emulator.issueJwt({ sub: 'alice', aud: AUDIENCE }, { expiresInSeconds: -60 }),
      );
    }
    const answer = await pair.send(payload, {
      via: 'apollo',
      headers: (stack) => ({ authorization: `Bearer ${expired.get(stack)!}` }),
    });
    expect(answer.status).toBe(401);
    await pair.send(payload, { via: 'fast' });
  });

  it('falls back to Apollo for extensions, a federation trace request, a batch and malformed bodies', async () => {
    const payload = { query: tagged(SIDS, 'extensions'), variables: { page: { limit: 1 } } };
    await pair.twice(payload);
    await pair.send({ ...payload, extensions: {} }, { via: 'apollo' });
    await pair.send({ ...payload, extensions: { something: true } }, { via: 'apollo' });
    await pair.send({ ...payload, extensions: null }, { via: 'apollo' });
    const withoutTrace = (body: string) => {
      const parsed = JSON.parse(body) as { extensions?: { ftv1?: unknown } };
      expect(parsed.extensions?.ftv1).toBeTypeOf('string');
      delete parsed.extensions?.ftv1;
      return JSON.stringify(parsed);
    };
    const trace = () => ({ ...apiKey(), 'apollo-federation-include-trace': 'ftv1' });
    await pair.send(payload, { via: 'apollo', headers: trace, normalize: withoutTrace });
    await pair.send(payload, { via: 'apollo', headers: trace, normalize: withoutTrace });
    await pair.send([payload], { via: 'apollo' });
    await pair.send({ ...payload, variables: JSON.stringify(payload.variables) }, { via: 'apollo' });
    await pair.send({ ...payload, operationName: 5 }, { via: 'apollo' });
    await pair.send({ ...payload, query: { kind: 'Document' } }, { via: 'apollo' });
    await pair.send(payload, { via: 'fast' });
  });

  it('an Accept value is only served once Apollo negotiated it; application/graphql-response+json kept', async () => {
    const payload = { query: tagged(SIDS, 'accept'), variables: { page: { limit: 2 } } };
    await pair.twice(payload);
    const accepts = [
      'application/graphql-response+json',
      'application/json',
      'application/graphql-response+json, application/json;q=0.9',
      'application/json;q=0.5, application/graphql-response+json',
      'text/html, */*;q=0.1',
    ];
    for (const accept of accepts) {
      const headers = () => ({ ...apiKey(), accept });
      const [first] = await pair.twice(payload, { headers });
      expect(first.status).toBe(200);
      await pair.send({ ...payload, variables: { page: { limit: 1 } } }, { via: 'fast', headers });
    }
    const graphqlResponse = await pair.send(payload, {
      via: 'fast',
      headers: () => ({ ...apiKey(), accept: 'application/graphql-response+json' }),
    });
    expect(graphqlResponse.headers['content-type']).toBe('application/graphql-response+json; charset=utf-8');
    // Not acceptable: Apollo's 406 each time, nothing learnt.
    const headers = () => ({ ...apiKey(), accept: 'text/html' });
    const refused = await pair.send(payload, { via: 'apollo', headers });
    expect(refused.status).toBe(406);
    await pair.send(payload, { via: 'apollo', headers });
  });

  it('logs one line per operation and counts the same metrics as Apollo', async () => {
    const query = `query Metered { sessions(page: { limit: 1 }) { totalCount } }`;
    await pair.twice({ query });
    const before = await graphqlMetrics(pair.fast);
    await pair.send({ query }, { via: 'fast' });
    const after = await graphqlMetrics(pair.fast);
    const line = (lines: string[], prefix: string) =>
      Number(lines.find((l) => l.startsWith(prefix))?.split(' ')[1] ?? 0);
    const ok = 'jans_graphql_operations_total{operation="Metered",outcome="ok"}';
    expect(line(after, ok)).toBe(line(before, ok) + 1);
    const operationLines = pair.fast.logs.filter(
      (l) => l.msg === 'graphql operation' && l.operationName === 'Metered',
    );
    expect(operationLines).toHaveLength(3);
    expect(operationLines[2]).toMatchObject({
      operationName: 'Metered',
      outcome: 'ok',
      upstreamCalls: 1,
      caller: expect.stringMatching(/^key:/) as unknown,
      method: 'POST',
      httpStatus: 200,
      durationMs: expect.any(Number) as unknown,
    });
    await pair.expectSameMetrics();
    // GRAPHQL_FAST_PATH=off: the reference saw every text repeated, prepared none of them and answered none.
    expect(pair.ref.server.fastPath.operations.size).toBe(0);
    expect(pair.fast.server.fastPath.operations.size).toBeGreaterThan(20);
    expect(pair.ref.server.fastPath.answered).toBe(0);
    expect(pair.fast.server.fastPath.answered).toBeGreaterThan(50);
  });
});

describe('fast path answers exactly as Apollo: upstream faults', () => {
  let pair: Pair;

  beforeAll(async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: FROZEN_NOW });
    pair = await Pair.start({
      emulator: { sessionCount: 20 },
      env: { JANS_TIMEOUT_MS: '400', JANS_RETRIES: '1', JANS_CIRCUIT_THRESHOLD: '1000' },
    });
  });
  afterAll(async () => {
    await pair?.close();
    vi.useRealTimers();
  });

  const sid = () => pair.fast.emulator.store.all()[0]!.sid;
  const SESSION = `query Faulty($sid: ID!) { session(sid: $sid) { sid state } }`;
  const PARTIAL = `query Partial($sid: ID!) { session(sid: $sid) { sid } sessionStats { total } }`;

  it('both emulators hold the same demo data', () => {
    expect(pair.fast.emulator.store.all()).toEqual(pair.ref.emulator.store.all());
  });

  it.each<[string, Fault, string]>([
    ['a hang', { hang: true }, 'UPSTREAM_TIMEOUT'],
    ['503', { status: 503 }, 'UPSTREAM_UNAVAILABLE'],
    ['a connection reset', { reset: true }, 'UPSTREAM_UNAVAILABLE'],
    ['a Jetty HTML 500', { status: 500, html: true }, 'UPSTREAM_ERROR'],
    ['truncated JSON', { truncatedJson: true }, 'UPSTREAM_ERROR'],
  ])('session(sid) with %s -> %s', async (name, fault, code) => {
    const query = tagged(SESSION, name);
    pair.setFault('get', fault);
    try {
      const [first] = await pair.twice({ query, variables: { sid: sid() } });
      expect(json(first).errors?.[0]?.extensions?.code).toBe(code);
      expect(json(first).data).toEqual({ session: null });
      // Partial data: the stats come from search, which works.
      const [partial] = await pair.twice({ query: tagged(PARTIAL, name), variables: { sid: sid() } });
      expect(json(partial).data).toEqual({ session: null, sessionStats: { total: 20 } });
      expect(json(partial).errors?.[0]?.extensions?.code).toBe(code);
    } finally {
      pair.setFault('get', null);
    }
    const recovered = await pair.send({ query, variables: { sid: sid() } }, { via: 'fast' });
    expect(json(recovered).errors).toBeUndefined();
  });

  it('a non-null root field failing: data null', async () => {
    pair.setFault('search', { status: 503 });
    try {
      const [first] = await pair.twice({ query: SIDS, variables: { page: { limit: 2 } } });
      expect(json(first)).toMatchObject({
        data: null,
        errors: [{ extensions: { code: 'UPSTREAM_UNAVAILABLE' } }],
      });
    } finally {
      pair.setFault('search', null);
    }
    await pair.send({ query: SIDS, variables: { page: { limit: 2 } } }, { via: 'fast' });
  });

  it('a failed delete: the outcome in the error', async () => {
    // The DELETE fails and the check whether the session is gone fails too: the outcome is unknown.
    pair.setFault('delete', { status: 500 });
    pair.setFault('get', { status: 503 });
    try {
      const [first] = await pair.twice({ query: DELETE_SESSION, variables: { sid: sid() } });
      expect(json(first).errors?.[0]?.extensions).toMatchObject({
        code: 'UPSTREAM_ERROR',
        outcome: 'UNKNOWN',
      });
    } finally {
      pair.setFault('*', null);
    }
    expect(pair.fast.emulator.store.get(sid())).toBeDefined();
  });

  it('errors of several fields, in their order', async () => {
    pair.setFault('get', { status: 500, html: true });
    try {
      await pair.twice({
        query: `query Several($a: ID!, $b: ID!) {
          a: session(sid: $a) { sid }
          bad: session(sid: "no/sid") { sid }
          b: session(sid: $b) { sid }
          page: sessions(page: { limit: 2 }) { nodes { sid } }
        }`,
        variables: { a: sid(), b: UNKNOWN_SID },
      });
    } finally {
      pair.setFault('get', null);
    }
  });

  it('the same metrics on both stacks', async () => {
    await pair.expectSameMetrics();
  });
});

describe("smallJson (the key of the fast path's cost cache)", () => {
  it('is JSON.stringify up to the limit, and undefined past it without walking the rest', () => {
    for (const value of [
      {},
      { limit: 20, offset: 40 },
      {
        page: { limit: 1 },
        filter: { state: 'AUTHENTICATED', search: 'a"\\\u2028b' },
        list: [1, null, true, 'x'],
      },
      { nested: [[], [{}]] },
    ]) {
      const parsed: unknown = JSON.parse(JSON.stringify(value));
      expect(smallJson(parsed, 256)).toBe(JSON.stringify(parsed));
    }
    // JSON.parse makes `__proto__` an own property.
    expect(smallJson(JSON.parse('{"__proto__":{"a":1},"b":2}'), 256)).toBe('{"__proto__":{"a":1},"b":2}');
    const text = JSON.stringify({ s: 'x'.repeat(50) });
    expect(smallJson(JSON.parse(text), text.length)).toBe(text);
    expect(smallJson(JSON.parse(text), text.length - 1)).toBeUndefined();
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i += 1) {
      deep = { a: deep };
    }
    expect(smallJson({ deep }, 256)).toBeUndefined();
    expect(smallJson({ list: new Array(1_000_000).fill(0) }, 256)).toBeUndefined();
  });
});
