import { describe, expect, it } from 'vitest';

import { InvalidInputError } from '../../src/janssen/errors.js';
import {
  buildSearchParams,
  checkSid,
  formatJanssenDate,
  parseJanssenDate,
  plainDn,
  searchShows,
  SORT_COLUMNS,
  toUserKeys,
} from '../../src/janssen/query.js';

const PEOPLE = 'ou=people,o=jans';
const limits = { maxPageSize: 200, peopleBaseDn: PEOPLE };
const page = { limit: 20, offset: 0 };
const at = (iso: string) => new Date(iso);

function refusal(fn: () => unknown): InvalidInputError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidInputError);
    return error as InvalidInputError;
  }
  throw new Error('expected an InvalidInputError');
}

describe('buildSearchParams: page', () => {
  it('sends limit and a 0-based startIndex as given', () => {
    expect(buildSearchParams(null, null, { limit: 7, offset: 14 }, limits)).toEqual({
      limit: 7,
      startIndex: 14,
    });
  });

  it.each([0, -1, 201, 1.5])('refuses limit %s (0 means unlimited upstream, over max is a 400)', (limit) => {
    const error = refusal(() => buildSearchParams(null, null, { limit, offset: 0 }, limits));
    expect(error.field).toBe('page.limit');
    expect(error.message).toContain('between 1 and 200');
  });

  it('follows the configured upstream maximum', () => {
    expect(
      buildSearchParams(null, null, { limit: 500, offset: 0 }, { maxPageSize: 500, peopleBaseDn: PEOPLE })
        .limit,
    ).toBe(500);
    expect(
      refusal(() =>
        buildSearchParams(null, null, { limit: 51, offset: 0 }, { maxPageSize: 50, peopleBaseDn: PEOPLE }),
      ).field,
    ).toBe('page.limit');
  });

  it('refuses a negative offset (a 500 upstream)', () => {
    expect(refusal(() => buildSearchParams(null, null, { limit: 1, offset: -1 }, limits)).field).toBe(
      'page.offset',
    );
  });
});

describe('buildSearchParams: filter fields become fieldValuePair tokens', () => {
  it.each([
    [{ userDn: 'inum=abc-123,ou=people,o=jans' }, 'userDn=abc-123'],
    [{ userDn: 'abc-123' }, 'userDn=abc-123'],
    [{ state: 'authenticated' as const }, 'state=authenticated'],
    [{ state: 'unauthenticated' as const }, 'state=unauthenticated'],
    [{ clientId: '2000.8f3a' }, 'client_id=2000.8f3a'],
    [{ authUser: 'admin' }, 'auth_user=admin'],
    [{ acr: 'agama_io.jans.password' }, 'acr=agama_io.jans.password'],
    [{ expiresAfter: at('2026-11-29T10:15:00Z') }, 'expirationDate>2026-11-29T10:15:00'],
    [{ expiresBefore: at('2026-11-29T10:15:00Z') }, 'expirationDate<2026-11-29T10:15:00'],
    [{ createdAfter: at('2026-01-02T03:04:05Z') }, 'creationDate>2026-01-02T03:04:05'],
    [{ createdBefore: at('2026-01-02T03:04:05Z') }, 'creationDate<2026-01-02T03:04:05'],
    [{ authenticatedAfter: at('2026-01-02T03:04:05Z') }, 'authenticationTime>2026-01-02T03:04:05'],
    [{ authenticatedBefore: at('2026-01-02T03:04:05Z') }, 'authenticationTime<2026-01-02T03:04:05'],
    [{ lastUsedAfter: at('2026-01-02T03:04:05Z') }, 'lastUsedAt>2026-01-02T03:04:05'],
    [{ lastUsedBefore: at('2026-01-02T03:04:05Z') }, 'lastUsedAt<2026-01-02T03:04:05'],
  ])('%o -> %s', (filter, pair) => {
    const params = buildSearchParams(filter, null, page, limits);
    expect(params.fieldValuePair).toBe(pair);
    expect(params.pattern).toBeUndefined();
  });

  it('writes dates in UTC with no zone, whatever offset the caller used', () => {
    const params = buildSearchParams({ createdAfter: at('2026-11-29T12:15:00+02:00') }, null, page, limits);
    expect(params.fieldValuePair).toBe('creationDate>2026-11-29T10:15:00');
    expect(params.fieldValuePair).not.toMatch(/Z|\+/);
  });

  it('keeps milliseconds when the caller gave them (an accepted upstream format)', () => {
    expect(
      buildSearchParams({ expiresAfter: at('2026-11-29T10:15:00.250Z') }, null, page, limits).fieldValuePair,
    ).toBe('expirationDate>2026-11-29T10:15:00.250');
  });

  it('ANDs several fields with commas, and a range uses the same field twice', () => {
    const params = buildSearchParams(
      {
        state: 'authenticated',
        clientId: 'c1',
        expiresAfter: at('2026-01-01T00:00:00Z'),
        expiresBefore: at('2026-02-01T00:00:00Z'),
      },
      null,
      page,
      limits,
    );
    expect(params.fieldValuePair?.split(',')).toEqual([
      'state=authenticated',
      'client_id=c1',
      'expirationDate>2026-01-01T00:00:00',
      'expirationDate<2026-02-01T00:00:00',
    ]);
  });

  it('sends search as pattern, and nothing for an empty filter', () => {
    expect(buildSearchParams({ search: 'admin' }, null, page, limits)).toEqual({
      ...{ limit: 20, startIndex: 0 },
      pattern: 'admin',
    });
    expect(buildSearchParams({}, null, page, limits)).toEqual({ limit: 20, startIndex: 0 });
  });

  it.each([
    ['clientId', 'a,b'],
    ['clientId', 'a=b'],
    ['authUser', 'x<y'],
    ['acr', 'x>y'],
    ['authUser', ''],
    ['clientId', 'line\nbreak'],
    ['acr', 'x'.repeat(257)],
  ] as const)('refuses %s = %j before any call', (field, value) => {
    const error = refusal(() => buildSearchParams({ [field]: value }, null, page, limits));
    expect(error.field).toBe(`filter.${field}`);
  });

  it.each(['a,b', '100%', 'a_b', '', '\u0000', ' ', '   ', '\t', '\u00a0', '\u3000', 'a\\b', '\\', 'x\\'])(
    'refuses search %j (comma list, wildcards, escape, empty or blank)',
    (search) => {
      expect(refusal(() => buildSearchParams({ search }, null, page, limits)).field).toBe('filter.search');
    },
  );

  it.each([
    'inum=a=b,ou=people,o=jans',
    'cn=admin,ou=people,o=jans',
    'inum=abc/../x,ou=people,o=jans',
    'inum=,ou=people',
    'not an inum',
    '../etc',
    '',
    'inum=a\t,ou=people,o=jans',
    'inum=a,ou=people,o=jans\n',
    '\ninum=a,ou=people,o=jans',
    'abc\r',
  ])('refuses userDn %j', (userDn) => {
    expect(refusal(() => buildSearchParams({ userDn }, null, page, limits)).field).toBe('filter.userDn');
  });

  it('refuses an after bound later than its before bound', () => {
    const error = refusal(() =>
      buildSearchParams(
        { createdAfter: at('2026-02-01T00:00:00Z'), createdBefore: at('2026-01-01T00:00:00Z') },
        null,
        page,
        limits,
      ),
    );
    expect(error.field).toBe('filter.createdAfter');
  });
});

