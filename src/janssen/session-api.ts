import type { Got } from 'got';

import { JanssenApiError } from './errors.js';
import { toJanssenError } from './http-client.js';
import { checkSid } from './query.js';
import type { SessionId, SessionPagedResult, SessionSearchParams } from './session.dto.js';

/** Where the `Authorization` header of an upstream call comes from. */
export interface UpstreamAuth {
  /** The header value for the next call; throws `JanssenApiError('UNAUTHORIZED')` when there is none. */
  header(): Promise<string>;
  /** After an upstream 401: a fresh header to retry the call once with, or undefined to give up. */
  renew?(rejected: string): Promise<string | undefined>;
}

/** Told about every upstream call (for logs and metrics). */
export type UpstreamCallListener = (call: {
  operation: string;
  durationMs: number;
  status?: number;
  error?: JanssenApiError;
}) => void;

/** A normalized page: `entries` is always an array (Janssen omits it when empty). */
export interface SessionPage extends SessionPagedResult {
  entries: SessionId[];
}

/**
 * One method per Janssen session operation, in our verbs. Created per GraphQL request (it carries that caller's
 * credentials) over the long-lived got instance.
 */
export class SessionApi {
  constructor(
    private readonly http: Got,
    private readonly auth: UpstreamAuth,
    private readonly onCall?: UpstreamCallListener,
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

  /** `delete-session`: true when deleted, false when no session had that sid (404, §2.4). */
  async deleteSession(sid: string): Promise<boolean> {
    return this.deleting('delete-session', `session/sid/${encodeURIComponent(checkSid(sid))}`);
  }

  /**
   * `revoke-user-session`: deletes every authenticated session of the user with this full DN (equality match, §2.5).
   * True when at least one was revoked, false when the user had none.
   */
  async revokeUserSessions(userDn: string): Promise<boolean> {
    return this.deleting('revoke-user-session', `session/user/${encodeURIComponent(userDn)}`);
  }

  private async deleting(operation: string, path: string): Promise<boolean> {
    try {
      await this.call(operation, 'DELETE', path);
      return true;
    } catch (error) {
      if (error instanceof JanssenApiError && error.status === 404) {
        return false;
      }
      throw error;
    }
  }

  private async call(
    operation: string,
    method: 'GET' | 'DELETE',
    path: string,
    searchParams?: Record<string, string | number>,
  ): Promise<unknown> {
    let authorization = await this.auth.header();
    for (let attempt = 0; ; attempt += 1) {
      const started = performance.now();
      try {
        const response = await this.http(path, {
          method,
          headers: { authorization },
          ...(searchParams ? { searchParams } : {}),
        });
        this.onCall?.({ operation, durationMs: performance.now() - started, status: response.statusCode });
        return response.body;
      } catch (error) {
        const translated = toJanssenError(operation, error);
        this.onCall?.({
          operation,
          durationMs: performance.now() - started,
          ...(translated.status === undefined ? {} : { status: translated.status }),
          error: translated,
        });
        if (translated.kind === 'UNAUTHORIZED' && attempt === 0 && this.auth.renew) {
          const renewed = await this.auth.renew(authorization);
          if (renewed !== undefined) {
            authorization = renewed;
            continue;
          }
        }
        throw translated;
      }
    }
  }
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
