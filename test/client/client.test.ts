import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  ClientSessionDocument,
  createSessionsClient,
  type SessionsClient,
  SessionsClientError,
} from '../../client/src/index.js';
import { SCOPES } from '../../src/emulator/auth.js';
import type { SessionRecord } from '../../src/emulator/session-store.js';
import { SessionCountsDocument } from '../generated/graphql.js';
import { startStack, type Stack } from '../helpers/stack.js';

let stack: Stack;
let client: SessionsClient;

beforeAll(async () => {
  stack = await startStack({ emulator: { seed: 42, sessionCount: 300 } });
  client = createSessionsClient({ url: `${stack.url}/graphql` });
});

afterAll(async () => {
  await stack.close();
});

const sessions = (): SessionRecord[] => stack.emulator.store.all();
const sids = (list: readonly { sid: string }[]): string[] => list.map((s) => s.sid).sort();

/** The most frequent value of `key` among the sessions, with its sessions. */
function busiest(key: (s: SessionRecord) => string | undefined): { value: string; matches: SessionRecord[] } {
  const groups = new Map<string, SessionRecord[]>();
  for (const session of sessions()) {
    const value = key(session);
    if (value !== undefined) {
      groups.set(value, [...(groups.get(value) ?? []), session]);
    }
  }
  const [value, matches] = [...groups].sort((a, b) => b[1].length - a[1].length)[0]!;
  return { value, matches };
}

/** Rejects with a SessionsClientError and returns it. */
async function failure(promise: Promise<unknown>): Promise<SessionsClientError> {
  const error: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SessionsClientError);
  return error as SessionsClientError;
}

/** A `fetch` that records each request it passes on. */
function recordingFetch(): { fetch: typeof fetch; calls: { body: unknown; headers: Headers }[] } {
  const calls: { body: unknown; headers: Headers }[] = [];
  return {
    calls,
    fetch: async (input, init) => {
      calls.push({ body: JSON.parse(String(init?.body)), headers: new Headers(init?.headers) });
      return fetch(input, init);
    },
  };
}

describe('getSessions', () => {
  it('returns the first 50 sessions in Janssen order, with the total, as a SessionPagedResult', async () => {
    const result = await client.getSessions();
    const expected = sessions()
      .sort((a, b) => (a.jansId < b.jansId ? -1 : 1))
      .slice(0, 50)
      .map((s) => s.sid);
    expect(result).toMatchObject({ start: 0, totalEntriesCount: sessions().length, entriesCount: 50 });
    expect(result.entries.map((s) => s.sid)).toEqual(expected);
  });
});

