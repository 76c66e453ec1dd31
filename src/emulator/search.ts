import { PatternCorpus } from './pattern-corpus.js';
import { memoOf, PATTERN_SEPARATOR, type RecordMemo } from './record-memo.js';
import { type SessionRecord, sessionDn, userDnForInum } from './session-store.js';

/**
 * A failure the real server reports with a status code: 400 ApiError (`limit > maxCount`) or an opaque 500
 * (SQL error, NPE, QueryDSL argument check), UPSTREAM-BEHAVIOUR.md §5.2.
 */
export class SearchError extends Error {
  constructor(
    readonly status: 400 | 500,
    message: string,
  ) {
    super(message);
    this.name = 'SearchError';
  }
}

/** The parameters `SessionResource.searchSessionEntries` hands to `createSearchRequest`, already converted to ints. */
export interface SearchQuery {
  limit: number;
  startIndex: number;
  pattern: string;
  sortBy: string;
  sortOrder: string;
  fieldValuePair: string;
  maxCount: number;
}

/** A `PagedResult<SessionId>` before serialization. */
export interface SearchPage {
  start: number;
  totalEntriesCount: number;
  entries: SessionRecord[];
}

/** The `jansSessId` objectClass attributes (§3.4), all usable in ORDER BY. */
export const SESSION_COLUMNS = [
  'jansId',
  'sid',
  'creationDate',
  'exp',
  'del',
  'jansLastAccessTime',
  'jansUsrDN',
  'authnTime',
  'jansState',
  'jansSessState',
  'jansPermissionGranted',
  'jansAsJwt',
  'jansJwt',
  'jansPermissionGrantedMap',
  'jansInvolvedClnts',
  'deviceSecret',
  'jansSessAttr',
  'jansAttrs',
] as const;

type Column = (typeof SESSION_COLUMNS)[number];

const COLUMN_SET: ReadonlySet<string> = new Set(SESSION_COLUMNS);

/** Keys of `jansSessAttr` that `SessionService.modifyFilter` turns into JSON paths (§3.5 step 4). */
export const SEARCHABLE_SESSION_ATTRIBUTES: readonly string[] = [
  'acr',
  'scope',
  'auth_user',
  'client_id',
  'acr_values',
  'redirect_uri',
  'response_type',
];

/** `fieldValuePair` operator signs, in the order `createSearchRequest` passes them (§3.1, §3.5 step 2). */
export const FILTER_OPERATORS = ['=', '<', '<=', '>', '>='] as const;

/** One of {@link FILTER_OPERATORS}. */
export type FilterOperator = (typeof FILTER_OPERATORS)[number];

/**
 * `SessionId` Java fields: the DB column from `@AttributeName` (fields without one keep their name) and the
 * field's simple type name, which `Util.getFieldDataType` looks up by the *Java* name (§3.5 step 3).
 */
const JAVA_FIELDS: Readonly<Record<string, { column: string; type: string }>> = {
  dn: { column: 'dn', type: 'String' },
  id: { column: 'jansId', type: 'String' },
  outsideSid: { column: 'sid', type: 'String' },
  lastUsedAt: { column: 'jansLastAccessTime', type: 'Date' },
  userDn: { column: 'jansUsrDN', type: 'String' },
  authenticationTime: { column: 'authnTime', type: 'Date' },
  state: { column: 'jansState', type: 'SessionIdState' },
  sessionState: { column: 'jansSessState', type: 'String' },
  permissionGranted: { column: 'jansPermissionGranted', type: 'Boolean' },
  permissionGrantedMap: { column: 'jansPermissionGrantedMap', type: 'SessionIdAccessMap' },
  sessionAttributes: { column: 'jansSessAttr', type: 'Map' },
  predefinedAttributes: { column: 'jansAttrs', type: 'SessionIdPredefinedAttributes' },
  deviceSecrets: { column: 'deviceSecret', type: 'List' },
  expirationDate: { column: 'exp', type: 'Date' },
  deletable: { column: 'del', type: 'Boolean' },
  creationDate: { column: 'creationDate', type: 'Date' },
  persisted: { column: 'persisted', type: 'boolean' },
  user: { column: 'user', type: 'User' },
  ttl: { column: 'ttl', type: 'int' },
};

