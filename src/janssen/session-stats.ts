import { InvalidInputError } from './errors.js';
import { buildSearchParams, parseJanssenDate, type QuerySettings, type SessionFilterSpec } from './query.js';
import type { SessionApi } from './session-api.js';
import { countSessions, findAllSessions } from './session-bulk.js';
import type { SessionId } from './session.dto.js';

export interface SessionCounts {
  total: number;
  authenticated: number;
  unauthenticated: number;
  expired: number;
  live: number;
  expiringWithin1h: number;
  expiringWithin24h: number;
}

export interface SessionStatsResult extends SessionCounts {
  /** Counts per `client_id` attribute (sessions without one under ''), when asked for. */
  byClient?: Map<string, number>;
  /** Counts per `acr` attribute, when asked for. */
  byAcr?: Map<string, number>;
  /** Upstream calls it took. */
  calls: number;
}

const HOUR = 3600_000;
/** Past this many sessions, grouping by client or acr is refused rather than reading them all. */
export const MAX_SCANNED_SESSIONS = 10_000;

/**
 * Session statistics with as few upstream calls as Janssen allows. Counts alone cost one `limit=1` search each
 * (`totalEntriesCount`), five in parallel. Groupings by client or acr need the sessions themselves (Janssen cannot
 * group): then one paged read of the matches serves every number at once.
 */
export async function computeSessionStats(
  api: SessionApi,
  filter: SessionFilterSpec | null,
  now: number,
  options: { grouped: boolean; limits: QuerySettings },
): Promise<SessionStatsResult> {
  if (options.grouped) {
    const {
      limit: _l,
      startIndex: _s,
      ...params
    } = buildSearchParams(filter, null, { limit: 1, offset: 0 }, options.limits);
    const found = await findAllSessions(api, params, MAX_SCANNED_SESSIONS, options.limits.maxPageSize);
    if (found.truncated) {
      throw new InvalidInputError(
        'filter',
        `byClient and byAcr read every matching session; ${found.total} is over ${MAX_SCANNED_SESSIONS}, narrow the filter`,
      );
    }
    return { ...tally(found.sessions, now), calls: found.calls };
  }
  const count = async (extra: SessionFilterSpec): Promise<number> => {
    const merged = intersect(filter ?? {}, extra);
    if (merged === undefined) {
      return 0;
    }
    const {
      limit: _l,
      startIndex: _s,
      ...params
    } = buildSearchParams(merged, null, { limit: 1, offset: 0 }, options.limits);
    calls += 1;
    return countSessions(api, params);
  };
  let calls = 0;
  const [total, authenticated, expired, within1h, within24h] = await Promise.all([
    count({}),
    count({ state: 'authenticated' }),
    count({ expiresBefore: new Date(now) }),
    count({ expiresAfter: new Date(now + 1), expiresBefore: new Date(now + HOUR) }),
    count({ expiresAfter: new Date(now + 1), expiresBefore: new Date(now + 24 * HOUR) }),
  ]);
  return {
    total,
    authenticated,
    unauthenticated: total - authenticated,
    expired,
    live: total - expired,
    expiringWithin1h: within1h,
    expiringWithin24h: within24h,
    calls,
  };
}

/** The same numbers from sessions already read. */
function tally(sessions: SessionId[], now: number): Omit<SessionStatsResult, 'calls'> {
  const byClient = new Map<string, number>();
  const byAcr = new Map<string, number>();
  const counts: SessionCounts = {
    total: sessions.length,
    authenticated: 0,
    unauthenticated: 0,
    expired: 0,
    live: 0,
    expiringWithin1h: 0,
    expiringWithin24h: 0,
  };
  for (const session of sessions) {
    counts[session.state === 'authenticated' ? 'authenticated' : 'unauthenticated'] += 1;
    const exp = parseJanssenDate(session.expirationDate)?.getTime();
    if (exp !== undefined && exp <= now) {
      counts.expired += 1;
    } else {
      counts.live += 1;
      if (exp !== undefined && exp <= now + HOUR) {
        counts.expiringWithin1h += 1;
      }
      if (exp !== undefined && exp <= now + 24 * HOUR) {
        counts.expiringWithin24h += 1;
      }
    }
    const client = session.sessionAttributes?.client_id ?? '';
    byClient.set(client, (byClient.get(client) ?? 0) + 1);
    const acr = session.sessionAttributes?.acr ?? '';
    byAcr.set(acr, (byAcr.get(acr) ?? 0) + 1);
  }
  return { ...counts, byClient, byAcr };
}

type DateKey = 'expiresAfter' | 'expiresBefore';

/** `filter` AND `extra`; undefined when they cannot both hold (so the count is 0 without a call). */
function intersect(filter: SessionFilterSpec, extra: SessionFilterSpec): SessionFilterSpec | undefined {
  if (extra.state && filter.state && extra.state !== filter.state) {
    return undefined;
  }
  const merged: SessionFilterSpec = { ...filter, ...(extra.state ? { state: extra.state } : {}) };
  const pick = (key: DateKey, later: boolean): Date | null | undefined => {
    const a = filter[key];
    const b = extra[key];
    if (!a || !b) {
      return a ?? b;
    }
    return later === a.getTime() > b.getTime() ? a : b;
  };
  merged.expiresAfter = pick('expiresAfter', true);
  merged.expiresBefore = pick('expiresBefore', false);
  if (merged.expiresAfter && merged.expiresBefore && merged.expiresAfter > merged.expiresBefore) {
    return undefined;
  }
  return merged;
}
