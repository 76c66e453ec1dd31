import DataLoader from 'dataloader';

import type { SessionApi } from '../janssen/session-api.js';
import type { SessionId } from '../janssen/session.dto.js';

/** How many single-session GETs of one batch run at once. */
const CONCURRENCY = 8;

/**
 * `session(sid)` loader, one per request: each distinct sid costs at most one upstream call per operation, and
 * pages read by `sessions(...)` prime it. Results come back in key order: the session, null when Janssen has no
 * such sid, or the Error of that key alone.
 */
export function createSessionLoader(api: SessionApi): DataLoader<string, SessionId | null> {
  return new DataLoader<string, SessionId | null>(async (sids) => {
    const results: (SessionId | null | Error)[] = new Array(sids.length);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < sids.length) {
        const index = next++;
        const sid = sids[index] as string;
        try {
          results[index] = await api.getSession(sid);
        } catch (error) {
          results[index] = error instanceof Error ? error : new Error(String(error));
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, sids.length) }, worker));
    return results;
  });
}
