import type { RequestTrace } from '../tracing/tracing.js';

import {
  bearerChallenge,
  type ChangeOutcome,
  ClientCredentialsRefusedError,
  JanssenApiError,
} from './errors.js';
import { type JanssenClient, toJanssenError } from './http-client.js';
import { checkSid } from './query.js';
import type { BudgetSignal } from './resilience.js';
import type { SessionId, SessionPagedResult, SessionSearchParams } from './session.dto.js';

/** Opens the span of one upstream call (tracing on). */
export type UpstreamTracer = Pick<RequestTrace, 'startUpstream'>;

/** Each operation's path under the session resource, as spans name it: ids are never in a span name. */
const PATH_TEMPLATES: Record<string, string> = {
  'get-sessions': 'session',
  'search-session': 'session/search',
  'get-session-by-id': 'session/sid/{sid}',
  'delete-session': 'session/sid/{sid}',
  'revoke-user-session': 'session/user/{userDn}',
};

/** Where the `Authorization` header of an upstream call comes from. */
export interface UpstreamAuth {
  /**
   * The header value for the next call; throws `JanssenApiError('UNAUTHORIZED')` when there is none. `signal`
   * aborts when the call's time budget is spent.
   */
  header(signal?: BudgetSignal): Promise<string>;
  /** After an upstream 401: a fresh header to retry the call once with, or undefined to give up. */
  renew?(rejected: string, signal?: BudgetSignal): Promise<string | undefined>;
  /**
   * The header is the caller's own token (pass-through): Janssen refusing it is the caller's 401 or 403. Otherwise
   * it is this service's own, and Janssen refusing it or its scopes is the operator's problem.
   */
  readonly callerToken?: boolean;
  /** Told when Janssen refused this service's own credentials for good (after the renewal), for the operator. */
  refused?(error: JanssenApiError): void;
}

/** Told about every upstream call (for logs and metrics). */
export type UpstreamCallListener = (call: {
  operation: string;
  durationMs: number;
  status?: number;
  /** Requests sent, retries included (0 when the call never left: open circuit, no token). */
  attempts?: number;
  /** The failure; `details.notSent` when nothing was sent (the open circuit, or no free upstream slot). */
  error?: JanssenApiError;
}) => void;

/** A normalized page: `entries` is always an array (Janssen omits it when empty). */
export interface SessionPage extends SessionPagedResult {
  entries: SessionId[];
}

/**
 * One method per Janssen session operation, in our verbs. Created per GraphQL request (it carries that caller's
 * credentials) over the long-lived client. Each method is one call with one time budget (`JANS_TIMEOUT_MS`) that
 * covers getting a token, retries and the renewal after a 401.
 */
export class SessionApi {
  constructor(
    private readonly http: JanssenClient,
    private readonly auth: UpstreamAuth,
    private readonly onCall?: UpstreamCallListener,
    private readonly tracer?: UpstreamTracer,
  ) {}

  /** `get-sessions`: always the first 50 sessions by `jansId`; it cannot page (UPSTREAM-BEHAVIOUR.md §2.1). */
  async listSessions(): Promise<SessionPage> {
    const body = await this.call('get-sessions', 'GET', 'session');
    return toPage(body, 'get-sessions');
  }

  /** `search-session`: parameters are built and checked by `buildSearchParams`. */
  async searchSessions(params: SessionSearchParams): Promise<SessionPage> {
    const searchParams: Record<string, string | number> = {
      limit: params.limit,
      startIndex: params.startIndex,
    };
    for (const key of ['pattern', 'sortBy', 'sortOrder', 'fieldValuePair'] as const) {
      const value = params[key];
      if (value !== undefined) {
        searchParams[key] = value;
      }
    }
    const body = await this.call('search-session', 'GET', 'session/search', searchParams);
    return toPage(body, 'search-session');
  }

