import { describe, expect, it } from 'vitest';

import {
  jsonbText,
  likeToRegExp,
  parseFieldValuePair,
  parseFilterDate,
  SearchError,
  searchSessions,
  tokenize,
} from '../../src/emulator/search.js';
import { createSessionRecord } from '../../src/emulator/session-store.js';

const utc = (iso: string) => Date.parse(`${iso}Z`);

describe('Util.getTokens (§3.3)', () => {
  it('blank is [""], no comma is the whole string, otherwise StringTokenizer without trimming', () => {
    expect(tokenize('')).toEqual(['']);
    expect(tokenize('  ')).toEqual(['']);
    expect(tokenize(' a b ')).toEqual([' a b ']);
    expect(tokenize('a,,b, c,')).toEqual(['a', 'b', ' c']);
    expect(tokenize(',,')).toEqual([]);
  });
});

describe('fieldValuePair parsing (§3.5)', () => {
  it('maps JSON property names to columns and keeps the Java type', () => {
    expect(parseFieldValuePair('expirationDate>2026-01-01')).toEqual([
      { field: 'exp', operator: '>', value: '2026-01-01', type: 'Date' },
    ]);
    expect(parseFieldValuePair('deletable=true,outsideSid=s,lastUsedAt<x,authenticationTime>=y')).toEqual([
      { field: 'del', operator: '=', value: 'true', type: 'Boolean' },
      { field: 'sid', operator: '=', value: 's', type: 'String' },
      { field: 'jansLastAccessTime', operator: '<', value: 'x', type: 'Date' },
      { field: 'authnTime', operator: '>=', value: 'y', type: 'Date' },
    ]);
  });

  it('column names pass through untyped', () => {
    expect(parseFieldValuePair('exp>x')).toEqual([{ field: 'exp', operator: '>', value: 'x', type: null }]);
  });

  it('later operators overwrite earlier ones: <= and >= win, a=b>c becomes field "a=b"', () => {
    expect(parseFieldValuePair('a<=b')[0]).toMatchObject({ field: 'a', operator: '<=', value: 'b' });
    expect(parseFieldValuePair('a>=b')[0]).toMatchObject({ field: 'a', operator: '>=', value: 'b' });
    expect(parseFieldValuePair('a=b>c')[0]).toMatchObject({ field: 'a=b', operator: '>', value: 'c' });
  });

  it('only parts[1] of the split survives, a trailing operator leaves null, no operator leaves a null entry', () => {
    expect(parseFieldValuePair('scope=a=b')[0]).toMatchObject({ field: 'jansSessAttr.scope', value: 'a' });
    expect(parseFieldValuePair('acr=')[0]).toMatchObject({ field: 'jansSessAttr.acr', value: null });
    expect(parseFieldValuePair('acr')).toEqual([null]);
    expect(parseFieldValuePair('=')).toEqual([null]);
  });

  it('userDn/jansUsrDN values become people DNs, even when empty', () => {
    expect(parseFieldValuePair('userDn=abc')[0]?.value).toBe('inum=abc,ou=people,o=jans');
    expect(parseFieldValuePair('jansUsrDN=abc')[0]?.value).toBe('inum=abc,ou=people,o=jans');
    expect(parseFieldValuePair('userDn=')[0]?.value).toBe('ou=people,o=jans');
  });

  it('only the seven searchable attribute keys become JSON paths', () => {
    const fields = parseFieldValuePair(
      'acr=1,scope=1,auth_user=1,client_id=1,acr_values=1,redirect_uri=1,response_type=1,remote_ip=1',
    ).map((f) => f?.field);
    expect(fields).toEqual([
      'jansSessAttr.acr',
      'jansSessAttr.scope',
      'jansSessAttr.auth_user',
      'jansSessAttr.client_id',
      'jansSessAttr.acr_values',
      'jansSessAttr.redirect_uri',
      'jansSessAttr.response_type',
      'remote_ip',
    ]);
  });

  it('blank input and blank tokens yield no filters', () => {
    expect(parseFieldValuePair('')).toEqual([]);
    expect(parseFieldValuePair(' ')).toEqual([]);
    expect(parseFieldValuePair('a=1, ,')).toHaveLength(1);
  });
});

