import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type Emulator, startEmulator } from '../../src/emulator/emulator.js';
import { createSessionRecord, type SessionRecord } from '../../src/emulator/session-store.js';

import { call, json, matchingSids, NOW, search, sessionPath, sidsOf } from './helpers.js';

let emulator: Emulator;
let records: SessionRecord[];
let markers: Record<'dn' | 'sid' | 'attr' | 'perm' | 'id' | 'pct' | 'pctX', SessionRecord>;

beforeAll(async () => {
  emulator = await startEmulator({ seed: 42, now: () => NOW });
  // "zq" occurs nowhere in the demo data: not hex, not in any user name, URI or scope.
  markers = {
    dn: createSessionRecord({ jansUsrDN: 'inum=zqdn1,ou=people,o=jans' }, NOW),
    sid: createSessionRecord({ sid: 'zqsid2' }, NOW),
    attr: createSessionRecord({ jansSessAttr: { redirect_uri: 'https://zqattr3.example/cb' } }, NOW),
    perm: createSessionRecord({ jansPermissionGrantedMap: { zqperm4: true } }, NOW),
    id: createSessionRecord({ jansId: 'zqid5' }, NOW),
    pct: createSessionRecord({ jansSessAttr: { note: 'zqpct%' } }, NOW),
    pctX: createSessionRecord({ jansSessAttr: { note: 'zqpctX' } }, NOW),
  };
  Object.values(markers).forEach((record) => emulator.store.add(record));
  records = emulator.store.all();
});

afterAll(async () => {
  await emulator.close();
});

const where = (predicate: (r: SessionRecord) => boolean) => sidsOf(records.filter(predicate));
const fvp = (fieldValuePair: string) => matchingSids(emulator, { fieldValuePair });
const fvpStatus = async (fieldValuePair: string) => (await search(emulator, { fieldValuePair })).status;
const at = (iso: string) => new Date(`${iso}Z`).getTime();
const demo = () => records.filter((r) => !r.sid.startsWith('zq') && !r.jansId.startsWith('zq'));

