import { mapWithConcurrency } from '../util/concurrency.js';

import { JanssenApiError } from './errors.js';
import type { SessionApi } from './session-api.js';
import type { SessionId, SessionSearchParams } from './session.dto.js';

/** Reading every page of a search, bounded. */
export interface MatchResult {
  /** Matches upstream, over all pages. */
  total: number;
  /** The matches, in upstream order; empty when `total` is over the cap (nothing was read past the first page). */
  sessions: SessionId[];
  /** True when `total` exceeded the cap. */
  truncated: boolean;
  /** Upstream calls it took. */
  calls: number;
}

/**
 * Every session matching `params` (their `limit`/`startIndex` are replaced), unless there are more than `cap`:
 * then only the count is returned. Reads with the largest page Janssen allows.
 */
export async function findAllSessions(
  api: SessionApi,
  params: Omit<SessionSearchParams, 'limit' | 'startIndex'>,
  cap: number,
  pageSize: number,
): Promise<MatchResult> {
  const first = await api.searchSessions({
    ...params,
    limit: Math.min(pageSize, Math.max(cap, 1)),
    startIndex: 0,
  });
  if (first.totalEntriesCount > cap) {
    return { total: first.totalEntriesCount, sessions: [], truncated: true, calls: 1 };
  }
  const sessions = [...first.entries];
  let calls = 1;
  const seen = new Set(sessions.map((s) => s.outsideSid));
  while (sessions.length < first.totalEntriesCount) {
    const page = await api.searchSessions({ ...params, limit: pageSize, startIndex: sessions.length });
    calls += 1;
    const fresh = page.entries.filter((s) => !seen.has(s.outsideSid));
    if (fresh.length === 0) {
      break; // the set shrank while paging
    }
    fresh.forEach((s) => seen.add(s.outsideSid));
    sessions.push(...fresh);
  }
  return { total: sessions.length, sessions, truncated: false, calls };
}

export interface DeleteOutcome {
  sid: string;
  /** `deleted`, `gone` (404: nothing to delete any more), or the error of that call. */
  result: 'deleted' | 'gone' | JanssenApiError;
}

/** Deletes sessions by sid, `concurrency` at a time; every sid gets an outcome, none is retried. */
export async function deleteSessions(
  api: SessionApi,
  sids: readonly string[],
  concurrency: number,
  onOutcome?: (outcome: DeleteOutcome) => void,
): Promise<DeleteOutcome[]> {
  const outcomes: DeleteOutcome[] = [];
  // Credentials Janssen refused stay refused for the rest of the request: the remaining sids are not sent.
  let refused: JanssenApiError | undefined;
  await mapWithConcurrency(sids, concurrency, async (sid) => {
    let outcome: DeleteOutcome;
    if (refused) {
      outcome = {
        sid,
        result: new JanssenApiError(refused.kind, refused.operation, refused.message, {
          ...refused.details,
          outcome: 'NOT_APPLIED',
        }),
      };
      outcomes.push(outcome);
      onOutcome?.(outcome);
      return;
    }
    try {
      outcome = { sid, result: (await api.deleteSession(sid)) ? 'deleted' : 'gone' };
    } catch (error) {
      outcome = {
        sid,
        result:
          error instanceof JanssenApiError
            ? error
            : new JanssenApiError('ERROR', 'delete-session', 'delete-session: unexpected failure', {
                cause: error,
              }),
      };
    }
    if (
      typeof outcome.result !== 'string' &&
      (outcome.result.kind === 'UNAUTHORIZED' || outcome.result.kind === 'INSUFFICIENT_SCOPE')
    ) {
      refused ??= outcome.result;
    }
    outcomes.push(outcome);
    onOutcome?.(outcome);
  });
  const order = new Map(sids.map((sid, index) => [sid, index]));
  return outcomes.sort((a, b) => (order.get(a.sid) ?? 0) - (order.get(b.sid) ?? 0));
}

/** How many sessions match `params`: one `limit=1` search, read from `totalEntriesCount`. */
export async function countSessions(
  api: SessionApi,
  params: Omit<SessionSearchParams, 'limit' | 'startIndex'>,
): Promise<number> {
  const page = await api.searchSessions({ ...params, limit: 1, startIndex: 0 });
  return page.totalEntriesCount;
}
