import { randomBytes, randomUUID } from 'node:crypto';

import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { createSessionRecord, type SessionRecord } from '../../src/emulator/session-store.js';
import { DeleteSessionsDocument } from '../generated/graphql.js';
import { startStack, type Stack } from '../helpers/stack.js';

/**
 * Janssen's `pattern` also matches the hidden `jansId`, which the API never returns: `deleteSessions` must delete
 * only sessions where the search text shows (sid, userDn, session attributes, consents).
 */
let stack: Stack;

beforeAll(async () => {
  // maxCount 4 (and the same JANS_MAX_PAGE_SIZE): deleteSessions reads its matches over several pages.
  stack = await startStack({
    emulator: { seed: 17, sessionCount: 80, maxCount: 4 },
    env: { JANS_MAX_PAGE_SIZE: '4' },
  });
});

afterAll(async () => {
  await stack.close();
});

beforeEach(() => {
  stack.emulator.resetCounts();
});

/** Every text Janssen's `pattern` looks at, the hidden `jansId` included. */
function patternText(record: SessionRecord): string {
  return [
    record.jansId,
    record.sid,
    record.jansUsrDN ?? '',
    JSON.stringify(record.jansSessAttr),
    JSON.stringify({ permissionGranted: record.jansPermissionGrantedMap }),
  ].join('\n');
}

/** A hex fragment (as in a UUID) that no session holds yet, anywhere. */
function freshMarker(): string {
  for (;;) {
    const marker = randomBytes(4).toString('hex');
    if (!stack.emulator.store.all().some((record) => patternText(record).includes(marker))) {
      return marker;
    }
  }
}

/** A UUID-shaped id holding `marker`. */
function uuidWith(marker: string): string {
  return `${marker}-${randomUUID().slice(9)}`;
}

/** Sessions where `marker` occurs only in the jansId, and one each where it shows in a returned field. */
function seed(marker: string, hiddenCount: number) {
  const store = stack.emulator.store;
  const hidden = Array.from({ length: hiddenCount }, () => createSessionRecord({ jansId: uuidWith(marker) }));
  const inumWithMarker = uuidWith(marker);
  const visible = [
    createSessionRecord({ sid: uuidWith(marker) }),
    createSessionRecord({ jansUsrDN: `inum=${inumWithMarker},ou=people,o=jans` }),
    createSessionRecord({ jansSessAttr: { redirect_uri: `https://rp.example/${marker}/cb` } }),
    createSessionRecord({ jansSessAttr: { [`x-${marker}`]: 'key, not value' } }),
    createSessionRecord({ jansPermissionGrantedMap: { [`2000.${marker}`]: true } }),
  ];
  // Interleave, so that hidden and visible matches share pages.
  for (let i = 0; i < Math.max(hidden.length, visible.length); i += 1) {
    const pair = [hidden[i], visible[i]].filter((record): record is SessionRecord => record !== undefined);
    pair.forEach((record) => store.add(record));
  }
  return { hidden, visible };
}

const sids = (records: readonly { sid: string }[]) => records.map((record) => record.sid).sort();