describe('checklist 4: pattern', () => {
  it('is a substring match over jansUsrDN, sid, jansSessAttr, jansPermissionGrantedMap and jansId', async () => {
    expect(await matchingSids(emulator, { pattern: 'zqdn' })).toEqual(sidsOf([markers.dn]));
    expect(await matchingSids(emulator, { pattern: 'qsid' })).toEqual(sidsOf([markers.sid]));
    expect(await matchingSids(emulator, { pattern: 'zqattr3.example' })).toEqual(sidsOf([markers.attr]));
    expect(await matchingSids(emulator, { pattern: 'zqperm' })).toEqual(sidsOf([markers.perm]));
    expect(await matchingSids(emulator, { pattern: 'zqid' })).toEqual(sidsOf([markers.id]));
  });

  it('matches a whole DN fragment and a demo user inum', async () => {
    expect(await matchingSids(emulator, { pattern: 'ou=people' })).toEqual(
      where((r) => r.jansUsrDN !== undefined),
    );
    const user = demo().find((r) => r.jansUsrDN)?.jansUsrDN ?? '';
    const inum = user.slice('inum='.length, user.indexOf(','));
    expect(await matchingSids(emulator, { pattern: inum })).toEqual(where((r) => r.jansUsrDN === user));
  });

  it('searches the JSON text of the session attributes and of the permission map', async () => {
    const clientId = demo()[0]?.jansSessAttr.client_id ?? '';
    expect(await matchingSids(emulator, { pattern: clientId })).toEqual(
      where(
        (r) =>
          JSON.stringify(r.jansSessAttr).includes(clientId) ||
          Object.keys(r.jansPermissionGrantedMap).includes(clientId),
      ),
    );
    // UPSTREAM-BEHAVIOUR §3.3: pattern=admin also finds "redirect_uri": "https://host/admin".
    const admin = await matchingSids(emulator, { pattern: 'admin' });
    expect(admin).toEqual(where((r) => JSON.stringify(r.jansSessAttr).includes('admin')));
    expect(admin).toEqual(expect.arrayContaining(where((r) => r.jansSessAttr.auth_user === 'admin')));
    expect(admin.length).toBeGreaterThan(where((r) => r.jansSessAttr.auth_user === 'admin').length);
  });

  it('comma-separated tokens are ORed, empty tokens dropped, nothing trimmed', async () => {
    expect(await matchingSids(emulator, { pattern: 'zqdn1,zqsid2' })).toEqual(
      sidsOf([markers.dn, markers.sid]),
    );
    expect(await matchingSids(emulator, { pattern: ',zqdn1,,zqid5,' })).toEqual(
      sidsOf([markers.dn, markers.id]),
    );
    expect(await matchingSids(emulator, { pattern: ' zqdn1' })).toEqual([]);
    expect(await matchingSids(emulator, { pattern: 'zqdn1 ' })).toEqual([]);
  });

  it('a blank pattern or only commas match every session', async () => {
    for (const pattern of ['', ' ', ',,,']) {
      expect((await matchingSids(emulator, { pattern })).length, JSON.stringify(pattern)).toBe(
        records.length,
      );
    }
  });

  it('% and _ are LIKE wildcards, and \\ escapes them', async () => {
    expect(await matchingSids(emulator, { pattern: 'zq_n1' })).toEqual(sidsOf([markers.dn]));
    expect(await matchingSids(emulator, { pattern: 'zqd%1' })).toEqual(sidsOf([markers.dn]));
    expect(await matchingSids(emulator, { pattern: 'zqpct%' })).toEqual(sidsOf([markers.pct, markers.pctX]));
    expect(await matchingSids(emulator, { pattern: 'zqpct\\%' })).toEqual(sidsOf([markers.pct]));
    expect((await matchingSids(emulator, { pattern: '%' })).length).toBe(records.length);
    expect((await matchingSids(emulator, { pattern: '_' })).length).toBe(records.length);
  });

  it('is case-sensitive', async () => {
    expect(await matchingSids(emulator, { pattern: 'ZQDN1' })).toEqual([]);
    expect(await matchingSids(emulator, { pattern: 'OU=PEOPLE' })).toEqual([]);
  });

  it('is ANDed with fieldValuePair', async () => {
    expect(
      await matchingSids(emulator, { pattern: 'ou=people,zqsid2', fieldValuePair: 'state=unauthenticated' }),
    ).toEqual(sidsOf([markers.sid]));
  });
});

describe('checklist 5: fieldValuePair on strings', () => {
  it('the seven session attribute keys are equality filters inside sessionAttributes', async () => {
    const sample = demo().find((r) => r.jansState === 'authenticated');
    for (const key of [
      'acr',
      'scope',
      'auth_user',
      'client_id',
      'acr_values',
      'redirect_uri',
      'response_type',
    ]) {
      const value = sample?.jansSessAttr[key] ?? '';
      expect(await fvp(`${key}=${value}`), key).toEqual(where((r) => r.jansSessAttr[key] === value));
    }
  });

  it('string fields are always equality, whatever the operator', async () => {
    const alice = where((r) => r.jansSessAttr.auth_user === 'alice');
    expect(alice.length).toBeGreaterThan(0);
    for (const op of ['=', '>', '<', '>=', '<=']) {
      expect(await fvp(`auth_user${op}alice`), op).toEqual(alice);
    }
    expect(await fvp('auth_user=ali')).toEqual([]);
    expect(await fvp('auth_user=ALICE')).toEqual([]);
  });

  it('other session attribute keys are unknown columns: 500', async () => {
    for (const key of ['remote_ip', 'opbs', 'nonce', 'auth_step', 'sid_x']) {
      expect(await fvpStatus(`${key}=x`), key).toBe(500);
    }
  });

  it('userDn and jansUsrDN take an inum, rewritten to inum=<v>,ou=people,o=jans', async () => {
    const dn = demo().find((r) => r.jansUsrDN)?.jansUsrDN ?? '';
    const inum = dn.slice('inum='.length, dn.indexOf(','));
    const expected = where((r) => r.jansUsrDN === dn);
    expect(expected.length).toBeGreaterThan(0);
    expect(await fvp(`userDn=${inum}`)).toEqual(expected);
    expect(await fvp(`jansUsrDN=${inum}`)).toEqual(expected);
    expect(await fvp('userDn=zqdn1')).toEqual(sidsOf([markers.dn]));
  });

  it('a full DN cannot be passed as userDn', async () => {
    const dn = demo().find((r) => r.jansUsrDN)?.jansUsrDN ?? '';
    // Comma split leaves "ou=people" as a filter on an unknown column.
    expect(await fvpStatus(`userDn=${dn}`)).toBe(500);
    // Only parts[1] of the "=" split survives: the value becomes "inum".
    expect(await fvp(`userDn=inum=${dn.slice(5, dn.indexOf(','))}`)).toEqual([]);
  });

  it('state=authenticated selects authenticated sessions server-side', async () => {
    expect(await fvp('state=authenticated')).toEqual(where((r) => r.jansState === 'authenticated'));
    expect(await fvp('jansState=unauthenticated')).toEqual(where((r) => r.jansState === 'unauthenticated'));
    expect(await fvp('state=AUTHENTICATED')).toEqual([]);
  });

  it('outsideSid, sid, id and sessionState are equality filters on their columns', async () => {
    const r = demo()[3];
    expect(await fvp(`outsideSid=${r?.sid}`)).toEqual([r?.sid]);
    expect(await fvp(`sid=${r?.sid}`)).toEqual([r?.sid]);
    expect(await fvp(`id=${r?.jansId}`)).toEqual([r?.sid]);
    expect(await fvp(`jansId=${r?.jansId}`)).toEqual([r?.sid]);
    expect(await fvp(`sessionState=${r?.jansSessState}`)).toEqual([r?.sid]);
  });

  it('unknown fields are a 500', async () => {
    for (const pair of [
      'foo=bar',
      'ttl=0',
      'persisted=false',
      'user=x',
      'sessionAttributes=x',
      'expirationdate>2026-01-01',
    ]) {
      expect(await fvpStatus(pair), pair).toBe(500);
    }
  });
});

