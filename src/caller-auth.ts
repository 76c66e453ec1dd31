import { hash, timingSafeEqual } from 'node:crypto';

import { HeaderMap } from '@apollo/server';
import { GraphQLError } from 'graphql';
import type { JWTPayload } from 'jose';

import type { Config } from './config.js';
import { AUTH_REALM, bearerChallenge } from './janssen/errors.js';

/** Who is calling, as far as this service can tell. */
export interface Caller {
  kind: 'api-key' | 'jwt' | 'anonymous';
  /** For logs: the JWT subject, or a short fingerprint of the API key. */
  id: string;
  /** Whether mutations are allowed (API keys: yes; JWTs: with the mutation scope; anonymous: when no auth is set). */
  canMutate: boolean;
  /** The scope a JWT would need to mutate, when it lacks it (for the refusal's message). */
  mutationScope?: string;
}

export type CallerAuthenticator = (headers: {
  authorization?: string | undefined;
  apiKey?: string | undefined;
}) => Promise<Caller>;

/**
 * The `WWW-Authenticate` value of a 401 (RFC 9110 §11.6.1 requires one): a challenge per way of authenticating
 * that is configured, `Bearer` (RFC 6750) for caller JWTs, `ApiKey` naming its header for API keys. The `Bearer`
 * one says `error="invalid_token"` when a bearer token was presented and refused.
 */
function authChallenges(
  auth: Pick<Config['auth'], 'apiKeyHashes' | 'jwksUrl'>,
  bearerError?: 'invalid_token',
): string {
  return [
    ...(auth.jwksUrl === undefined ? [] : [bearerChallenge(bearerError)]),
    ...(auth.apiKeyHashes.length === 0 ? [] : [`ApiKey realm="${AUTH_REALM}", header="x-api-key"`]),
  ].join(', ');
}

/**
 * Checks the caller before anything reaches Janssen: an `x-api-key` from `JANS_API_KEYS` (compared as SHA-256
 * digests in constant time), or a bearer JWT valid under `AUTH_JWKS_URL`. With neither configured every caller is
 * anonymous and may do anything the upstream allows (pass-through mode, where Janssen checks the forwarded token,
 * and the loopback-only demo).
 */
export function createCallerAuthenticator(auth: Config['auth']): CallerAuthenticator {
  const keyDigests = auth.apiKeyHashes.map((hex) => Buffer.from(hex, 'hex'));
  const jwksUrl = auth.jwksUrl;
  // jose is loaded with the first bearer token to check: a deployment with API keys only never pays its memory.
  let verifier: Promise<(token: string) => Promise<JWTPayload>> | undefined;
  const verify = (token: string) => {
    verifier ??= import('jose').then(({ createRemoteJWKSet, jwtVerify }) => {
      const jwks = createRemoteJWKSet(new URL(jwksUrl as string), { timeoutDuration: 5000 });
      return async (jwt: string) =>
        (
          await jwtVerify(jwt, jwks, {
            ...(auth.issuer ? { issuer: auth.issuer } : {}),
            ...(auth.audience ? { audience: auth.audience } : {}),
          })
        ).payload;
    });
    return verifier.then((check) => check(token));
  };
  const jwks = jwksUrl !== undefined;
  const required = keyDigests.length > 0 || jwks;
  const challenges = authChallenges(auth);
  const invalidTokenChallenges = authChallenges(auth, 'invalid_token');
  // Apollo (and the fast path alike) send `extensions.http` as the response's status and headers.
  const unauthenticated = (message: string, challenge = challenges) =>
    new GraphQLError(message, {
      extensions: {
        code: 'UNAUTHENTICATED',
        http: { status: 401, headers: new HeaderMap([['www-authenticate', challenge]]) },
      },
    });

  return async ({ authorization, apiKey }) => {
    if (!required) {
      return { kind: 'anonymous', id: 'anonymous', canMutate: true };
    }
    if (apiKey !== undefined && keyDigests.length > 0) {
      const digest = hash('sha256', apiKey, 'buffer');
      if (keyDigests.some((known) => timingSafeEqual(known, digest))) {
        return { kind: 'api-key', id: `key:${digest.toString('hex').slice(0, 8)}`, canMutate: true };
      }
      throw unauthenticated('Invalid API key');
    }
    const bearer = authorization ? /^Bearer\s+(\S+)$/i.exec(authorization)?.[1] : undefined;
    if (bearer !== undefined && jwks) {
      let payload: JWTPayload;
      try {
        payload = await verify(bearer);
      } catch {
        throw unauthenticated('Invalid or expired bearer token', invalidTokenChallenges);
      }
      const scopes = scopesOf(payload);
      return {
        kind: 'jwt',
        id: `sub:${payload.sub ?? 'unknown'}`,
        canMutate: scopes.includes(auth.mutationScope),
        mutationScope: auth.mutationScope,
      };
    }
    throw unauthenticated(
      keyDigests.length > 0 && jwks
        ? 'Authenticate with an x-api-key header or a bearer token'
        : keyDigests.length > 0
          ? 'Authenticate with an x-api-key header'
          : 'Authenticate with a bearer token',
    );
  };
}

function scopesOf(payload: JWTPayload): string[] {
  const { scope, scp } = payload as { scope?: unknown; scp?: unknown };
  if (typeof scope === 'string') {
    return scope.split(' ').filter(Boolean);
  }
  if (Array.isArray(scope)) {
    return scope.filter((s): s is string => typeof s === 'string');
  }
  if (Array.isArray(scp)) {
    return scp.filter((s): s is string => typeof s === 'string');
  }
  return [];
}
