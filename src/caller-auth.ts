import { hash, timingSafeEqual } from 'node:crypto';

import { HeaderMap } from '@apollo/server';
import { GraphQLError } from 'graphql';
import type * as Jose from 'jose';
import type { JWTPayload, JWTVerifyGetKey } from 'jose';
import type { Logger } from 'pino';

import { type Config, withoutPassword } from './config.js';
import { AUTH_REALM, bearerChallenge } from './janssen/errors.js';
import { RepeatLimiter } from './util/repeat-limiter.js';

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
  bearer: BearerCredential;
  apiKey?: string | undefined;
}) => Promise<Caller>;

/**
 * What a request's `Authorization` header offers as a bearer token (RFC 6750 §2.1):
 * - `absent`: no header, an empty one, or another scheme (`Basic …`). No bearer token was attempted, so a
 *   refusal is a 401 whose challenge names no error (§3.1: a request that "lacks any authentication information
 *   (e.g., the client … attempted using an unsupported authentication method)" gets none);
 * - `malformed`: the Bearer scheme without exactly one b64token after it (`Bearer`, `Bearer a b`, `Bearer a"b`), or
 *   more than one `Authorization` header: HTTP 400, `error="invalid_request"` (§3.1: "repeats the same parameter, …
 *   or is otherwise malformed");
 * - `token`: the b64token itself.
 */
export type BearerCredential = { kind: 'absent' } | { kind: 'malformed' } | { kind: 'token'; token: string };

