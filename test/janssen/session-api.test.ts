import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { type Emulator, startEmulator } from '../../src/emulator/emulator.js';
import { createJanssenClient } from '../../src/janssen/http-client.js';
import { buildSearchParams } from '../../src/janssen/query.js';
import { SessionApi, type UpstreamAuth, type UpstreamCallListener } from '../../src/janssen/session-api.js';
import { ClientCredentialsTokenProvider, SESSION_SCOPES } from '../../src/janssen/token-provider.js';

import { rejection } from './helpers.js';

const READ = 'https://jans.io/oauth/jans-auth-server/session.readonly';

let emulator: Emulator;
let http: ReturnType<typeof createJanssenClient>;

const bearer = (token: string): UpstreamAuth => ({ header: async () => `Bearer ${token}` });
const fullAccess = () => bearer(emulator.issueToken([...SESSION_SCOPES]));

beforeAll(async () => {
  emulator = await startEmulator({ seed: 7, sessionCount: 120 });
  http = createJanssenClient({ baseUrl: emulator.configApiUrl, timeoutMs: 1000 });
});

afterAll(async () => {
  await emulator.close();
});

beforeEach(() => {
  emulator.setFault('*', null);
  emulator.resetCounts();
});

describe('SessionApi against the emulator over HTTP', () => {
  it('searchSessions sends a 0-based startIndex and returns that slice', async () => {
    const api = new SessionApi(http, fullAccess());
    const first = await api.searchSessions({ limit: 10, startIndex: 0, sortBy: 'creationDate' });
    const second = await api.searchSessions({ limit: 10, startIndex: 10, sortBy: 'creationDate' });
    expect(first.entries).toHaveLength(10);
    expect(second.start).toBe(10);
    expect(first.totalEntriesCount).toBe(emulator.store.all().length);
    const sids = new Set([...first.entries, ...second.entries].map((s) => s.outsideSid));
    expect(sids.size).toBe(20);
  });

  it('normalizes an empty page (no `entries` upstream) to an empty array', async () => {
    const api = new SessionApi(http, fullAccess());
    const page = await api.searchSessions({ limit: 10, startIndex: 100_000 });
    expect(page.entries).toEqual([]);
    expect(page.totalEntriesCount).toBe(emulator.store.all().length);
  });

  it('sends filters, sort and pattern in upstream form', async () => {
    const api = new SessionApi(http, fullAccess());
    const params = buildSearchParams(
      { state: 'authenticated', search: 'inum=' },
      { field: 'EXPIRATION_DATE', order: 'DESC' },
      { limit: 5, offset: 0 },
      { maxPageSize: 200, peopleBaseDn: 'ou=people,o=jans' },
    );
    const page = await api.searchSessions(params);
    const request = emulator.requests.at(-1);
    expect(request?.route).toBe('search');
    const query = new URLSearchParams(request?.query as string);
    expect(query.get('sortBy')).toBe('exp');
    expect(query.get('sortOrder')).toBe('descending');
    expect(query.get('fieldValuePair')).toBe('state=authenticated');
    expect(query.get('limit')).toBe('5');
    expect(page.entries.every((s) => s.state === 'authenticated')).toBe(true);
    const exps = page.entries.map((s) => s.expirationDate ?? '');
    expect([...exps].sort().reverse()).toEqual(exps);
  });

  it('listSessions returns the fixed first page of 50', async () => {
    const page = await new SessionApi(http, fullAccess()).listSessions();
    expect(page.entries).toHaveLength(50);
    expect(emulator.count('list')).toBe(1);
  });

  it('getSession returns the session, and null for the 200-with-empty-body of a missing sid', async () => {
    const api = new SessionApi(http, fullAccess());
    const known = emulator.store.all()[3]!;
    expect((await api.getSession(known.sid))?.outsideSid).toBe(known.sid);
    expect(await api.getSession('00000000-0000-0000-0000-000000000000')).toBeNull();
  });

  it('deleteSession is true on 200 and false on 404, and deletes only that session', async () => {
    const api = new SessionApi(http, fullAccess());
    const before = emulator.store.all().length;
    const victim = emulator.store.all()[5]!;
    expect(await api.deleteSession(victim.sid)).toBe(true);
    expect(emulator.store.get(victim.sid)).toBeUndefined();
    expect(emulator.store.all()).toHaveLength(before - 1);
    expect(await api.deleteSession(victim.sid)).toBe(false);
  });

  it('reports a DELETE answered 404 as an answer, not as a failed call (no warning, no error metric)', async () => {
    const calls: Parameters<UpstreamCallListener>[0][] = [];
    const api = new SessionApi(http, fullAccess(), (call) => calls.push(call));
    expect(await api.deleteSession('00000000-0000-4000-8000-000000000404')).toBe(false);
    expect(await api.revokeUserSessions('inum=nobody-at-all,ou=people,o=jans')).toBe(false);
    expect(calls.map(({ operation, status, error }) => ({ operation, status, error }))).toEqual([
      { operation: 'delete-session', status: 404, error: undefined },
      { operation: 'revoke-user-session', status: 404, error: undefined },
    ]);
  });

  it('revokeUserSessions percent-encodes the full DN and revokes only authenticated sessions', async () => {
    const api = new SessionApi(http, fullAccess());
    const dn = emulator.store.all().find((s) => s.jansState === 'authenticated' && s.jansUsrDN)!.jansUsrDN!;
    const ofUser = () => emulator.store.all().filter((s) => s.jansUsrDN === dn);
    const unauthenticatedBefore = ofUser().filter((s) => s.jansState !== 'authenticated').length;
    expect(await api.revokeUserSessions(dn)).toBe(true);
    expect(emulator.requests.at(-1)?.path).toContain(encodeURIComponent(dn));
    expect(ofUser().filter((s) => s.jansState === 'authenticated')).toHaveLength(0);
    expect(ofUser()).toHaveLength(unauthenticatedBefore);
    expect(await api.revokeUserSessions(dn)).toBe(false);
  });

  it('refuses a sid that would change the request path, without a call', async () => {
    const api = new SessionApi(http, fullAccess());
    await expect(api.getSession('..')).rejects.toThrow(/sid/);
    await expect(api.deleteSession('../user/x')).rejects.toThrow(/sid/);
    expect(emulator.count()).toBe(0);
  });
});