describe('DataUtil.getIso8601Date (§3.5)', () => {
  it('parses the six accepted formats as UTC', () => {
    expect(parseFilterDate('2026-07-01')).toBe(utc('2026-07-01T00:00:00'));
    expect(parseFilterDate('2026-07-01 10:11:12')).toBe(utc('2026-07-01T10:11:12'));
    expect(parseFilterDate('2026-07-01 10:11:12.345')).toBe(utc('2026-07-01T10:11:12.345'));
    expect(parseFilterDate('2026-07-01T10:11:12')).toBe(utc('2026-07-01T10:11:12'));
    expect(parseFilterDate('2026-07-01T10:11:12.345')).toBe(utc('2026-07-01T10:11:12.345'));
    expect(parseFilterDate('2026-07-01T10:11:12.345+02:00')).toBe(utc('2026-07-01T10:11:12.345'));
  });

  it('fails (null) on Z, missing millis before an offset, wrong lengths and invalid fields', () => {
    for (const value of [
      '2026-07-01T10:11:12Z',
      '2026-07-01T10:11:12.345Z',
      '2026-07-01T10:11:12+02:00',
      '2026-07-01 10:11',
      '2026-07-01T10:11:12.3',
      '2026-7-1',
      '2026-13-01',
      '2026-07-32',
      '2026-07-01 25:00:00',
      '2026-07-01 10:60:00',
      '2026-07-01X10:11:12',
      'not a date',
      '',
      null,
    ]) {
      expect(parseFilterDate(value), String(value)).toBeNull();
    }
  });

  it('resolves like ResolverStyle.SMART: day 29-31 clamps to the month end, 24:00:00 is the next midnight', () => {
    expect(parseFilterDate('2026-02-30')).toBe(utc('2026-02-28T00:00:00'));
    expect(parseFilterDate('2028-02-30')).toBe(utc('2028-02-29T00:00:00'));
    expect(parseFilterDate('2026-04-31 08:00:00')).toBe(utc('2026-04-30T08:00:00'));
    expect(parseFilterDate('2026-07-01 24:00:00')).toBe(utc('2026-07-02T00:00:00'));
    expect(parseFilterDate('2026-07-01 24:00:01')).toBeNull();
  });
});

describe('LIKE and jsonb text (§3.3)', () => {
  it('translates % and _ and honours the backslash escape, case-sensitively', () => {
    expect(likeToRegExp('%a_c%').test('xxabcxx')).toBe(true);
    expect(likeToRegExp('%a_c%').test('xxac')).toBe(false);
    expect(likeToRegExp('%a\\_c%').test('a_c')).toBe(true);
    expect(likeToRegExp('%a\\_c%').test('abc')).toBe(false);
    expect(likeToRegExp('%A%').test('a')).toBe(false);
    expect(likeToRegExp('%.*(%').test('x.*(y')).toBe(true);
    expect(likeToRegExp('%\n%').test('a\nb')).toBe(true);
  });

  it('prints jsonb with keys by length then bytes and spaced separators', () => {
    expect(jsonbText({ scope: 'openid', acr: 'basic', sid: 'x', a: [1, 'b'] })).toBe(
      '{"a": [1, "b"], "acr": "basic", "sid": "x", "scope": "openid"}',
    );
    expect(jsonbText({ permissionGranted: { c1: true } })).toBe('{"permissionGranted": {"c1": true}}');
  });
});

describe('searchSessions errors', () => {
  const records = [createSessionRecord()];
  const query = {
    limit: 50,
    startIndex: 0,
    pattern: '',
    sortBy: 'jansId',
    sortOrder: '',
    fieldValuePair: '',
    maxCount: 200,
  };

  it('limit above maxCount is checked first (400), then 500s', () => {
    const error = (() => {
      try {
        searchSessions(records, { ...query, limit: 201, sortBy: 'nope', startIndex: -1 });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(SearchError);
    expect(error).toMatchObject({ status: 400, message: 'Maximum number of results per page is 200' });
  });

  it('bad sortBy, negative startIndex, null filter entries and unknown columns are 500s', () => {
    for (const bad of [
      { sortBy: 'x' },
      { startIndex: -1 },
      { fieldValuePair: 'acr' },
      { fieldValuePair: 'x=1' },
    ]) {
      expect(() => searchSessions(records, { ...query, ...bad }), JSON.stringify(bad)).toThrow(
        expect.objectContaining({ status: 500 }),
      );
    }
  });

  it('an empty sortBy falls back to jansId', () => {
    expect(searchSessions(records, { ...query, sortBy: '' }).entries).toHaveLength(1);
  });
});
