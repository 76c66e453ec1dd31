import { describe, expect, it } from 'vitest';

import {
  parseFieldValuePair,
  type SearchSessionOptions,
  SessionsClientError,
  toSessionsArguments,
} from '../../client/src/index.js';

/** The SessionsClientError thrown by `fn`. */
function refusal(fn: () => unknown): SessionsClientError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(SessionsClientError);
    return error as SessionsClientError;
  }
  throw new Error('expected a SessionsClientError');
}

describe('parseFieldValuePair', () => {
  it('maps the session-attribute fields, state and userDn (ANDed)', () => {
    expect(parseFieldValuePair('auth_user=admin,client_id=2000.abc,acr=basic,state=authenticated')).toEqual({
      authUser: 'admin',
      clientId: '2000.abc',
      acr: 'basic',
      state: 'AUTHENTICATED',
    });
    expect(parseFieldValuePair('userDn=b1175c2c-78c7')).toEqual({ userDn: 'b1175c2c-78c7' });
    expect(parseFieldValuePair('jansUsrDN=b1175c2c-78c7')).toEqual({ userDn: 'b1175c2c-78c7' });
    expect(parseFieldValuePair('state=UNAUTHENTICATED')).toEqual({ state: 'UNAUTHENTICATED' });
  });

  it('reads the issue’s example: zone-less dates are UTC, > and < are inclusive bounds', () => {
    expect(
      parseFieldValuePair(
        'auth_user=admin,client_id=abc,expirationDate>2026-01-01,expirationDate<2026-02-01 10:00:00,state=authenticated,userDn=1234',
      ),
    ).toEqual({
      authUser: 'admin',
      clientId: 'abc',
      state: 'AUTHENTICATED',
      userDn: '1234',
      expiresAfter: '2026-01-01T00:00:00.000Z',
      expiresBefore: '2026-02-01T10:00:00.000Z',
    });
  });

  it('treats >= like > and <= like <, as Janssen does', () => {
    expect(
      parseFieldValuePair('creationDate>=2026-01-01T08:00:00,creationDate<=2026-01-02T08:00:00.250'),
    ).toEqual({
      createdAfter: '2026-01-01T08:00:00.000Z',
      createdBefore: '2026-01-02T08:00:00.250Z',
    });
  });

  it('=YYYY-MM-DD is the whole UTC day; = with a time is that instant', () => {
    expect(parseFieldValuePair('authenticationTime=2026-02-28')).toEqual({
      authenticatedAfter: '2026-02-28T00:00:00.000Z',
      authenticatedBefore: '2026-02-28T23:59:59.999Z',
    });
    expect(parseFieldValuePair('lastUsedAt=2026-02-28 12:30:00')).toEqual({
      lastUsedAfter: '2026-02-28T12:30:00.000Z',
      lastUsedBefore: '2026-02-28T12:30:00.000Z',
    });
  });

  it('honours an explicit zone (Janssen would match nothing for Z and drop an offset)', () => {
    expect(
      parseFieldValuePair('expirationDate>2026-03-01T10:00:00+02:00,expirationDate<2026-03-02T10:00:00Z'),
    ).toEqual({ expiresAfter: '2026-03-01T08:00:00.000Z', expiresBefore: '2026-03-02T10:00:00.000Z' });
  });

  it('repeated bounds narrow the range', () => {
    expect(
      parseFieldValuePair(
        'expirationDate>2026-01-01,expirationDate>2026-01-05,expirationDate<2026-02-01,expirationDate=2026-01-20',
      ),
    ).toEqual({ expiresAfter: '2026-01-20T00:00:00.000Z', expiresBefore: '2026-01-20T23:59:59.999Z' });
  });

  it('ignores empty conditions and spaces around names and values', () => {
    expect(parseFieldValuePair(' auth_user = admin ,, state=authenticated,')).toEqual({
      authUser: 'admin',
      state: 'AUTHENTICATED',
    });
    expect(parseFieldValuePair('')).toEqual({});
  });

  it('refuses an unknown field, naming the supported ones', () => {
    const error = refusal(() => parseFieldValuePair('auth_user=admin,remote_ip=10.0.0.1'));
    expect(error).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'fieldValuePair',
      status: undefined,
      errors: [],
    });
    expect(error.message).toMatch(/"remote_ip"/);
    expect(error.message).toMatch(/auth_user, client_id, acr, userDn, jansUsrDN, state, expirationDate/);
  });

  it.each<[string, RegExp]>([
    ['admin', /not field=value/],
    ['auth_user=', /not field=value/],
    ['=admin', /not field=value/],
    ['auth_user>admin', /auth_user only takes =/],
    ['state<authenticated', /state only takes =/],
    ['state=active', /authenticated or unauthenticated/],
    ['expirationDate>2026-02-30', /not a date/],
    ['expirationDate>2026-01-01T25:00:00', /not a date/],
    ['expirationDate>tomorrow', /not a date/],
    ['auth_user=admin,auth_user=root', /two different values for authUser/],
  ])('refuses %j', (value, message) => {
    const error = refusal(() => parseFieldValuePair(value));
    expect(error.code).toBe('BAD_USER_INPUT');
    expect(error.message).toMatch(message);
  });

  it('accepts the same string value twice', () => {
    expect(parseFieldValuePair('auth_user=admin,auth_user=admin')).toEqual({ authUser: 'admin' });
  });
});

