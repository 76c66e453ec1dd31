import type { SessionRecord } from './session-store.js';

/**
 * Values derived from one {@link SessionRecord} (its JSON on the wire, its JSON column texts...), computed at most
 * once while the record's contents stay the same. Slots are filled lazily by whoever needs them.
 */
export interface RecordMemo {
  /** `JSON.stringify(toWire(record))`; only for records with a non-blank sid (a blank one gets a random UUID). */
  wireJson?: string;
  /** `jsonbText` of `jansSessAttr`. */
  sessAttrText?: string;
  /** `jsonbText` of `{ permissionGranted: jansPermissionGrantedMap }`. */
  grantedMapText?: string;
  /** `jsonbText` of `jansAttrs`. */
  attrsText?: string;
  /** `jsonbText` of `deviceSecret`, `null` (SQL NULL) when the list is empty. */
  deviceSecretText?: string | null;
  /** The non-null texts of the `pattern` columns joined by {@link PATTERN_SEPARATOR}. */
  patternText?: string;
}

/** Joins a record's `pattern` column texts; a token without it cannot match across two columns. */
export const PATTERN_SEPARATOR = '\u0000';

interface Entry {
  memo: RecordMemo;
  /** Everything the memo is a function of, flattened by {@link capture}. */
  inputs: unknown[];
}

/**
 * Records are live objects that anyone holding one may mutate in place (tests do, and `SessionStore.all()` hands
 * them out), so a memo cannot be invalidated by the writers. Instead each use compares the record's current
 * contents with a flat copy taken when the memo was made: a few dozen comparisons of primitives, far cheaper than
 * what the memo saves. Keyed weakly by identity, so a removed record takes its memo with it.
 */
const entries = new WeakMap<SessionRecord, Entry>();

/** Tags that keep a Date, a map and a list apart from plain values in the flat copy. */
const DATE = Symbol('date');
const MAP = Symbol('map');
const LIST = Symbol('list');

/**
 * The walk over a record ({@link flatten}) either writes its values to `written` or, while `expected` is set,
 * compares them with `expected`, stopping at the first difference (`differs`).
 */
let expected: readonly unknown[] | undefined;
let written: unknown[] = [];
let position = 0;
let differs = false;

/**
 * A value that serializes the same whenever it compares `===`: not an object or function (which could be mutated
 * without us seeing it, or carry `toJSON`) and not a bigint (which `JSON.stringify` throws on). NaN never compares
 * equal, which merely makes such a record miss every time.
 */
function isPlainValue(value: unknown): boolean {
  const type = typeof value;
  return value === null || (type !== 'object' && type !== 'function' && type !== 'bigint');
}

/** Writes or compares one value; false to stop the walk (a difference). */
function put(value: unknown): boolean {
  if (expected === undefined) {
    written[position++] = value;
    return true;
  }
  if (expected[position++] !== value) {
    differs = true;
    return false;
  }
  return true;
}

function putValue(value: unknown): boolean {
  return isPlainValue(value) && put(value);
}

/** A valid `Date`, as its time value; `optional` also admits `undefined` and `null` (SQL NULL). */
function putDate(value: unknown, optional = false): boolean {
  if (optional && (value === undefined || value === null)) {
    return put(value);
  }
  if (!(value instanceof Date) || Object.getPrototypeOf(value) !== Date.prototype) {
    return false;
  }
  const time = value.getTime();
  return !Number.isNaN(time) && put(DATE) && put(time);
}

/** A plain object whose enumerable entries are all plain values, in their enumeration order, then their count. */
function putMap(value: unknown): boolean {
  if (value === null || typeof value !== 'object') {
    return false;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    return false;
  }
  if (!put(MAP)) {
    return false;
  }
  // `for...in` rather than `Object.keys` (no array, and V8's fast keyed loads): it lists the own enumerable keys
  // in the same order, and inherited enumerable ones after them, which only makes the copy stricter.
  let count = 0;
  for (const key in value) {
    const item = (value as Record<string, unknown>)[key];
    if (!isPlainValue(item) || !put(key) || !put(item)) {
      return false;
    }
    count++;
  }
  return put(count);
}

/** A dense plain array of plain values. */
function putList(value: unknown): boolean {
  if (!Array.isArray(value) || Object.getPrototypeOf(value) !== Array.prototype) {
    return false;
  }
  if (!put(LIST) || !put(value.length)) {
    return false;
  }
  for (let i = 0; i < value.length; i++) {
    const item: unknown = value[i];
    if (!isPlainValue(item) || (item === undefined && !Object.hasOwn(value, i)) || !put(item)) {
      return false;
    }
  }
  return true;
}

/**
 * Walks every field a memo slot depends on, in a fixed order. Stops with false at a difference (compare mode) or
 * when the record is not the plain shape {@link SessionRecord} declares: a nested object that could change
 * unseen, an invalid date, an odd prototype, a sparse list... Never throws, and for a record it accepts computing
 * any memo slot never throws either, so slots may be computed eagerly where the original code would have computed
 * them lazily.
 */
function flatten(record: SessionRecord): boolean {
  return (
    putValue(record.jansId) &&
    putValue(record.sid) &&
    putDate(record.creationDate) &&
    putDate(record.exp) &&
    putDate(record.jansLastAccessTime) &&
    putDate(record.authnTime, true) &&
    putValue(record.jansUsrDN) &&
    putValue(record.jansState) &&
    putValue(record.jansSessState) &&
    putValue(record.jansPermissionGranted) &&
    putMap(record.jansPermissionGrantedMap) &&
    putMap(record.jansSessAttr) &&
    putMap(record.jansAttrs) &&
    putList(record.deviceSecret) &&
    putValue(record.del)
  );
}

/**
 * The memo of `record`'s current contents: the previous one while nothing it depends on has changed, else a new
 * empty one. `undefined` for a record that cannot be memoized safely; derive its values afresh every time.
 */
export function memoOf(record: SessionRecord): RecordMemo | undefined {
  const entry = entries.get(record);
  if (entry !== undefined) {
    expected = entry.inputs;
    position = 0;
    differs = false;
    const same = flatten(record);
    expected = undefined;
    if (same && position === entry.inputs.length) {
      return entry.memo;
    }
    if (!same && !differs) {
      entries.delete(record);
      return undefined;
    }
  }
  written = [];
  position = 0;
  if (!flatten(record)) {
    entries.delete(record);
    return undefined;
  }
  const memo: RecordMemo = {};
  entries.set(record, { memo, inputs: written });
  return memo;
}
