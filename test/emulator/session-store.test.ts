import { describe, expect, it } from 'vitest';

import {
  createSessionRecord,
  formatJansDate,
  SessionStore,
  sessionDn,
  toWire,
} from '../../src/emulator/session-store.js';

import { NOW } from './helpers.js';

describe('SessionStore', () => {
  it('adds, finds by sid (first match) and by jansId, removes and clears', () => {
    const store = new SessionStore();
    const a = createSessionRecord({ sid: 'same' }, NOW);
    const b = createSessionRecord({ sid: 'same' }, NOW);
    store.add(a);
    store.add(b);
    expect(() => store.add(a)).toThrow(/duplicate/);
    expect(store.size).toBe(2);
    expect(store.get('same')).toBe(a);
    expect(store.getById(b.jansId)).toBe(b);
    expect(store.remove('same')).toBe(a);
    expect(store.get('same')).toBe(b);
    expect(store.remove('missing')).toBeUndefined();
    store.addToken({ tknCde: 't', tknTyp: 'access_token', ssnId: sessionDn(b) });
    store.clear();
    expect(store.all()).toEqual([]);
    expect(store.tokens()).toEqual([]);
  });

  it('createSessionRecord derives state and authnTime from the DN', () => {
    const anonymous = createSessionRecord({}, NOW);
    expect(anonymous.jansState).toBe('unauthenticated');
    expect(anonymous.authnTime).toBeUndefined();
    const user = createSessionRecord({ jansUsrDN: 'inum=u,ou=people,o=jans' }, NOW);
    expect(user.jansState).toBe('authenticated');
    expect(user.authnTime).toEqual(NOW);
    expect(user.jansSessAttr).toEqual({ sid: user.sid });
  });
});

describe('toWire', () => {
  it('formats dates without millis or zone, in UTC', () => {
    expect(formatJansDate(new Date('2026-01-02T03:04:05.678Z'))).toBe('2026-01-02T03:04:05');
  });

  it('invents a random outsideSid when the sid column is blank, like SessionId.getOutsideSid()', () => {
    const record = createSessionRecord({ sid: '' }, NOW);
    const first = toWire(record).outsideSid;
    expect(first).toMatch(/^[0-9a-f-]{36}$/);
    expect(toWire(record).outsideSid).not.toBe(first);
  });

  it('drops session_id, old_session_id and empty attribute values; keeps opbs as opbrowserState', () => {
    const record = createSessionRecord(
      { jansSessAttr: { session_id: 'x', old_session_id: 'y', blank: '', opbs: 'browser', acr: 'basic' } },
      NOW,
    );
    const wire = toWire(record);
    expect(wire.sessionAttributes).toEqual({ opbs: 'browser', acr: 'basic' });
    expect(wire.opbrowserState).toBe('browser');
  });
});
