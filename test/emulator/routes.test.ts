import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type Emulator, startEmulator } from '../../src/emulator/emulator.js';
import { createSessionRecord, formatJansDate } from '../../src/emulator/session-store.js';
import type { SessionId, SessionPagedResult } from '../../src/janssen/session.dto.js';

import { call, json, NOW, search, searchPage, sessionPath, WIRE_DATE } from './helpers.js';

let emulator: Emulator;

beforeAll(async () => {
  emulator = await startEmulator({ seed: 42, now: () => NOW });
});

afterAll(async () => {
  await emulator.close();
});

const byJansId = () => [...emulator.store.all()].sort((a, b) => (a.jansId < b.jansId ? -1 : 1));

describe('GET /session', () => {
  it('checklist 1: is the first 50 sessions by jansId ascending, as a paged object', async () => {
    const reply = await call(emulator, sessionPath());
    expect(reply.status).toBe(200);
    expect(reply.headers.get('content-type')).toBe('application/json');
    const page = json<SessionPagedResult>(reply);
    expect(Array.isArray(page)).toBe(false);
    expect(page.start).toBe(0);
    expect(page.totalEntriesCount).toBe(300);
    expect(page.entriesCount).toBe(50);
    expect(page.entries?.map((e) => e.outsideSid)).toEqual(
      byJansId()
        .slice(0, 50)
        .map((r) => r.sid),
    );
  });

  it('checklist 1: ignores its query parameters', async () => {
    const plain = await call(emulator, sessionPath());
    const withParams = await call(
      emulator,
      sessionPath('?limit=5&startIndex=10&sortBy=exp&pattern=zzz&limit=x'),
    );
    expect(withParams.status).toBe(200);
    expect(withParams.text).toBe(plain.text);
  });

  it('checklist 6: returns unauthenticated and expired sessions alike', async () => {
    const page = json<SessionPagedResult>(await call(emulator, sessionPath()));
    const states = new Set(page.entries?.map((e) => e.state));
    expect(states).toEqual(new Set(['authenticated', 'unauthenticated']));
    const expired = page.entries?.filter((e) => (e.expirationDate ?? '') < formatJansDate(NOW)) ?? [];
    expect(expired.length).toBeGreaterThan(0);
  });

  it('checklist 2: answers 400 when maxCount is below its fixed 50', async () => {
    const small = await startEmulator({ maxCount: 40, sessionCount: 5, now: () => NOW });
    try {
      const reply = await call(small, sessionPath());
      expect(reply.status).toBe(400);
      expect(json(reply)).toEqual({ code: '400', message: 'Maximum number of results per page is 40' });
    } finally {
      await small.close();
    }
  });
});

