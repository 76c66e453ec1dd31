import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { createContext } from '../../src/context.js';
import type { SessionRecord } from '../../src/emulator/session-store.js';
import { createJanssenClient } from '../../src/janssen/http-client.js';
import { SearchHealth } from '../../src/loaders/search-health.js';
import { SessionResolver } from '../../src/schema/session/session.resolver.js';
import { RepeatLimiter } from '../../src/util/repeat-limiter.js';
import { SessionDocument, SessionsDocument } from '../generated/graphql.js';
import { startStack, type Stack } from '../helpers/stack.js';

let stack: Stack;
let all: SessionRecord[];

const utc = (date: Date | undefined) => (date ? `${date.toISOString().slice(0, 19)}Z` : null);

beforeAll(async () => {
  stack = await startStack({ emulator: { seed: 11, sessionCount: 260 } });
  all = stack.emulator.store.all();
});

afterAll(async () => {
  await stack.close();
});

beforeEach(() => {
  stack.emulator.resetCounts();
});

async function sessions(variables: Parameters<Stack['gql']>[1] & object) {
  const response = await stack.gql(SessionsDocument, variables);
  expect(response.body.errors).toBeUndefined();
  return response.body.data!.sessions;
}

describe('Query.sessions', () => {
  it('returns the first page with the full total and paging flags', async () => {
    const page = await sessions({});
    expect(page.totalCount).toBe(all.length);
    expect(page.nodes).toHaveLength(50);
    expect(page).toMatchObject({ offset: 0, limit: 50, hasNextPage: true, hasPreviousPage: false });
  });

  it('maps every field of a session from the wire shape', async () => {
    const record =
      all.find((s) => s.jansState === 'authenticated' && s.deviceSecret.length > 0) ??
      all.find((s) => s.jansState === 'authenticated')!;
    const response = await stack.gql(SessionDocument, { sid: record.sid });
    const session = response.body.data!.session!;
    expect(session).toMatchObject({
      sid: record.sid,
      userDn: record.jansUsrDN,
      userInum: /^inum=([^,]+)/.exec(record.jansUsrDN!)![1],
      state: 'AUTHENTICATED',
      sessionState: record.jansSessState ?? null,
      creationDate: utc(record.creationDate),
      expirationDate: utc(record.exp),
      lastUsedAt: utc(record.jansLastAccessTime),
      authenticationTime: utc(record.authnTime),
      expired: record.exp.getTime() <= Date.now(),
      clientId: record.jansSessAttr.client_id,
      authUser: record.jansSessAttr.auth_user,
      acr: record.jansSessAttr.acr,
      opbrowserState: record.jansSessAttr.opbs,
      deletable: record.del,
    });
    expect(session.sessionAttributes).toMatchObject({ client_id: record.jansSessAttr.client_id });
    expect(session.creationDate).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
  });

  it('walks every page to the last one, visiting each session once', async () => {
    const seen = new Set<string>();
    let offset = 0;
    for (;;) {
      const page = await sessions({ page: { limit: 200, offset } });
      page.nodes.forEach((node) => seen.add(node.sid));
      if (!page.hasNextPage) {
        expect(page.nodes).toHaveLength(all.length - offset);
        break;
      }
      offset += 200;
    }
    expect(seen.size).toBe(all.length);
  });

  it('an offset past the end gives an empty page with the true total', async () => {
    const page = await sessions({ page: { limit: 10, offset: all.length + 5 } });
    expect(page).toMatchObject({
      nodes: [],
      totalCount: all.length,
      hasNextPage: false,
      hasPreviousPage: true,
    });
  });

  it('the last partial page has no next page', async () => {
    const page = await sessions({ page: { limit: 100, offset: all.length - 3 } });
    expect(page.nodes).toHaveLength(3);
    expect(page.hasNextPage).toBe(false);
  });

  it.each([
    ['CREATION_DATE', (s: SessionRecord) => s.creationDate.getTime()],
    ['EXPIRATION_DATE', (s: SessionRecord) => s.exp.getTime()],
    ['LAST_USED_AT', (s: SessionRecord) => s.jansLastAccessTime.getTime()],
  ] as const)('sorts by %s both ways', async (field, key) => {
    for (const order of ['ASC', 'DESC'] as const) {
      const page = await sessions({ sort: { field, order }, page: { limit: 200 } });
      const values = page.nodes.map((n) => key(all.find((s) => s.sid === n.sid)!));
      const sorted = [...values].sort((a, b) => (order === 'ASC' ? a - b : b - a));
      expect(values).toEqual(sorted);
    }
  });

  it.each(['AUTHENTICATION_TIME', 'USER_DN', 'STATE'] as const)('sorts by %s', async (field) => {
    const asc = await sessions({ sort: { field }, page: { limit: 200 } });
    const desc = await sessions({ sort: { field, order: 'DESC' }, page: { limit: 200 } });
    expect(asc.nodes.length).toBeGreaterThan(0);
    const request = stack.emulator.requests.at(-1);
    expect(new URLSearchParams(request?.query as string).get('sortOrder')).toBe('descending');
    expect(asc.nodes.map((n) => n.sid)).not.toEqual(desc.nodes.map((n) => n.sid));
    if (field === 'STATE') {
      expect(asc.nodes[0]!.state).toBe('AUTHENTICATED');
      expect(desc.nodes[0]!.state).toBe('UNAUTHENTICATED');
    }
  });
});