describe('buildSearchParams: sort', () => {
  it.each(Object.entries(SORT_COLUMNS))('%s sorts by the database column %s', (field, column) => {
    const params = buildSearchParams(
      null,
      { field: field as keyof typeof SORT_COLUMNS, order: 'ASC' },
      page,
      limits,
    );
    expect(params.sortBy).toBe(column);
    expect(params.sortOrder).toBe('ascending');
  });

  it('sends exactly "descending" for DESC', () => {
    expect(buildSearchParams(null, { field: 'EXPIRATION_DATE', order: 'DESC' }, page, limits)).toMatchObject({
      sortBy: 'exp',
      sortOrder: 'descending',
    });
  });

  it('never sends a JSON property name as sortBy', () => {
    expect(Object.values(SORT_COLUMNS)).not.toContain('expirationDate');
    expect(Object.values(SORT_COLUMNS)).not.toContain('lastUsedAt');
  });
});

describe('user and session identifiers', () => {
  it('turns a bare inum into the full DN for revoke, and a DN into its inum', () => {
    expect(toUserKeys('abc-1', PEOPLE, 'userDn')).toEqual({
      userDn: 'inum=abc-1,ou=people,o=jans',
      inum: 'abc-1',
    });
    expect(toUserKeys('inum=abc-1,ou=people,o=jans', PEOPLE, 'f')).toEqual({
      userDn: 'inum=abc-1,ou=people,o=jans',
      inum: 'abc-1',
    });
  });

  it.each([
    'INUM=abc-1,OU=People,O=JANS',
    ' inum = abc-1 , ou = people , o = jans ',
    'inum=abc-1,  ou=people,o=jans',
  ])('reads %j as the people DN: names and base values in any case, spaces around , and =', (dn) => {
    expect(toUserKeys(dn, PEOPLE, 'f')).toEqual({ userDn: 'inum=abc-1,ou=people,o=jans', inum: 'abc-1' });
  });

  it('keeps the inum as spelled and the base as configured', () => {
    expect(toUserKeys('inum=ABC-1,OU=STAFF,o=Corp', 'ou=staff,o=corp', 'f')).toEqual({
      userDn: 'inum=ABC-1,ou=staff,o=corp',
      inum: 'ABC-1',
    });
  });

  it.each([
    'inum=abc-1,ou=admins,o=othercorp',
    'INUM=abc-1,dc=x',
    'inum=abc-1',
    'inum=abc-1,ou=people',
    'inum=abc-1,ou=people,o=jans,dc=x',
    'inum=abc-1,o=jans,ou=people',
    'inum=abc-1,ou=peo ple,o=jans',
  ])('refuses %j, which is not under the people base, naming the base', (dn) => {
    const error = refusal(() => toUserKeys(dn, PEOPLE, 'filter.userDn'));
    expect(error.field).toBe('filter.userDn');
    expect(error.message).toBe(
      'filter.userDn: must be a DN under the people base ou=people,o=jans (or a bare inum)',
    );
  });

  it('a filter by a DN sends only its inum, which Janssen places under the people base', () => {
    expect(
      buildSearchParams({ userDn: 'inum=abc-1,OU=people,o=jans' }, null, page, limits).fieldValuePair,
    ).toBe('userDn=abc-1');
    expect(
      refusal(() => buildSearchParams({ userDn: 'inum=abc-1,ou=admins,o=othercorp' }, null, page, limits))
        .field,
    ).toBe('filter.userDn');
  });

  it.each(['inum=abc-1\t,ou=people,o=jans', 'inum=abc-1,ou=people,o=jans\n', 'abc-1\r\n', '\u0000abc-1'])(
    'refuses a DN or inum with control characters (%j) instead of trimming it into another',
    (dn) => {
      expect(() => toUserKeys(dn, PEOPLE, 'userDn')).toThrow(/cannot contain control characters/);
    },
  );

  it('plainDn writes a DN without spaces around , and =, and refuses escapes and multi-valued RDNs', () => {
    expect(plainDn(' ou = people , o=jans')).toBe('ou=people,o=jans');
    expect(plainDn('ou=People,o=Jans')).toBe('ou=People,o=Jans');
    for (const dn of ['ou=a\\,b,o=jans', 'ou=a+cn=b,o=jans', 'people', 'ou=,o=jans', '=x', 'ou=a,,o=jans']) {
      expect(plainDn(dn)).toBeUndefined();
    }
  });

  it.each(['..', '.', 'a/b', 'a%2Fb', '', 'x'.repeat(129), 'a b', 'a?b', '-a', '_a', '~a', '...a'])(
    'refuses sid %j, saying what a sid is',
    (sid) => {
      expect(() => checkSid(sid)).toThrow(InvalidInputError);
      expect(() => checkSid(sid)).toThrow(/starting with a letter or digit/);
    },
  );

  it('accepts UUID sids', () => {
    expect(checkSid('b5673b54-3e9a-4546-8084-1293a13f2135')).toBe('b5673b54-3e9a-4546-8084-1293a13f2135');
  });
});