  /** `get-session-by-id`: null when Janssen answers 200 with an empty body (its "not found", §2.3). */
  async getSession(sid: string): Promise<SessionId | null> {
    const body = await this.call(
      'get-session-by-id',
      'GET',
      `session/sid/${encodeURIComponent(checkSid(sid))}`,
    );
    if (body === '' || body === null || body === undefined) {
      return null;
    }
    if (!isSession(body)) {
      throw new JanssenApiError('ERROR', 'get-session-by-id', 'get-session-by-id: unexpected body shape');
    }
    return body;
  }

  /**
   * `delete-session`: true when deleted, false when no session had that sid (404, §2.4). When the answer is lost
   * (timeout, reset, 5xx), a GET tells: gone means true (it may have been gone before), still there throws with
   * outcome `NOT_APPLIED`, and a failing GET leaves the outcome `UNKNOWN`.
   */
  async deleteSession(sid: string): Promise<boolean> {
    const path = `session/sid/${encodeURIComponent(checkSid(sid))}`;
    return this.deleting('delete-session', path, async () => (await this.getSession(sid)) === null);
  }

  /**
   * `revoke-user-session`: deletes every authenticated session of the user with this full DN (equality match, §2.5).
   * True when at least one was revoked, false when the user had none. A lost answer cannot be checked cheaply
   * (search cannot filter by a full DN), so it stays outcome `UNKNOWN`.
   */
  async revokeUserSessions(userDn: string): Promise<boolean> {
    return this.deleting('revoke-user-session', `session/user/${encodeURIComponent(userDn)}`);
  }

  private async deleting(operation: string, path: string, isGone?: () => Promise<boolean>): Promise<boolean> {
    try {
      await this.call(operation, 'DELETE', path);
      return true;
    } catch (error) {
      if (!(error instanceof JanssenApiError)) {
        throw error;
      }
      if (error.status === 404) {
        return false;
      }
      if (error.details.outcome !== 'UNKNOWN' || !isGone) {
        throw error;
      }
      let gone: boolean;
      try {
        gone = await isGone();
      } catch {
        throw error;
      }
      if (gone) {
        return true;
      }
      throw withOutcome(error, 'NOT_APPLIED');
    }
  }

  private async call(
    operation: string,
    method: 'GET' | 'DELETE',
    path: string,
    searchParams?: Record<string, string | number>,
  ): Promise<unknown> {
    const deadline = this.http.deadline();
    try {
      let authorization = await this.credentials(method, () => this.auth.header(deadline));
      for (let renewed = false; ; renewed = true) {
        const started = performance.now();
        const span = this.tracer?.startUpstream({
          operation,
          method,
          template: PATH_TEMPLATES[operation] ?? 'session',
        });
        try {
          const response = await this.http.send(
            operation,
            {
              method,
              path,
              headers: span ? { ...span.headers, authorization } : { authorization },
              ...(searchParams ? { searchParams } : {}),
            },
            deadline,
          );
          span?.end({ status: response.status, attempts: response.attempts });
          this.onCall?.({
            operation,
            durationMs: performance.now() - started,
            status: response.status,
            attempts: response.attempts,
          });
          return response.body;
        } catch (error) {
          const translated = toJanssenError(operation, error);
          span?.end({
            ...(translated.status === undefined ? { error: translated.kind } : { status: translated.status }),
            ...(translated.details.attempts === undefined ? {} : { attempts: translated.details.attempts }),
          });
          // A DELETE's 404 is an answer ("no such session", `deleted: false`), not a failed call to log or alert on.
          const answered = method === 'DELETE' && translated.status === 404;
          this.onCall?.({
            operation,
            durationMs: performance.now() - started,
            ...(translated.status === undefined ? {} : { status: translated.status }),
            attempts: translated.details.attempts ?? 0,
            ...(answered ? {} : { error: translated }),
          });
          const { renew } = this.auth;
          if (translated.kind === 'UNAUTHORIZED' && !renewed && renew) {
            const fresh = await this.credentials(method, () => renew(authorization, deadline));
            if (fresh !== undefined) {
              authorization = fresh;
              continue;
            }
          }
          if (translated.kind !== 'UNAUTHORIZED' && translated.kind !== 'INSUFFICIENT_SCOPE') {
            throw translated;
          }
          if (this.auth.callerToken) {
            throw asCallerRefusal(translated);
          }
          const refusal = asServiceRefusal(translated, method);
          this.auth.refused?.(refusal);
          throw refusal;
        }
      }
    } finally {
      deadline.dispose();
    }
  }

