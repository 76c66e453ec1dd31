/**
 * The seed client's `searchSession` options (Janssen's `GET /session/search` query parameters) translated into
 * `sessions(filter, page, sort)` arguments. Janssen's parsing rules are in UPSTREAM-BEHAVIOUR.md §2.2 and §3;
 * where Janssen would silently misread a value (a zoned date, an operator on a string field) this refuses or
 * honours it instead, as the comments say.
 */
import { invalidOption } from './errors.js';
import type { PageInput, SessionFilter, SessionSort, SessionSortField } from './generated/graphql.js';

/** `sortBy` values: Janssen's database columns (what the REST API takes) and the matching JSON property names. */
export const SORT_BY = {
  creationDate: 'CREATION_DATE',
  exp: 'EXPIRATION_DATE',
  expirationDate: 'EXPIRATION_DATE',
  jansLastAccessTime: 'LAST_USED_AT',
  lastUsedAt: 'LAST_USED_AT',
  authnTime: 'AUTHENTICATION_TIME',
  authenticationTime: 'AUTHENTICATION_TIME',
  jansUsrDN: 'USER_DN',
  userDn: 'USER_DN',
  jansState: 'STATE',
  state: 'STATE',
} as const satisfies Record<string, SessionSortField>;

/** A `sortBy` the client understands; `jansId` is Janssen's default order, which is also ours without a sort. */
export type SearchSessionSortBy = keyof typeof SORT_BY | 'jansId';

/** The seed client's `searchSession(opts)` options, with the same names. */
export interface SearchSessionOptions {
  /** Page size, 1 to the server's maximum (200 by default); defaults to 50. Janssen's `0` ("no limit") is refused. */
  limit?: number;
  /** One literal, case-sensitive substring (Janssen's comma-separated list is refused: our API takes one). */
  pattern?: string;
  /** 0-based index of the first session; defaults to 0. */
  startIndex?: number;
  sortBy?: SearchSessionSortBy;
  /** Defaults to `ascending`. */
  sortOrder?: 'ascending' | 'descending';
  /**
   * Comma-separated `field<op>value` conditions, all of which must match, e.g.
   * `auth_user=admin,expirationDate>2026-01-01`. See {@link parseFieldValuePair}.
   */
  fieldValuePair?: string;
}

/** The `sessions(filter, page, sort)` arguments for a `searchSession` call. */
export interface SessionsArguments {
  filter?: SessionFilter;
  page: PageInput & { limit: number; offset: number };
  sort?: SessionSort;
}

/** Janssen's default page size, used by `GET /session` and by `searchSession` without `limit`. */
export const DEFAULT_LIMIT = 50;

/** Translates `searchSession` options; throws `SessionsClientError` (BAD_USER_INPUT) for what our API cannot express. */
export function toSessionsArguments(options: SearchSessionOptions = {}): SessionsArguments {
  const { limit = DEFAULT_LIMIT, startIndex = 0, pattern, sortBy, sortOrder, fieldValuePair } = options;
  if (!Number.isInteger(limit) || limit < 1) {
    // Janssen reads 0 or a negative limit as "everything", which this API does not offer in one call.
    throw invalidOption(
      'limit',
      'must be a whole number from 1 (Janssen\'s "0 = no limit" is not supported: page with startIndex, or use sessionsConnection)',
    );
  }
  if (!Number.isInteger(startIndex) || startIndex < 0) {
    throw invalidOption('startIndex', 'must be a whole number from 0');
  }
  const args: SessionsArguments = { page: { limit, offset: startIndex } };
  const filter: SessionFilter = fieldValuePair === undefined ? {} : parseFieldValuePair(fieldValuePair);
  // A blank pattern matches every session upstream, as no pattern does.
  if (pattern !== undefined && pattern.trim() !== '') {
    if (pattern.includes(',')) {
      throw invalidOption(
        'pattern',
        'cannot be a comma-separated list: the GraphQL API takes one literal substring (filter.search); make one call per substring',
      );
    }
    filter.search = pattern;
  }
  if (Object.keys(filter).length > 0) {
    args.filter = filter;
  }
  const sort = toSort(sortBy, sortOrder);
  if (sort) {
    args.sort = sort;
  }
  return args;
}

