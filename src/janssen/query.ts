/**
 * The one place where a caller's filter, sort and page become Janssen search parameters
 * (`fieldValuePair`, `pattern`, `sortBy`, `sortOrder`, `limit`, `startIndex`), and where values that the upstream
 * would misread are refused before any call. Rules from UPSTREAM-BEHAVIOUR.md §3.
 */
import { InvalidInputError } from './errors.js';
import type { SessionId, SessionIdState, SessionSearchParams, SessionSortColumn } from './session.dto.js';

export interface SessionFilterSpec {
  /** A full DN under the people base (`inum=…,ou=people,o=jans`) or a bare inum. */
  userDn?: string | null;
  state?: SessionIdState | null;
  clientId?: string | null;
  authUser?: string | null;
  acr?: string | null;
  expiresAfter?: Date | null;
  expiresBefore?: Date | null;
  createdAfter?: Date | null;
  createdBefore?: Date | null;
  authenticatedAfter?: Date | null;
  authenticatedBefore?: Date | null;
  lastUsedAfter?: Date | null;
  lastUsedBefore?: Date | null;
  /** A literal substring, sent as `pattern`. */
  search?: string | null;
}

export type SessionSortKey =
  'CREATION_DATE' | 'EXPIRATION_DATE' | 'LAST_USED_AT' | 'AUTHENTICATION_TIME' | 'USER_DN' | 'STATE';

export interface SessionSortSpec {
  field: SessionSortKey;
  order?: 'ASC' | 'DESC' | null;
}

export interface PageSpec {
  limit: number;
  offset: number;
}

/** `sortBy` must name a database column (§3.4): the JSON property name is an unknown column and a 500. */
export const SORT_COLUMNS: Readonly<Record<SessionSortKey, SessionSortColumn>> = {
  CREATION_DATE: 'creationDate',
  EXPIRATION_DATE: 'exp',
  LAST_USED_AT: 'jansLastAccessTime',
  AUTHENTICATION_TIME: 'authnTime',
  USER_DN: 'jansUsrDN',
  STATE: 'jansState',
};

/** Date filters: the `fieldValuePair` field and the filter's two bound names. `>`/`<` are inclusive upstream. */
const DATE_BOUNDS = [
  ['expirationDate', 'expiresAfter', 'expiresBefore'],
  ['creationDate', 'createdAfter', 'createdBefore'],
  ['authenticationTime', 'authenticatedAfter', 'authenticatedBefore'],
  ['lastUsedAt', 'lastUsedAfter', 'lastUsedBefore'],
] as const;

/** String filters searched inside `sessionAttributes` by equality (§3.5 step 4). */
const ATTRIBUTE_FIELDS = [
  ['clientId', 'client_id'],
  ['authUser', 'auth_user'],
  ['acr', 'acr'],
] as const;