describe('deleteSessions with filter.search deletes only sessions where the text shows', () => {
  it("a match on Janssen's hidden jansId alone is neither matched nor deleted (dry run and real run agree)", async () => {
    const marker = freshMarker();
    const { hidden, visible } = seed(marker, 3);

    const dry = await stack.gql(DeleteSessionsDocument, { filter: { search: marker }, max: 1000 });
    expect(dry.body.errors).toBeUndefined();
    expect(dry.body.data!.deleteSessions).toMatchObject({
      dryRun: true,
      matched: visible.length,
      deleted: 0,
      truncated: false,
    });
    expect(sids(dry.body.data!.deleteSessions.sessions)).toEqual(sids(visible));

    stack.logs.length = 0;
    const real = await stack.gql(DeleteSessionsDocument, {
      filter: { search: marker },
      max: 1000,
      dryRun: false,
    });
    expect(real.body.errors).toBeUndefined();
    expect(real.body.data!.deleteSessions).toMatchObject({
      dryRun: false,
      matched: visible.length,
      deleted: visible.length,
      truncated: false,
      failed: [],
    });
    expect(sids(real.body.data!.deleteSessions.sessions)).toEqual(sids(visible));
    // Nothing the caller named is lost: every visible match is gone; the hidden-only ones are all still there.
    const left = new Set(stack.emulator.store.all().map((record) => record.sid));
    expect(visible.filter((record) => left.has(record.sid))).toEqual([]);
    expect(hidden.every((record) => left.has(record.sid))).toBe(true);
    expect(stack.emulator.count('delete')).toBe(visible.length);
    const audits = stack.logs.filter((line) => line.audit === true);
    expect(audits.map((line) => line.sid).sort()).toEqual(sids(visible));
    const done = stack.logs.find((line) => line.msg === 'bulk delete done');
    expect(done).toMatchObject({
      matched: visible.length,
      excluded: hidden.length,
      deleted: visible.length,
      failed: 0,
    });
  });

  it('a search that shows keeps working alongside the other filter fields', async () => {
    const marker = freshMarker();
    const { visible } = seed(marker, 2);
    const [inSid] = visible;
    const response = await stack.gql(DeleteSessionsDocument, {
      filter: {
        search: marker,
        state: 'UNAUTHENTICATED',
        createdBefore: new Date(Date.now() + 60_000).toISOString(),
      },
      dryRun: false,
    });
    const unauthenticated = visible.filter((record) => record.jansState === 'unauthenticated');
    expect(unauthenticated.map((record) => record.sid)).toContain(inSid!.sid);
    expect(response.body.data!.deleteSessions).toMatchObject({
      matched: unauthenticated.length,
      deleted: unauthenticated.length,
    });
    expect(stack.emulator.store.get(inSid!.sid)).toBeUndefined();
  });

  it('max counts the visible matches: Janssen matching more than max is not truncation when they are fewer', async () => {
    const marker = freshMarker();
    const { hidden, visible } = seed(marker, 6);
    // Janssen counts 11 (over max); 5 show the text.
    const exact = await stack.gql(DeleteSessionsDocument, {
      filter: { search: marker },
      max: visible.length,
    });
    expect(exact.body.data!.deleteSessions).toMatchObject({ matched: visible.length, truncated: false });
    expect(sids(exact.body.data!.deleteSessions.sessions)).toEqual(sids(visible));

    const under = await stack.gql(DeleteSessionsDocument, {
      filter: { search: marker },
      max: visible.length - 1,
      dryRun: false,
    });
    expect(under.body.data!.deleteSessions).toMatchObject({
      truncated: true,
      deleted: 0,
      sessions: [],
    });
    const { matched } = under.body.data!.deleteSessions;
    expect(matched).toBeGreaterThan(visible.length - 1);
    expect(matched).toBeLessThanOrEqual(visible.length + hidden.length);
    expect(stack.emulator.count('delete')).toBe(0);

    const real = await stack.gql(DeleteSessionsDocument, {
      filter: { search: marker },
      max: visible.length,
      dryRun: false,
    });
    expect(real.body.data!.deleteSessions).toMatchObject({ deleted: visible.length, failed: [] });
    const left = new Set(stack.emulator.store.all().map((record) => record.sid));
    expect(hidden.every((record) => left.has(record.sid))).toBe(true);
    expect(visible.some((record) => left.has(record.sid))).toBe(false);
  });

  it('a search only the jansId holds matches nothing and deletes nothing', async () => {
    const marker = freshMarker();
    const { hidden } = seed(marker, 2);
    const onlyHidden = await stack.gql(DeleteSessionsDocument, {
      filter: { search: hidden[0]!.jansId.slice(0, 18) },
      dryRun: false,
    });
    expect(onlyHidden.body.data!.deleteSessions).toMatchObject({ matched: 0, deleted: 0, sessions: [] });
    expect(stack.emulator.store.getById(hidden[0]!.jansId)).toBeDefined();
    expect(stack.emulator.count('delete')).toBe(0);
  });
});

describe('when Janssen matches very many sessions that do not show the text', () => {
  let big: Stack;

  beforeAll(async () => {
    big = await startStack({
      emulator: { seed: 2, sessionCount: 0, maxCount: 5000 },
      env: { JANS_MAX_PAGE_SIZE: '5000' },
    });
  });

  afterAll(async () => {
    await big.close();
  });

  it('refuses (naming filter.search) rather than guess, after reading 10000, and deletes nothing', async () => {
    const marker = 'c0ffee42';
    for (let i = 0; i < 10_001; i += 1) {
      big.emulator.store.add(createSessionRecord({ jansId: uuidWith(marker) }));
    }
    const shown = createSessionRecord({ sid: uuidWith(marker) });
    big.emulator.store.add(shown);
    big.emulator.resetCounts();
    const response = await big.gql(DeleteSessionsDocument, { filter: { search: marker }, dryRun: false });
    expect(response.body.data ?? null).toBeNull();
    expect(response.body.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'filter.search',
    });
    expect(big.emulator.count('search')).toBe(2);
    expect(big.emulator.count('delete')).toBe(0);
    expect(big.emulator.store.get(shown.sid)).toBeDefined();
  });
});