  /** Credentials for a call; a failure to get them is reported like a failed call, and changes nothing upstream. */
  private async credentials<T>(method: 'GET' | 'DELETE', get: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await get();
    } catch (error) {
      const translated = toJanssenError('token', error);
      if (translated.kind !== 'UNAUTHORIZED') {
        this.onCall?.({
          operation: translated.operation,
          durationMs: performance.now() - started,
          ...(translated.status === undefined ? {} : { status: translated.status }),
          attempts: 0,
          error: translated,
        });
      }
      throw method === 'DELETE' && translated.kind !== 'UNAUTHORIZED'
        ? withOutcome(translated, 'NOT_APPLIED')
        : translated;
    }
  }
}

/**
 * Janssen refusing the caller's own token (pass-through): HTTP 401 with a Bearer challenge, or 403 for a missing
 * scope (RFC 6750 §3.1), through `extensions.http`, which Apollo and the fast path turn into the response's status
 * and headers (graphql-js copies an original error's `extensions`).
 */
function asCallerRefusal(error: JanssenApiError): JanssenApiError {
  const [status, challenge] =
    error.kind === 'UNAUTHORIZED'
      ? ([401, 'invalid_token'] as const)
      : ([403, 'insufficient_scope'] as const);
  return Object.defineProperty(error, 'extensions', {
    value: {
      http: {
        status,
        headers: new Map([
          ['www-authenticate', bearerChallenge(challenge, error.details.requiredScopes ?? [])],
        ]),
      },
    },
  });
}

/**
 * Janssen refusing this service's own token (after the renewal) or its client's scopes (client-credentials mode):
 * the operator's problem. No `extensions.http`: like any upstream failure, an error in an HTTP 200 answer. A
 * refused DELETE changed nothing.
 */
function asServiceRefusal(error: JanssenApiError, method: 'GET' | 'DELETE'): JanssenApiError {
  return new JanssenApiError(error.kind, error.operation, error.message, {
    ...error.details,
    serviceCredentials: true,
    ...(method === 'DELETE' ? { outcome: 'NOT_APPLIED' as const } : {}),
  });
}

/** The same failure, with what is now known of the change it was making. */
function withOutcome(error: JanssenApiError, outcome: ChangeOutcome): JanssenApiError {
  return error instanceof ClientCredentialsRefusedError
    ? new ClientCredentialsRefusedError({ ...error.details, outcome })
    : new JanssenApiError(error.kind, error.operation, error.message, { ...error.details, outcome });
}

function isSession(value: unknown): value is SessionId {
  return typeof value === 'object' && value !== null && typeof (value as SessionId).outsideSid === 'string';
}

function toPage(body: unknown, operation: string): SessionPage {
  const page = body as Partial<SessionPagedResult> | null;
  if (
    typeof page !== 'object' ||
    page === null ||
    typeof page.totalEntriesCount !== 'number' ||
    (page.entries !== undefined && (!Array.isArray(page.entries) || !page.entries.every(isSession)))
  ) {
    throw new JanssenApiError('ERROR', operation, `${operation}: unexpected body shape`);
  }
  const entries = page.entries ?? [];
  return {
    start: typeof page.start === 'number' ? page.start : 0,
    totalEntriesCount: page.totalEntriesCount,
    entriesCount: entries.length,
    entries,
  };
}
