import { describe, expect, it } from 'vitest';

import { DateTimeScalar } from '../../src/schema/scalars.js';
import { toSession } from '../../src/schema/session/session.mapper.js';

const NOW = Date.UTC(2026, 10, 29, 12, 0, 0);
const serialize = (value: unknown) => (value === null ? null : DateTimeScalar.serialize(value));

describe('session dates, from Janssen text to DateTime output', () => {
  it("writes Janssen's usual shape as the same instant with a Z", () => {
    const session = toSession(
      {
        outsideSid: 's1',
        creationDate: '2026-11-23T09:13:30',
        lastUsedAt: '2024-02-29T23:59:59',
        authenticationTime: '2026-11-23T09:13:31',
        expirationDate: '2026-11-29T12:00:01',
      },
      NOW,
    );
    expect(serialize(session.creationDate)).toBe('2026-11-23T09:13:30Z');
    expect(serialize(session.lastUsedAt)).toBe('2024-02-29T23:59:59Z');
    expect(serialize(session.authenticationTime)).toBe('2026-11-23T09:13:31Z');
    expect(serialize(session.expirationDate)).toBe('2026-11-29T12:00:01Z');
    expect(session.expired).toBe(false);
  });

  it('normalizes any other shape through a Date, as before', () => {
    const session = toSession(
      {
        outsideSid: 's2',
        creationDate: '2026-11-23 09:13:30.25', // space and a fraction
        lastUsedAt: '2023-02-29T10:00:00', // no such day: rolls over
        authenticationTime: '2026-11-23T09:13:30+02:00', // a zone
        expirationDate: '2026-11-29T12:00:00',
      },
      NOW,
    );
    expect(serialize(session.creationDate)).toBe('2026-11-23T09:13:30.250Z');
    expect(serialize(session.lastUsedAt)).toBe('2023-03-01T10:00:00Z');
    expect(serialize(session.authenticationTime)).toBe('2026-11-23T07:13:30Z');
    expect(session.expired).toBe(true); // expires exactly now
  });

  it('keeps years outside 1000-9999 that only a Date can write', () => {
    const session = toSession({ outsideSid: 's4', creationDate: '+012026-01-01T00:00:00Z' }, NOW);
    expect(serialize(session.creationDate)).toBe('+012026-01-01T00:00:00Z');
  });

  it('gives null for an absent or unreadable date, and never calls such a session expired', () => {
    const session = toSession({ outsideSid: 's3', creationDate: 'soon', expirationDate: '' }, NOW);
    expect(session.creationDate).toBeNull();
    expect(session.expirationDate).toBeNull();
    expect(session.lastUsedAt).toBeNull();
    expect(session.expired).toBe(false);
  });
});
