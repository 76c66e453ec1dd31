import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type Emulator, startEmulator } from '../../src/emulator/emulator.js';
import { createSessionRecord, type SessionRecord } from '../../src/emulator/session-store.js';

import { call, NOW, sessionPath } from './helpers.js';

let emulator: Emulator;

beforeAll(async () => {
  emulator = await startEmulator({ seed: 3, sessionCount: 120, now: () => NOW });
});

afterAll(async () => {
  await emulator.close();
});

const del = (suffix: string) => call(emulator, sessionPath(suffix), { method: 'DELETE' });

function pick(predicate: (r: SessionRecord) => boolean): SessionRecord {
  const record = emulator.store.all().find(predicate);
  if (!record) {
    throw new Error('no matching demo session');
  }
  return record;
}

/** A user DN with at least one authenticated session. */
function busyUser(): string {
  return pick((r) => r.jansState === 'authenticated' && r.jansUsrDN !== undefined).jansUsrDN ?? '';
}

describe('DELETE /session/sid/{sid}', () => {
  it('checklist 7: deletes with 200 and an empty body, then 404 with an empty body', async () => {
    const victim = pick((r) => r.jansState === 'authenticated');
    const before = emulator.store.size;
    const first = await del(`/sid/${victim.sid}`);
    expect(first.status).toBe(200);
    expect(first.text).toBe('');
    expect(emulator.store.get(victim.sid)).toBeUndefined();
    expect(emulator.store.size).toBe(before - 1);
    const again = await del(`/sid/${victim.sid}`);
    expect(again.status).toBe(404);
    expect(again.text).toBe('');
    const get = await call(emulator, sessionPath(`/sid/${victim.sid}`));
    expect(get.status).toBe(200);
    expect(get.text).toBe('');
  });

  it('checklist 6: deletes in any state, expired or not, ignoring deletable', async () => {
    const victims = [
      pick((r) => r.jansState === 'unauthenticated'),
      pick((r) => r.exp < NOW),
      pick((r) => !r.del),
    ];
    for (const victim of victims) {
      expect((await del(`/sid/${victim.sid}`)).status).toBe(200);
      expect(emulator.store.get(victim.sid)).toBeUndefined();
    }
  });

  it('checklist 10: also deletes the access and id tokens of the session, not its refresh tokens', async () => {
    const victim = pick((r) => r.jansState === 'authenticated');
    emulator.store.addToken({
      tknCde: 'refresh-1',
      tknTyp: 'refresh_token',
      ssnId: `jansId=${victim.jansId},ou=sessions,o=jans`,
    });
    const types = emulator.store.tokensOf(victim).map((t) => t.tknTyp);
    expect(types).toEqual(expect.arrayContaining(['access_token', 'id_token', 'refresh_token']));
    expect((await del(`/sid/${victim.sid}`)).status).toBe(200);
    expect(emulator.store.tokensOf(victim).map((t) => t.tknTyp)).toEqual(['refresh_token']);
  });

  it('an unknown sid is 404', async () => {
    const reply = await del('/sid/0e0e0e0e-0000-4000-8000-000000000000');
    expect(reply.status).toBe(404);
    expect(reply.text).toBe('');
  });

  it('a blank sid deletes nothing and still answers 200', async () => {
    const before = emulator.store.size;
    expect((await del('/sid/%20')).status).toBe(200);
    expect(emulator.store.size).toBe(before);
  });
});

describe('DELETE /session/user/{userDn}', () => {
  it('checklist 6: revokes every authenticated session of the full DN, percent-encoded', async () => {
    const dn = busyUser();
    const reply = await del(`/user/${encodeURIComponent(dn)}`);
    expect(reply.status).toBe(200);
    expect(reply.text).toBe('');
    expect(emulator.store.all().filter((r) => r.jansUsrDN === dn)).toEqual([]);
    expect(emulator.requests.at(-1)?.route).toBe('revoke');
  });

  it('checklist 6: accepts the raw DN in the path (= and , are legal in a segment)', async () => {
    const dn = busyUser();
    expect((await del(`/user/${dn}`)).status).toBe(200);
    expect(emulator.store.all().some((r) => r.jansUsrDN === dn)).toBe(false);
  });

  it('checklist 6: skips unauthenticated sessions of the same DN, 404 when only those exist', async () => {
    const dn = 'inum=revoke-test,ou=people,o=jans';
    const authenticated = createSessionRecord({ jansUsrDN: dn, jansState: 'authenticated' }, NOW);
    const unauthenticated = createSessionRecord({ jansUsrDN: dn, jansState: 'unauthenticated' }, NOW);
    emulator.store.add(authenticated);
    emulator.store.add(unauthenticated);
    expect((await del(`/user/${encodeURIComponent(dn)}`)).status).toBe(200);
    expect(emulator.store.get(authenticated.sid)).toBeUndefined();
    expect(emulator.store.get(unauthenticated.sid)).toBeDefined();
    const again = await del(`/user/${encodeURIComponent(dn)}`);
    expect(again.status).toBe(404);
    expect(again.text).toBe('');
  });

  it('checklist 6: needs the full DN; a bare inum matches nothing', async () => {
    const dn = busyUser();
    const inum = dn.slice('inum='.length, dn.indexOf(','));
    const before = emulator.store.size;
    const reply = await del(`/user/${inum}`);
    expect(reply.status).toBe(404);
    expect(reply.text).toBe('');
    expect(emulator.store.size).toBe(before);
    expect(emulator.store.all().some((r) => r.jansUsrDN === dn)).toBe(true);
  });

  it('checklist 10: revoking also deletes the sessions’ access and id tokens', async () => {
    const dn = busyUser();
    const sessions = emulator.store
      .all()
      .filter((r) => r.jansUsrDN === dn && r.jansState === 'authenticated');
    expect(sessions.flatMap((s) => emulator.store.tokensOf(s)).length).toBeGreaterThan(0);
    expect((await del(`/user/${encodeURIComponent(dn)}`)).status).toBe(200);
    const left = sessions
      .flatMap((s) => emulator.store.tokensOf(s))
      .filter((t) => t.tknTyp !== 'refresh_token');
    expect(left).toEqual([]);
  });
});
