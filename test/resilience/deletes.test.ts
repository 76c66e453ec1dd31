import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { DeleteSessionDocument, RevokeUserSessionsDocument, SessionDocument } from '../generated/graphql.js';
import { startStack, type Stack } from '../helpers/stack.js';

import { codeOf, timed } from './helpers.js';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({
    emulator: { seed: 11, sessionCount: 300 },
    env: { JANS_TIMEOUT_MS: '2000', JANS_CIRCUIT_THRESHOLD: '1000' },
  });
});
afterAll(async () => {
  await stack.close();
});
beforeEach(() => {
  stack.emulator.setFault('*', null);
  stack.emulator.resetCounts();
});

/** DELETE requests Janssen received, by path. */
function deletesByPath(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const request of stack.emulator.requests) {
    if (request.method === 'DELETE') {
      counts.set(request.path, (counts.get(request.path) ?? 0) + 1);
    }
  }
  return counts;
}

/** Runs `fn` over `items`, `width` at a time. */
async function inParallel<T, R>(
  items: readonly T[],
  width: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) {
        const index = next++;
        results[index] = await fn(items[index]!);
      }
    }),
  );
  return results;
}

describe('reads under a 30% failure rate', () => {
  it('at least 99% of session(sid) queries succeed thanks to retries', async () => {
    stack.emulator.setFault('get', { status: 503, failureRate: 0.3 });
    const sessions = stack.emulator.store.all();
    const queries = Array.from({ length: 400 }, (_, i) => sessions[i % sessions.length]!.sid);
    const responses = await inParallel(queries, 8, (sid) => stack.gql(SessionDocument, { sid }));
    const ok = responses.filter((r, i) => r.body.data?.session?.sid === queries[i]).length;
    console.log(
      `30% 503 on reads: ${ok}/${queries.length} queries succeeded with ${stack.emulator.count('get')} GETs`,
    );
    expect(ok / queries.length).toBeGreaterThanOrEqual(0.99);
    // The faults did happen, and were retried.
    expect(stack.emulator.count('get')).toBeGreaterThan(queries.length * 1.2);
    for (const failed of responses.filter((r) => r.body.errors)) {
      expect(codeOf(failed)).toBe('UPSTREAM_UNAVAILABLE');
    }
  });
});

describe('a DELETE is never sent twice for one mutation', () => {
  it('with resets on 30% of DELETEs and 503 on 30% of GETs, each outcome matches what Janssen did', async () => {
    stack.emulator.setFault('get', { status: 503, failureRate: 0.3 });
    stack.emulator.setFault('delete', { reset: true, failureRate: 0.3 });
    const victims = stack.emulator.store
      .all()
      .slice(0, 60)
      .map((s) => s.sid);
    const responses = await inParallel(victims, 6, (sid) => stack.gql(DeleteSessionDocument, { sid }));

    const deletes = deletesByPath();
    expect([...deletes.values()].every((n) => n === 1)).toBe(true);
    expect(deletes.size).toBe(victims.length);

    let deleted = 0;
    let refused = 0;
    responses.forEach((response, i) => {
      const sid = victims[i]!;
      if (response.body.data?.deleteSession.deleted === true) {
        deleted += 1;
        expect(stack.emulator.store.get(sid)).toBeUndefined();
        return;
      }
      // The emulator resets before deleting, so a lost answer leaves the session in place; the check GET sees it.
      refused += 1;
      const error = response.body.errors?.[0];
      expect(error?.extensions?.code).toBe('UPSTREAM_UNAVAILABLE');
      expect(error?.extensions?.outcome).toBe('NOT_APPLIED');
      expect(stack.emulator.store.get(sid)).toBeDefined();
    });
    expect(deleted + refused).toBe(victims.length);
    expect(refused).toBeGreaterThan(0);
    expect(deleted).toBeGreaterThan(0);
  });
});