describe('upstream errors become JanssenApiError kinds', () => {
  it('a bad token is UNAUTHORIZED', async () => {
    const error = await rejection(new SessionApi(http, bearer('not-a-token')).getSession('x1'));
    expect(error.kind).toBe('UNAUTHORIZED');
    expect(error.status).toBe(401);
  });

  it('a token without the delete scopes is INSUFFICIENT_SCOPE naming them', async () => {
    const api = new SessionApi(http, bearer(emulator.issueToken([READ])));
    const error = await rejection(api.deleteSession(emulator.store.all()[0]!.sid));
    expect(error.kind).toBe('INSUFFICIENT_SCOPE');
    expect(error.details.requiredScopes).toEqual([
      'https://jans.io/oauth/jans-auth-server/session.delete',
      'revoke_session',
    ]);
  });

  it('limit over the upstream maximum is BAD_REQUEST', async () => {
    const error = await rejection(
      new SessionApi(http, fullAccess()).searchSessions({ limit: 201, startIndex: 0 }),
    );
    expect(error.kind).toBe('BAD_REQUEST');
  });

  it('a hanging upstream is TIMEOUT within the budget', async () => {
    emulator.setFault('get', { hang: true });
    const started = Date.now();
    const error = await rejection(new SessionApi(http, fullAccess()).getSession('x1'));
    expect(error.kind).toBe('TIMEOUT');
    expect(Date.now() - started).toBeLessThan(3500);
  });

  it('503 is UNAVAILABLE after retrying the GET', async () => {
    emulator.setFault('get', { status: 503 });
    const error = await rejection(new SessionApi(http, fullAccess()).getSession('x1'));
    expect(error.kind).toBe('UNAVAILABLE');
    expect(emulator.count('get')).toBe(1 + http.retries);
    expect(error.details.attempts).toBe(1 + http.retries);
  });

  it('a connection reset is UNAVAILABLE; a DELETE is never retried', async () => {
    emulator.setFault('delete', { reset: true });
    const error = await rejection(
      new SessionApi(http, fullAccess()).deleteSession(emulator.store.all()[0]!.sid),
    );
    expect(error.kind).toBe('UNAVAILABLE');
    expect(emulator.count('delete')).toBe(1);
  });

  it('a Jetty HTML 500 page is ERROR and its text is not in the message', async () => {
    emulator.setFault('search', { status: 500, html: true });
    const error = await rejection(
      new SessionApi(http, fullAccess()).searchSessions({ limit: 1, startIndex: 0 }),
    );
    expect(error.kind).toBe('ERROR');
    expect(error.message).not.toMatch(/jans-db|Exception|<html/i);
  });

  it('truncated JSON is ERROR', async () => {
    emulator.setFault('search', { truncatedJson: true });
    const error = await rejection(
      new SessionApi(http, fullAccess()).searchSessions({ limit: 5, startIndex: 0 }),
    );
    expect(error.kind).toBe('ERROR');
  });

  it('a refused connection is UNAVAILABLE', async () => {
    const dead = createJanssenClient({
      baseUrl: 'http://127.0.0.1:1/jans-config-api',
      timeoutMs: 1000,
      retries: 0,
    });
    const error = await rejection(new SessionApi(dead, fullAccess()).getSession('x1'));
    expect(error.kind).toBe('UNAVAILABLE');
  });

  it('renews the credentials once after a 401', async () => {
    let calls = 0;
    const auth: UpstreamAuth = {
      header: async () => 'Bearer stale',
      renew: async () => {
        calls += 1;
        return `Bearer ${emulator.issueToken([READ])}`;
      },
    };
    const session = emulator.store.all()[0]!;
    expect((await new SessionApi(http, auth).getSession(session.sid))?.outsideSid).toBe(session.sid);
    expect(calls).toBe(1);
  });
});