function toSort(sortBy: string | undefined, sortOrder: string | undefined): SessionSort | undefined {
  if (sortOrder !== undefined && sortOrder !== 'ascending' && sortOrder !== 'descending') {
    throw invalidOption('sortOrder', `must be "ascending" or "descending", not ${JSON.stringify(sortOrder)}`);
  }
  if (sortBy === undefined || sortBy === 'jansId') {
    if (sortOrder === 'descending') {
      throw invalidOption(
        'sortOrder',
        `"descending" needs a sortBy other than jansId (the unsorted order cannot be reversed); one of ${Object.keys(SORT_BY).join(', ')}`,
      );
    }
    return undefined;
  }
  const field = Object.hasOwn(SORT_BY, sortBy) ? SORT_BY[sortBy as keyof typeof SORT_BY] : undefined;
  if (!field) {
    throw invalidOption('sortBy', `must be one of jansId, ${Object.keys(SORT_BY).join(', ')}`);
  }
  return { field, order: sortOrder === 'descending' ? 'DESC' : 'ASC' };
}

/** `fieldValuePair` string fields, matched by equality, and their `SessionFilter` names. */
const STRING_FIELDS = {
  auth_user: 'authUser',
  client_id: 'clientId',
  acr: 'acr',
  userDn: 'userDn',
  jansUsrDN: 'userDn',
} as const satisfies Record<string, keyof SessionFilter>;

/** `fieldValuePair` date fields and their inclusive `SessionFilter` bounds. */
const DATE_FIELDS = {
  expirationDate: ['expiresAfter', 'expiresBefore'],
  creationDate: ['createdAfter', 'createdBefore'],
  authenticationTime: ['authenticatedAfter', 'authenticatedBefore'],
  lastUsedAt: ['lastUsedAfter', 'lastUsedBefore'],
} as const satisfies Record<string, readonly [keyof SessionFilter, keyof SessionFilter]>;

type DateBound = (typeof DATE_FIELDS)[keyof typeof DATE_FIELDS][number];

const SUPPORTED_FIELDS = [...Object.keys(STRING_FIELDS), 'state', ...Object.keys(DATE_FIELDS)].join(', ');

/** `field`, operator, `value`; the first operator wins, so a value may itself hold `=`, `<` or `>`. */
const CONDITION = /^([^=<>]*)(<=|>=|=|<|>)(.*)$/;

const DAY_MS = 86_400_000;

/**
 * Parses Janssen's `fieldValuePair` (e.g. `auth_user=admin,client_id=abc,expirationDate>2026-01-01`) into a
 * `SessionFilter`; every condition must match (AND). Supported fields:
 *
 * - `auth_user`, `client_id`, `acr`, `userDn` (or `jansUsrDN`; a user inum, as upstream): `=` only. Janssen
 *   ignores the operator on these and compares for equality, so `>` or `<` is refused rather than misread.
 * - `state`: `authenticated` or `unauthenticated` (any case).
 * - `expirationDate`, `creationDate`, `authenticationTime`, `lastUsedAt`: `>`/`>=` give an inclusive lower bound,
 *   `<`/`<=` an inclusive upper bound (both inclusive, as Janssen compares), `=YYYY-MM-DD` the whole UTC day, `=`
 *   with a time that instant. Values take Janssen's formats (`YYYY-MM-DD`, `YYYY-MM-DD HH:mm:ss[.SSS]`,
 *   `YYYY-MM-DDTHH:mm:ss[.SSS]`), read as UTC; a value with a zone (`Z`, `+02:00`) is taken at that zone
 *   (Janssen would match nothing for `Z` and drop an offset). Repeated conditions narrow the range.
 *
 * Throws `SessionsClientError` (BAD_USER_INPUT, field `fieldValuePair`) for an unknown field, a malformed
 * condition or date, or two different values for one string field.
 */