describe('checklist 5: fieldValuePair on booleans', () => {
  it('deletable and permissionGranted compare with true/false, anything else is false', async () => {
    const notDeletable = where((r) => !r.del);
    expect(notDeletable.length).toBeGreaterThan(0);
    expect(await fvp('deletable=false')).toEqual(notDeletable);
    expect(await fvp('deletable=FALSE')).toEqual(notDeletable);
    expect(await fvp('deletable=no')).toEqual(notDeletable);
    expect(await fvp('deletable=true')).toEqual(where((r) => r.del));
    expect(await fvp('del=false')).toEqual(notDeletable);
    expect(await fvp('permissionGranted=true')).toEqual(where((r) => r.jansPermissionGranted === true));
  });
});

describe('checklist 5: fieldValuePair on dates', () => {
  it('> and >= are both inclusive lower bounds, < and <= inclusive upper bounds', async () => {
    const r = demo()[10];
    const exact = r?.exp.toISOString().slice(0, 19).replace('T', ' ') ?? '';
    const from = where((s) => s.exp.getTime() >= (r?.exp.getTime() ?? 0));
    const to = where((s) => s.exp.getTime() <= (r?.exp.getTime() ?? 0));
    expect(await fvp(`expirationDate>${exact}`)).toEqual(from);
    expect(await fvp(`expirationDate>=${exact}`)).toEqual(from);
    expect(await fvp(`expirationDate<${exact}`)).toEqual(to);
    expect(await fvp(`expirationDate<=${exact}`)).toEqual(to);
    expect(from).toContain(r?.sid);
    expect(to).toContain(r?.sid);
  });

  it('=yyyy-MM-dd is the whole UTC day, a longer value exact equality', async () => {
    const day = '2026-07-01';
    const sameDay = where((r) => r.exp.toISOString().startsWith(day));
    expect(sameDay.length).toBeGreaterThan(1);
    expect(await fvp(`expirationDate=${day}`)).toEqual(sameDay);
    const r = demo()[5];
    const exact = r?.exp.toISOString().slice(0, 19) ?? '';
    const expected = where((s) => s.exp.getTime() === r?.exp.getTime());
    expect(await fvp(`expirationDate=${exact}`)).toEqual(expected);
    expect(await fvp(`expirationDate=${exact.replace('T', ' ')}.000`)).toEqual(expected);
  });

  it('a range is two ANDed filters', async () => {
    expect(await fvp('expirationDate>2026-07-01 12:00:00,expirationDate<2026-07-02')).toEqual(
      where(
        (r) => r.exp.getTime() >= at('2026-07-01T12:00:00') && r.exp.getTime() <= at('2026-07-02T00:00:00'),
      ),
    );
  });

  it('accepts every documented format, in UTC, and discards an explicit offset', async () => {
    const expected = where((r) => r.exp.getTime() >= at('2026-07-01T12:00:00'));
    for (const value of [
      '2026-07-01 12:00:00',
      '2026-07-01 12:00:00.000',
      '2026-07-01T12:00:00',
      '2026-07-01T12:00:00.000',
      '2026-07-01T12:00:00.000+05:30',
      '2026-07-01T12:00:00.000-08:00',
    ]) {
      expect(await fvp(`expirationDate>${value}`), value).toEqual(expected);
    }
  });

  it('a trailing Z or any unparseable date gives an empty page, not an error', async () => {
    for (const value of [
      '2026-07-01T12:00:00Z',
      '2026-07-01T12:00:00.000Z',
      '2026-07-01T12:00:00+05:30',
      '2026-13-01',
      '2026/07/01',
      '2026-07-01T12:00',
      'yesterday',
    ]) {
      const reply = await search(emulator, { fieldValuePair: `expirationDate>${value}` });
      expect(reply.status, value).toBe(200);
      expect(json(reply), value).toEqual({ start: 0, totalEntriesCount: 0, entriesCount: 0 });
    }
  });

  it('creationDate, authenticationTime and lastUsedAt are date filters too; NULL never matches', async () => {
    const bound = at('2026-06-28T00:00:00');
    expect(await fvp('creationDate<2026-06-28')).toEqual(where((r) => r.creationDate.getTime() <= bound));
    expect(await fvp('lastUsedAt>=2026-06-28')).toEqual(
      where((r) => r.jansLastAccessTime.getTime() >= bound),
    );
    const authn = await fvp('authenticationTime>2020-01-01');
    expect(authn).toEqual(where((r) => r.authnTime !== undefined));
    expect(authn.length).toBeLessThan(records.length);
  });

  it('date column names are plain (String) equality filters: the operator is ignored', async () => {
    const r = demo()[2];
    const exact = r?.exp.toISOString().slice(0, 19) ?? '';
    const expected = where((s) => s.exp.getTime() === r?.exp.getTime());
    expect(await fvp(`exp=${exact}`)).toEqual(expected);
    expect(await fvp(`exp>${exact}`)).toEqual(expected);
  });
});

