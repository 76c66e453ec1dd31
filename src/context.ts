import { hash } from 'node:crypto';

import type DataLoader from 'dataloader';
import type { Logger } from 'pino';

import type { BearerCredential, Caller } from './caller-auth.js';
import {
  type JanssenApiError,
  MalformedBearerTokenError,
  MissingBearerTokenError,
} from './janssen/errors.js';
import type { JanssenClient } from './janssen/http-client.js';
import { SessionApi, type UpstreamAuth, type UpstreamCallListener } from './janssen/session-api.js';
import type { SessionId } from './janssen/session.dto.js';
import type { ClientCredentialsTokenProvider } from './janssen/token-provider.js';
import type { SearchHealth } from './loaders/search-health.js';
import { createSessionLoader } from './loaders/session.loader.js';
import {
  createUserSessionsLoader,
  type UserSessions,
  type UserSessionsKey,
} from './loaders/user-sessions.loader.js';
import type { RequestTrace } from './tracing/tracing.js';
import type { RepeatLimiter } from './util/repeat-limiter.js';

export interface Settings {
  maxPageSize: number;
  peopleBaseDn: string;
  /** Whether changes write audit lines (`AUDIT_LOG`). */
  audit: boolean;
}

/** Per GraphQL request: the caller, a `SessionApi` with that caller's credentials, and fresh loaders. */
export interface Context {
  caller: Caller;
  sessions: SessionApi;
  loaders: {
    session: DataLoader<string, SessionId | null>;
    userSessions: DataLoader<UserSessionsKey, UserSessions, string>;
  };
  settings: Settings;
  requestId: string;
  log: Logger;
  /** The request's clock, so every `expired` in one response agrees. */
  now: number;
  /**
   * Pass-through mode: the first 8 hex digits of the SHA-256 of the bearer token forwarded to Janssen, which tell
   * one token's changes from another's in audit lines without showing it; undefined otherwise.
   */
  forwardedTokenId(): string | undefined;
  /** Upstream calls made so far by this request (an object: Apollo shallow-copies the context per operation). */
  upstream: { calls: number };
  scope: RequestScope;
}

/** Long-lived things a context is made from. */
export interface ContextDeps {
  /** The upstream client; `http.circuit.state()` is the breaker's state. */
  http: JanssenClient;
  /** Set in client-credentials mode: the service's own Janssen token. Otherwise the caller's token is forwarded. */
  tokens: ClientCredentialsTokenProvider | undefined;
  settings: Settings;
  /** Whether batched reads may use upstream search; shared by all requests. */
  searchHealth: SearchHealth;
  /** When to log Janssen refusing this service's own credentials again; shared by all requests. */
  serviceRefusals: RepeatLimiter;
  onUpstreamCall?: UpstreamCallListener;
  /** Told the size of every session-loader batch (metrics). */
  onBatch?: (size: number) => void;
}

/**
 * What the operation's log line and `formatError` need of the HTTP request. Passed explicitly (through the
 * context) rather than by AsyncLocalStorage, whose promise hooks cost ~8% of a request's CPU on Node 20.
 */
export interface RequestScope {
  log: Logger;
  method: string;
  /** When the request arrived (`performance.now()`). */
  started: number;
  /**
   * Set once the operation's log line is written and its metrics recorded; a request refused before (or failing
   * outside) Apollo's pipeline gets a log line and a count of its own.
   */
  operationLogged: boolean;
  /** The request's spans, when tracing is on. */
  trace?: RequestTrace | undefined;
}

/** The HTTP request's scope (shared with the server's operation log line, logger included), or just a logger (tests). */
export type RequestInfo = {
  /** What the request's `Authorization` header offers; forwarded to Janssen in pass-through mode. */
  bearer: BearerCredential;
  requestId: string;
  caller: Caller;
} & ({ scope: RequestScope; log?: undefined } | { scope?: undefined; log: Logger });