/** A parsed `fieldValuePair` token (`io.jans.model.FieldFilterData`), after `modifyFilter`. */
export interface FieldFilter {
  /** DB column, or `jansSessAttr.<key>` for the searchable session attributes. */
  field: string;
  operator: FilterOperator;
  /** `null` when the token ends with its operator (`a=`): Java's `split` drops trailing empty parts. */
  value: string | null;
  /** Java simple type name, or `null` when the name is not a `SessionId` field. */
  type: string | null;
}

/** Java's `String.split(literal)`: trailing empty strings removed, and no match at all yields `[s]`. */
function javaSplit(s: string, separator: string): string[] {
  const parts = s.split(separator);
  while (parts.length > 0 && parts[parts.length - 1] === '') {
    parts.pop();
  }
  return parts;
}

/** Java's `StringUtils.isBlank`: empty or whitespace only. */
function isBlank(s: string): boolean {
  return s.trim() === '';
}

/**
 * `Util.getTokens(str, ",")` (§3.3): blank -> `[""]`; no comma -> `[str]`; else `StringTokenizer`, which drops
 * empty tokens and does not trim.
 */
export function tokenize(str: string): string[] {
  if (isBlank(str)) {
    return [''];
  }
  if (!str.includes(',')) {
    return [str];
  }
  return str.split(',').filter((token) => token !== '');
}

/**
 * `Util.getFieldValueList` + `getFieldFilterData` + `SessionService.modifyFilter` (§3.5 steps 1-4).
 * A `null` element is a token without any operator, which later fails with a NullPointerException.
 */
export function parseFieldValuePair(str: string): (FieldFilter | null)[] {
  if (isBlank(str)) {
    return [];
  }
  const filters: (FieldFilter | null)[] = [];
  for (const token of tokenize(str)) {
    if (isBlank(token)) {
      continue;
    }
    let filter: FieldFilter | null = null;
    // Every contained sign re-splits the whole token and overwrites the previous result; only parts[1] is kept.
    for (const operator of FILTER_OPERATORS) {
      if (!token.includes(operator)) {
        continue;
      }
      const parts = javaSplit(token, operator);
      const name = parts[0];
      if (name === undefined) {
        continue;
      }
      const javaField = Object.hasOwn(JAVA_FIELDS, name) ? JAVA_FIELDS[name] : undefined;
      filter = {
        field: javaField?.column ?? name,
        operator,
        value: parts[1] ?? null,
        type: isBlank(name) ? 'String' : (javaField?.type ?? null),
      };
    }
    if (filter !== null) {
      if (filter.field.toLowerCase() === 'jansusrdn') {
        filter.value = userDnForInum(filter.value);
      } else if (SEARCHABLE_SESSION_ATTRIBUTES.includes(filter.field)) {
        filter.field = `jansSessAttr.${filter.field}`;
      }
    }
    filters.push(filter);
  }
  return filters;
}

const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{3}))?$/;
const DATE_TIME_OFFSET = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.(\d{3})([+-])(\d{2}):(\d{2})$/;

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

function localDateTime(m: RegExpExecArray): number | null {
  const [year, month, day, hour = 0, minute = 0, second = 0, millis = 0] = m
    .slice(1, 8)
    .map((part) => (part === undefined ? undefined : Number(part)));
  if (year === undefined || month === undefined || day === undefined) {
    return null;
  }
  if (month < 1 || month > 12 || day < 1 || day > 31 || minute > 59 || second > 59) {
    return null;
  }
  // ResolverStyle.SMART: 24:00:00 is the next midnight, day 29-31 is clamped to the month's last day.
  if (hour > 24 || (hour === 24 && (minute !== 0 || second !== 0 || millis !== 0))) {
    return null;
  }
  const clampedDay = Math.min(day, daysInMonth(year, month));
  return Date.UTC(year, month - 1, clampedDay, hour, minute, second, millis);
}