describe('ClientCredentialsTokenProvider', () => {
  it('gets a token by client_credentials that the config API accepts', async () => {
    const tokens = new ClientCredentialsTokenProvider({
      tokenUrl: emulator.tokenUrl,
      clientId: emulator.clientId,
      clientSecret: emulator.clientSecret,
      timeoutMs: 1000,
    });
    const token = await tokens.getToken();
    const session = emulator.store.all()[0]!;
    expect((await new SessionApi(http, bearer(token)).getSession(session.sid))?.outsideSid).toBe(session.sid);
  });

  it('fetches once for many concurrent callers and reuses the token', async () => {
    const tokens = new ClientCredentialsTokenProvider({
      tokenUrl: emulator.tokenUrl,
      clientId: emulator.clientId,
      clientSecret: emulator.clientSecret,
      timeoutMs: 1000,
    });
    const all = await Promise.all(Array.from({ length: 20 }, () => tokens.getToken()));
    expect(new Set(all).size).toBe(1);
    expect(await tokens.getToken()).toBe(all[0]);
    expect(emulator.count('token')).toBe(1);
  });

  it('fetches a new token shortly before expiry', async () => {
    let now = 1_000_000;
    const tokens = new ClientCredentialsTokenProvider({
      tokenUrl: emulator.tokenUrl,
      clientId: emulator.clientId,
      clientSecret: emulator.clientSecret,
      timeoutMs: 1000,
      now: () => now,
    });
    const first = await tokens.getToken();
    now += 3_600_000 - 29_000; // inside the refresh margin of a one-hour token
    const second = await tokens.getToken();
    expect(second).not.toBe(first);
    expect(emulator.count('token')).toBe(2);
  });

  it('reports bad client credentials as ERROR and an unreachable endpoint as UNAVAILABLE', async () => {
    const bad = new ClientCredentialsTokenProvider({
      tokenUrl: emulator.tokenUrl,
      clientId: emulator.clientId,
      clientSecret: 'wrong',
      timeoutMs: 1000,
    });
    expect((await rejection(bad.getToken())).kind).toBe('ERROR');
    const down = new ClientCredentialsTokenProvider({
      tokenUrl: 'http://127.0.0.1:1/jans-auth/restv1/token',
      clientId: 'a',
      clientSecret: 'b',
      timeoutMs: 1000,
    });
    expect((await rejection(down.getToken())).kind).toBe('UNAVAILABLE');
  });
});