const MAX_VALUE_LENGTH = 256;
/** Inums are UUIDs or dotted ids such as `1800.5f2…`; nothing that `fieldValuePair` or a DN would split on. */
const INUM = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
/** Janssen sids are UUIDs; refuse anything that could change the request path (`/`, `..`, `%`). */
const SID = /^[A-Za-z0-9][A-Za-z0-9._~-]{0,127}$/;
/** One RDN of a user DN, spaces around its `=` removed: `attr=value` with no DN special characters in the value. */
const RDN = /^[A-Za-z][A-Za-z0-9-]*=[^,=+<>#;\\"/\p{Cc}]+$/u;
/** Control characters (C0, DEL, C1). */
const CONTROL = /\p{Cc}/u;

export interface QueryLimits {
  /** Upstream `maxCount`: the largest `limit` Janssen accepts. */
  maxPageSize: number;
}

export interface QuerySettings extends QueryLimits {
  /** `JANS_PEOPLE_BASE_DN`: where Janssen places a user inum, and the only base a user DN may name. */
  peopleBaseDn: string;
}

/** Builds `GET /session/search` parameters; throws `InvalidInputError` for anything the upstream cannot express. */
export function buildSearchParams(
  filter: SessionFilterSpec | null | undefined,
  sort: SessionSortSpec | null | undefined,
  page: PageSpec,
  settings: QuerySettings,
): SessionSearchParams {
  checkPage(page, settings);
  const params: SessionSearchParams = { limit: page.limit, startIndex: page.offset };
  const pairs = filter ? buildFieldValuePairs(filter, settings.peopleBaseDn) : [];
  if (pairs.length > 0) {
    params.fieldValuePair = pairs.join(',');
  }
  if (filter?.search !== undefined && filter.search !== null) {
    params.pattern = checkSearch(filter.search);
  }
  if (sort) {
    params.sortBy = SORT_COLUMNS[sort.field];
    // Anything but the exact string `descending` is ascending upstream (§3.1).
    params.sortOrder = sort.order === 'DESC' ? 'descending' : 'ascending';
  }
  return params;
}

/** `limit` 1..max: `0` means "unlimited" upstream and over `maxCount` is a 400 (§2.2). */
export function checkPage(page: PageSpec, limits: QueryLimits): void {
  if (!Number.isInteger(page.limit) || page.limit < 1 || page.limit > limits.maxPageSize) {
    throw new InvalidInputError('page.limit', `must be between 1 and ${limits.maxPageSize}`);
  }
  if (!Number.isInteger(page.offset) || page.offset < 0) {
    throw new InvalidInputError('page.offset', 'must be 0 or more');
  }
}

function buildFieldValuePairs(filter: SessionFilterSpec, peopleBaseDn: string): string[] {
  const pairs: string[] = [];
  if (filter.userDn !== undefined && filter.userDn !== null) {
    // `userDn=` takes the inum: Janssen rewrites it to `inum=<v>,<people base>` (§3.5 step 4). That is why a DN
    // must be under the people base: any other would silently become that DN.
    pairs.push(`userDn=${toUserKeys(filter.userDn, peopleBaseDn, 'filter.userDn').inum}`);
  }
  if (filter.state) {
    pairs.push(`state=${filter.state}`);
  }
  for (const [name, attribute] of ATTRIBUTE_FIELDS) {
    const value = filter[name];
    if (value !== undefined && value !== null) {
      pairs.push(`${attribute}=${checkPairValue(value, `filter.${name}`)}`);
    }
  }
  for (const [upstreamField, afterName, beforeName] of DATE_BOUNDS) {
    const after = filter[afterName];
    const before = filter[beforeName];
    if (after && before && after.getTime() > before.getTime()) {
      throw new InvalidInputError(`filter.${afterName}`, `must not be later than filter.${beforeName}`);
    }
    if (after) {
      pairs.push(`${upstreamField}>${formatJanssenDate(checkDate(after, `filter.${afterName}`))}`);
    }
    if (before) {
      pairs.push(`${upstreamField}<${formatJanssenDate(checkDate(before, `filter.${beforeName}`))}`);
    }
  }
  return pairs;
}

/**
 * `fieldValuePair` splits tokens on `,` and then on the first of `=`, `<`, `>` it finds (§3.5 step 2), so a value
 * holding any of them is silently truncated or turned into a 500 upstream.
 */
function checkPairValue(value: string, field: string): string {
  if (value.length === 0) {
    throw new InvalidInputError(field, 'must not be empty');
  }
  if (value.length > MAX_VALUE_LENGTH) {
    throw new InvalidInputError(field, `must be at most ${MAX_VALUE_LENGTH} characters`);
  }
  if (/[,=<>]/.test(value)) {
    throw new InvalidInputError(field, 'cannot contain , = < or > (Janssen cannot express them in a filter)');
  }
  if (CONTROL.test(value)) {
    throw new InvalidInputError(field, 'cannot contain control characters');
  }
  return value;
}

/**
 * `pattern` is a comma-separated list of SQL LIKE substrings with unescaped wildcards (§3.3). Only a value Janssen
 * reads as that exact substring goes through: a blank pattern matches every session, and in a LIKE pattern `\`
 * escapes the next character on PostgreSQL and MySQL alike (`a\b` finds `ab`). Both would widen the filter, which
 * `deleteSessions` then deletes.
 */
function checkSearch(value: string): string {
  if (value.trim().length === 0) {
    throw new InvalidInputError('filter.search', 'must not be empty or only spaces');
  }
  if (value.length > MAX_VALUE_LENGTH) {
    throw new InvalidInputError('filter.search', `must be at most ${MAX_VALUE_LENGTH} characters`);
  }
  if (/[,%_\\]/.test(value)) {
    throw new InvalidInputError(
      'filter.search',
      'cannot contain , % _ or \\ (Janssen reads them as a list separator, wildcards and an escape)',
    );
  }
  if (CONTROL.test(value)) {
    throw new InvalidInputError('filter.search', 'cannot contain control characters');
  }
  return value;
}

/**
 * Whether `text` occurs, case-sensitively, where the API shows it: in the sid, the user DN, a key or value of the
 * session attributes, or a client id of the consents (`permissionGrantedMap`). Janssen's `pattern` also matches
 * its internal `jansId`, which is never returned, and the stored JSON text (attributes config-api does not return,
 * JSON punctuation), and may ignore case on MySQL (§2.2, §3.3): a session it matched only there is not one the
 * caller can see they named.
 */
export function searchShows(session: SessionId, text: string): boolean {
  if (session.outsideSid.includes(text) || (session.userDn?.includes(text) ?? false)) {
    return true;
  }
  for (const [key, value] of Object.entries(session.sessionAttributes ?? {})) {
    if (key.includes(text) || (typeof value === 'string' && value.includes(text))) {
      return true;
    }
  }
  return Object.keys(session.permissionGrantedMap?.permissionGranted ?? {}).some((clientId) =>
    clientId.includes(text),
  );
}

function checkDate(date: Date, field: string): Date {
  if (Number.isNaN(date.getTime())) {
    throw new InvalidInputError(field, 'is not a valid date');
  }
  const year = date.getUTCFullYear();
  if (year < 1970 || year > 9999) {
    throw new InvalidInputError(field, 'must be between 1970 and 9999');
  }
  return date;
}

/** A user's two keys: the DN Janssen stores for them and their inum. */
export interface UserKeys {
  /** `inum=<inum>,<people base>`, the base spelled as configured (Janssen compares DNs by equality, §2.5). */
  userDn: string;
  inum: string;
}

/**
 * Both keys of a user given by a DN under `peopleBaseDn` or by a bare inum. The part of a DN after its `inum=`
 * RDN must be the people base, compared as LDAP compares these DNs: attribute names and values in any case (`ou`,
 * `o`, `dc` are case-ignore strings), spaces around `,` and `=` ignored, spaces inside a value significant. Any
 * other base is refused: Janssen's search takes only the inum and puts it back under the people base, so
 * `inum=X,ou=admins,o=othercorp` would silently mean `inum=X,<people base>`. The inum keeps its spelling (Janssen
 * matches it as sent).
 */
export function toUserKeys(dnOrInum: string, peopleBaseDn: string, field: string): UserKeys {
  const value = dnText(dnOrInum, field);
  if (value.includes('=') || value.includes(',')) {
    return parseUserDn(value, peopleBaseDn, field);
  }
  if (!INUM.test(value)) {
    throw new InvalidInputError(field, `must be a user DN (inum=…,${peopleBaseDn}) or an inum`);
  }
  return { userDn: `inum=${value},${peopleBaseDn}`, inum: value };
}

/**
 * A DN or inum, its surrounding ASCII spaces removed. Not `trim()`: that would also drop line and paragraph
 * separators, no-break spaces and BOMs, and turn a value that is not a DN into one. Control characters are refused.
 */
function dnText(value: unknown, field: string): string {
  if (typeof value !== 'string') {
    throw new InvalidInputError(field, 'must be a string');
  }
  if (CONTROL.test(value)) {
    throw new InvalidInputError(field, 'cannot contain control characters');
  }
  return trimSpaces(value);
}

/** Without the ASCII spaces at its ends (only those: see {@link dnText}). */
function trimSpaces(value: string): string {
  return value.replace(/^ +| +$/g, '');
}

function parseUserDn(value: string, peopleBaseDn: string, field: string): UserKeys {
  if (value.length > 512) {
    throw new InvalidInputError(field, 'must be at most 512 characters');
  }
  const rdns = splitDn(value);
  if (rdns === undefined) {
    throw new InvalidInputError(field, `is not a valid DN (expected inum=…,${peopleBaseDn})`);
  }
  const [first = ['', ''], ...rest] = rdns;
  const [attribute, inum] = first;
  if (attribute.toLowerCase() !== 'inum' || !INUM.test(inum)) {
    throw new InvalidInputError(field, 'must start with a valid inum=… RDN');
  }
  if (comparableDn(rest) !== comparablePeopleBase(peopleBaseDn)) {
    throw new InvalidInputError(field, `must be a DN under the people base ${peopleBaseDn} (or a bare inum)`);
  }
  return { userDn: `inum=${inum},${peopleBaseDn}`, inum };
}

/** A DN's RDNs as `[attribute, value]`, spaces around `,` and `=` removed; undefined when one is not `attr=value`. */
function splitDn(dn: string): [string, string][] | undefined {
  const rdns: [string, string][] = [];
  for (const part of dn.split(',')) {
    const eq = part.indexOf('=');
    const attribute = trimSpaces(part.slice(0, Math.max(eq, 0)));
    const value = trimSpaces(part.slice(eq + 1));
    if (eq < 0 || !RDN.test(`${attribute}=${value}`)) {
      return undefined;
    }
    rdns.push([attribute, value]);
  }
  return rdns;
}

/**
 * A DN written with no spaces around its `,` and `=`, or undefined when it is not a list of plain `attr=value`
 * RDNs (no escapes, no multi-valued RDNs, none of `"+<>#;\/`). For checking `JANS_PEOPLE_BASE_DN`.
 */
export function plainDn(dn: string): string | undefined {
  const rdns = splitDn(dn);
  return rdns?.map(([attribute, value]) => `${attribute}=${value}`).join(',');
}

/** RDNs in one spelling for comparison: lower case, `,` and `=` with no spaces. */
function comparableDn(rdns: readonly (readonly [string, string])[]): string {
  return rdns.map(([attribute, value]) => `${attribute}=${value}`.toLowerCase()).join(',');
}

/** The configured people base in {@link comparableDn}'s spelling (config has checked it is a plain DN). */
function comparablePeopleBase(peopleBaseDn: string): string | undefined {
  const rdns = splitDn(peopleBaseDn);
  return rdns && comparableDn(rdns);
}

/** The inum of a user DN as Janssen returns it, or undefined for anything else. */
export function inumOfDn(dn: string | undefined): string | undefined {
  const match = dn ? /^inum=([^,]+),/i.exec(dn) : null;
  return match?.[1];
}

/** A session id safe to put in a path segment. */
export function checkSid(sid: string, field = 'sid'): string {
  // `typeof`: a federation representation is any JSON, and `SID.test(undefined)` would test "undefined".
  if (typeof sid !== 'string' || !SID.test(sid)) {
    throw new InvalidInputError(
      field,
      'must be 1 to 128 letters, digits, ".", "_", "~" or "-", starting with a letter or digit',
    );
  }
  return sid;
}

/**
 * Janssen dates are `yyyy-MM-ddTHH:mm:ss` with no zone, in UTC (§3.5 step 5, §4.1); a trailing `Z` silently matches
 * nothing. Milliseconds are sent only when present (`yyyy-MM-ddTHH:mm:ss.SSS` is an accepted input format).
 */
export function formatJanssenDate(date: Date): string {
  const iso = date.toISOString();
  return date.getUTCMilliseconds() === 0 ? iso.slice(0, 19) : iso.slice(0, 23);
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** The number written by `count` ASCII digits from `start`, or -1 when one of them is not a digit. */
function digitsAt(value: string, start: number, count: number): number {
  let n = 0;
  for (let i = start; i < start + count; i += 1) {
    const digit = value.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) {
      return -1;
    }
    n = n * 10 + digit;
  }
  return n;
}

/**
 * The epoch milliseconds of a date in the shape Janssen sends, `yyyy-MM-ddTHH:mm:ss`, when it is a real calendar
 * date and time with a four-digit year; undefined for anything else (left to {@link parseJanssenDate}'s general
 * path). Read digit by digit: no regular expression, no string built, 2-3x faster than `new Date(`${value}Z`)`.
 */
export function plainJanssenDateMs(value: string): number | undefined {
  if (
    value.length !== 19 ||
    value.charCodeAt(4) !== 45 || // -
    value.charCodeAt(7) !== 45 ||
    value.charCodeAt(10) !== 84 || // T
    value.charCodeAt(13) !== 58 || // :
    value.charCodeAt(16) !== 58
  ) {
    return undefined;
  }
  const year = digitsAt(value, 0, 4);
  const month = digitsAt(value, 5, 2);
  const day = digitsAt(value, 8, 2);
  const hour = digitsAt(value, 11, 2);
  const minute = digitsAt(value, 14, 2);
  const second = digitsAt(value, 17, 2);
  if (
    year < 1000 ||
    month < 1 ||
    month > 12 ||
    day < 1 ||
    hour < 0 ||
    hour > 23 ||
    minute < 0 ||
    minute > 59 ||
    second < 0 ||
    second > 59
  ) {
    return undefined;
  }
  const leap = month === 2 && year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  if (day > DAYS_IN_MONTH[month - 1]! + (leap ? 1 : 0)) {
    return undefined;
  }
  return Date.UTC(year, month - 1, day, hour, minute, second);
}

/** Reads a zone-less Janssen date as UTC; undefined when absent or malformed. */
export function parseJanssenDate(value: string | undefined): Date | undefined {
  if (!value) {
    return undefined;
  }
  const plain = plainJanssenDateMs(value);
  if (plain !== undefined) {
    return new Date(plain);
  }
  const match = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?$/.exec(value);
  if (!match) {
    // Tolerate an explicit zone, should a future Janssen add one.
    const parsed = new Date(value);
    return Number.isNaN(parsed.getTime()) ? undefined : parsed;
  }
  const [, y, mo, d, h, mi, s, frac] = match;
  const ms = frac ? Number(frac.slice(0, 3).padEnd(3, '0')) : 0;
  return new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), ms));
}