export function parseFieldValuePair(fieldValuePair: string): SessionFilter {
  const filter: SessionFilter = {};
  const after = new Map<DateBound, number>();
  const before = new Map<DateBound, number>();
  // Janssen splits on every comma and drops empty tokens (StringTokenizer), so values can never hold a comma.
  for (const token of fieldValuePair.split(',')) {
    if (token.trim() === '') {
      continue;
    }
    const match = CONDITION.exec(token);
    const field = match?.[1]?.trim() ?? '';
    const operator = match?.[2] ?? '';
    const value = match?.[3]?.trim() ?? '';
    if (!match || field === '' || value === '') {
      throw invalidOption(
        'fieldValuePair',
        `condition ${JSON.stringify(token)} is not field=value (or field>value, field<value for dates)`,
      );
    }
    if (Object.hasOwn(STRING_FIELDS, field)) {
      setOnce(
        filter,
        STRING_FIELDS[field as keyof typeof STRING_FIELDS],
        equalityValue(field, operator, value),
      );
    } else if (field === 'state') {
      const state = equalityValue(field, operator, value).toLowerCase();
      if (state !== 'authenticated' && state !== 'unauthenticated') {
        throw invalidOption(
          'fieldValuePair',
          `state must be authenticated or unauthenticated, not ${JSON.stringify(value)}`,
        );
      }
      setOnce(filter, 'state', state === 'authenticated' ? 'AUTHENTICATED' : 'UNAUTHENTICATED');
    } else if (Object.hasOwn(DATE_FIELDS, field)) {
      const [afterName, beforeName] = DATE_FIELDS[field as keyof typeof DATE_FIELDS];
      const { instant, dateOnly } = parseJanssenDate(field, value);
      if (operator === '>' || operator === '>=' || operator === '=') {
        after.set(afterName, Math.max(after.get(afterName) ?? -Infinity, instant));
      }
      if (operator === '<' || operator === '<=' || operator === '=') {
        // `=YYYY-MM-DD` is the whole day; Janssen's end bound is 23:59:59.999999999, ours the last millisecond.
        const end = operator === '=' && dateOnly ? instant + DAY_MS - 1 : instant;
        before.set(beforeName, Math.min(before.get(beforeName) ?? Infinity, end));
      }
    } else {
      throw invalidOption(
        'fieldValuePair',
        `cannot filter on ${JSON.stringify(field)}; supported fields are ${SUPPORTED_FIELDS}`,
      );
    }
  }
  for (const [name, instant] of [...after, ...before]) {
    filter[name] = new Date(instant).toISOString();
  }
  return filter;
}

function equalityValue(field: string, operator: string, value: string): string {
  if (operator !== '=') {
    throw invalidOption(
      'fieldValuePair',
      `${field} only takes = (Janssen compares it for equality whatever the operator), not ${operator}`,
    );
  }
  return value;
}

function setOnce<K extends keyof SessionFilter>(
  filter: SessionFilter,
  name: K,
  value: SessionFilter[K],
): void {
  if (filter[name] !== undefined && filter[name] !== value) {
    // Janssen would AND two equalities on one field and match nothing: almost certainly a mistake.
    throw invalidOption('fieldValuePair', `gives two different values for ${name}`);
  }
  filter[name] = value;
}

/** Janssen's accepted date formats (§3.5 step 5), plus an optional zone that Janssen itself cannot read. */
const JANSSEN_DATE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?(Z|[+-]\d{2}:\d{2})?)?$/i;

/** Epoch milliseconds of a `fieldValuePair` date; zone-less values are UTC, as Janssen's database stores them. */
function parseJanssenDate(field: string, value: string): { instant: number; dateOnly: boolean } {
  const m = JANSSEN_DATE.exec(value);
  const [year, month, day, hour = 0, minute = 0, second = 0] = (m?.slice(1, 7) ?? []).map((part) =>
    part === undefined ? undefined : Number(part),
  );
  if (
    !m ||
    year === undefined ||
    month === undefined ||
    day === undefined ||
    month < 1 ||
    month > 12 ||
    day < 1 ||
    day > new Date(Date.UTC(year, month, 0)).getUTCDate() ||
    hour > 23 ||
    minute > 59 ||
    second > 59
  ) {
    throw invalidOption(
      'fieldValuePair',
      `${field}: ${JSON.stringify(value)} is not a date such as 2026-01-31, 2026-01-31 10:00:00 or 2026-01-31T10:00:00`,
    );
  }
  const millis = m[7] === undefined ? 0 : Number(m[7].padEnd(3, '0'));
  const zone = m[8]?.toUpperCase();
  let offsetMinutes = 0;
  if (zone !== undefined && zone !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    offsetMinutes = sign * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6)));
  }
  const instant = Date.UTC(year, month - 1, day, hour, minute, second, millis) - offsetMinutes * 60_000;
  return { instant, dateOnly: m[4] === undefined };
}