describe('a DELETE whose answer is lost', () => {
  const sidAt = (i: number) => stack.emulator.store.all()[i]!.sid;

  it('deleted upstream, answer reset: a GET finds it gone, so deleted: true', async () => {
    const sid = sidAt(0);
    stack.emulator.setFault('delete', { reset: true, afterHandling: true });
    const response = await stack.gql(DeleteSessionDocument, { sid });
    expect(response.body.errors).toBeUndefined();
    expect(response.body.data?.deleteSession).toEqual({ sid, deleted: true });
    expect(stack.emulator.store.get(sid)).toBeUndefined();
    expect(stack.emulator.count('delete')).toBe(1);
    expect(stack.emulator.count('get')).toBe(1);
  });

  it('not deleted upstream (reset before): error UPSTREAM_UNAVAILABLE, outcome NOT_APPLIED', async () => {
    const sid = sidAt(0);
    stack.emulator.setFault('delete', { reset: true });
    const response = await stack.gql(DeleteSessionDocument, { sid });
    const error = response.body.errors?.[0];
    expect(error?.extensions?.code).toBe('UPSTREAM_UNAVAILABLE');
    expect(error?.extensions?.outcome).toBe('NOT_APPLIED');
    expect(error?.message).toMatch(/Nothing was changed/);
    expect(stack.emulator.store.get(sid)).toBeDefined();
    expect(stack.emulator.count('delete')).toBe(1);
  });

  it('deleted upstream, then neither answer nor check: UPSTREAM_TIMEOUT, outcome UNKNOWN, in bounded time', async () => {
    const fresh = await startStack({
      emulator: { sessionCount: 5 },
      env: { JANS_TIMEOUT_MS: '400', JANS_CIRCUIT_THRESHOLD: '1000' },
    });
    try {
      const sid = fresh.emulator.store.all()[0]!.sid;
      fresh.emulator.setFault('delete', { hang: true, afterHandling: true });
      fresh.emulator.setFault('get', { hang: true });
      const { value: response, ms } = await timed(() => fresh.gql(DeleteSessionDocument, { sid }));
      const error = response.body.errors?.[0];
      expect(error?.extensions?.code).toBe('UPSTREAM_TIMEOUT');
      expect(error?.extensions?.outcome).toBe('UNKNOWN');
      expect(error?.message).toMatch(/may or may not have made the change/);
      // The DELETE's budget plus the check's budget, nothing more.
      expect(ms).toBeLessThan(2 * 400 + 600);
      expect(fresh.emulator.store.get(sid)).toBeUndefined();
      expect(fresh.emulator.count('delete')).toBe(1);
    } finally {
      await fresh.close();
    }
  });

  it('deleteSessions says per session what is known of a failed DELETE: UNKNOWN or NOT_APPLIED', async () => {
    const BULK = `mutation Bulk($search: String!) {
      deleteSessions(filter: { search: $search }, dryRun: false, max: 10) {
        matched deleted failed { sid code message outcome }
      }
    }`;
    // Deleted, answer lost, and the check GET fails too: it may be gone.
    const gone = sidAt(2);
    stack.emulator.setFault('delete', { reset: true, afterHandling: true });
    stack.emulator.setFault('get', { status: 503 });
    const unknown = await stack.gql<{ deleteSessions: unknown }, { search: string }>(BULK, { search: gone });
    expect(unknown.body.errors).toBeUndefined();
    expect(unknown.body.data?.deleteSessions).toMatchObject({
      matched: 1,
      deleted: 0,
      failed: [{ sid: gone, code: 'UPSTREAM_UNAVAILABLE', outcome: 'UNKNOWN' }],
    });
    expect(stack.emulator.store.get(gone)).toBeUndefined();
    // Refused before Janssen acted: nothing changed, deleting again is safe.
    stack.emulator.setFault('*', null);
    const kept = sidAt(3);
    stack.emulator.setFault('delete', { reset: true });
    const notApplied = await stack.gql<{ deleteSessions: unknown }, { search: string }>(BULK, {
      search: kept,
    });
    expect(notApplied.body.data?.deleteSessions).toMatchObject({
      matched: 1,
      deleted: 0,
      failed: [{ sid: kept, code: 'UPSTREAM_UNAVAILABLE', outcome: 'NOT_APPLIED' }],
    });
    expect(stack.emulator.store.get(kept)).toBeDefined();
  });

  it('a 502 after deleting: the check GET turns it into deleted: true', async () => {
    const sid = sidAt(1);
    stack.emulator.setFault('delete', { status: 502, afterHandling: true });
    const response = await stack.gql(DeleteSessionDocument, { sid });
    expect(response.body.data?.deleteSession.deleted).toBe(true);
    expect(stack.emulator.count('delete')).toBe(1);
  });

  it('revokeUserSessions cannot be checked: outcome UNKNOWN, and no second DELETE', async () => {
    const store = stack.emulator.store;
    const dn = store.all().find((s) => s.jansState === 'authenticated' && s.jansUsrDN)!.jansUsrDN!;
    stack.emulator.setFault('revoke', { reset: true, afterHandling: true });
    const response = await stack.gql(RevokeUserSessionsDocument, { userDn: dn });
    const error = response.body.errors?.[0];
    expect(error?.extensions?.code).toBe('UPSTREAM_UNAVAILABLE');
    expect(error?.extensions?.outcome).toBe('UNKNOWN');
    expect(stack.emulator.count('revoke')).toBe(1);
    // It did happen: exactly why the answer must not claim either way.
    expect(store.all().filter((s) => s.jansUsrDN === dn && s.jansState === 'authenticated')).toHaveLength(0);
  });
});
