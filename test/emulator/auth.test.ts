import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { SCOPES } from '../../src/emulator/auth.js';
import { type Emulator, startEmulator } from '../../src/emulator/emulator.js';
import { createSessionRecord } from '../../src/emulator/session-store.js';
import type { SessionPagedResult, TokenResponse } from '../../src/janssen/session.dto.js';

import { ALL_SESSION_SCOPES, call, json, NOW, type Reply, search, sessionPath } from './helpers.js';

let emulator: Emulator;
let clock = NOW.getTime();

beforeAll(async () => {
  emulator = await startEmulator({ sessionCount: 20, now: () => new Date(clock), tokenTtlSeconds: 600 });
});

afterAll(async () => {
  await emulator.close();
});

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

async function requestToken(body: string, headers: Record<string, string> = {}): Promise<Reply> {
  const response = await fetch(emulator.tokenUrl, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers },
    body,
  });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

const demoBasic = () => ({ Authorization: basic(emulator.clientId, emulator.clientSecret) });

const READ_MESSAGE = (scopes: string) =>
  `oAuth authorization error Insufficient scopes! , Required scope: [${SCOPES.sessionReadonly}], however token scopes: [${scopes}]`;
const DELETE_MESSAGE = (scopes: string) =>
  `oAuth authorization error Insufficient scopes! , Required scope: [${SCOPES.sessionDelete}, ${SCOPES.revokeSession}], however token scopes: [${scopes}]`;

/** A sid that exists and is deleted by nobody else in this file. */
function addVictim(): string {
  const record = createSessionRecord({}, NOW);
  emulator.store.add(record);
  return record.sid;
}

function expectUnauthorized(reply: Reply, message: string): void {
  expect(reply.status).toBe(401);
  expect(reply.text).toBe(message);
  expect(reply.headers.get('content-type')).toBe('text/plain');
  expect(reply.headers.get('www-authenticate')).toBe('Bearer');
}

describe('token endpoint', () => {
  it('issues a bearer token for client_credentials with HTTP Basic, all allowed scopes by default', async () => {
    const reply = await requestToken('grant_type=client_credentials', demoBasic());
    expect(reply.status).toBe(200);
    expect(reply.headers.get('cache-control')).toBe('no-store');
    const token = json<TokenResponse>(reply);
    expect(token.token_type).toBe('Bearer');
    expect(token.expires_in).toBe(600);
    expect(token.scope?.split(' ').sort()).toEqual([...ALL_SESSION_SCOPES].sort());
    const list = await call(emulator, sessionPath(), { token: token.access_token });
    expect(list.status).toBe(200);
  });

  it('grants only requested scopes the client is allowed', async () => {
    const scope = encodeURIComponent(`${SCOPES.sessionReadonly} ${SCOPES.sessionAdmin} openid`);
    const reply = await requestToken(`grant_type=client_credentials&scope=${scope}`, demoBasic());
    const token = json<TokenResponse>(reply);
    expect(token.scope).toBe(SCOPES.sessionReadonly);
    const del = await call(emulator, sessionPath('/sid/whatever'), {
      method: 'DELETE',
      token: token.access_token,
    });
    expectUnauthorized(del, DELETE_MESSAGE(SCOPES.sessionReadonly));
  });

  it('accepts client_id and client_secret in the form body', async () => {
    const body = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: emulator.clientId,
      client_secret: emulator.clientSecret,
      scope: SCOPES.sessionReadonly,
    });
    const reply = await requestToken(body.toString());
    expect(reply.status).toBe(200);
    expect(json<TokenResponse>(reply).scope).toBe(SCOPES.sessionReadonly);
  });

  it('rejects a bad client with 401 invalid_client', async () => {
    const attempts: Record<string, string>[] = [
      { Authorization: basic(emulator.clientId, 'wrong') },
      { Authorization: basic('nobody', emulator.clientSecret) },
      {},
    ];
    for (const headers of attempts) {
      const reply = await requestToken('grant_type=client_credentials', headers);
      expect(reply.status).toBe(401);
      expect(json<{ error: string }>(reply).error).toBe('invalid_client');
    }
  });

  it('rejects other grant types with 400 unsupported_grant_type', async () => {
    for (const body of [
      'grant_type=password&username=a&password=b',
      'grant_type=authorization_code',
      'scope=x',
    ]) {
      const reply = await requestToken(body, demoBasic());
      expect(reply.status).toBe(400);
      expect(json<{ error: string }>(reply).error).toBe('unsupported_grant_type');
    }
  });

  it('addClient registers a client limited to its scopes', async () => {
    emulator.addClient('reader', 'reader-secret', [SCOPES.sessionReadonly]);
    const reply = await requestToken(
      `grant_type=client_credentials&scope=${encodeURIComponent(ALL_SESSION_SCOPES.join(' '))}`,
      { Authorization: basic('reader', 'reader-secret') },
    );
    expect(json<TokenResponse>(reply).scope).toBe(SCOPES.sessionReadonly);
  });

  it('tokens expire after the configured TTL', async () => {
    const token = json<TokenResponse>(
      await requestToken('grant_type=client_credentials', demoBasic()),
    ).access_token;
    const shortLived = emulator.issueToken([SCOPES.sessionReadonly], 5);
    expect((await call(emulator, sessionPath(), { token: shortLived })).status).toBe(200);
    clock += 6_000;
    try {
      expectUnauthorized(await call(emulator, sessionPath(), { token: shortLived }), 'Token is Invalid.');
      expect((await call(emulator, sessionPath(), { token })).status).toBe(200);
      clock += 600_000;
      expectUnauthorized(await call(emulator, sessionPath(), { token }), 'Token is Invalid.');
    } finally {
      clock = NOW.getTime();
    }
  });
});