describe('Janssen dates', () => {
  it('reads zone-less upstream dates as UTC', () => {
    expect(parseJanssenDate('2025-01-23T07:26:51')?.toISOString()).toBe('2025-01-23T07:26:51.000Z');
    expect(parseJanssenDate(undefined)).toBeUndefined();
    expect(parseJanssenDate('garbage')).toBeUndefined();
  });

  it('formats dates without a zone designator', () => {
    expect(formatJanssenDate(at('2025-01-23T07:26:51Z'))).toBe('2025-01-23T07:26:51');
  });
});

describe('searchShows: where a search text shows in what the API returns', () => {
  const session = {
    outsideSid: 'a1b2c3d4-0000-4000-8000-000000000001',
    userDn: 'inum=77aa-bb,ou=people,o=jans',
    sessionAttributes: { acr: 'basic', redirect_uri: 'https://rp.example/cb' },
    permissionGrantedMap: { permissionGranted: { '2000.c1ie-nt': true } },
  };

  it.each(['a1b2c3d4', '77aa-bb', 'ou=people', 'redirect_uri', 'rp.example', 'acr', '2000.c1ie'])(
    'finds %j',
    (text) => {
      expect(searchShows(session, text)).toBe(true);
    },
  );

  it.each([
    ['case-sensitively', 'A1B2C3D4'],
    ['not in the JSON punctuation Janssen searches', '"acr":"basic'],
    ['not in consent values', 'true'],
    ['not in the consents key Janssen stores', 'permissionGranted'],
    ['not in anything else', 'f5fb049e'],
  ])('does not find text %s (%j)', (_name, text) => {
    expect(searchShows(session, text)).toBe(false);
  });

  it('takes a session with no user, attributes or consents', () => {
    expect(searchShows({ outsideSid: 'abc' }, 'b')).toBe(true);
    expect(searchShows({ outsideSid: 'abc' }, 'x')).toBe(false);
  });
});