describe('checklist 5: fieldValuePair parsing quirks', () => {
  it('a token without an operator is a 500', async () => {
    expect(await fvpStatus('auth_user')).toBe(500);
    expect(await fvpStatus('auth_user=alice,bogus')).toBe(500);
  });

  it('the operator overwrite order: a=b>c becomes the field "a=b" (500), =value has no field (500)', async () => {
    expect(await fvpStatus('auth_user=alice>bob')).toBe(500);
    expect(await fvpStatus('=alice')).toBe(500);
  });

  it('a trailing operator leaves a NULL value that matches nothing', async () => {
    expect(await fvp('auth_user=')).toEqual([]);
    expect(await fvp('userDn=')).toEqual([]);
    expect(await fvp('expirationDate>')).toEqual([]);
  });

  it('multiple filters are ANDed; blank and empty tokens are skipped, others are not trimmed', async () => {
    const expected = where(
      (r) =>
        r.jansSessAttr.auth_user === 'alice' &&
        r.jansState === 'authenticated' &&
        r.exp.getTime() >= NOW.getTime(),
    );
    expect(await fvp('auth_user=alice,,state=authenticated, ,expirationDate>2026-07-01 12:00:00')).toEqual(
      expected,
    );
    expect(await fvpStatus(' auth_user=alice')).toBe(500);
  });

  it('the raw, unencoded query form the TUI sends is understood', async () => {
    const reply = await call(emulator, sessionPath('/search?limit=0&fieldValuePair=auth_user=alice'));
    expect(reply.status).toBe(200);
    expect(json<{ totalEntriesCount: number }>(reply).totalEntriesCount).toBe(
      where((r) => r.jansSessAttr.auth_user === 'alice').length,
    );
  });
});