/** RFC 6750 §2.1 `credentials = "Bearer" 1*SP b64token`; an auth-scheme is case-insensitive (RFC 9110 §11.1). */
const BEARER_CREDENTIALS = /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i;
/** The Bearer scheme, as a whole RFC 9110 `token` (`Bearerish x` is another scheme). */
const BEARER_SCHEME = /^Bearer(?![\w!#$%&'*+.^`|~-])/i;

/** The message of an `invalid_request` refusal; fixed, so no part of the header is ever echoed. */
export const MALFORMED_AUTHORIZATION_MESSAGE =
  'Malformed Authorization header: send exactly one, in the form "Bearer <token>"';

/**
 * Reads the request's `Authorization` field lines: all of them, as Node's `headersDistinct` has them (its
 * `headers.authorization` keeps the first and drops the others).
 */
export function readBearerCredential(values: readonly string[] = []): BearerCredential {
  if (values.length > 1) {
    return { kind: 'malformed' };
  }
  const value = values[0] ?? '';
  const token = BEARER_CREDENTIALS.exec(value)?.[1];
  if (token !== undefined) {
    return { kind: 'token', token };
  }
  return BEARER_SCHEME.test(value) ? { kind: 'malformed' } : { kind: 'absent' };
}

/**
 * The `WWW-Authenticate` value of a 401 (RFC 9110 §11.6.1 requires one): a challenge per way of authenticating
 * that is configured, `Bearer` (RFC 6750) for caller JWTs, `ApiKey` naming its header for API keys. The `Bearer`
 * one says `error="invalid_token"` when a bearer token was presented and refused; the 400 for a malformed
 * `Authorization` header carries the same challenges, with `error="invalid_request"`.
 */
function authChallenges(
  auth: Pick<Config['auth'], 'apiKeyHashes' | 'jwksUrl'>,
  bearerError?: 'invalid_request' | 'invalid_token',
): string {
  return [
    ...(auth.jwksUrl === undefined ? [] : [bearerChallenge(bearerError)]),
    ...(auth.apiKeyHashes.length === 0 ? [] : [`ApiKey realm="${AUTH_REALM}", header="x-api-key"`]),
  ].join(', ');
}

/**
 * `AUTH_JWKS_URL` gave no usable key set when a token needed one: no answer, no answer in time (jose's
 * `ERR_JWKS_TIMEOUT`), a status other than 200, a body that is not JSON or not a JWKS, or a key in it that cannot be
 * imported. The key server's failure, not the caller's: their token may well be good.
 */
class KeySetUnavailableError extends Error {
  override readonly name = 'KeySetUnavailableError';
  readonly code = 'ERR_JWKS_UNAVAILABLE';

  constructor(options?: ErrorOptions) {
    super('The caller key set (AUTH_JWKS_URL) cannot be had', options);
  }
}

/** The refusal of a token that could not be checked; no URL or host in it (CONTRACT.md). */
const KEY_SET_UNAVAILABLE_MESSAGE =
  "Bearer tokens cannot be checked now: their issuer's signing keys are unavailable, try again later";

/**
 * What jose's remote key set throws for the token itself rather than for the set: no key with its `kid` even after
 * the refetch jose makes for an unknown one (a foreign or forged token), several candidates for a token without a
 * `kid`, or an `alg` no key set can hold (`none`, `HS256`). Everything else it throws means the set could not be
 * fetched or used: `fetch`'s own `TypeError` (refused, reset, DNS), `JWKSTimeout`, the plain `JOSEError` of a
 * non-200 or non-JSON answer, `JWKSInvalid`, a key that does not import.
 */
function isTokensFault(error: unknown, { errors }: typeof Jose): boolean {
  return (
    error instanceof errors.JWKSNoMatchingKey ||
    error instanceof errors.JWKSMultipleMatchingKeys ||
    error instanceof errors.JOSENotSupported
  );
}

/** An error and its causes in one line, for the log: `fetch failed: connect ECONNREFUSED 127.0.0.1:9`. */
function describeCause(error: unknown): string {
  const parts: string[] = [];
  for (let cause = error, depth = 0; cause !== undefined && cause !== null && depth < 4; depth += 1) {
    if (!(cause instanceof Error)) {
      parts.push(String(cause));
      break;
    }
    const code = (cause as { code?: unknown }).code;
    parts.push(
      typeof code === 'string' && !cause.message.includes(code) ? `${code} ${cause.message}` : cause.message,
    );
    cause = cause.cause;
  }
  return parts.join(': ');
}

export interface CallerAuthenticatorOptions {
  /** Where a key-set outage is reported (a warning at most once a minute). */
  logger?: Logger;
}

/**
 * Checks the caller before anything reaches Janssen: an `x-api-key` from `JANS_API_KEYS` (compared as SHA-256
 * digests in constant time), or a bearer JWT valid under `AUTH_JWKS_URL`. With neither configured every caller is
 * anonymous and may do anything the upstream allows (pass-through mode, where Janssen checks the forwarded token,
 * and the loopback-only demo).
 *
 * A presented `x-api-key` decides alone, as it always has: the `Authorization` header is then not read, so a valid
 * key is accepted whatever else rides along (a proxy's `Basic` credentials, say). Without one, and with JWTs
 * accepted, a malformed `Authorization` header is refused with HTTP 400 before any JWT check.
 */
export function createCallerAuthenticator(
  auth: Config['auth'],
  options: CallerAuthenticatorOptions = {},
): CallerAuthenticator {
  const keyDigests = auth.apiKeyHashes.map((hex) => Buffer.from(hex, 'hex'));
  const jwksUrl = auth.jwksUrl;
  // jose is loaded with the first bearer token to check: a deployment with API keys only never pays its memory.
  let verifier: Promise<(token: string) => Promise<JWTPayload>> | undefined;
  const verify = (token: string) => {
    verifier ??= import('jose').then((jose) => {
      const remote = jose.createRemoteJWKSet(new URL(jwksUrl as string), { timeoutDuration: 5000 });
      // Only what finding the key throws can be the key server's failure: a token jose cannot parse, a bad
      // signature, `exp`, `iss`, `aud` fail outside this and stay the caller's.
      const keys: JWTVerifyGetKey = async (header, jws) => {
        try {
          return await remote(header, jws);
        } catch (error) {
          throw isTokensFault(error, jose) ? error : new KeySetUnavailableError({ cause: error });
        }
      };
      return async (jwt: string) =>
        (
          await jose.jwtVerify(jwt, keys, {
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
  const invalidRequestChallenges = authChallenges(auth, 'invalid_request');
  const outageLog = new RepeatLimiter();
  /** Tokens refused for an outage since the last warning. */
  let unreported = 0;
  const keySetUnavailable = (error: KeySetUnavailableError) => {
    unreported += 1;
    if (options.logger && outageLog.take('jwks') !== undefined) {
      options.logger.warn(
        {
          jwksUrl: withoutPassword(jwksUrl as string),
          cause: describeCause(error.cause),
          refusedSinceLastWarning: unreported,
        },
        'caller JWTs cannot be checked: their key set (AUTH_JWKS_URL) cannot be had',
      );
      unreported = 0;
    }
    // HTTP 503: a request error without `data`, which GraphQL over HTTP wants as a 4xx/5xx (Apollo would make it a
    // 500), and the status /readyz gives "unavailable".
    return new GraphQLError(KEY_SET_UNAVAILABLE_MESSAGE, {
      extensions: { code: 'UPSTREAM_UNAVAILABLE', http: { status: 503 } },
    });
  };
  // Apollo (and the fast path alike) send `extensions.http` as the response's status and headers.
  const unauthenticated = (message: string, challenge = challenges) =>
    new GraphQLError(message, {
      extensions: {
        code: 'UNAUTHENTICATED',
        http: { status: 401, headers: new HeaderMap([['www-authenticate', challenge]]) },
      },
    });

  return async ({ bearer, apiKey }) => {
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
    if (bearer.kind === 'malformed' && jwks) {
      throw new GraphQLError(MALFORMED_AUTHORIZATION_MESSAGE, {
        extensions: {
          code: 'BAD_USER_INPUT',
          http: { status: 400, headers: new HeaderMap([['www-authenticate', invalidRequestChallenges]]) },
        },
      });
    }
    if (bearer.kind === 'token' && jwks) {
      let payload: JWTPayload;
      try {
        payload = await verify(bearer.token);
      } catch (error) {
        if (error instanceof KeySetUnavailableError) {
          throw keySetUnavailable(error);
        }
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
