import { describe, expect, it } from 'vitest';

import { generateDemoData } from '../../src/emulator/demo-data.js';
import {
  fieldValuePairPredicate,
  patternPredicate,
  SESSION_COLUMNS,
  type SearchQuery,
  searchSessions,
  sortComparator,
} from '../../src/emulator/search.js';
import {
  createSessionRecord,
  type SessionRecord,
  SessionStore,
  toWire,
  toWireJson,
} from '../../src/emulator/session-store.js';

import { NOW } from './helpers.js';

/** A fresh store with the demo sessions (new record objects every call). */
function demoStore(sessionCount = 300): SessionStore {
  const store = new SessionStore();
  generateDemoData({ seed: 42, sessionCount, now: NOW }).sessions.forEach((r) => store.add(r));
  return store;
}

/** The search spelled out with the per-record predicates and the plain comparator: what the memos must match. */
function reference(records: SessionRecord[], query: SearchQuery): SessionRecord[] {
  const pattern = patternPredicate(query.pattern);
  const fields = fieldValuePairPredicate(query.fieldValuePair);
  const sorted = records
    .filter((r) => pattern(r) && fields(r))
    .sort(sortComparator(query.sortBy, query.sortOrder === 'descending'));
  return sorted.slice(query.startIndex, query.startIndex + query.limit);
}

const query = (overrides: Partial<SearchQuery> = {}): SearchQuery => ({
  limit: 200,
  startIndex: 0,
  pattern: '',
  sortBy: 'jansId',
  sortOrder: 'ascending',
  fieldValuePair: '',
  maxCount: 200,
  ...overrides,
});

const ids = (records: readonly SessionRecord[]) => records.map((r) => r.jansId);

describe('memoized wire JSON', () => {
  it('is JSON.stringify(toWire(record)) and follows in-place changes, nested ones included', () => {
    const store = demoStore(20);
    const record = store.all().find((r) => r.jansUsrDN && r.authnTime)!;
    const expectSame = () => expect(toWireJson(record)).toBe(JSON.stringify(toWire(record)));
    for (const r of store.all()) {
      expect(store.toWireJson(r)).toBe(JSON.stringify(store.toWire(r)));
    }
    expectSame();
    record.jansSessAttr.acr = 'changed';
    expectSame();
    delete record.jansSessAttr.opbs;
    expectSame();
    record.jansSessAttr.extra = 'x';
    expectSame();
    record.exp.setTime(record.exp.getTime() + 1000);
    expectSame();
    record.authnTime = undefined;
    expectSame();
    record.deviceSecret.push('secret');
    expectSame();
    record.jansPermissionGrantedMap.other = false;
    expectSame();
    record.jansAttrs = {};
    expectSame();
    record.jansState = 'unauthenticated';
    record.del = !record.del;
    expectSame();
    expect(JSON.parse(toWireJson(record))).toMatchObject({
      state: 'unauthenticated',
      deviceSecrets: ['secret'],
    });
  });

  it('a blank sid still gets a new random outsideSid on every call', () => {
    const record = createSessionRecord({ sid: '' }, NOW);
    const first = JSON.parse(toWireJson(record)) as { outsideSid: string };
    const second = JSON.parse(toWireJson(record)) as { outsideSid: string };
    expect(first.outsideSid).toMatch(/^[0-9a-f-]{36}$/);
    expect(second.outsideSid).not.toBe(first.outsideSid);
  });

  it('records of an unexpected shape are serialized afresh, errors included', () => {
    const record = createSessionRecord({}, NOW);
    const nested = { deep: 'a' };
    (record.jansSessAttr as Record<string, unknown>).nested = nested;
    expect(toWireJson(record)).toBe(JSON.stringify(toWire(record)));
    nested.deep = 'b';
    expect(toWireJson(record)).toContain('"deep":"b"');
    record.exp = new Date(Number.NaN);
    expect(() => toWireJson(record)).toThrow(RangeError);
  });
});