describe('GET /session/search paging', () => {
  it('checklist 2: startIndex is a 0-based offset and start echoes it', async () => {
    const all = await searchPage(emulator, { limit: 0 });
    const page = await searchPage(emulator, { startIndex: 10, limit: 5 });
    expect(page.start).toBe(10);
    expect(page.entriesCount).toBe(5);
    expect(page.totalEntriesCount).toBe(300);
    expect(page.entries).toEqual(all.entries?.slice(10, 15));
  });

  it('checklist 2: start echoes an offset past the end and entries is absent', async () => {
    const reply = await search(emulator, { startIndex: 1000, limit: 5 });
    expect(reply.status).toBe(200);
    expect(json(reply)).toEqual({ start: 1000, totalEntriesCount: 300, entriesCount: 0 });
    expect(reply.text).not.toContain('entries"');
  });

  it('checklist 2: limit defaults to 50', async () => {
    const page = await searchPage(emulator, {});
    expect(page.entriesCount).toBe(50);
    expect(page.entries?.map((e) => e.outsideSid)).toEqual(
      byJansId()
        .slice(0, 50)
        .map((r) => r.sid),
    );
  });

  it('checklist 2: limit=0 and negative limits return every match, beyond maxCount', async () => {
    for (const limit of [0, -1, -500]) {
      const page = await searchPage(emulator, { limit });
      expect(page.entriesCount).toBe(300);
      expect(page.entries).toHaveLength(300);
    }
  });

  it('checklist 2: limit above maxCount is a 400 ApiError, maxCount itself is fine', async () => {
    const reply = await search(emulator, { limit: 201 });
    expect(reply.status).toBe(400);
    expect(reply.headers.get('content-type')).toBe('application/json');
    expect(json(reply)).toEqual({ code: '400', message: 'Maximum number of results per page is 200' });
    expect((await searchPage(emulator, { limit: 200 })).entriesCount).toBe(200);
  });

  it('checklist 2: the 400 message names the configured maxCount', async () => {
    const small = await startEmulator({ maxCount: 75, sessionCount: 3, now: () => NOW });
    try {
      const reply = await search(small, { limit: 76 });
      expect(json(reply)).toEqual({ code: '400', message: 'Maximum number of results per page is 75' });
    } finally {
      await small.close();
    }
  });

  it('checklist 2: non-integer limit or startIndex is a 404 with an empty body', async () => {
    for (const params of [
      { limit: 'abc' },
      { limit: '1.5' },
      { limit: '' },
      { limit: '99999999999' },
      { startIndex: 'x' },
      { startIndex: ' 1' },
    ]) {
      const reply = await search(emulator, params);
      expect(reply.status, JSON.stringify(params)).toBe(404);
      expect(reply.text).toBe('');
    }
  });

  it('checklist 2: a leading plus sign is a valid Java integer', async () => {
    const page = await searchPage(emulator, { limit: '+3', startIndex: '+1' });
    expect(page.start).toBe(1);
    expect(page.entriesCount).toBe(3);
  });

  it('checklist 2: negative startIndex is an opaque 500', async () => {
    const reply = await search(emulator, { startIndex: -1 });
    expect(reply.status).toBe(500);
    expect(reply.text).not.toContain('"code":"500"');
  });

  it('paging with ties is stable: pages of a non-unique sort concatenate to the full list', async () => {
    const full = await searchPage(emulator, { limit: 0, sortBy: 'jansState' });
    const pages: SessionId[] = [];
    for (let start = 0; start < 300; start += 70) {
      pages.push(
        ...((await searchPage(emulator, { limit: 70, startIndex: start, sortBy: 'jansState' })).entries ??
          []),
      );
    }
    expect(pages).toEqual(full.entries);
  });
});

describe('GET /session/search sorting', () => {
  const sortedValues = async (sortBy: string, sortOrder?: string) => {
    const page = await searchPage(emulator, { limit: 0, sortBy, ...(sortOrder ? { sortOrder } : {}) });
    return page.entries ?? [];
  };

  it('checklist 3: sortBy=exp orders by expiration, sortOrder=descending reverses it', async () => {
    const asc = (await sortedValues('exp')).map((e) => e.expirationDate ?? '');
    const desc = (await sortedValues('exp', 'descending')).map((e) => e.expirationDate ?? '');
    expect(asc).toEqual([...asc].sort());
    expect(desc).toEqual([...asc].reverse());
  });

  it('checklist 3: any sortOrder other than exactly "descending" is ascending', async () => {
    const asc = await sortedValues('creationDate');
    for (const order of ['DESCENDING', 'desc', 'Descending', 'ascending', 'whatever']) {
      expect(await sortedValues('creationDate', order), order).toEqual(asc);
    }
  });

  it('checklist 3: sortBy accepts DB columns', async () => {
    const cases: [string, (e: SessionId) => string][] = [
      ['creationDate', (e) => e.creationDate ?? ''],
      ['jansLastAccessTime', (e) => e.lastUsedAt ?? ''],
      ['sid', (e) => e.outsideSid],
      ['jansUsrDN', (e) => e.userDn ?? '\uffff'],
      ['jansState', (e) => e.state ?? ''],
    ];
    for (const [column, value] of cases) {
      const values = (await sortedValues(column)).map(value);
      expect(values, column).toEqual([...values].sort());
    }
    const deletable = (await sortedValues('del')).map((e) => e.deletable);
    expect(deletable.indexOf(true)).toBeGreaterThan(deletable.lastIndexOf(false));
  });

  it('checklist 3: nulls sort last ascending and first descending (authnTime)', async () => {
    const asc = await sortedValues('authnTime');
    const desc = await sortedValues('authnTime', 'descending');
    const firstNull = asc.findIndex((e) => e.authenticationTime === undefined);
    expect(firstNull).toBeGreaterThan(0);
    expect(asc.slice(firstNull).every((e) => e.authenticationTime === undefined)).toBe(true);
    expect(desc[0]?.authenticationTime).toBeUndefined();
  });

  it('checklist 3: JSON property names and unknown columns are a 500', async () => {
    for (const sortBy of ['expirationDate', 'lastUsedAt', 'userDn', 'outsideSid', 'EXP', 'nope']) {
      const reply = await search(emulator, { sortBy });
      expect(reply.status, sortBy).toBe(500);
    }
  });

  it('ties are broken by jansId', async () => {
    const entries = await sortedValues('jansState');
    const bySid = new Map(emulator.store.all().map((r) => [r.sid, r.jansId]));
    const authenticated = entries
      .filter((e) => e.state === 'authenticated')
      .map((e) => bySid.get(e.outsideSid) ?? '');
    expect(authenticated).toEqual([...authenticated].sort());
  });
});

