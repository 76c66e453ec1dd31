import { describe, expect, it } from 'vitest';

import { DEMO_USER_NAMES, generateDemoData } from '../../src/emulator/demo-data.js';
import { startEmulator } from '../../src/emulator/emulator.js';
import type { SessionPagedResult } from '../../src/janssen/session.dto.js';

import { call, json, NOW, sessionPath } from './helpers.js';

const generate = (seed = 42, sessionCount = 300, now = NOW) => generateDemoData({ seed, sessionCount, now });

describe('demo data', () => {
  it('is deterministic for a seed and a clock, and differs between seeds', () => {
    expect(generate(42)).toEqual(generate(42));
    const other = generate(43);
    expect(other.sessions.map((s) => s.jansId)).not.toEqual(generate(42).sessions.map((s) => s.jansId));
  });

  it('the emulator serves the same demo data for the same seed', async () => {
    const [a, b] = await Promise.all([
      startEmulator({ seed: 9, sessionCount: 25, now: () => NOW }),
      startEmulator({ seed: 9, sessionCount: 25, now: () => NOW }),
    ]);
    try {
      const bodies = await Promise.all([a, b].map(async (e) => (await call(e, sessionPath())).text));
      expect(bodies[0]).toBe(bodies[1]);
      expect((JSON.parse(bodies[0] ?? '') as SessionPagedResult).entriesCount).toBe(25);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('honours sessionCount, and 0 is an empty store', async () => {
    expect(generate(1, 17).sessions).toHaveLength(17);
    const empty = await startEmulator({ sessionCount: 0, now: () => NOW });
    try {
      expect(empty.store.size).toBe(0);
      expect(json(await call(empty, sessionPath()))).toEqual({
        start: 0,
        totalEntriesCount: 0,
        entriesCount: 0,
      });
    } finally {
      await empty.close();
    }
  });

  it('has both states in realistic proportions, with userDn, authnTime and auth_user only when authenticated', () => {
    const { sessions, users } = generate();
    const authenticated = sessions.filter((s) => s.jansState === 'authenticated');
    expect(authenticated.length / sessions.length).toBeGreaterThan(0.7);
    expect(authenticated.length / sessions.length).toBeLessThan(0.9);
    const dns = new Set(users.map((u) => u.dn));
    for (const s of authenticated) {
      expect(dns.has(s.jansUsrDN ?? '')).toBe(true);
      expect(s.authnTime).toBeInstanceOf(Date);
      expect(users.find((u) => u.dn === s.jansUsrDN)?.userName).toBe(s.jansSessAttr.auth_user);
    }
    for (const s of sessions.filter((x) => x.jansState === 'unauthenticated')) {
      expect(s.jansUsrDN).toBeUndefined();
      expect(s.jansSessAttr.auth_user).toBeUndefined();
    }
  });

  it('has expired sessions and sessions expiring within the hour and the day', () => {
    const now = NOW.getTime();
    const { sessions } = generate();
    const expired = sessions.filter((s) => s.exp.getTime() < now).length;
    expect(expired / sessions.length).toBeGreaterThan(0.08);
    expect(expired / sessions.length).toBeLessThan(0.22);
    expect(sessions.some((s) => s.exp.getTime() > now && s.exp.getTime() <= now + 3_600_000)).toBe(true);
    expect(
      sessions.some((s) => s.exp.getTime() > now + 3_600_000 && s.exp.getTime() <= now + 86_400_000),
    ).toBe(true);
  });

  it('has consistent timelines at whole seconds within the last 7 days', () => {
    const now = NOW.getTime();
    for (const s of generate().sessions) {
      for (const d of [s.creationDate, s.exp, s.jansLastAccessTime, s.authnTime]) {
        if (d) {
          expect(d.getTime() % 1000).toBe(0);
        }
      }
      expect(s.creationDate.getTime()).toBeGreaterThanOrEqual(now - 7 * 86_400_000);
      expect(s.creationDate.getTime()).toBeLessThanOrEqual(now);
      expect(s.exp.getTime()).toBeGreaterThan(s.creationDate.getTime());
      expect(s.jansLastAccessTime.getTime()).toBeGreaterThanOrEqual(s.creationDate.getTime());
      expect(s.jansLastAccessTime.getTime()).toBeLessThanOrEqual(Math.min(now, s.exp.getTime()));
    }
  });

  it('has ~40 users and 8 clients shaped like Janssen ids', () => {
    const { users, clients, sessions } = generate();
    expect(users).toHaveLength(40);
    for (const u of users) {
      expect(u.dn).toMatch(
        /^inum=[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12},ou=people,o=jans$/,
      );
    }
    expect(clients).toHaveLength(8);
    expect(clients.some((c) => c.clientId.startsWith('2000.'))).toBe(true);
    expect(clients.some((c) => /^[0-9a-f-]{36}$/.test(c.clientId))).toBe(true);
    expect(new Set(sessions.map((s) => s.jansSessAttr.client_id)).size).toBeGreaterThan(4);
    expect(new Set(sessions.map((s) => s.jansSessAttr.auth_user).filter(Boolean)).size).toBeGreaterThan(25);
  });

  it('has realistic session attributes without commas, and the occasional extras', () => {
    const { sessions } = generate();
    for (const s of sessions) {
      expect(s.jansSessAttr).toMatchObject({ sid: s.sid, response_type: 'code', auth_step: '1' });
      expect(['basic', 'agama_io.jans.password', 'passkey', 'simple_password_auth']).toContain(
        s.jansSessAttr.acr,
      );
      expect(s.jansSessAttr.acr_values).toBe(s.jansSessAttr.acr);
      expect(s.jansSessAttr.opbs).toMatch(/^[0-9a-f-]{36}$/);
      expect(s.jansSessAttr.remote_ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
      expect(s.jansSessState).toMatch(/^[0-9a-f]{64}\.[0-9a-f-]{36}$/);
      for (const value of Object.values(s.jansSessAttr)) {
        expect(value).not.toMatch(/[,%]/);
      }
      expect(Object.keys(s.jansPermissionGrantedMap)).toContain(s.jansSessAttr.client_id);
    }
    expect(sessions.filter((s) => s.deviceSecret.length > 0).length).toBeGreaterThan(0);
    expect(sessions.filter((s) => s.jansPermissionGranted !== undefined).length).toBeGreaterThan(0);
    expect(sessions.filter((s) => !s.del).length).toBeGreaterThan(0);
    const indexes = sessions.map((s) => s.jansAttrs.index).filter((i) => i !== undefined);
    expect(indexes.length).toBeGreaterThan(sessions.length * 0.8);
    expect(new Set(indexes).size).toBe(indexes.length);
  });

  it('binds access and id tokens to authenticated sessions only', () => {
    const { sessions, tokens } = generate();
    const bound = new Set(tokens.map((t) => t.ssnId));
    for (const s of sessions) {
      expect(bound.has(`jansId=${s.jansId},ou=sessions,o=jans`)).toBe(s.jansState === 'authenticated');
    }
  });

  it('user names are unambiguous search terms', () => {
    for (const name of DEMO_USER_NAMES) {
      expect(name).toMatch(/^[a-z]+$/);
      expect(name).toMatch(/[g-z]/);
      expect(DEMO_USER_NAMES.filter((other) => other.includes(name))).toEqual([name]);
    }
  });
});