describe('memoized search', () => {
  it('sort orders follow in-place changes of keys and ids', () => {
    const store = demoStore();
    for (const column of ['jansId', 'exp', 'jansSessAttr', 'deviceSecret', 'authnTime']) {
      for (const sortOrder of ['ascending', 'descending']) {
        const q = query({ sortBy: column, sortOrder });
        expect(ids(searchSessions(store.all(), q).entries)).toEqual(ids(reference(store.all(), q)));
      }
    }
    const [a, b, c] = store.all();
    a!.exp.setTime(0);
    b!.jansSessAttr.acr = ' sorts first';
    c!.jansId = '00000000-changed';
    const firsts: Record<string, SessionRecord> = { jansId: c!, exp: a!, jansSessAttr: b! };
    for (const [column, first] of Object.entries(firsts)) {
      const q = query({ sortBy: column });
      expect(ids(searchSessions(store.all(), q).entries)).toEqual(ids(reference(store.all(), q)));
      expect(searchSessions(store.all(), q).entries[0]).toBe(first);
    }
    store.removeById(store.all()[5]!.jansId);
    store.add(createSessionRecord({ jansId: '0-new' }, NOW));
    const q = query({ limit: 20, startIndex: 0 });
    expect(ids(searchSessions(store.all(), q).entries)).toEqual(ids(reference(store.all(), q)));
    expect(searchSessions(store.all(), q).entries[0]!.jansId).toBe('0-new');
  });

  it('a filtered subset is sorted as if sorted alone, every column', () => {
    const store = demoStore();
    for (const column of SESSION_COLUMNS) {
      const q = query({ sortBy: column, sortOrder: 'descending', fieldValuePair: 'state=authenticated' });
      expect(ids(searchSessions(store.all(), q).entries)).toEqual(ids(reference(store.all(), q)));
    }
  });

  it('a 100-sid pattern finds the same sessions as the per-record test, index and changes included', () => {
    const store = demoStore();
    // Past the scans after which the corpus builds its index.
    for (let round = 0; round < 3; round++) {
      const records = store.all();
      const sids = records.slice(round * 50, round * 50 + 100).map((r) => r.sid);
      const q = query({ pattern: sids.join(',') });
      const page = searchSessions(records, q);
      expect(page.totalEntriesCount).toBe(100);
      expect(ids(page.entries)).toEqual(ids(reference(records, q)));
    }
    const records = store.all();
    const pattern = records
      .slice(0, 100)
      .map((r) => r.sid)
      .join(',');
    // A sid changed in place, another one now inside a different record's attributes.
    records[3]!.sid = 'renamed';
    records[250]!.jansSessAttr.note = records[10]!.sid;
    const q = query({ pattern });
    const page = searchSessions(records, q);
    expect(page.totalEntriesCount).toBe(101);
    expect(ids(page.entries)).toEqual(ids(reference(records, q)));
    expect(page.entries).toContain(records[250]);
    // Short tokens, a token spanning two columns' texts and a JSON fragment.
    for (const p of ['ab,cd', `${records[0]!.sid}"}`, '"acr": "', 'client_id", "opbs']) {
      const q2 = query({ pattern: p });
      expect(ids(searchSessions(records, q2).entries)).toEqual(ids(reference(records, q2)));
    }
  });
});

describe('recorded requests', () => {
  it('keeps only about maxRecordedRequests of them, while counts stay exact', async () => {
    const { startEmulator } = await import('../../src/emulator/emulator.js');
    const emulator = await startEmulator({ sessionCount: 3, maxRecordedRequests: 5 });
    try {
      const token = emulator.issueToken(['https://jans.io/oauth/jans-auth-server/session.readonly']);
      for (let i = 0; i < 23; i += 1) {
        const response = await fetch(
          `${emulator.configApiUrl}/api/v1/jans-auth-server/session/search?limit=1`,
          {
            headers: { authorization: `Bearer ${token}` },
          },
        );
        expect(response.status).toBe(200);
      }
      expect(emulator.count()).toBe(23);
      expect(emulator.count('search')).toBe(23);
      expect(emulator.requests.length).toBeGreaterThanOrEqual(5);
      expect(emulator.requests.length).toBeLessThanOrEqual(10);
      expect(emulator.requests.at(-1)?.route).toBe('search');
      emulator.resetCounts();
      expect(emulator.count('search')).toBe(0);
    } finally {
      await emulator.close();
    }
  });
});