describe('GET /session/sid/{sid}', () => {
  it('checklist 7: returns the session serialized like config-api', async () => {
    const record = emulator.store.all()[7];
    if (!record) {
      throw new Error('no demo data');
    }
    const reply = await call(emulator, sessionPath(`/sid/${record.sid}`));
    expect(reply.status).toBe(200);
    expect(reply.headers.get('content-type')).toBe('application/json');
    expect(json(reply)).toEqual(emulator.store.toWire(record));
  });

  it('checklist 7: a missing sid is 200 with an empty body', async () => {
    const reply = await call(emulator, sessionPath('/sid/no-such-sid'));
    expect(reply.status).toBe(200);
    expect(reply.text).toBe('');
    expect(reply.headers.get('content-length')).toBe('0');
  });

  it('checklist 6: finds unauthenticated and expired sessions too', async () => {
    const unauthenticated = emulator.store.all().find((r) => r.jansState === 'unauthenticated');
    const expired = emulator.store.all().find((r) => r.exp < NOW);
    for (const record of [unauthenticated, expired]) {
      const reply = await call(emulator, sessionPath(`/sid/${record?.sid ?? 'x'}`));
      expect(json<SessionId>(reply).outsideSid).toBe(record?.sid);
    }
  });
});

describe('checklist 9: JSON serialization', () => {
  it('dates are yyyy-MM-ddTHH:mm:ss in UTC without millis or zone', async () => {
    const page = await searchPage(emulator, { limit: 0 });
    for (const entry of page.entries ?? []) {
      for (const date of [entry.creationDate, entry.expirationDate, entry.lastUsedAt]) {
        expect(date).toMatch(WIRE_DATE);
      }
      if (entry.authenticationTime !== undefined) {
        expect(entry.authenticationTime).toMatch(WIRE_DATE);
      }
    }
    const record = emulator.store.all()[0];
    const wire = json<SessionId>(await call(emulator, sessionPath(`/sid/${record?.sid}`)));
    expect(wire.creationDate).toBe(record?.creationDate.toISOString().slice(0, 19));
  });

  it('never has id, dn or persisted; ttl is 0; opbrowserState mirrors sessionAttributes.opbs', async () => {
    const page = await searchPage(emulator, { limit: 0 });
    for (const entry of page.entries ?? []) {
      expect(entry).not.toHaveProperty('id');
      expect(entry).not.toHaveProperty('dn');
      expect(entry).not.toHaveProperty('persisted');
      expect(entry.ttl).toBe(0);
      expect(entry.opbrowserState).toBe(entry.sessionAttributes?.opbs);
      expect(['authenticated', 'unauthenticated']).toContain(entry.state);
    }
  });

  it('unauthenticated sessions have no userDn and no auth_user; authenticated ones have both', async () => {
    const page = await searchPage(emulator, { limit: 0 });
    for (const entry of page.entries ?? []) {
      if (entry.state === 'unauthenticated') {
        expect(entry).not.toHaveProperty('userDn');
        expect(entry.sessionAttributes).not.toHaveProperty('auth_user');
      } else {
        expect(entry.userDn).toMatch(/^inum=[0-9a-f-]{36},ou=people,o=jans$/);
        expect(entry.sessionAttributes?.auth_user).toBeTruthy();
      }
    }
  });

  it('omits null, "", [] and {} values (NON_EMPTY) and strips session_id/old_session_id', async () => {
    const record = createSessionRecord(
      {
        sid: 'serialization-check',
        jansSessState: '',
        jansSessAttr: { session_id: 'a', old_session_id: 'b', empty: '' },
        deviceSecret: [],
        jansAttrs: {},
      },
      NOW,
    );
    emulator.store.add(record);
    try {
      const reply = await call(emulator, sessionPath('/sid/serialization-check'));
      expect(json(reply)).toEqual({
        outsideSid: 'serialization-check',
        lastUsedAt: '2026-07-01T12:00:00',
        state: 'unauthenticated',
        permissionGrantedMap: {},
        predefinedAttributes: {},
        expirationDate: '2026-07-02T12:00:00',
        deletable: true,
        creationDate: '2026-07-01T12:00:00',
        ttl: 0,
      });
    } finally {
      emulator.store.removeById(record.jansId);
    }
  });

  it('keeps false booleans, predefinedAttributes.index and device secrets', async () => {
    const record = createSessionRecord(
      {
        sid: 'serialization-full',
        jansUsrDN: 'inum=x,ou=people,o=jans',
        del: false,
        jansPermissionGranted: false,
        jansPermissionGrantedMap: { client: false },
        jansAttrs: { index: 0 },
        deviceSecret: ['s1'],
      },
      NOW,
    );
    emulator.store.add(record);
    try {
      const wire = json<SessionId>(await call(emulator, sessionPath('/sid/serialization-full')));
      expect(wire.deletable).toBe(false);
      expect(wire.permissionGranted).toBe(false);
      expect(wire.permissionGrantedMap).toEqual({ permissionGranted: { client: false } });
      expect(wire.predefinedAttributes).toEqual({ index: 0 });
      expect(wire.deviceSecrets).toEqual(['s1']);
      expect(wire.authenticationTime).toBe('2026-07-01T12:00:00');
      expect(Object.keys(wire)).toEqual([
        'outsideSid',
        'lastUsedAt',
        'userDn',
        'authenticationTime',
        'state',
        'sessionState',
        'permissionGranted',
        'permissionGrantedMap',
        'sessionAttributes',
        'predefinedAttributes',
        'deviceSecrets',
        'expirationDate',
        'deletable',
        'creationDate',
        'ttl',
      ]);
    } finally {
      emulator.store.removeById(record.jansId);
    }
  });

  it('an empty page has no entries key', async () => {
    const reply = await search(emulator, { pattern: 'no-session-contains-this' });
    expect(json(reply)).toEqual({ start: 0, totalEntriesCount: 0, entriesCount: 0 });
  });
});

