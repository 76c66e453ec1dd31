/**
 * What can go wrong talking to Janssen, in the REST layer's own terms (no GraphQL here).
 * `schema/errors.ts` maps each kind to a stable `extensions.code`.
 */
export type JanssenErrorKind =
  /** 401 for a missing, unknown or expired token; also a caller's token that cannot be sent (malformed). */
  | 'UNAUTHORIZED'
  /** 401 whose text names missing scopes (Janssen never answers 403, UPSTREAM-BEHAVIOUR.md §5.1). */
  | 'INSUFFICIENT_SCOPE'
  /** 400: the upstream refused the parameters (e.g. `limit` above its `maxCount`). */
  | 'BAD_REQUEST'
  /** No answer within the time budget. */
  | 'TIMEOUT'
  /** Connection refused/reset, DNS failure, 502/503/504, or the token endpoint down. */
  | 'UNAVAILABLE'
  /** Any other status, or a body we cannot parse. */
  | 'ERROR';

/**
 * What is known of a change whose call failed: `NOT_APPLIED` when the request provably never took effect (never
 * sent, or the upstream still has what was to be deleted), `UNKNOWN` when its answer was lost and nothing could
 * confirm either way.
 */
export type ChangeOutcome = 'NOT_APPLIED' | 'UNKNOWN';

/** A failed upstream call. The message is safe to log; it never carries the upstream body or a token. */
export class JanssenApiError extends Error {
  override readonly name = 'JanssenApiError';
  readonly code = 'ERR_JANSSEN_HTTP';

  constructor(
    readonly kind: JanssenErrorKind,
    readonly operation: string,
    message: string,
    readonly details: {
      status?: number;
      requiredScopes?: string[];
      cause?: unknown;
      /** Requests sent for the call (retries included). */
      attempts?: number;
      /** For a change (DELETE) that failed: whether it was applied, when the answer does not say. */
      outcome?: ChangeOutcome;
      /**
       * `UNAUTHORIZED` / `INSUFFICIENT_SCOPE` in client-credentials mode: Janssen refused this service's own token
       * (a fresh one too) or its client's scopes. An operator's problem, never the caller's.
       */
      serviceCredentials?: boolean;
      /**
       * Never sent, so not a call to Janssen (metrics count it apart): refused by the open circuit breaker, or no
       * upstream slot (`JANS_MAX_CONCURRENCY`) came free within the budget before a first attempt.
       */
      notSent?: 'circuit_open' | 'no_slot';
    } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
  }

  get status(): number | undefined {
    return this.details.status;
  }
}

/** The protection space our `WWW-Authenticate` challenges name. */
export const AUTH_REALM = 'jans-sessions-graphql';

/** RFC 6749 §3.3 `scope-token`: nothing that would need escaping inside a quoted `scope` attribute. */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

/**
 * A `Bearer` challenge (RFC 6750 §3), with the reason a presented token was refused, if any (none when the request
 * carried no token, §3.1), and for `insufficient_scope` the `scope` needed when each is a valid scope token.
 * `invalid_request` goes with HTTP 400: an `Authorization` header that is not one well-formed bearer credential.
 */
export function bearerChallenge(
  error?: 'invalid_request' | 'invalid_token' | 'insufficient_scope',
  scopes: readonly string[] = [],
): string {
  const scope =
    error === 'insufficient_scope' && scopes.length > 0 && scopes.every((s) => SCOPE_TOKEN.test(s))
      ? `, scope="${scopes.join(' ')}"`
      : '';
  return `Bearer realm="${AUTH_REALM}"${error ? `, error="${error}"` : ''}${scope}`;
}

/**
 * Pass-through mode, and the caller sent no bearer token to forward: refused before any upstream call, with HTTP 401
 * and a `WWW-Authenticate` challenge. `extensions.http` is how Apollo Server (and the fast path, which mirrors it)
 * take an HTTP status from an error a resolver throws: graphql-js copies an original error's `extensions`.
 */
export class MissingBearerTokenError extends JanssenApiError {
  readonly extensions = {
    http: { status: 401, headers: new Map([['www-authenticate', bearerChallenge()]]) },
  };

  constructor() {
    super('UNAUTHORIZED', 'credentials', 'no bearer token to forward to Janssen');
  }
}

/**
 * Pass-through mode, and the caller's `Authorization` header names the Bearer scheme but is not one well-formed
 * `Bearer <token>` (RFC 6750 §2.1), or the request has more than one: not forwarded, HTTP 400 with an
 * `invalid_request` challenge (§3.1). Its kind is `UNAUTHORIZED` so that, like a missing token, it counts as no
 * credentials (no failed upstream call recorded, a bulk deletion stops) rather than an upstream failure.
 */
export class MalformedBearerTokenError extends JanssenApiError {
  readonly extensions = {
    http: { status: 400, headers: new Map([['www-authenticate', bearerChallenge('invalid_request')]]) },
  };

  constructor() {
    super('UNAUTHORIZED', 'credentials', 'malformed Authorization header, not forwarded to Janssen');
  }
}

/**
 * Client-credentials mode, and Janssen's token endpoint refused this service's own client (a wrong
 * `JANS_CLIENT_SECRET`, a disabled client, a missing grant): an operator's problem, never the caller's.
 */
export class ClientCredentialsRefusedError extends JanssenApiError {
  constructor(details: JanssenApiError['details']) {
    super('ERROR', 'token', 'token: the auth server refused the client credentials', details);
  }
}

/**
 * A request that would need more single reads than one request may make (`limit`): ids that cannot be batched
 * into a search are read one call each, and a caller must not turn one request into thousands of calls.
 */
export class TooManyCallsError extends Error {
  override readonly name = 'TooManyCallsError';
  readonly code = 'ERR_TOO_MANY_CALLS';
  /** The message without its advice, for a caller that adds what it knows (how many were not read). */
  readonly reason: string;

  constructor(
    readonly what: string,
    readonly limit: number,
  ) {
    const reason =
      `This request needs more than ${limit} ${what} read one upstream call at a time (ids that cannot be ` +
      'batched into one search, or every id while Janssen search is failing)';
    super(`${reason}; send fewer per request`);
    this.reason = reason;
  }
}

/** An input the upstream cannot express faithfully; refused before any upstream call. */
export class InvalidInputError extends Error {
  override readonly name = 'InvalidInputError';
  readonly code = 'ERR_INVALID_INPUT';

  /** @param field the argument path the caller sent, e.g. `filter.clientId` */
  constructor(
    readonly field: string,
    reason: string,
  ) {
    super(`${field}: ${reason}`);
  }
}