describe('searchSession', () => {
  it('fieldValuePair auth_user=<name> returns exactly that user’s sessions', async () => {
    const { value, matches } = busiest((s) => s.jansSessAttr.auth_user);
    const result = await client.searchSession({ fieldValuePair: `auth_user=${value}`, limit: 200 });
    expect(result.totalEntriesCount).toBe(matches.length);
    expect(sids(result.entries)).toEqual(sids(matches));
    expect(result.entries.every((s) => s.authUser === value)).toBe(true);
  });

  it('combines client_id, state and a date range (inclusive) as Janssen does', async () => {
    const { value: clientId } = busiest((s) => s.jansSessAttr.client_id);
    const mine = sessions().filter(
      (s) => s.jansSessAttr.client_id === clientId && s.jansState === 'authenticated',
    );
    const exps = mine.map((s) => s.exp.getTime()).sort((a, b) => a - b);
    const [from, to] = [exps[1]!, exps[exps.length - 2]!];
    const expected = mine.filter((s) => s.exp.getTime() >= from && s.exp.getTime() <= to);
    // Janssen's zone-less formats, read as UTC: one with a space, one with a T.
    const zoneless = (ms: number, separator: string) =>
      new Date(ms).toISOString().slice(0, 19).replace('T', separator);
    const result = await client.searchSession({
      fieldValuePair: `client_id=${clientId},state=authenticated,expirationDate>=${zoneless(from, ' ')},expirationDate<${zoneless(to, 'T')}`,
      limit: 200,
    });
    expect(expected.length).toBeGreaterThan(0);
    expect(sids(result.entries)).toEqual(sids(expected));
  });

  it('fieldValuePair expirationDate=YYYY-MM-DD is the whole UTC day', async () => {
    const day = sessions()[0]!.exp.toISOString().slice(0, 10);
    const expected = sessions().filter((s) => s.exp.toISOString().startsWith(day));
    const result = await client.searchSession({ fieldValuePair: `expirationDate=${day}`, limit: 200 });
    expect(sids(result.entries)).toEqual(sids(expected));
  });

  it('fieldValuePair userDn=<inum> returns the user’s sessions', async () => {
    const { value: dn, matches } = busiest((s) => s.jansUsrDN);
    const inum = /^inum=([^,]+),/.exec(dn)![1]!;
    const result = await client.searchSession({ fieldValuePair: `userDn=${inum}`, limit: 200 });
    expect(sids(result.entries)).toEqual(sids(matches));
  });

  it.each(['exp', 'expirationDate'] as const)(
    'sortBy %s descending orders by expiration, latest first',
    async (sortBy) => {
      const result = await client.searchSession({ sortBy, sortOrder: 'descending', limit: 100 });
      const expirations = result.entries.map((s) => Date.parse(s.expirationDate!));
      expect(expirations).toHaveLength(100);
      expect(expirations).toEqual([...expirations].sort((a, b) => b - a));
      expect(expirations[0]).toBe(Math.max(...sessions().map((s) => s.exp.getTime())));
    },
  );

  it('startIndex is a 0-based offset: pages cover every session once', async () => {
    const seen: string[] = [];
    for (let startIndex = 0; ; startIndex += 70) {
      const page = await client.searchSession({ startIndex, limit: 70, sortBy: 'creationDate' });
      expect(page.start).toBe(startIndex);
      expect(page.entriesCount).toBe(page.entries.length);
      seen.push(...page.entries.map((s) => s.sid));
      if (startIndex + 70 >= page.totalEntriesCount) {
        break;
      }
    }
    expect(seen).toHaveLength(sessions().length);
    expect([...seen].sort()).toEqual(sids(sessions()));
  });

  it('pattern is a literal substring', async () => {
    const target = sessions()[7]!;
    const result = await client.searchSession({ pattern: target.sid.slice(0, 18) });
    expect(result.entries.map((s) => s.sid)).toContain(target.sid);
  });

  it('refuses a comma-separated pattern and an unknown fieldValuePair field before any request', async () => {
    const recorder = recordingFetch();
    const local = createSessionsClient({ url: `${stack.url}/graphql`, fetch: recorder.fetch });
    const comma = await failure(local.searchSession({ pattern: 'admin,alice' }));
    expect(comma).toMatchObject({ code: 'BAD_USER_INPUT', field: 'pattern', status: undefined });
    expect(comma.message).toMatch(/one literal substring/);
    const unknown = await failure(local.searchSession({ fieldValuePair: 'remote_ip=10.0.0.1' }));
    expect(unknown).toMatchObject({ code: 'BAD_USER_INPUT', field: 'fieldValuePair' });
    expect(recorder.calls).toHaveLength(0);
  });
});