describe('Query.sessions filters (each against the emulator data)', () => {
  const authenticated = () => all.filter((s) => s.jansState === 'authenticated');

  it('state', async () => {
    for (const [state, wire] of [
      ['AUTHENTICATED', 'authenticated'],
      ['UNAUTHENTICATED', 'unauthenticated'],
    ] as const) {
      const page = await sessions({ filter: { state }, page: { limit: 200 } });
      expect(page.totalCount).toBe(all.filter((s) => s.jansState === wire).length);
      expect(page.nodes.every((n) => n.state === state)).toBe(true);
    }
  });

  it('userDn as a full DN and as a bare inum', async () => {
    const dn = authenticated()[0]!.jansUsrDN!;
    const inum = /^inum=([^,]+)/.exec(dn)![1]!;
    const expected = all.filter((s) => s.jansUsrDN === dn).length;
    expect((await sessions({ filter: { userDn: dn } })).totalCount).toBe(expected);
    expect((await sessions({ filter: { userDn: inum } })).totalCount).toBe(expected);
    expect(expected).toBeGreaterThan(0);
  });

  it.each([
    ['clientId', 'client_id'],
    ['authUser', 'auth_user'],
    ['acr', 'acr'],
  ] as const)('%s matches the %s attribute exactly', async (field, attribute) => {
    const value = authenticated()[1]!.jansSessAttr[attribute]!;
    const page = await sessions({ filter: { [field]: value }, page: { limit: 200 } });
    expect(page.totalCount).toBe(all.filter((s) => s.jansSessAttr[attribute] === value).length);
    expect(page.totalCount).toBeGreaterThan(0);
  });

  const bounds = [
    ['expires', (s: SessionRecord) => s.exp],
    ['created', (s: SessionRecord) => s.creationDate],
    ['authenticated', (s: SessionRecord) => s.authnTime],
    ['lastUsed', (s: SessionRecord) => s.jansLastAccessTime],
  ] as const;

  it.each(bounds)('%sAfter / %sBefore are inclusive bounds', async (prefix, get) => {
    const dated = all
      .filter((s) => get(s) !== undefined)
      .sort((a, b) => get(a)!.getTime() - get(b)!.getTime());
    const pivot = get(dated[Math.floor(dated.length / 2)]!)!;
    const iso = pivot.toISOString();
    const after = await sessions({ filter: { [`${prefix}After`]: iso } });
    const before = await sessions({ filter: { [`${prefix}Before`]: iso } });
    expect(after.totalCount).toBe(dated.filter((s) => get(s)!.getTime() >= pivot.getTime()).length);
    expect(before.totalCount).toBe(dated.filter((s) => get(s)!.getTime() <= pivot.getTime()).length);
    const both = await sessions({ filter: { [`${prefix}After`]: iso, [`${prefix}Before`]: iso } });
    expect(both.totalCount).toBe(dated.filter((s) => get(s)!.getTime() === pivot.getTime()).length);
    expect(both.totalCount).toBeGreaterThan(0);
  });

  it('a zone offset in a bound is converted to UTC', async () => {
    const pivot = all[0]!.creationDate;
    const shifted = new Date(pivot.getTime() + 2 * 3600_000).toISOString().slice(0, 19) + '+02:00';
    const page = await sessions({ filter: { createdAfter: shifted } });
    expect(page.totalCount).toBe(all.filter((s) => s.creationDate.getTime() >= pivot.getTime()).length);
  });

  it('search is a literal substring over DN, sid and attributes', async () => {
    const record = authenticated()[2]!;
    const fragment = record.sid.slice(0, 13);
    const page = await sessions({ filter: { search: fragment } });
    expect(page.nodes.map((n) => n.sid)).toContain(record.sid);
    const user = record.jansSessAttr.auth_user!;
    const byUser = await sessions({ filter: { search: user }, page: { limit: 200 } });
    expect(byUser.nodes.some((n) => n.authUser === user)).toBe(true);
  });

  it('combines fields with AND', async () => {
    const record = authenticated()[3]!;
    const clientId = record.jansSessAttr.client_id!;
    const page = await sessions({ filter: { clientId, state: 'AUTHENTICATED' }, page: { limit: 200 } });
    expect(page.totalCount).toBe(
      all.filter((s) => s.jansSessAttr.client_id === clientId && s.jansState === 'authenticated').length,
    );
  });
});

