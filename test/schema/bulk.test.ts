import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import type { SessionRecord } from '../../src/emulator/session-store.js';
import {
  DeleteSessionsDocument,
  SessionCountsDocument,
  SessionStatsGroupedDocument,
} from '../generated/graphql.js';
import { startStack, type Stack } from '../helpers/stack.js';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ emulator: { seed: 21, sessionCount: 400 } });
});

afterAll(async () => {
  await stack.close();
});

beforeEach(() => {
  stack.emulator.setFault('*', null);
  stack.emulator.resetCounts();
});

/** A client with between min and max sessions in the given state (any state when omitted). */
function clientWith(
  min: number,
  max: number,
  state?: string,
): { clientId: string; sessions: SessionRecord[] } {
  const byClient = new Map<string, SessionRecord[]>();
  for (const session of stack.emulator.store.all()) {
    const id = session.jansSessAttr.client_id;
    if (id && (state === undefined || session.jansState === state)) {
      byClient.set(id, [...(byClient.get(id) ?? []), session]);
    }
  }
  const found = [...byClient].find(([, list]) => list.length >= min && list.length <= max);
  if (!found) {
    throw new Error(`no client with ${min}..${max} sessions`);
  }
  return { clientId: found[0], sessions: found[1] };
}

describe('Mutation.deleteSessions', () => {
  it('a dry run (the default) deletes nothing and reports the exact matches', async () => {
    const dn = stack.emulator.store.all().find((s) => s.jansUsrDN)!.jansUsrDN!;
    const expected = stack.emulator.store
      .all()
      .filter((s) => s.jansUsrDN === dn)
      .map((s) => s.sid);
    const before = stack.emulator.store.all().length;
    const response = await stack.gql(DeleteSessionsDocument, { filter: { userDn: dn } });
    const result = response.body.data!.deleteSessions;
    expect(result).toMatchObject({
      dryRun: true,
      matched: expected.length,
      deleted: 0,
      truncated: false,
      failed: [],
    });
    expect(result.sessions.map((s) => s.sid).sort()).toEqual([...expected].sort());
    expect(stack.emulator.store.all()).toHaveLength(before);
    expect(stack.emulator.count('delete')).toBe(0);
  });

  it('a real run deletes exactly the matches and nothing else', async () => {
    const { clientId, sessions } = clientWith(2, 60, 'unauthenticated');
    const victims = new Set(sessions.map((s) => s.sid));
    const others = stack.emulator.store
      .all()
      .filter((s) => !victims.has(s.sid))
      .map((s) => s.sid);
    const response = await stack.gql(DeleteSessionsDocument, {
      filter: { clientId, state: 'UNAUTHENTICATED' },
      dryRun: false,
    });
    const result = response.body.data!.deleteSessions;
    expect(result).toMatchObject({ dryRun: false, matched: victims.size, deleted: victims.size, failed: [] });
    expect(
      stack.emulator.store
        .all()
        .map((s) => s.sid)
        .sort(),
    ).toEqual(others.sort());
    expect(stack.emulator.count('delete')).toBe(victims.size);
  });

  it('refuses an empty filter', async () => {
    const response = await stack.gql(DeleteSessionsDocument, { filter: {}, dryRun: false });
    expect(response.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'filter' });
    expect(stack.emulator.count()).toBe(0);
  });

  it.each(['  ', '\u00a0', 'a\\b'])(
    'refuses search %j, which Janssen would widen to more sessions, and deletes nothing',
    async (search) => {
      const before = stack.emulator.store.all().length;
      const response = await stack.gql(DeleteSessionsDocument, {
        filter: { search },
        dryRun: false,
        max: 1000,
      });
      expect(response.body.data).toBeNull();
      expect(response.body.errors?.[0]?.extensions).toMatchObject({
        code: 'BAD_USER_INPUT',
        field: 'filter.search',
      });
      expect(stack.emulator.count()).toBe(0);
      expect(stack.emulator.store.all()).toHaveLength(before);
    },
  );

  it('over max: nothing is deleted and truncated is set', async () => {
    const before = stack.emulator.store.all().length;
    const response = await stack.gql(DeleteSessionsDocument, {
      filter: { state: 'AUTHENTICATED' },
      dryRun: false,
      max: 5,
    });
    const result = response.body.data!.deleteSessions;
    expect(result.truncated).toBe(true);
    expect(result.deleted).toBe(0);
    expect(result.matched).toBe(
      stack.emulator.store.all().filter((s) => s.jansState === 'authenticated').length,
    );
    expect(stack.emulator.store.all()).toHaveLength(before);
    expect(stack.emulator.count('delete')).toBe(0);
  });

  it.each([0, -1, 1001])('refuses max %i', async (max) => {
    const response = await stack.gql(DeleteSessionsDocument, { filter: { state: 'AUTHENTICATED' }, max });
    expect(response.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'max' });
  });

  it('reports per-session failures injected upstream and deletes the rest', async () => {
    const { clientId, sessions } = clientWith(4, 60, 'authenticated');
    stack.emulator.setFault('delete', { status: 500, times: 2 });
    const response = await stack.gql(DeleteSessionsDocument, {
      filter: { clientId, state: 'AUTHENTICATED' },
      dryRun: false,
    });
    const result = response.body.data!.deleteSessions;
    expect(result.matched).toBe(sessions.length);
    expect(result.failed).toHaveLength(2);
    expect(result.failed.every((f) => f.code === 'UPSTREAM_ERROR')).toBe(true);
    expect(result.deleted).toBe(sessions.length - 2);
    const left = new Set(stack.emulator.store.all().map((s) => s.sid));
    expect(result.failed.every((f) => left.has(f.sid))).toBe(true);
    expect(stack.emulator.count('delete')).toBe(sessions.length);
  });

  it('writes an audit line for each deletion, with the caller identity', async () => {
    const { clientId, sessions } = clientWith(1, 60);
    stack.logs.length = 0;
    await stack.gql(DeleteSessionsDocument, { filter: { clientId }, dryRun: false });
    const lines = stack.logs.filter((line) => line.audit === true);
    expect(lines.map((line) => line.sid).sort()).toEqual(sessions.map((s) => s.sid).sort());
    expect(
      lines.every(
        (line) =>
          line.action === 'deleteSessions' && line.caller === 'anonymous' && line.outcome === 'deleted',
      ),
    ).toBe(true);
  });
});