/**
 * `DataUtil.getIso8601Date(value, null)` (§3.5 step 5): picks a pattern by length and by the presence of
 * `T`/`Z`, parses a zone-less `LocalDateTime` (read here as UTC) and returns epoch millis, or `null` on any
 * failure. Anything containing `Z` fails, an explicit `+hh:mm` offset is parsed and discarded.
 */
export function parseFilterDate(value: string | null): number | null {
  if (value === null || isBlank(value)) {
    return null;
  }
  const hasT = value.includes('T');
  if (hasT && value.indexOf('Z') <= 0) {
    if (value.length === 19 || value.length === 23) {
      const m = DATE_TIME.exec(value);
      return m && value.charAt(10) === 'T' && (value.length === 23) === (m[7] !== undefined)
        ? localDateTime(m)
        : null;
    }
    if (value.length > 23) {
      const m = DATE_TIME_OFFSET.exec(value);
      if (!m || Number(m[9]) > 18 || Number(m[10]) > 59) {
        return null;
      }
      return localDateTime(m);
    }
    return null;
  }
  if (hasT) {
    // Mapped to patterns ending in the `Z` offset letter, which cannot parse a literal "Z".
    return null;
  }
  if (value.length === 10) {
    const m = DATE_ONLY.exec(value);
    return m ? localDateTime(m) : null;
  }
  if (value.length === 19 || value.length === 23) {
    const m = DATE_TIME.exec(value);
    return m && value.charAt(10) === ' ' && (value.length === 23) === (m[7] !== undefined)
      ? localDateTime(m)
      : null;
  }
  return null;
}

/**
 * PostgreSQL `LIKE` with the default `\` escape: `%` is any run, `_` any one character, matching is
 * case-sensitive over the whole string.
 */
export function likeToRegExp(likePattern: string): RegExp {
  let source = '';
  for (let i = 0; i < likePattern.length; i++) {
    const ch = likePattern.charAt(i);
    if (ch === '\\') {
      i++;
      if (i >= likePattern.length) {
        throw new SearchError(500, 'ERROR: LIKE pattern must not end with escape character');
      }
      source += escapeRegExp(likePattern.charAt(i));
    } else if (ch === '%') {
      source += '.*';
    } else if (ch === '_') {
      source += '.';
    } else {
      source += escapeRegExp(ch);
    }
  }
  return new RegExp(`^${source}$`, 'su');
}

function escapeRegExp(ch: string): string {
  return ch.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
}

/**
 * The text PostgreSQL prints for a `jsonb` value: object keys ordered by length then bytes, `": "` and `", "`
 * separators. It is what `LIKE` sees on the JSON columns (§3.3).
 */