describe('refused input: BAD_USER_INPUT and no upstream call', () => {
  it.each([
    [{ filter: { clientId: 'a,b' } }, 'filter.clientId'],
    [{ filter: { authUser: 'x=y' } }, 'filter.authUser'],
    [{ filter: { acr: '' } }, 'filter.acr'],
    [{ filter: { search: '100%' } }, 'filter.search'],
    [{ filter: { search: 'a_b' } }, 'filter.search'],
    [{ filter: { search: 'a,b' } }, 'filter.search'],
    [{ filter: { userDn: 'cn=x,ou=people,o=jans' } }, 'filter.userDn'],
    [{ page: { limit: 0 } }, 'page.limit'],
    [{ page: { limit: 201 } }, 'page.limit'],
    [{ page: { offset: -1 } }, 'page.offset'],
    [
      { filter: { createdAfter: '2026-02-01T00:00:00Z', createdBefore: '2026-01-01T00:00:00Z' } },
      'filter.createdAfter',
    ],
  ])('%j', async (variables, field) => {
    const response = await stack.gql(SessionsDocument, variables as never);
    expect(response.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
    expect(response.body.errors?.[0]?.message).toContain(field);
    expect(stack.emulator.count()).toBe(0);
  });

  it.each([
    '2026-11-29T10:15:00',
    '2026-11-29',
    'yesterday',
    '2026-11-29T10:15:00.000Z ',
    '2026-11-31T00:00:00Z',
    '2026-02-29T00:00:00Z',
    '2026-04-31T12:00:00+02:00',
    '2026-11-29T24:00:00Z',
    '2026-11-29T10:15:60Z',
    '2026-11-29T10:15:00+24:00',
  ])('a DateTime without a zone, malformed or not a real date (%j)', async (value) => {
    const response = await stack.gql(SessionsDocument, { filter: { expiresAfter: value } });
    expect(response.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(response.body.errors?.[0]?.message).toContain('filter.expiresAfter');
    expect(stack.emulator.count()).toBe(0);
  });

  it('a leap day of a leap year is a date', async () => {
    const response = await stack.gql(SessionsDocument, { filter: { expiresAfter: '2028-02-29T00:00:00Z' } });
    expect(response.body.errors).toBeUndefined();
  });

  it('a DateTime literal in the document is refused with its location and the literal', async () => {
    const response = await stack.gql(/* GraphQL */ `
      {
        sessions(filter: { expiresAfter: "2026-11-31T00:00:00Z" }) {
          totalCount
        }
      }
    `);
    const [error] = response.body.errors ?? [];
    expect(error?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(error?.message).toBe(
      'Expected value of type "DateTime", found "2026-11-31T00:00:00Z"; DateTime "2026-11-31T00:00:00Z" is not a valid date',
    );
    expect((error as { locations?: unknown } | undefined)?.locations).toEqual([{ line: 3, column: 42 }]);
    expect(stack.emulator.count()).toBe(0);
  });

  it.each(['..', 'a/b', '', 'x'.repeat(200)])('session(sid: %j)', async (sid) => {
    const response = await stack.gql(SessionDocument, { sid });
    expect(response.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(stack.emulator.count()).toBe(0);
  });
});

describe('Query.session', () => {
  it('returns null for an unknown sid (Janssen: 200 with an empty body)', async () => {
    const response = await stack.gql(SessionDocument, { sid: '00000000-0000-4000-8000-000000000000' });
    expect(response.body.errors).toBeUndefined();
    expect(response.body.data?.session).toBeNull();
    expect(stack.emulator.count('get')).toBe(1);
  });

  it('asking the same sid twice in one operation costs one upstream call', async () => {
    const sid = all[0]!.sid;
    const response = await stack.gql(
      /* GraphQL */ `
        query Twice($sid: ID!) {
          a: session(sid: $sid) {
            sid
          }
          b: session(sid: $sid) {
            sid
            clientId
          }
        }
      `,
      { sid },
    );
    expect(response.body.data).toMatchObject({ a: { sid }, b: { sid } });
    expect(stack.emulator.count('get')).toBe(1);
  });

  it('sessions read by sessions(...) prime the loader: a later session(sid) costs no GET', async () => {
    const ctx = createContext(
      {
        http: createJanssenClient({ baseUrl: stack.emulator.configApiUrl, timeoutMs: 2000 }),
        tokens: undefined,
        settings: { maxPageSize: 200, peopleBaseDn: 'ou=people,o=jans', audit: false },
        searchHealth: new SearchHealth(),
        serviceRefusals: new RepeatLimiter(),
      },
      {
        bearer: {
          kind: 'token',
          token: stack.emulator.issueToken(['https://jans.io/oauth/jans-auth-server/session.readonly']),
        },
        requestId: 'test',
        log: pino({ level: 'silent' }),
        caller: { kind: 'anonymous', id: 'test', canMutate: false },
      },
    );
    const resolver = new SessionResolver();
    const page = await resolver.sessions({ page: { limit: 5, offset: 0 } }, ctx);
    stack.emulator.resetCounts();
    const again = await resolver.session(page.nodes[2]!.sid, ctx);
    expect(again?.sid).toBe(page.nodes[2]!.sid);
    expect(stack.emulator.count()).toBe(0);
    expect(ctx.upstream.calls).toBe(1);
  });
});

describe('a page size limit below the default page (JANS_MAX_PAGE_SIZE=10)', () => {
  let small: Stack;

  beforeAll(async () => {
    small = await startStack({ emulator: { sessionCount: 30 }, env: { JANS_MAX_PAGE_SIZE: '10' } });
  });

  afterAll(async () => {
    await small.close();
  });

  it.each([
    ['no page', {}],
    ['a page with only an offset', { page: { offset: 5 } }],
    ['a null limit', { page: { limit: null, offset: 5 } }],
  ])('%s: pages of that limit', async (_, variables) => {
    const response = await small.gql(SessionsDocument, variables as never);
    expect(response.body.errors).toBeUndefined();
    expect(response.body.data?.sessions.nodes).toHaveLength(10);
    expect(response.body.data?.sessions.totalCount).toBe(30);
  });

  it('an explicit limit over it is refused, naming the limit', async () => {
    const response = await small.gql(SessionsDocument, { page: { limit: 50 } });
    expect(response.body.errors?.[0]).toMatchObject({
      message: 'page.limit: must be between 1 and 10',
      extensions: { code: 'BAD_USER_INPUT', field: 'page.limit' },
    });
  });
});
