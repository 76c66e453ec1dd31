import { mapWithConcurrency } from '../util/concurrency.js';

import { JanssenApiError } from './errors.js';
import type { SessionApi } from './session-api.js';
import type { SessionId, SessionSearchParams } from './session.dto.js';

/** Reading every page of a search, bounded. */
export interface MatchResult {
  /**
   * Matches over all pages (those `keep` accepts, when given). When `truncated` with `keep`, an upper bound: Janssen's
   * count less the matches read and refused.
   */
  total: number;
  /** The matches, in upstream order; empty when `total` is over the cap. */
  sessions: SessionId[];
  /** True when more than the cap matched. */
  truncated: boolean;
  /** Sessions Janssen matched that `keep` refused (0 without `keep`). */
  excluded: number;
  /**
   * True when `keep` refused so many that `maxRead` sessions were read without telling whether more than the cap
   * match; `sessions` is then empty.
   */
  undecided: boolean;
  /** Upstream calls it took. */
  calls: number;
}

export interface FindOptions {
  /**
   * Which of Janssen's matches count: the others are read past, neither returned nor counted. Without it, over the
   * cap is known from the first page (Janssen's total) and nothing more is read.
   */
  keep?: (session: SessionId) => boolean;
  /** With `keep`: the most sessions read before giving up as `undecided`. */
  maxRead?: number;
}

/**
 * Every session matching `params` (their `limit`/`startIndex` are replaced), unless there are more than `cap`:
 * then only the count is returned. Reads with the largest page Janssen allows; with `keep`, reads on until more
 * than `cap` are kept or none are left.
 */
export async function findAllSessions(
  api: SessionApi,
  params: Omit<SessionSearchParams, 'limit' | 'startIndex'>,
  cap: number,
  pageSize: number,
  options: FindOptions = {},
): Promise<MatchResult> {
  const { keep, maxRead = Number.POSITIVE_INFINITY } = options;
  const first = await api.searchSessions({
    ...params,
    limit: keep ? pageSize : Math.min(pageSize, Math.max(cap, 1)),
    startIndex: 0,
  });
  const upstreamTotal = first.totalEntriesCount;
  if (!keep && upstreamTotal > cap) {
    return { total: upstreamTotal, sessions: [], truncated: true, excluded: 0, undecided: false, calls: 1 };
  }
  const sessions: SessionId[] = [];
  const seen = new Set<string>();
  let excluded = 0;
  /** Takes the sessions not seen yet; false when there were none (the set shrank while paging). */
  const take = (entries: readonly SessionId[]): boolean => {
    let fresh = false;
    for (const session of entries) {
      if (!seen.has(session.outsideSid)) {
        seen.add(session.outsideSid);
        fresh = true;
        if (!keep || keep(session)) {
          sessions.push(session);
        } else {
          excluded += 1;
        }
      }
    }
    return fresh;
  };
  take(first.entries);
  let calls = 1;
  // `seen.size` is how far into Janssen's matches this has read, refused ones included: the next offset.
  while (seen.size < upstreamTotal && sessions.length <= cap && seen.size < maxRead) {
    const page = await api.searchSessions({ ...params, limit: pageSize, startIndex: seen.size });
    calls += 1;
    if (!take(page.entries)) {
      break;
    }
  }
  if (sessions.length > cap) {
    const total = Math.max(upstreamTotal - excluded, sessions.length);
    return { total, sessions: [], truncated: true, excluded, undecided: false, calls };
  }
  if (seen.size < upstreamTotal && seen.size >= maxRead) {
    return { total: sessions.length, sessions: [], truncated: false, excluded, undecided: true, calls };
  }
  return { total: sessions.length, sessions, truncated: false, excluded, undecided: false, calls };
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