describe('checklist 8: authorization of the session endpoints', () => {
  it('no Authorization header is 401 ONLY TOKEN BASED AUTHORIZATION, plain text, WWW-Authenticate: Bearer', async () => {
    for (const path of [sessionPath(), sessionPath('/search'), sessionPath('/sid/x')]) {
      expectUnauthorized(
        await call(emulator, path, { token: null }),
        'ONLY TOKEN BASED AUTHORIZATION IS SUPPORTED!',
      );
    }
  });

  it('a non-Bearer scheme is rejected the same way', async () => {
    for (const authorization of [demoBasic().Authorization, 'Token abc', 'Bearer', 'Bearerabc']) {
      const reply = await call(emulator, sessionPath(), {
        token: null,
        headers: { Authorization: authorization },
      });
      expectUnauthorized(reply, 'ONLY TOKEN BASED AUTHORIZATION IS SUPPORTED!');
    }
  });

  it('the Bearer scheme is case-insensitive', async () => {
    const token = emulator.issueToken([SCOPES.sessionReadonly]);
    for (const scheme of ['bearer', 'BEARER', 'BeArEr']) {
      const reply = await call(emulator, sessionPath(), {
        token: null,
        headers: { Authorization: `${scheme} ${token}` },
      });
      expect(reply.status, scheme).toBe(200);
    }
  });

  it('an unknown opaque token is "Token is Invalid.", an unknown JWT "Jwt Token is Invalid."', async () => {
    expectUnauthorized(await call(emulator, sessionPath(), { token: 'not-a-token' }), 'Token is Invalid.');
    const header = Buffer.from(JSON.stringify({ alg: 'RS256', typ: 'JWT' })).toString('base64url');
    const jwt = `${header}.${Buffer.from('{"scope":"x"}').toString('base64url')}.c2ln`;
    expectUnauthorized(await call(emulator, sessionPath(), { token: jwt }), 'Jwt Token is Invalid.');
  });

  it('an issuer header must name the approved issuer', async () => {
    const token = emulator.issueToken([SCOPES.sessionReadonly]);
    const bad = await call(emulator, sessionPath(), { token, headers: { issuer: 'https://evil.example' } });
    expectUnauthorized(bad, 'Header Issuer is Invalid.');
    const good = await call(emulator, sessionPath(), { token, headers: { issuer: emulator.origin } });
    expect(good.status).toBe(200);
  });

  it('reads need session.readonly: other scopes get the rewrapped Insufficient scopes message', async () => {
    const token = emulator.issueToken([SCOPES.sessionDelete, SCOPES.revokeSession]);
    for (const path of [sessionPath(), sessionPath('/search?limit=abc'), sessionPath('/sid/x')]) {
      const reply = await call(emulator, path, { token });
      expectUnauthorized(reply, READ_MESSAGE(`${SCOPES.sessionDelete}, ${SCOPES.revokeSession}`));
    }
  });

  it('a read-only token reads but cannot delete, and never gets a 403', async () => {
    const token = emulator.issueToken([SCOPES.sessionReadonly]);
    expect((await call(emulator, sessionPath('/search'), { token })).status).toBe(200);
    const sid = addVictim();
    const del = await call(emulator, sessionPath(`/sid/${sid}`), { method: 'DELETE', token });
    expectUnauthorized(del, DELETE_MESSAGE(SCOPES.sessionReadonly));
    const revoke = await call(emulator, sessionPath('/user/inum=x,ou=people,o=jans'), {
      method: 'DELETE',
      token,
    });
    expectUnauthorized(revoke, DELETE_MESSAGE(SCOPES.sessionReadonly));
    expect(emulator.store.get(sid)).toBeDefined();
  });

  it('deletes need both session.delete and revoke_session', async () => {
    const sid = addVictim();
    for (const scopes of [[SCOPES.sessionDelete], [SCOPES.revokeSession], []]) {
      const reply = await call(emulator, sessionPath(`/sid/${sid}`), {
        method: 'DELETE',
        token: emulator.issueToken(scopes),
      });
      expectUnauthorized(reply, DELETE_MESSAGE(scopes.join(', ')));
    }
    const both = emulator.issueToken([SCOPES.sessionDelete, SCOPES.revokeSession]);
    expect((await call(emulator, sessionPath(`/sid/${sid}`), { method: 'DELETE', token: both })).status).toBe(
      200,
    );
  });

  it('super scopes: session.admin reads and deletes; read-all and write-all read; delete-all deletes', async () => {
    const cases: [string, boolean, boolean][] = [
      [SCOPES.sessionAdmin, true, true],
      [SCOPES.configReadAll, true, false],
      [SCOPES.configWriteAll, true, false],
      [SCOPES.configDeleteAll, false, true],
    ];
    for (const [scope, canRead, canDelete] of cases) {
      const token = emulator.issueToken([scope]);
      const read = await call(emulator, sessionPath('/search?limit=1'), { token });
      expect(read.status, `${scope} read`).toBe(canRead ? 200 : 401);
      const sid = addVictim();
      const del = await call(emulator, sessionPath(`/sid/${sid}`), { method: 'DELETE', token });
      expect(del.status, `${scope} delete`).toBe(canDelete ? 200 : 401);
    }
  });

  it('authorization is checked before 400/404 parameter errors', async () => {
    for (const params of [{ limit: 'abc' }, { limit: 500 }, { startIndex: -1 }, { sortBy: 'nope' }]) {
      const reply = await search(emulator, params, { token: null });
      expect(reply.status, JSON.stringify(params)).toBe(401);
    }
    const readOnly = emulator.issueToken([SCOPES.sessionReadonly]);
    const missing = await call(emulator, sessionPath('/sid/missing'), { method: 'DELETE', token: readOnly });
    expect(missing.status).toBe(401);
  });

  it('a token obtained from the token endpoint works against the config API', async () => {
    const token = json<TokenResponse>(
      await requestToken('grant_type=client_credentials', demoBasic()),
    ).access_token;
    const page = json<SessionPagedResult>(await call(emulator, sessionPath('/search?limit=3'), { token }));
    expect(page.entriesCount).toBe(3);
  });
});
