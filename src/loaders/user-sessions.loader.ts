import DataLoader from 'dataloader';

import { TooManyCallsError } from '../janssen/errors.js';
import {
  buildSearchParams,
  chunkPattern,
  inumOfDn,
  isPatternSafe,
  type PageSpec,
  type SessionFilterSpec,
  type SessionSortSpec,
} from '../janssen/query.js';
import type { SessionApi } from '../janssen/session-api.js';
import type { SessionId } from '../janssen/session.dto.js';
import { mapWithConcurrency } from '../util/concurrency.js';

import { PATTERN_BUDGET } from './session.loader.js';

/** What one `User.sessions(...)` (or `activeSessionCount`) asks, for one user. */
export interface UserSessionsKey {
  inum: string;
  /** The filter without its user part (`userDn` is ignored: the inum says whose sessions). */
  filter: SessionFilterSpec | null;
  sort: SessionSortSpec | null;
  page: PageSpec;
}

export interface UserSessions {
  entries: SessionId[];
  totalCount: number;
}

/** Sessions one batched search may read (over all pages) before its users are asked one by one instead. */
const MAX_BATCH_ENTRIES = 1000;
/** Per-user searches in flight at once when users cannot be batched. */
const SINGLE_CONCURRENCY = 8;
/** Users one request may read by a search each (the loader lives as long as its request); more get an error. */
export const MAX_SINGLE_USER_READS = 100;

export interface UserSessionsLoaderOptions {
  maxPageSize: number;
  peopleBaseDn: string;
  onBatch?: (size: number) => void;
}

/**
 * `User.sessions` and `User.activeSessionCount` for many users of one operation (a gateway's `_entities`):
 * users asking the same filter/sort/page are read together with one search whose `pattern` lists their inums
 * (matched against `jansUsrDN`), grouped back by exact user, then paged here. Upstream order is kept, so each
 * user's slice is sorted as asked. A free-text `search` (itself a pattern), unusual inums, or a result larger
 * than MAX_BATCH_ENTRIES fall back to one exact search per user.
 */
export function createUserSessionsLoader(
  api: SessionApi,
  options: UserSessionsLoaderOptions,
): DataLoader<UserSessionsKey, UserSessions, string> {
  const limits = { maxPageSize: options.maxPageSize, peopleBaseDn: options.peopleBaseDn };
  let singleReads = 0;
  // One error for every user past the cap: each would be the same, and each Error captures a stack.
  let tooMany: TooManyCallsError | undefined;
  // The last query serialized, by the identity of its parts: keys that share them (activeSessionCount's, for every
  // user of a request) are serialized once, not once per key in `load` and again in the batch.
  let last: { filter: unknown; sort: unknown; page: unknown; text: string } | undefined;
  const queryKeyOf = (key: UserSessionsKey): string => {
    if (last?.filter !== key.filter || last.sort !== key.sort || last.page !== key.page) {
      last = { filter: key.filter, sort: key.sort, page: key.page, text: queryKey(key) };
    }
    return last.text;
  };

  async function oneUser(key: UserSessionsKey): Promise<UserSessions> {
    const params = buildSearchParams({ ...key.filter, userDn: key.inum }, key.sort, key.page, limits);
    const page = await api.searchSessions(params);
    return { entries: page.entries, totalCount: page.totalEntriesCount };
  }

  /** Every session of these users that matches the shared query, grouped by inum; undefined when too many. */
  async function manyUsers(
    inums: readonly string[],
    shared: UserSessionsKey,
  ): Promise<Map<string, SessionId[]> | undefined> {
    const base = buildSearchParams(
      { ...shared.filter, userDn: null },
      shared.sort,
      { limit: options.maxPageSize, offset: 0 },
      limits,
    );
    const byInum = new Map<string, SessionId[]>(inums.map((inum) => [inum, []]));
    for (let startIndex = 0; ;) {
      const page = await api.searchSessions({ ...base, startIndex, pattern: inums.join(',') });
      if (page.totalEntriesCount > MAX_BATCH_ENTRIES) {
        return undefined;
      }
      for (const entry of page.entries) {
        const inum = inumOfDn(entry.userDn);
        if (inum !== undefined) {
          byInum.get(inum)?.push(entry);
        }
      }
      startIndex += page.entries.length;
      if (page.entries.length === 0 || startIndex >= page.totalEntriesCount) {
        return byInum;
      }
    }
  }

  // Linear in the number of keys: one `_entities` request may bring ~19,000 users (a 1 MB body).
  return new DataLoader<UserSessionsKey, UserSessions, string>(
    async (keys) => {
      options.onBatch?.(keys.length);
      // By key object: DataLoader hands over the objects given to `load`, one per cache key.
      const results = new Map<UserSessionsKey, UserSessions | Error>();
      const groups = new Map<string, UserSessionsKey[]>();
      for (const key of keys) {
        const group = queryKeyOf(key);
        const members = groups.get(group);
        if (members) {
          members.push(key);
        } else {
          groups.set(group, [key]);
        }
      }
      await Promise.all(
        [...groups.values()].map(async (group) => {
          const shared = group[0] as UserSessionsKey;
          const batchable = group.length >= 2 && !shared.filter?.search;
          const single = batchable ? group.filter((key) => !isPatternSafe(key.inum)) : group;
          const batched = batchable ? group.filter((key) => isPatternSafe(key.inum)) : [];
          // A group's keys differ by inum alone (one cache key each), so each chunk's inums are its keys'.
          const chunks = chunkPattern(batched, PATTERN_BUDGET, (key) => key.inum);
          await Promise.all(
            chunks.map(async (keysOfChunk) => {
              try {
                const byInum = await manyUsers(
                  keysOfChunk.map((key) => key.inum),
                  shared,
                );
                if (byInum === undefined) {
                  single.push(...keysOfChunk);
                  return;
                }
                const { offset, limit } = shared.page;
                for (const key of keysOfChunk) {
                  const all = byInum.get(key.inum) ?? [];
                  results.set(key, { entries: all.slice(offset, offset + limit), totalCount: all.length });
                }
              } catch (error) {
                keysOfChunk.forEach((key) => results.set(key, asError(error)));
              }
            }),
          );
          await mapWithConcurrency(single, SINGLE_CONCURRENCY, async (key) => {
            singleReads += 1;
            if (singleReads > MAX_SINGLE_USER_READS) {
              results.set(key, (tooMany ??= new TooManyCallsError('users', MAX_SINGLE_USER_READS)));
              return;
            }
            try {
              results.set(key, await oneUser(key));
            } catch (error) {
              results.set(key, asError(error));
            }
          });
        }),
      );
      return keys.map((key) => results.get(key) ?? new Error('no result for key'));
    },
    { cacheKeyFn: (key) => `${queryKeyOf(key)}|${key.inum}` },
  );
}

/** Identifies the query shared by a group of users (everything but the inum). */
function queryKey(key: UserSessionsKey): string {
  return JSON.stringify([{ ...key.filter, userDn: null }, key.sort, key.page]);
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