export function createContext(deps: ContextDeps, request: RequestInfo): Context {
  const scope: RequestScope = request.scope ?? {
    log: request.log,
    method: 'POST',
    started: performance.now(),
    operationLogged: false,
  };
  const auth = deps.tokens
    ? clientCredentialsAuth(deps.tokens, scope, deps.serviceRefusals)
    : passThroughAuth(request.bearer);
  const upstream = { calls: 0 };
  const sessions = new SessionApi(
    deps.http,
    auth,
    (call) => {
      upstream.calls += 1;
      deps.onUpstreamCall?.(call);
      if (call.error) {
        // A caller's own token refused (pass-through) is the caller's mistake, not a failure of ours or Janssen's.
        const callersMistake =
          deps.tokens === undefined &&
          (call.error.kind === 'UNAUTHORIZED' || call.error.kind === 'INSUFFICIENT_SCOPE');
        scope.log[callersMistake ? 'info' : 'warn'](
          {
            operation: call.operation,
            status: call.status,
            kind: call.error.kind,
            cause: describeCause(call.error),
          },
          'upstream call failed',
        );
      }
    },
    scope.trace,
  );
  return {
    caller: request.caller,
    sessions,
    // Made on first use: most operations need one loader, many none.
    loaders: lazyLoaders(sessions, deps),
    settings: deps.settings,
    requestId: request.requestId,
    // A getter: the server's scope makes its child logger only when something is logged.
    get log() {
      return scope.log;
    },
    now: Date.now(),
    forwardedTokenId: () => {
      const { bearer } = request;
      return deps.tokens || bearer.kind !== 'token'
        ? undefined
        : hash('sha256', bearer.token, 'hex').slice(0, 8);
    },
    upstream,
    scope,
  };
}

function lazyLoaders(sessions: SessionApi, deps: ContextDeps): Context['loaders'] {
  let session: Context['loaders']['session'] | undefined;
  let userSessions: Context['loaders']['userSessions'] | undefined;
  return {
    get session() {
      return (session ??= createSessionLoader(sessions, {
        maxPageSize: deps.settings.maxPageSize,
        searchHealth: deps.searchHealth,
        onBatch: deps.onBatch,
      }));
    },
    get userSessions() {
      return (userSessions ??= createUserSessionsLoader(sessions, {
        maxPageSize: deps.settings.maxPageSize,
        peopleBaseDn: deps.settings.peopleBaseDn,
      }));
    },
  };
}

/**
 * Forwards the caller's bearer token; with none, or with a malformed `Authorization` header (HTTP 400, RFC 6750
 * §3.1), no upstream call is made at all.
 */
function passThroughAuth(bearer: BearerCredential): UpstreamAuth {
  return {
    callerToken: true,
    header: async () => {
      switch (bearer.kind) {
        case 'token':
          return `Bearer ${bearer.token}`;
        case 'malformed':
          throw new MalformedBearerTokenError();
        case 'absent':
          throw new MissingBearerTokenError();
      }
    },
  };
}

/**
 * The service's own token; after a 401 it is dropped, and the call is retried once with a new one. A token fetch
 * this request starts is a span of its trace. Janssen refusing it for good, or its scopes, is logged for the
 * operator at error.
 */
function clientCredentialsAuth(
  tokens: ClientCredentialsTokenProvider,
  scope: RequestScope,
  refusals: RepeatLimiter,
): UpstreamAuth {
  const { trace } = scope;
  return {
    header: async (signal) => `Bearer ${await tokens.getToken(signal, trace)}`,
    renew: async (rejected, signal) => {
      tokens.invalidate(rejected.replace(/^Bearer\s+/i, ''));
      return `Bearer ${await tokens.getToken(signal, trace)}`;
    },
    refused: (error) => logServiceRefusal(refusals, scope.log, error),
  };
}

/**
 * Janssen refused this service's own token or its scopes: every request fails alike until the operator acts, so
 * one line per kind (and scopes) a minute, through the request's logger (with its request id).
 */
function logServiceRefusal(limiter: RepeatLimiter, log: Logger, error: JanssenApiError): void {
  const scopes = error.details.requiredScopes ?? [];
  const suppressed = limiter.take(`${error.kind} ${scopes.join(' ')}`);
  if (suppressed === undefined) {
    return;
  }
  log.error(
    {
      operation: error.operation,
      status: error.status,
      kind: error.kind,
      ...(error.kind === 'INSUFFICIENT_SCOPE' ? { requiredScopes: scopes } : {}),
      ...(suppressed > 0 ? { suppressed } : {}),
    },
    error.kind === 'INSUFFICIENT_SCOPE'
      ? "Janssen requires scopes this service's client (JANS_CLIENT_ID) was not granted: the operator must grant " +
          'them (requiredScopes); until then the operations that need them fail with UPSTREAM_ERROR'
      : "Janssen refused this service's own access token, a freshly issued one too: the operator must fix the " +
          'client (JANS_CLIENT_ID, JANS_TOKEN_URL); until then calls fail with UPSTREAM_ERROR',
  );
}

/** What the log keeps of a failed upstream call: never the request options, whose headers carry the token. */
function describeCause(error: JanssenApiError): Record<string, unknown> {
  const cause = error.cause as { name?: unknown; code?: unknown; message?: unknown } | undefined;
  return {
    name: cause?.name ?? error.name,
    code: cause?.code,
    message: typeof cause?.message === 'string' ? cause.message : error.message,
  };
}