export function jsonbText(value: unknown): string {
  if (Array.isArray(value)) {
    return `[${value.map((item) => jsonbText(item)).join(', ')}]`;
  }
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value).sort((a, b) => {
      const byLength = Buffer.byteLength(a) - Buffer.byteLength(b);
      return byLength !== 0 ? byLength : Buffer.compare(Buffer.from(a), Buffer.from(b));
    });
    const members = keys.map(
      (key) => `${JSON.stringify(key)}: ${jsonbText((value as Record<string, unknown>)[key])}`,
    );
    return `{${members.join(', ')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * The database value of a column (`null` = SQL NULL); JSON columns as their `jsonb` text, taken from (and kept in)
 * `memo` when one is given.
 */
function columnValue(
  record: SessionRecord,
  column: Column,
  memo?: RecordMemo,
): string | number | boolean | null {
  switch (column) {
    case 'jansId':
    case 'sid':
    case 'jansState':
      return record[column];
    case 'jansUsrDN':
    case 'jansSessState':
      return record[column] ?? null;
    case 'creationDate':
    case 'exp':
    case 'jansLastAccessTime':
      return record[column].getTime();
    case 'authnTime':
      return record.authnTime?.getTime() ?? null;
    case 'del':
      return record.del;
    case 'jansPermissionGranted':
      return record.jansPermissionGranted ?? null;
    case 'jansPermissionGrantedMap':
      if (memo) {
        return (memo.grantedMapText ??= jsonbText({ permissionGranted: record.jansPermissionGrantedMap }));
      }
      return jsonbText({ permissionGranted: record.jansPermissionGrantedMap });
    case 'jansSessAttr':
      return memo ? (memo.sessAttrText ??= jsonbText(record.jansSessAttr)) : jsonbText(record.jansSessAttr);
    case 'jansAttrs':
      return memo ? (memo.attrsText ??= jsonbText(record.jansAttrs)) : jsonbText(record.jansAttrs);
    case 'deviceSecret':
      if (memo) {
        if (memo.deviceSecretText === undefined) {
          memo.deviceSecretText = record.deviceSecret.length > 0 ? jsonbText(record.deviceSecret) : null;
        }
        return memo.deviceSecretText;
      }
      return record.deviceSecret.length > 0 ? jsonbText(record.deviceSecret) : null;
    case 'jansAsJwt':
    case 'jansJwt':
    case 'jansInvolvedClnts':
      return null;
  }
}

/** Columns whose value is costly to build (JSON text), worth a {@link RecordMemo}. */
const MEMOIZED_COLUMNS: ReadonlySet<Column> = new Set([
  'jansPermissionGrantedMap',
  'jansSessAttr',
  'jansAttrs',
  'deviceSecret',
]);

type Predicate = (record: SessionRecord) => boolean;

/** The columns `pattern` searches, in the order the ORM ORs them (§3.3). */
const PATTERN_COLUMNS: readonly Column[] = [
  'jansUsrDN',
  'sid',
  'jansSessAttr',
  'jansPermissionGrantedMap',
  'jansId',
];

/** A pattern column's text, `null` for SQL NULL (or a value that is not text). */
function patternColumnText(record: SessionRecord, column: Column, memo?: RecordMemo): string | null {
  const value = columnValue(record, column, memo);
  return typeof value === 'string' ? value : null;
}

/** Every non-null pattern column text of a record, joined by {@link PATTERN_SEPARATOR}. */
function patternText(record: SessionRecord, memo: RecordMemo): string {
  if (memo.patternText === undefined) {
    const texts: string[] = [];
    for (const column of PATTERN_COLUMNS) {
      const text = patternColumnText(record, column, memo);
      if (text !== null) {
        texts.push(text);
      }
    }
    memo.patternText = texts.join(PATTERN_SEPARATOR);
  }
  return memo.patternText;
}

/** Parsed `pattern`: its tokens and a matcher per token. Throws {@link SearchError} like `likeToRegExp`. */
interface ParsedPattern {
  tokens: string[];
  matchers: ((text: string) => boolean)[];
  /** True when every token is a non-empty plain substring (no LIKE metacharacter, no separator). */
  plain: boolean;
}

function parsePattern(pattern: string): ParsedPattern {
  const tokens = tokenize(pattern);
  let plain = tokens.length > 0;
  // A token without LIKE metacharacters is a plain substring test; the rest go through a regular expression.
  const matchers = tokens.map((token): ((text: string) => boolean) => {
    if (!/[%_\\]/.test(token)) {
      if (token === '' || token.includes(PATTERN_SEPARATOR)) {
        plain = false;
      }
      return (text) => text.includes(token);
    }
    plain = false;
    const re = likeToRegExp(`%${token}%`);
    return (text) => re.test(text);
  });
  return { tokens, matchers, plain };
}

/** The pattern test of one record, column by column as the ORM ORs them; JSON texts only when reached. */
function lazyPatternPredicate({ tokens, matchers }: ParsedPattern): Predicate {
  if (tokens.length === 0) {
    // Only commas: an empty OR, which the ORM drops.
    return () => true;
  }
  const [only] = matchers;
  if (matchers.length === 1 && only !== undefined) {
    // One token (every plain search has the blank one): no column is looked at twice.
    return (record) => {
      let memo: RecordMemo | undefined;
      let memoLooked = false;
      for (const column of PATTERN_COLUMNS) {
        if (!memoLooked && MEMOIZED_COLUMNS.has(column)) {
          memo = memoOf(record);
          memoLooked = true;
        }
        const text = patternColumnText(record, column, memo);
        if (text !== null && only(text)) {
          return true;
        }
      }
      return false;
    };
  }
  return (record) => {
    // Each column's text at most once per record (the JSON ones are costly to build, and memoized per record),
    // and only when a token gets that far: a blank pattern (every plain search) stops at the first non-null one.
    // Tokens in order, columns in order, as the ORed SQL conditions read.
    let texts: (string | null | undefined)[] | undefined;
    let memo: RecordMemo | undefined;
    let memoLooked = false;
    for (const matches of matchers) {
      for (let i = 0; i < PATTERN_COLUMNS.length; i++) {
        let text = texts?.[i];
        if (text === undefined) {
          const column = PATTERN_COLUMNS[i]!;
          if (!memoLooked && MEMOIZED_COLUMNS.has(column)) {
            memo = memoOf(record);
            memoLooked = true;
          }
          text = patternColumnText(record, column, memo);
          (texts ??= [])[i] = text;
        }
        if (text !== null && matches(text)) {
          return true;
        }
      }
    }
    return false;
  };
}

/**
 * The `pattern` filter (§2.2, §3.3): each token is `LIKE '%token%'` ORed over jansUsrDN, sid, jansSessAttr,
 * jansPermissionGrantedMap and jansId; tokens are ORed. `%` and `_` inside a token stay wildcards.
 */
export function patternPredicate(pattern: string): Predicate {
  return lazyPatternPredicate(parsePattern(pattern));
}

/**
 * {@link patternPredicate} for a known set of records, with the same answer for every one of them. When all
 * tokens are plain substrings, the records' column texts (memoized) are searched as one {@link PatternCorpus}
 * instead of a test per token, record and column. Records that cannot be memoized, and any other pattern, take
 * the column-by-column path.
 */
function patternFilter(pattern: string, records: readonly SessionRecord[]): Predicate {
  const parsed = parsePattern(pattern);
  const lazy = lazyPatternPredicate(parsed);
  if (!parsed.plain) {
    return lazy;
  }
  const indexed: SessionRecord[] = [];
  const texts: string[] = [];
  for (const record of records) {
    const memo = memoOf(record);
    if (memo !== undefined) {
      indexed.push(record);
      texts.push(patternText(record, memo));
    }
  }
  const corpus = PatternCorpus.of(indexed, texts);
  const matched = new Set<SessionRecord>();
  for (const token of parsed.tokens) {
    corpus.collect(token, matched);
  }
  const indexedSet = new Set(indexed);
  return (record) => (indexedSet.has(record) ? matched.has(record) : lazy(record));
}

const DATE_COLUMNS: ReadonlySet<string> = new Set(['creationDate', 'exp', 'jansLastAccessTime', 'authnTime']);
const BOOLEAN_COLUMNS: ReadonlySet<string> = new Set(['del', 'jansPermissionGranted']);
const JSON_COLUMNS: ReadonlySet<string> = new Set(['jansSessAttr', 'jansPermissionGrantedMap', 'jansAttrs']);

function sqlError(message: string): SearchError {
  return new SearchError(500, message);
}

/** `DataUtil.getBooleanValue`: `true` only for a case-insensitive "true". */
function javaBooleanValue(value: string | null): boolean {
  return value !== null && value.toLowerCase() === 'true';
}

/** Equality of a column with a string parameter; the database casts it to the column's type. */
function equalityPredicate(field: string, value: string | null): Predicate {
  if (field.startsWith('jansSessAttr.')) {
    const key = field.slice('jansSessAttr.'.length);
    return (record) =>
      value !== null && Object.hasOwn(record.jansSessAttr, key) && record.jansSessAttr[key] === value;
  }
  if (field === 'dn') {
    return (record) => value !== null && sessionDn(record) === value;
  }
  if (!COLUMN_SET.has(field)) {
    throw sqlError(`ERROR: column "${field}" does not exist`);
  }
  if (JSON_COLUMNS.has(field)) {
    throw sqlError('ERROR: operator does not exist: jsonb = character varying');
  }
  if (value === null) {
    return () => false;
  }
  const column = field as Column;
  if (column === 'deviceSecret') {
    return (record) => record.deviceSecret.includes(value);
  }
  if (DATE_COLUMNS.has(column)) {
    const instant = parseFilterDate(value);
    return (record) => instant !== null && columnValue(record, column) === instant;
  }
  if (BOOLEAN_COLUMNS.has(column)) {
    const lowered = value.toLowerCase();
    if (lowered !== 'true' && lowered !== 'false') {
      return () => false;
    }
    return (record) => columnValue(record, column) === (lowered === 'true');
  }
  return (record) => columnValue(record, column) === value;
}

/** `DataUtil.createDateFilter`: inclusive bounds, whole day for `=yyyy-MM-dd`, `null` date matches nothing. */
function datePredicate(filter: FieldFilter): Predicate {
  if (!COLUMN_SET.has(filter.field) || !DATE_COLUMNS.has(filter.field)) {
    throw sqlError(`ERROR: column "${filter.field}" does not exist`);
  }
  const column = filter.field as Column;
  const instant = parseFilterDate(filter.value);
  if (instant === null) {
    // `column >= NULL` is never true (§3.5: unparseable date -> empty result, not an error).
    return () => false;
  }
  const valueOf = (record: SessionRecord): number | null => columnValue(record, column) as number | null;
  switch (filter.operator) {
    case '=':
      if (filter.value !== null && filter.value.length === 10) {
        const endOfDay = instant + 86_400_000;
        return (record) => {
          const v = valueOf(record);
          return v !== null && v >= instant && v < endOfDay;
        };
      }
      return (record) => valueOf(record) === instant;
    case '>':
    case '>=':
      return (record) => {
        const v = valueOf(record);
        return v !== null && v >= instant;
      };
    case '<':
    case '<=':
      return (record) => {
        const v = valueOf(record);
        return v !== null && v <= instant;
      };
  }
}

/** `DataUtil.createFilter` for one entry (§3.5 step 5). */
function filterPredicate(filter: FieldFilter | null): Predicate {
  if (filter === null) {
    throw sqlError('java.lang.NullPointerException: Cannot invoke "io.jans.model.FieldFilterData.getType()"');
  }
  const dataType = (filter.type ?? 'string').toLowerCase();
  if (dataType === 'string') {
    return equalityPredicate(filter.field, filter.value);
  }
  if (dataType === 'boolean') {
    if (!COLUMN_SET.has(filter.field)) {
      throw sqlError(`ERROR: column "${filter.field}" does not exist`);
    }
    const column = filter.field as Column;
    const wanted = javaBooleanValue(filter.value);
    return (record) => columnValue(record, column) === wanted;
  }
  if (dataType === 'date') {
    return datePredicate(filter);
  }
  if (dataType === 'int' || dataType === 'integer') {
    // Only `ttl` has an int type and it has no column.
    throw sqlError(`ERROR: column "${filter.field}" does not exist`);
  }
  return equalityPredicate(filter.field, filter.value);
}

/** All `fieldValuePair` filters ANDed (§3.5 step 6). Throws {@link SearchError} 500 where upstream fails. */
export function fieldValuePairPredicate(fieldValuePair: string): Predicate {
  const predicates = parseFieldValuePair(fieldValuePair).map(filterPredicate);
  return (record) => predicates.every((p) => p(record));
}

type SortKey = string | number | boolean | null;

function compareKeys(a: SortKey, b: SortKey): number {
  if (a === b) {
    return 0;
  }
  if (typeof a === 'string' && typeof b === 'string') {
    return a < b ? -1 : 1;
  }
  return Number(a) < Number(b) ? -1 : 1;
}

/** The column `sortBy` names, `jansId` when empty. Throws {@link SearchError} for an unknown one. */
function sortColumn(sortBy: string): Column {
  const column: Column = sortBy === '' ? 'jansId' : (sortBy as Column);
  if (!COLUMN_SET.has(column)) {
    throw sqlError(`ERROR: column "${sortBy}" does not exist`);
  }
  return column;
}

/** The comparison of two records' sort keys: the first of ORDER BY's two terms. */
function compareSortKeys(va: SortKey, vb: SortKey, descending: boolean): number {
  let result: number;
  if (va === null || vb === null) {
    result = va === vb ? 0 : va === null ? 1 : -1;
  } else {
    result = compareKeys(va, vb);
  }
  return descending ? -result : result;
}

/**
 * ORDER BY the raw column name (§3.4), PostgreSQL null placement (NULLS LAST ascending, NULLS FIRST
 * descending), ties broken by jansId so that offsets page stably.
 */
export function sortComparator(
  sortBy: string,
  descending: boolean,
): (a: SessionRecord, b: SessionRecord) => number {
  const column = sortColumn(sortBy);
  return (a, b) => {
    const result = compareSortKeys(columnValue(a, column), columnValue(b, column), descending);
    return result !== 0 ? result : compareKeys(a.jansId, b.jansId);
  };
}

/** Marks a sort key not computed yet. */
const UNSET: unique symbol = Symbol('unset');

interface Keyed {
  record: SessionRecord;
  key: SortKey | typeof UNSET;
}

/**
 * `records.sort(sortComparator(sortBy, descending))` with each record's key computed once, on the record's
 * first comparison (so a record whose key cannot be computed fails at the same point), or taken from `keys`.
 * Every comparison answers as the plain comparator's would, so `Array.prototype.sort` makes the same moves and
 * the order is the same, ties and all.
 */
function sortRecords(
  records: readonly SessionRecord[],
  column: Column,
  descending: boolean,
  keys?: readonly SortKey[],
): SessionRecord[] {
  const memoized = MEMOIZED_COLUMNS.has(column);
  const keyOf = (keyed: Keyed): SortKey => {
    if (keyed.key === UNSET) {
      keyed.key = columnValue(keyed.record, column, memoized ? memoOf(keyed.record) : undefined);
    }
    return keyed.key;
  };
  const keyed = records.map((record, i): Keyed => ({ record, key: keys ? keys[i]! : UNSET }));
  keyed.sort((a, b) => {
    const result = compareSortKeys(keyOf(a), keyOf(b), descending);
    return result !== 0 ? result : compareKeys(a.record.jansId, b.record.jansId);
  });
  return keyed.map((k) => k.record);
}

/** All records of a search in sorted order, with what that order was computed from. */
interface SortedAll {
  records: readonly SessionRecord[];
  keys: SortKey[];
  ids: string[];
  sorted: SessionRecord[];
}

/** The last full sort per column and direction, reused while records, keys and ids are the same. */
const sortedAllCache = new Map<string, SortedAll>();

/**
 * The keys and jansIds of all records when the comparator is a total order on them (keys of one type among
 * string, number without NaN and boolean, or null; string ids), else `undefined`. Never throws: a key that cannot
 * be computed also means `undefined`, and the caller's plain sort will fail the way the original does.
 */
function totalOrderKeys(
  records: readonly SessionRecord[],
  column: Column,
): { keys: SortKey[]; ids: string[] } | undefined {
  const memoized = MEMOIZED_COLUMNS.has(column);
  const keys: SortKey[] = [];
  const ids: string[] = [];
  let type: string | undefined;
  try {
    for (const record of records) {
      const id: unknown = record.jansId;
      const key: unknown = columnValue(record, column, memoized ? memoOf(record) : undefined);
      if (typeof id !== 'string') {
        return undefined;
      }
      if (key !== null) {
        const keyType = typeof key;
        if (
          (keyType !== 'string' && keyType !== 'number' && keyType !== 'boolean') ||
          Number.isNaN(key) ||
          (type !== undefined && type !== keyType)
        ) {
          return undefined;
        }
        type = keyType;
      }
      keys.push(key as SortKey);
      ids.push(id);
    }
  } catch {
    return undefined;
  }
  return { keys, ids };
}

/** True when `records` are those `all` was sorted from, with the same keys and ids. Never throws. */
function stillSorted(all: SortedAll, records: readonly SessionRecord[], column: Column): boolean {
  if (all.records.length !== records.length) {
    return false;
  }
  const memoized = MEMOIZED_COLUMNS.has(column);
  try {
    for (let i = 0; i < records.length; i++) {
      const record = records[i]!;
      if (
        record !== all.records[i] ||
        record.jansId !== all.ids[i] ||
        columnValue(record, column, memoized ? memoOf(record) : undefined) !== all.keys[i]
      ) {
        return false;
      }
    }
  } catch {
    return false;
  }
  return true;
}

/**
 * `matches` (a subsequence of `records`) sorted as {@link sortRecords} would; the result may be shared, do not
 * modify it. When the comparator is a total order on all records, sorting a subsequence gives the full sorted
 * order restricted to it (the sort is stable, and keeps equal elements in input order either way), so the full
 * order is kept per column and direction and reused until a record, key or id changes: a page then costs one
 * pass over the keys instead of a sort.
 */
function sortMatches(
  records: readonly SessionRecord[],
  matches: SessionRecord[],
  column: Column,
  descending: boolean,
): readonly SessionRecord[] {
  if (matches.length < 2) {
    // No comparison at all.
    return matches;
  }
  const cacheKey = `${column}\n${descending}`;
  let all = sortedAllCache.get(cacheKey);
  if (all === undefined || !stillSorted(all, records, column)) {
    const current = totalOrderKeys(records, column);
    if (current === undefined) {
      sortedAllCache.delete(cacheKey);
      return sortRecords(matches, column, descending);
    }
    all = {
      records: [...records],
      ...current,
      sorted: sortRecords(records, column, descending, current.keys),
    };
    sortedAllCache.set(cacheKey, all);
  }
  if (matches.length === records.length) {
    return all.sorted;
  }
  const wanted = new Set(matches);
  return all.sorted.filter((record) => wanted.has(record));
}

/**
 * `SessionResource.searchSessionEntries` -> `createSearchRequest` -> `SessionService.searchSession` ->
 * `findPagedEntries` (§2.2, §3). Throws {@link SearchError}.
 */
export function searchSessions(records: readonly SessionRecord[], query: SearchQuery): SearchPage {
  if (query.limit > query.maxCount) {
    throw new SearchError(400, `Maximum number of results per page is ${query.maxCount}`);
  }
  const count = Math.max(query.limit, 0);
  const descending = query.sortOrder === 'descending';
  const matchesPattern = patternFilter(query.pattern, records);
  const matchesFields = fieldValuePairPredicate(query.fieldValuePair);
  const column = sortColumn(query.sortBy);
  if (query.startIndex < 0) {
    throw sqlError('java.lang.IllegalArgumentException: Offset must not be negative');
  }
  const matches = sortMatches(
    records,
    records.filter((r) => matchesPattern(r) && matchesFields(r)),
    column,
    descending,
  );
  const end = count > 0 ? query.startIndex + count : undefined;
  return {
    start: query.startIndex,
    totalEntriesCount: matches.length,
    entries: matches.slice(query.startIndex, end),
  };
}
