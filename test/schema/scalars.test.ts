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
    expect(() => DateTimeScalar.serialize(1_700_000_000_000)).toThrow(/non-date/);
    expect(() => DateTimeScalar.serialize(new Date(Number.NaN))).toThrow(/non-date/);
  });

  it('passes through a string only when it is already a UTC instant in the output form', () => {
    expect(DateTimeScalar.serialize('2026-11-29T08:05:03Z')).toBe('2026-11-29T08:05:03Z');
    expect(DateTimeScalar.serialize('2026-11-29T08:05:03.250Z')).toBe('2026-11-29T08:05:03.250Z');
    for (const text of [
      '2026-01-01',
      '2026-11-29T08:05:03.25Z',
      '2026-11-29t08:05:03Z',
      '2026-11-29T08:05:0aZ',
      '2026-11-29T08:05:03',
      '2026-11-29T08:05:03+01:00',
      'yesterday',
      '',
    ]) {
      expect(() => DateTimeScalar.serialize(text), text).toThrow(/not a UTC instant/);
    }
  });
});

describe('Janssen dates read digit by digit', () => {
  const general = (value: string): number | undefined => {
    // The reading before the digit-by-digit path: V8's ISO parser, then Date.UTC with roll-over.
    const direct = new Date(`${value}Z`).getTime();
    if (!Number.isNaN(direct)) {
      return direct;
    }
    const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})$/.exec(value);
    return m ? Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!) : undefined;
  };

  it('agrees with the general reading on valid dates and on every out-of-range field', () => {
    const samples: string[] = [];
    for (let i = 0; i < 3000; i += 1) {
      samples.push(
        new Date(Date.UTC(1970 + (i % 80), i % 12, 1 + (i % 31), i % 24, i % 60, (i * 7) % 60))
          .toISOString()
          .slice(0, 19),
      );
    }
    samples.push(
      '2024-02-29T00:00:00', // leap day
      '2023-02-29T00:00:00', // no such day: rolls over to 1 March, as before
      '2100-02-29T12:00:00',
      '2000-02-29T12:00:00',
      '2026-04-31T00:00:00',
      '2026-12-31T23:59:59',
      '2026-01-01T24:00:00',
      '2026-01-01T23:59:60',
      '2026-00-10T00:00:00',
    );
    for (const value of samples) {
      expect(parseJanssenDate(value)?.getTime(), value).toBe(general(value));
    }
  });

  it('leaves other shapes to the general path', () => {
    expect(parseJanssenDate('2026-11-29 08:05:03')?.toISOString()).toBe('2026-11-29T08:05:03.000Z');
    expect(parseJanssenDate('2026-11-29T08:05:03.5')?.toISOString()).toBe('2026-11-29T08:05:03.500Z');
    expect(parseJanssenDate('0999-01-01T00:00:00')?.toISOString()).toBe('0999-01-01T00:00:00.000Z');
    expect(parseJanssenDate('2026-1a-29T08:05:03')).toBeUndefined();
    expect(parseJanssenDate('')).toBeUndefined();
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
