import { createHash } from 'node:crypto';
import { request } from 'node:http';

import { print } from 'graphql';
import { generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { DeleteSessionDocument, SessionsDocument } from '../generated/graphql.js';
import { startStack, type Stack } from '../helpers/stack.js';

const DELETE_SCOPE = 'https://jans.io/oauth/jans-auth-server/session.delete';
/** The `WWW-Authenticate` challenges of a 401 (RFC 9110 §11.6.1), one per way of authenticating configured. */
const BEARER_CHALLENGE = 'Bearer realm="jans-sessions-graphql"';
/** A presented bearer token that was refused (RFC 6750 §3.1); a missing one gets no error code. */
const INVALID_TOKEN_CHALLENGE = 'Bearer realm="jans-sessions-graphql", error="invalid_token"';
const API_KEY_CHALLENGE = 'ApiKey realm="jans-sessions-graphql", header="x-api-key"';
/** An `Authorization` header that is not one well-formed bearer credential (RFC 6750 §3.1): HTTP 400. */
const INVALID_REQUEST_CHALLENGE = 'Bearer realm="jans-sessions-graphql", error="invalid_request"';
const MALFORMED_MESSAGE = 'Malformed Authorization header: send exactly one, in the form "Bearer <token>"';

/**
 * `Authorization` field lines that name the Bearer scheme but are not one `Bearer 1*SP b64token` (RFC 6750 §2.1),
 * each made around a token that would be accepted if sent properly.
 */
const MALFORMED_BEARERS: [string, (token: string) => string[]][] = [
  ['the scheme alone', () => ['Bearer']],
  ['the scheme and a space', () => ['Bearer ']],
  ['two tokens', (token) => [`Bearer ${token} ${token}`]],
  ['a quote in the token', (token) => [`Bearer ${token}"`]],
  ['a character outside b64token', (token) => [`Bearer ${token}$`]],
  ['padding inside the token', (token) => [`Bearer ${token}=x`]],
  ['two credentials in one line', (token) => [`Bearer ${token}, Bearer ${token}`]],
  ['a tab after the scheme', (token) => [`Bearer\t${token}`]],
  ['two Authorization headers', (token) => [`Bearer ${token}`, `Bearer ${token}`]],
  ['a Basic and a Bearer header', (token) => ['Basic dXNlcjpwdw==', `Bearer ${token}`]],
];

/**
 * POSTs one operation with each of `authorization` as its own field line, over node:http (fetch would join
 * repeated lines into one).
 */
function postWithAuthorization(
  stack: Stack,
  authorization: string[],
  document: Parameters<typeof print>[0],
  variables: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<{
  status: number;
  challenge: string | undefined;
  text: string;
  body: { data?: unknown; errors?: { message: string; extensions?: Record<string, unknown> }[] };
}> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${stack.url}/graphql`,
      { method: 'POST', headers: { 'content-type': 'application/json', ...headers } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            challenge: res.headers['www-authenticate'],
            text,
            body: JSON.parse(text) as never,
          }),
        );
      },
    );
    req.on('error', reject);
    req.setHeader('authorization', authorization);
    req.end(JSON.stringify({ query: print(document), variables }));
  });
}

describe('caller JWTs checked against the JWKS (client-credentials mode)', () => {
  let stack: Stack;
  const audience = 'jans-sessions-graphql';

  beforeAll(async () => {
    stack = await startStack({
      emulator: { sessionCount: 20 },
      envFrom: (emulator) => ({
        AUTH_JWKS_URL: emulator.jwksUrl,
        AUTH_ISSUER: emulator.origin,
        AUTH_AUDIENCE: audience,
      }),
    });
  });
  afterAll(async () => {
    await stack.close();
  });
  beforeEach(() => {
    stack.emulator.resetCounts();
  });

  const jwt = (claims: Record<string, unknown> = {}, expiresInSeconds = 300) =>
    stack.emulator.issueJwt(
      { sub: 'alice', aud: audience, scope: 'openid', ...claims },
      { expiresInSeconds },
    );
  const bearer = async (token: Promise<string> | string) => ({ authorization: `Bearer ${await token}` });

  it('no credentials: 401 UNAUTHENTICATED, no upstream call', async () => {
    const response = await stack.gql(SessionsDocument, {});
    expect(response.status).toBe(401);
    expect(response.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(stack.emulator.count()).toBe(0);
  });

  it('a 401 challenges for a bearer token (WWW-Authenticate), a success does not', async () => {
    const missing = await stack.gql(SessionsDocument, {});
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toBe(BEARER_CHALLENGE);
    for (const headers of [await bearer('not.a.jwt'), await bearer(jwt({}, -60))]) {
      const response = await stack.gql(SessionsDocument, {}, headers);
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toBe(INVALID_TOKEN_CHALLENGE);
    }
    const ok = await stack.gql(SessionsDocument, {}, await bearer(jwt()));
    expect(ok.status).toBe(200);
    expect(ok.headers.get('www-authenticate')).toBeNull();
  });

  it('a valid JWT reads', async () => {
    const response = await stack.gql(SessionsDocument, { page: { limit: 2 } }, await bearer(jwt()));
    expect(response.body.data?.sessions.totalCount).toBe(20);
  });

  it.each([
    ['expired', () => jwt({}, -60)],
    ['wrong audience', () => jwt({ aud: 'someone-else' })],
    ['wrong issuer', () => jwt({ iss: 'https://evil.example' })],
    [
      'signed with another key',
      async () => {
        const { privateKey } = await generateKeyPair('RS256');
        return new SignJWT({ sub: 'mallory', aud: audience, scope: DELETE_SCOPE })
          .setProtectedHeader({ alg: 'RS256', kid: 'forged' })
          .setIssuer(stack.emulator.origin)
          .setIssuedAt()
          .setExpirationTime('5m')
          .sign(privateKey);
      },
    ],
    [
      'alg none',
      async () => {
        const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
        return `${encode({ alg: 'none', typ: 'JWT' })}.${encode({ sub: 'mallory', aud: audience, iss: stack.emulator.origin, exp: 9_999_999_999 })}.`;
      },
    ],
    ['garbage', async () => 'not.a.jwt'],
  ])('%s: 401 UNAUTHENTICATED with error="invalid_token", no upstream call', async (_name, make) => {
    const response = await stack.gql(SessionsDocument, {}, await bearer(make()));
    expect(response.status).toBe(401);
    expect(response.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(response.headers.get('www-authenticate')).toBe(INVALID_TOKEN_CHALLENGE);
    expect(stack.emulator.count()).toBe(0);
  });

  it.each(MALFORMED_BEARERS)(
    '%s: 400 BAD_USER_INPUT with error="invalid_request", a fixed message, no upstream call',
    async (_name, lines) => {
      const token = await jwt({ scope: `openid ${DELETE_SCOPE}` });
      const response = await postWithAuthorization(stack, lines(token), SessionsDocument, {});
      expect(response.status).toBe(400);
      expect(response.challenge).toBe(INVALID_REQUEST_CHALLENGE);
      expect(response.body.data ?? null).toBeNull();
      expect(response.body.errors).toHaveLength(1);
      expect(response.body.errors?.[0]?.message).toBe(MALFORMED_MESSAGE);
      expect(response.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(response.text).not.toContain(token.slice(-20));
      expect(response.text).not.toContain('dXNlcjpwdw');
      expect(stack.emulator.count()).toBe(0);
    },
  );

  it('a malformed header is refused before any change: no DELETE', async () => {
    const sid = stack.emulator.store.all()[2]!.sid;
    const token = await jwt({ scope: `openid ${DELETE_SCOPE}` });
    const response = await postWithAuthorization(stack, [`Bearer ${token} x`], DeleteSessionDocument, {
      sid,
    });
    expect(response.status).toBe(400);
    expect(response.challenge).toBe(INVALID_REQUEST_CHALLENGE);
    expect(stack.emulator.store.get(sid)).toBeDefined();
    expect(stack.emulator.count()).toBe(0);
  });

  it.each([
    ['Basic credentials', 'Basic dXNlcjpwdw=='],
    ['a scheme that only starts like Bearer', 'Bearerx abc'],
    ['a bare token without a scheme', 'abc.def.ghi'],
  ])(
    '%s: another scheme, not a malformed bearer: 401 without an error code (RFC 6750 §3.1), no upstream call',
    async (_name, authorization) => {
      const response = await postWithAuthorization(stack, [authorization], SessionsDocument, {});
      expect(response.status).toBe(401);
      expect(response.challenge).toBe(BEARER_CHALLENGE);
      expect(response.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      expect(response.text).not.toContain(authorization);
      expect(stack.emulator.count()).toBe(0);
    },
  );

  it('the scheme is case-insensitive and spaces after it may repeat (RFC 9110 §11.1, §11.4)', async () => {
    for (const scheme of ['bearer ', 'BEARER ', 'Bearer   ']) {
      const response = await stack.gql(SessionsDocument, {}, { authorization: `${scheme}${await jwt()}` });
      expect(response.status, scheme).toBe(200);
      expect(response.body.data?.sessions.totalCount, scheme).toBe(20);
    }
  });

  it('a JWT without the mutation scope cannot delete: FORBIDDEN, an insufficient_scope challenge naming it, nothing sent upstream', async () => {
    const sid = stack.emulator.store.all()[0]!.sid;
    const answered = stack.server.fastPath.answered;
    // Twice: Apollo answers the first, the fast path its repeat; both alike.
    for (const path of ['apollo', 'fast']) {
      const response = await stack.gql(DeleteSessionDocument, { sid }, await bearer(jwt()));
      expect(response.status, path).toBe(403);
      expect(response.headers.get('www-authenticate'), path).toBe(
        `${BEARER_CHALLENGE}, error="insufficient_scope", scope="${DELETE_SCOPE}"`,
      );
      expect(response.body.errors?.[0]?.message).toBe(
        `This token lacks the scope needed for mutations: ${DELETE_SCOPE}`,
      );
      expect(response.body.errors?.[0]?.extensions).toEqual({
        code: 'FORBIDDEN',
        requiredScopes: [DELETE_SCOPE],
      });
    }
    expect(stack.server.fastPath.answered).toBe(answered + 1);
    expect(stack.emulator.store.get(sid)).toBeDefined();
    expect(stack.emulator.count('delete')).toBe(0);
  });

  it('a JWT with the mutation scope deletes', async () => {
    const sid = stack.emulator.store.all()[1]!.sid;
    const response = await stack.gql(
      DeleteSessionDocument,
      { sid },
      await bearer(jwt({ scope: `openid ${DELETE_SCOPE}` })),
    );
    expect(response.body.data?.deleteSession).toEqual({ sid, deleted: true });
    expect(stack.emulator.store.get(sid)).toBeUndefined();
  });
});

describe('a mutation scope that is not a valid scope token (AUTH_MUTATION_SCOPE with a quote)', () => {
  let stack: Stack;
  const oddScope = 'session "delete"';

  beforeAll(async () => {
    stack = await startStack({
      emulator: { sessionCount: 3 },
      env: { AUTH_MUTATION_SCOPE: oddScope },
      envFrom: (emulator) => ({ AUTH_JWKS_URL: emulator.jwksUrl, AUTH_ISSUER: emulator.origin }),
    });
  });
  afterAll(async () => {
    await stack.close();
  });

  it('is left out of the challenge, which it would break, and still named in the error', async () => {
    const token = await stack.emulator.issueJwt({ sub: 'alice', scope: 'openid' }, { expiresInSeconds: 300 });
    const sid = stack.emulator.store.all()[0]!.sid;
    const response = await stack.gql(DeleteSessionDocument, { sid }, { authorization: `Bearer ${token}` });
    expect(response.status).toBe(403);
    expect(response.headers.get('www-authenticate')).toBe(`${BEARER_CHALLENGE}, error="insufficient_scope"`);
    expect(response.body.errors?.[0]?.extensions?.requiredScopes).toEqual([oddScope]);
  });
});

describe('caller API keys (client-credentials mode)', () => {
  let stack: Stack;
  const plain = 'k-plain-7f3a9c';
  const hashed = 'k-hashed-41bd20';

  beforeAll(async () => {
    stack = await startStack({
      emulator: { sessionCount: 5 },
      env: { JANS_API_KEYS: `${plain},sha256:${createHash('sha256').update(hashed).digest('hex')}` },
    });
  });
  afterAll(async () => {
    await stack.close();
  });
  beforeEach(() => {
    stack.emulator.resetCounts();
  });

  it.each([
    ['a plaintext key', plain],
    ['a key configured by its sha256', hashed],
  ])('%s is accepted', async (_name, key) => {
    const response = await stack.gql(SessionsDocument, {}, { 'x-api-key': key });
    expect(response.body.data?.sessions.totalCount).toBe(5);
  });

  it.each([
    ['a wrong key', { 'x-api-key': 'nope' }],
    ['a key differing in case', { 'x-api-key': plain.toUpperCase() }],
    ['the hash itself', { 'x-api-key': createHash('sha256').update(hashed).digest('hex') }],
    ['no key', {}],
    ['a bearer token instead', { authorization: 'Bearer k-plain-7f3a9c' }],
    // No JWTs accepted: an Authorization header is no credential of ours, malformed or not.
    ['a malformed bearer', { authorization: 'Bearer k-plain-7f3a9c extra' }],
  ])('%s: 401, no upstream call', async (_name, headers) => {
    const response = await stack.gql(SessionsDocument, {}, headers);
    expect(response.status).toBe(401);
    expect(response.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(response.headers.get('www-authenticate')).toBe(API_KEY_CHALLENGE);
    expect(stack.emulator.count()).toBe(0);
  });
});

describe('caller API keys and JWTs both accepted', () => {
  let stack: Stack;
  const key = 'k-both-5e1c77';

  beforeAll(async () => {
    stack = await startStack({
      emulator: { sessionCount: 5 },
      env: { JANS_API_KEYS: key, AUTH_AUDIENCE: 'jans-sessions-graphql' },
      envFrom: (emulator) => ({ AUTH_JWKS_URL: emulator.jwksUrl, AUTH_ISSUER: emulator.origin }),
    });
  });
  afterAll(async () => {
    await stack.close();
  });

  it.each([
    ['no credentials', {}, BEARER_CHALLENGE],
    ['a wrong key', { 'x-api-key': 'nope' }, BEARER_CHALLENGE],
    ['a bad bearer token', { authorization: 'Bearer not.a.jwt' }, INVALID_TOKEN_CHALLENGE],
  ])('%s: 401 with both challenges', async (_name, headers, bearerChallenge) => {
    const response = await stack.gql(SessionsDocument, {}, headers);
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe(`${bearerChallenge}, ${API_KEY_CHALLENGE}`);
  });

  it("a malformed Authorization header without a key: 400 with both challenges, invalid_request in Bearer's", async () => {
    const response = await postWithAuthorization(stack, ['Bearer a b'], SessionsDocument, {});
    expect(response.status).toBe(400);
    expect(response.challenge).toBe(`${INVALID_REQUEST_CHALLENGE}, ${API_KEY_CHALLENGE}`);
    expect(response.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it.each([
    ['Basic credentials', ['Basic dXNlcjpwdw==']],
    ['a malformed bearer', ['Bearer a b']],
    ['two Authorization headers', ['Bearer a', 'Bearer b']],
  ])(
    'a presented key decides alone: a valid one reads beside %s, a wrong one is a 401',
    async (_name, lines) => {
      const accepted = await postWithAuthorization(stack, lines, SessionsDocument, {}, { 'x-api-key': key });
      expect(accepted.status).toBe(200);
      expect(accepted.challenge).toBeUndefined();
      expect((accepted.body.data as { sessions: { totalCount: number } }).sessions.totalCount).toBe(5);
      const refused = await postWithAuthorization(
        stack,
        lines,
        SessionsDocument,
        {},
        { 'x-api-key': 'nope' },
      );
      expect(refused.status).toBe(401);
      expect(refused.challenge).toBe(`${BEARER_CHALLENGE}, ${API_KEY_CHALLENGE}`);
      expect(refused.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    },
  );

  it('a valid key reads without a challenge; a bad one is challenged once the fast path knows the query', async () => {
    const answered = stack.server.fastPath.answered;
    for (let i = 0; i < 2; i++) {
      const response = await stack.gql(SessionsDocument, {}, { 'x-api-key': key });
      expect(response.body.data?.sessions.totalCount).toBe(5);
      expect(response.headers.get('www-authenticate')).toBeNull();
    }
    expect(stack.server.fastPath.answered).toBe(answered + 1);
    const refused = await stack.gql(SessionsDocument, {}, { 'x-api-key': 'nope' });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toBe(`${BEARER_CHALLENGE}, ${API_KEY_CHALLENGE}`);
  });
});

describe('pass-through mode: the caller token is what Janssen sees', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({ mode: 'pass-through', emulator: { sessionCount: 5 } });
  });
  afterAll(async () => {
    await stack.close();
  });
  beforeEach(() => {
    stack.emulator.resetCounts();
  });

  it.each([
    ['no Authorization header', {}],
    ['a Basic header', { authorization: 'Basic dXNlcjpwYXNz' }],
  ])('%s: UNAUTHENTICATED without an upstream call', async (_name, headers) => {
    const response = await stack.gql(SessionsDocument, {}, headers);
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe(BEARER_CHALLENGE);
    expect(response.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(stack.emulator.count()).toBe(0);
  });

  it.each(MALFORMED_BEARERS)(
    '%s: not forwarded; 400 BAD_USER_INPUT with error="invalid_request", alike when repeated',
    async (_name, lines) => {
      const token = stack.emulator.issueToken(['https://jans.io/oauth/jans-auth-server/session.readonly']);
      for (const round of ['first', 'repeat']) {
        const response = await postWithAuthorization(stack, lines(token), SessionsDocument, {});
        expect(response.status, round).toBe(400);
        expect(response.challenge, round).toBe(INVALID_REQUEST_CHALLENGE);
        expect(response.body.errors?.[0]?.message, round).toBe(MALFORMED_MESSAGE);
        expect(response.body.errors?.[0]?.extensions?.code, round).toBe('BAD_USER_INPUT');
        expect(response.text, round).not.toContain(token);
        expect(response.text, round).not.toContain('dXNlcjpwdw');
      }
      expect(stack.emulator.count()).toBe(0);
    },
  );

  it('a malformed header deletes nothing', async () => {
    const sid = stack.emulator.store.all()[0]!.sid;
    const token = stack.emulator.issueToken([
      'https://jans.io/oauth/jans-auth-server/session.delete',
      'revoke_session',
    ]);
    const response = await postWithAuthorization(
      stack,
      [`Bearer ${token}`, `Bearer ${token}`],
      DeleteSessionDocument,
      {
        sid,
      },
    );
    expect(response.status).toBe(400);
    expect(response.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(stack.emulator.store.get(sid)).toBeDefined();
    expect(stack.emulator.count()).toBe(0);
  });

  it('a malformed header is no problem for what needs no upstream call (a gateway reading the SDL)', async () => {
    const response = await stack.gql('{ _service { sdl } }', undefined, { authorization: 'Bearer a b' });
    expect(response.status).toBe(200);
    expect(response.body.errors).toBeUndefined();
  });

  it('nothing read with one caller’s token is served to the next caller', async () => {
    const token = stack.emulator.issueToken(['https://jans.io/oauth/jans-auth-server/session.readonly']);
    const sid = stack.emulator.store.all()[0]!.sid;
    const query = `{ session(sid: "${sid}") { sid } sessions { totalCount } }`;
    const first = await stack.gql(query, undefined, { authorization: `Bearer ${token}` });
    expect(first.body.data).toMatchObject({ session: { sid } });
    const second = await stack.gql(query);
    expect(second.body.data ?? null).toBeNull();
    expect(second.body.errors?.every((e) => e.extensions?.code === 'UNAUTHENTICATED')).toBe(true);
    const third = await stack.gql(query, undefined, { authorization: 'Bearer someone-else' });
    expect(third.body.errors?.every((e) => e.extensions?.code === 'UNAUTHENTICATED')).toBe(true);
  });
});
