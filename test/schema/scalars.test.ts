import { describe, expect, it } from 'vitest';

import { parseJanssenDate } from '../../src/janssen/query.js';
import { DateTimeScalar, formatInstant } from '../../src/schema/scalars.js';

describe('DateTime output', () => {
  it('writes UTC with a Z, milliseconds only when not zero', () => {
    expect(formatInstant(new Date(Date.UTC(2026, 10, 29, 8, 5, 3)))).toBe('2026-11-29T08:05:03Z');
    expect(formatInstant(new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 7)))).toBe('2026-01-02T03:04:05.007Z');
    expect(formatInstant(new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 250)))).toBe('2026-01-02T03:04:05.250Z');
  });

  it('agrees with toISOString for every four-digit year', () => {
    for (let i = 0; i < 5000; i += 1) {
      const date = new Date(
        Date.UTC(
          1000 + ((i * 7919) % 9000),
          i % 12,
          1 + (i % 28),
          i % 24,
          i % 60,
          (i * 13) % 60,
          i % 3 === 0 ? 0 : i % 1000,
        ),
      );
      const iso = date.toISOString();
      expect(formatInstant(date)).toBe(date.getUTCMilliseconds() === 0 ? `${iso.slice(0, 19)}Z` : iso);
    }
  });

  it('keeps the seconds of years outside 1000-9999', () => {
    const date = new Date(Date.UTC(2000, 0, 1));
    date.setUTCFullYear(10000);
    expect(formatInstant(date)).toBe('+010000-01-01T00:00:00Z');
  });

  it('refuses a non-date', () => {
    expect(() => DateTimeScalar.serialize('2026-01-01')).toThrow(/non-date/);
  });
});

describe('Janssen dates in', () => {
  it('reads the zone-less wire form as UTC, with or without fractions, T or space', () => {
    expect(parseJanssenDate('2026-11-25T08:43:37')?.toISOString()).toBe('2026-11-25T08:43:37.000Z');
    expect(parseJanssenDate('2026-11-25 08:43:37')?.toISOString()).toBe('2026-11-25T08:43:37.000Z');
    expect(parseJanssenDate('2026-11-25T08:43:37.123456')?.toISOString()).toBe('2026-11-25T08:43:37.123Z');
    expect(parseJanssenDate('2026-13-01T00:00:00')?.toISOString()).toBe('2027-01-01T00:00:00.000Z');
    expect(parseJanssenDate('')).toBeUndefined();
    expect(parseJanssenDate('not a date')).toBeUndefined();
  });
});