describe('Query.sessionStats', () => {
  const HOUR = 3600_000;

  function expectedFrom(records: SessionRecord[], now: number) {
    const live = records.filter((s) => s.exp.getTime() > now);
    return {
      total: records.length,
      authenticated: records.filter((s) => s.jansState === 'authenticated').length,
      unauthenticated: records.filter((s) => s.jansState !== 'authenticated').length,
      expired: records.length - live.length,
      live: live.length,
      expiringWithin1h: live.filter((s) => s.exp.getTime() <= now + HOUR).length,
      expiringWithin24h: live.filter((s) => s.exp.getTime() <= now + 24 * HOUR).length,
    };
  }

  it('counts equal the emulator data, from five limit=1 searches', async () => {
    const response = await stack.gql(SessionCountsDocument, {});
    const stats = response.body.data!.sessionStats;
    const now = Date.parse(stats.computedAt as string);
    expect(stats).toMatchObject(expectedFrom(stack.emulator.store.all(), now));
    expect(stack.emulator.count('search')).toBe(5);
    expect(stack.emulator.requests.every((r) => r.route !== 'search' || r.params.limit === '1')).toBe(true);
    const log = stack.logs.findLast((line) => line.msg === 'session stats computed');
    expect(log?.upstreamCalls).toBe(5);
  });

  it('respects a filter', async () => {
    const { clientId, sessions } = clientWith(3, 400);
    const response = await stack.gql(SessionCountsDocument, { filter: { clientId } });
    const stats = response.body.data!.sessionStats;
    expect(stats).toMatchObject(expectedFrom(sessions, Date.parse(stats.computedAt as string)));
  });

  it('byClient and byAcr read the matches once, and every number agrees', async () => {
    const all = stack.emulator.store.all();
    const response = await stack.gql(SessionStatsGroupedDocument, {});
    const stats = response.body.data!.sessionStats;
    expect(stats).toMatchObject(expectedFrom(all, Date.now()));
    const byClient = new Map<string | null, number>();
    for (const s of all) {
      const key = s.jansSessAttr.client_id ?? null;
      byClient.set(key, (byClient.get(key) ?? 0) + 1);
    }
    expect(new Map(stats.byClient.map((b) => [b.key ?? null, b.count]))).toEqual(byClient);
    expect(stats.byAcr.reduce((sum, b) => sum + b.count, 0)).toBe(all.length);
    expect(stack.emulator.count('search')).toBe(Math.ceil(all.length / 200));
  });
});