/** {@link parseJanssenDate} as epoch milliseconds, without a `Date` for the usual shape. */
export function janssenDateMs(value: string | undefined): number | undefined {
  if (!value) {
    return undefined;
  }
  return plainJanssenDateMs(value) ?? parseJanssenDate(value)?.getTime();
}

/**
 * Splits values into comma-joined `pattern` lists whose percent-encoded length stays within `maxChars`, so each
 * search URL stays under proxies' and Jetty's limits (4 KB is the common floor). Each value must already be free
 * of `,`, `%` and `_` (see `isPatternSafe`). With `valueOf`, splits items by their value instead; either way the
 * chunks hold the input in its order.
 */
export function chunkPattern(values: readonly string[], maxChars: number): string[][];
export function chunkPattern<T>(items: readonly T[], maxChars: number, valueOf: (item: T) => string): T[][];
export function chunkPattern<T>(
  items: readonly T[],
  maxChars: number,
  valueOf: (item: T) => string = String,
): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  let length = 0;
  for (const item of items) {
    const encoded = encodeURIComponent(valueOf(item)).length;
    const cost = encoded + (current.length > 0 ? 3 : 0); // `,` is sent as %2C
    if (current.length > 0 && length + cost > maxChars) {
      chunks.push(current);
      current = [];
      length = 0;
    }
    current.push(item);
    length += current.length === 1 ? encoded : cost;
  }
  if (current.length > 0) {
    chunks.push(current);
  }
  return chunks;
}

/**
 * Whether a value can be one `pattern` token that matches only what it says: no list separator, no LIKE
 * wildcard, and long enough (16+) that as a substring it practically only matches itself. Ids failing this are
 * read one by one instead.
 */
export function isPatternSafe(value: string): boolean {
  return value.length >= 16 && !/[,%_\\]/.test(value);
}