describe('routing', () => {
  it('wrong method on an existing route is 405 with an empty body, before authorization', async () => {
    for (const [method, path] of [
      ['POST', sessionPath()],
      ['DELETE', sessionPath()],
      ['DELETE', sessionPath('/search')],
      ['GET', sessionPath('/user/inum=x,ou=people,o=jans')],
      ['PUT', sessionPath('/sid/abc')],
      ['GET', '/jans-auth/restv1/token'],
    ] as const) {
      const reply = await call(emulator, path, { method, token: null });
      expect(reply.status, `${method} ${path}`).toBe(405);
      expect(reply.text).toBe('');
      expect(reply.headers.get('allow')).toBeTruthy();
    }
  });

  it('unknown routes and the legacy POST /session/{dn} are 404 with an empty body', async () => {
    for (const [method, path] of [
      ['GET', sessionPath('/abc')],
      ['POST', sessionPath('/inum=x,ou=people,o=jans')],
      ['GET', sessionPath('/sid/')],
      ['GET', sessionPath('/sid/a/b')],
      ['GET', sessionPath('/id/abc')],
      ['GET', '/jans-config-api/api/v1/jans-auth-server/sessions'],
      ['GET', '/'],
    ] as const) {
      const reply = await call(emulator, path, { method });
      expect(reply.status, `${method} ${path}`).toBe(404);
      expect(reply.text).toBe('');
    }
  });

  it('OPTIONS lists the allowed methods', async () => {
    const reply = await call(emulator, sessionPath('/sid/abc'), { method: 'OPTIONS', token: null });
    expect(reply.status).toBe(200);
    expect(reply.headers.get('allow')).toBe('GET, DELETE, HEAD, OPTIONS');
  });

  it('a trailing slash matches the same resource', async () => {
    const reply = await call(emulator, sessionPath('/'));
    expect(json<SessionPagedResult>(reply).entriesCount).toBe(50);
  });

  it('a non-JSON Content-Type is 415 and an Accept without JSON is 406', async () => {
    const form = await call(emulator, sessionPath(), { headers: { 'Content-Type': 'text/plain' } });
    expect(form.status).toBe(415);
    const html = await call(emulator, sessionPath(), { headers: { Accept: 'text/html' } });
    expect(html.status).toBe(406);
    const wildcard = await call(emulator, sessionPath(), { headers: { Accept: 'text/html, */*;q=0.1' } });
    expect(wildcard.status).toBe(200);
  });

  it('serves a discovery document pointing at the token endpoint', async () => {
    const reply = await call(emulator, '/jans-auth/.well-known/openid-configuration', { token: null });
    expect(json(reply)).toMatchObject({ issuer: emulator.origin, token_endpoint: emulator.tokenUrl });
  });
});
