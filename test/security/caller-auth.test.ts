import { createHash } from 'node:crypto';

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
    ['an empty bearer', { authorization: 'Bearer ' }],
  ])('%s: UNAUTHENTICATED without an upstream call', async (_name, headers) => {
    const response = await stack.gql(SessionsDocument, {}, headers);
    expect(response.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(stack.emulator.count()).toBe(0);
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
