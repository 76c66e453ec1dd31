import DataLoader from 'dataloader';

import { JanssenApiError, TooManyCallsError } from '../janssen/errors.js';
import { chunkPattern, isPatternSafe } from '../janssen/query.js';
import type { SessionApi } from '../janssen/session-api.js';
import type { SessionId } from '../janssen/session.dto.js';
import { mapWithConcurrency } from '../util/concurrency.js';

import type { SearchHealth } from './search-health.js';

/** Percent-encoded characters of one `pattern` list: keeps every search URL well under 4 KB. */
export const PATTERN_BUDGET = 3400;
/** Below this many sids a batch is read by GETs: one indexed lookup each beats a LIKE scan. */
const MIN_SIDS_FOR_SEARCH = 3;
/** How many single-session GETs run at once. */
const GET_CONCURRENCY = 8;
/** Pages one sid search may read before the rest of its sids are read one by one instead. */
const MAX_PAGES_PER_CHUNK = 3;
/** Sessions one request may read by single GETs (the loader lives as long as its request); more get an error. */
export const MAX_SINGLE_SESSION_READS = 100;

export interface SessionLoaderOptions {
  /** Upstream maximum page size (`limit`). */
  maxPageSize: number;
  /** Process-wide memory of whether upstream search works (it fails on some databases). */
  searchHealth: SearchHealth;
  /** Told the size of every batch (metrics). */
  onBatch?: (size: number) => void;
}

/**
 * `session(sid)` and `_entities` loader, one per request. Janssen has no multi-get, but its search matches
 * `pattern` tokens (comma-separated, ORed, substrings) against the sid column: N sids cost ceil(N / chunk)
 * searches, results filtered to exact `outsideSid` matches and returned in key order (null for a missing sid,
 * the Error of its own call otherwise). If search answers a 5xx, the batch falls back to GETs with bounded
 * concurrency and search is avoided for a while (upstream issue JanssenProject/jans#10237).
 */
export function createSessionLoader(
  api: SessionApi,
  options: SessionLoaderOptions,
): DataLoader<string, SessionId | null> {
  let singleReads = 0;
  // One error for every sid past the cap: each would be the same, and each Error captures a stack.
  let tooMany: TooManyCallsError | undefined;
  return new DataLoader<string, SessionId | null>(async (sids) => {
    options.onBatch?.(sids.length);
    const results = new Map<string, SessionId | null | Error>();
    const searchable = sids.filter(isPatternSafe);
    const byGet = sids.filter((sid) => !isPatternSafe(sid));
    if (searchable.length >= MIN_SIDS_FOR_SEARCH && options.searchHealth.usable()) {
      const chunks = chunkPattern(searchable, PATTERN_BUDGET);
      await Promise.all(
        chunks.map(async (chunk) => {
          try {
            const { found, unresolved } = await searchBySids(api, chunk, options.maxPageSize);
            for (const sid of chunk) {
              if (!unresolved.has(sid)) {
                results.set(sid, found.get(sid) ?? null);
              }
            }
            byGet.push(...unresolved);
          } catch (error) {
            if (isSearchBroken(error)) {
              options.searchHealth.markBroken();
              byGet.push(...chunk);
            } else {
              for (const sid of chunk) {
                results.set(sid, asError(error));
              }
            }
          }
        }),
      );
    } else {
      byGet.push(...searchable);
    }
    await mapWithConcurrency(byGet, GET_CONCURRENCY, async (sid) => {
      singleReads += 1;
      if (singleReads > MAX_SINGLE_SESSION_READS) {
        results.set(sid, (tooMany ??= new TooManyCallsError('sessions', MAX_SINGLE_SESSION_READS)));
        return;
      }
      try {
        results.set(sid, await api.getSession(sid));
      } catch (error) {
        results.set(sid, asError(error));
      }
    });
    return sids.map((sid) => results.get(sid) ?? null);
  });
}

/** One chunk of sids by search, paging until complete; sids left when the page cap is hit are `unresolved`. */
async function searchBySids(
  api: SessionApi,
  sids: readonly string[],
  limit: number,
): Promise<{ found: Map<string, SessionId>; unresolved: Set<string> }> {
  const wanted = new Set(sids);
  const found = new Map<string, SessionId>();
  const pattern = sids.join(',');
  for (let page = 0, startIndex = 0; page < MAX_PAGES_PER_CHUNK; page += 1) {
    const result = await api.searchSessions({ limit, startIndex, pattern });
    for (const entry of result.entries) {
      if (wanted.has(entry.outsideSid)) {
        found.set(entry.outsideSid, entry);
      }
    }
    startIndex += result.entries.length;
    if (found.size === wanted.size || result.entries.length === 0 || startIndex >= result.totalEntriesCount) {
      return { found, unresolved: new Set() };
    }
  }
  return { found, unresolved: new Set(sids.filter((sid) => !found.has(sid))) };
}

/** A 5xx that is not "upstream down": the search itself is failing, as it does on some Janssen databases. */
function isSearchBroken(error: unknown): boolean {
  return error instanceof JanssenApiError && error.kind === 'ERROR' && (error.status ?? 0) >= 500;
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