describe('toSessionsArguments (searchSession options)', () => {
  it('defaults to Janssen’s first page of 50, unsorted and unfiltered', () => {
    expect(toSessionsArguments()).toEqual({ page: { limit: 50, offset: 0 } });
    expect(toSessionsArguments({ pattern: '  ' })).toEqual({ page: { limit: 50, offset: 0 } });
  });

  it('maps limit, startIndex, pattern and fieldValuePair together', () => {
    expect(
      toSessionsArguments({
        limit: 20,
        startIndex: 40,
        pattern: 'alice',
        fieldValuePair: 'state=authenticated',
      }),
    ).toEqual({ page: { limit: 20, offset: 40 }, filter: { state: 'AUTHENTICATED', search: 'alice' } });
  });

  it.each([
    ['creationDate', 'CREATION_DATE'],
    ['exp', 'EXPIRATION_DATE'],
    ['expirationDate', 'EXPIRATION_DATE'],
    ['jansLastAccessTime', 'LAST_USED_AT'],
    ['lastUsedAt', 'LAST_USED_AT'],
    ['authnTime', 'AUTHENTICATION_TIME'],
    ['authenticationTime', 'AUTHENTICATION_TIME'],
    ['jansUsrDN', 'USER_DN'],
    ['userDn', 'USER_DN'],
    ['jansState', 'STATE'],
    ['state', 'STATE'],
  ] as const)('sortBy %s sorts by %s', (sortBy, field) => {
    expect(toSessionsArguments({ sortBy }).sort).toEqual({ field, order: 'ASC' });
    expect(toSessionsArguments({ sortBy, sortOrder: 'descending' }).sort).toEqual({ field, order: 'DESC' });
  });

  it('sortBy jansId (Janssen’s default) sends no sort', () => {
    expect(toSessionsArguments({ sortBy: 'jansId', sortOrder: 'ascending' }).sort).toBeUndefined();
  });

  it.each<[SearchSessionOptions, string, RegExp]>([
    [{ pattern: 'alice,bob' }, 'pattern', /comma-separated list/],
    [{ limit: 0 }, 'limit', /no limit/],
    [{ limit: 2.5 }, 'limit', /whole number/],
    [{ startIndex: -1 }, 'startIndex', /from 0/],
    [{ sortOrder: 'descending' }, 'sortOrder', /needs a sortBy/],
    [{ sortBy: 'jansId', sortOrder: 'descending' }, 'sortOrder', /needs a sortBy/],
    [{ sortBy: 'sid' as never }, 'sortBy', /must be one of/],
    [{ sortBy: 'exp', sortOrder: 'down' as never }, 'sortOrder', /"ascending" or "descending"/],
  ])('refuses %j', (options, field, message) => {
    const error = refusal(() => toSessionsArguments(options));
    expect(error).toMatchObject({ code: 'BAD_USER_INPUT', field });
    expect(error.message).toMatch(message);
  });
});