describe('getSessionById', () => {
  it('returns the session with GraphQL field names and ISO dates', async () => {
    const record = sessions().find((s) => s.jansUsrDN)!;
    const session = await client.getSessionById(record.sid);
    expect(session).toMatchObject({
      sid: record.sid,
      userDn: record.jansUsrDN,
      state: 'AUTHENTICATED',
      expirationDate: `${record.exp.toISOString().slice(0, 19)}Z`,
      authUser: record.jansSessAttr.auth_user ?? null,
    });
  });

  it('returns null for an unknown sid', async () => {
    await expect(client.getSessionById('00000000-0000-4000-8000-000000000000')).resolves.toBeNull();
  });

  it('a malformed sid rejects with SessionsClientError BAD_USER_INPUT carrying the GraphQL errors', async () => {
    const error = await failure(client.getSessionById('../admin'));
    expect(error.code).toBe('BAD_USER_INPUT');
    expect(error.field).toBe('sid');
    expect(error.status).toEqual(expect.any(Number));
    expect(error.errors[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});

describe('mutations', () => {
  it('deleteSession deletes the session; a second time reports deleted: false', async () => {
    const { sid } = sessions().find((s) => !s.jansUsrDN)!;
    await expect(client.deleteSession(sid)).resolves.toEqual({ sid, deleted: true });
    expect(stack.emulator.store.get(sid)).toBeUndefined();
    await expect(client.deleteSession(sid)).resolves.toEqual({ sid, deleted: false });
  });

  it('revokeUserSession revokes the user’s authenticated sessions, by DN or by inum', async () => {
    const { value: dn } = busiest((s) => (s.jansState === 'authenticated' ? s.jansUsrDN : undefined));
    await expect(client.revokeUserSession(dn)).resolves.toEqual({ userDn: dn, revoked: true });
    expect(sessions().filter((s) => s.jansUsrDN === dn && s.jansState === 'authenticated')).toEqual([]);
    const inum = /^inum=([^,]+),/.exec(dn)![1]!;
    await expect(client.revokeUserSession(inum)).resolves.toEqual({ userDn: dn, revoked: false });
  });

  it('deleteSessions is a dry run by default, and deletes with dryRun: false', async () => {
    const { value: clientId, matches } = busiest((s) =>
      s.jansState === 'unauthenticated' ? s.jansSessAttr.client_id : undefined,
    );
    const filter = { clientId, state: 'UNAUTHENTICATED' as const };
    const before = sessions().length;
    const dry = await client.deleteSessions(filter);
    expect(dry).toMatchObject({
      dryRun: true,
      matched: matches.length,
      deleted: 0,
      truncated: false,
      failed: [],
    });
    expect(sids(dry.sessions)).toEqual(sids(matches));
    expect(dry.sessions[0]?.clientId).toBe(clientId);
    expect(sessions()).toHaveLength(before);

    const real = await client.deleteSessions(filter, { dryRun: false, max: 500 });
    expect(real).toMatchObject({ dryRun: false, matched: matches.length, deleted: matches.length });
    expect(sessions()).toHaveLength(before - matches.length);
  });
});

describe('new queries', () => {
  it('sessionStats counts like the store; byClient only when grouped', async () => {
    const all = sessions();
    const stats = await client.sessionStats();
    expect(stats).toMatchObject({
      total: all.length,
      authenticated: all.filter((s) => s.jansState === 'authenticated').length,
      unauthenticated: all.filter((s) => s.jansState === 'unauthenticated').length,
    });
    expect(stats.byClient).toBeUndefined();
    const grouped = await client.sessionStats({ state: 'AUTHENTICATED' }, { grouped: true });
    expect(grouped.byClient!.reduce((sum, b) => sum + b.count, 0)).toBe(grouped.total);
    expect(grouped.byAcr).toBeDefined();
  });

  it('sessionsConnection walks every session once', async () => {
    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const page = await client.sessionsConnection({ first: 60, after, sort: { field: 'CREATION_DATE' } });
      seen.push(...page.edges.map((e) => e.node.sid));
      if (!page.pageInfo.hasNextPage) {
        expect(page.totalCount).toBe(sessions().length);
        break;
      }
      after = page.pageInfo.endCursor;
    }
    expect([...seen].sort()).toEqual(sids(sessions()));
  });

  it('request runs any typed document', async () => {
    const { sessionStats } = await client.request(SessionCountsDocument, {
      filter: { state: 'AUTHENTICATED' },
    });
    expect(sessionStats.total).toBe(sessions().filter((s) => s.jansState === 'authenticated').length);
    const { sid } = sessions()[0]!;
    await expect(client.request(ClientSessionDocument, { sid })).resolves.toMatchObject({ session: { sid } });
  });
});

describe('transport', () => {
  it('POSTs JSON with the operation name and the configured headers (static or per request)', async () => {
    const recorder = recordingFetch();
    let n = 0;
    const local = createSessionsClient({
      url: new URL(`${stack.url}/graphql`),
      fetch: recorder.fetch,
      headers: () => ({ 'x-request-id': `client-test-${++n}` }),
    });
    await local.getSessionById('00000000-0000-4000-8000-000000000000');
    const [call] = recorder.calls;
    expect(call?.headers.get('content-type')).toBe('application/json');
    expect(call?.headers.get('x-request-id')).toBe('client-test-1');
    expect(call?.body).toMatchObject({
      operationName: 'ClientSession',
      variables: { sid: '00000000-0000-4000-8000-000000000000' },
      query: expect.stringContaining('query ClientSession'),
    });
  });

  it('maps a non-GraphQL response to HTTP_ERROR and an unreachable server to NETWORK_ERROR', async () => {
    const proxy = createSessionsClient({
      url: 'http://gateway.invalid/graphql',
      fetch: async () => new Response('<html>Bad Gateway</html>', { status: 502 }),
    });
    expect(await failure(proxy.getSessions())).toMatchObject({ code: 'HTTP_ERROR', status: 502 });
    const down = createSessionsClient({ url: 'http://127.0.0.1:1/graphql' });
    expect(await failure(down.getSessions())).toMatchObject({ code: 'NETWORK_ERROR', status: undefined });
  });

  it('sends credentials: UNAUTHENTICATED without a token in pass-through mode, results with one', async () => {
    const passThrough = await startStack({ mode: 'pass-through', emulator: { seed: 3, sessionCount: 20 } });
    try {
      const url = `${passThrough.url}/graphql`;
      const anonymous = createSessionsClient({ url });
      expect(await failure(anonymous.getSessions())).toMatchObject({ code: 'UNAUTHENTICATED' });
      const token = passThrough.emulator.issueToken([SCOPES.sessionReadonly]);
      const authorized = createSessionsClient({ url, headers: { authorization: `Bearer ${token}` } });
      await expect(authorized.getSessions()).resolves.toMatchObject({
        totalEntriesCount: 20,
        entriesCount: 20,
      });
    } finally {
      await passThrough.close();
    }
  });
});
