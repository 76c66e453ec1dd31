import { PATTERN_SEPARATOR } from './record-memo.js';
import type { SessionRecord } from './session-store.js';

/** Length of the substrings the index hashes: tokens at least this long are looked up, shorter ones scanned. */
const GRAM = 8;
const HASH_BASE = 0x01000193;
/** `HASH_BASE ** (GRAM - 1)` modulo 2^32, to drop a window's first character. */
const HASH_DROP = Array.from({ length: GRAM - 1 }).reduce<number>((h) => Math.imul(h, HASH_BASE), 1);
/** Scanned tokens after which building the index pays off (a build costs about as much as 30 scans). */
const INDEX_AFTER_SCANS = 32;
/** Index hits to check per token before a plain scan is the cheaper way to find the rest. */
const MAX_PROBES = 1024;

function hashGram(text: string, at: number): number {
  let h = 0;
  for (let i = at; i < at + GRAM; i++) {
    h = (Math.imul(h, HASH_BASE) + text.charCodeAt(i)) | 0;
  }
  return h;
}

function bucketOf(hash: number, mask: number): number {
  return Math.imul(hash ^ (hash >>> 16), 0x45d9f3b) & mask;
}

/** Chained hash table of every separator-free window of {@link GRAM} characters: position lists by hash. */
interface GramIndex {
  mask: number;
  /** First position of each bucket's chain, -1 for none. */
  heads: Int32Array;
  /** Next position in the same bucket, -1 at the end. */
  next: Int32Array;
}

function buildIndex(text: string): GramIndex {
  let size = 1024;
  while (size < text.length) {
    size *= 2;
  }
  const mask = size - 1;
  const heads = new Int32Array(size).fill(-1);
  const next = new Int32Array(Math.max(text.length, 1)).fill(-1);
  let lastSeparator = -1;
  let h = 0;
  for (let end = 0; end < text.length; end++) {
    const ch = text.charCodeAt(end);
    if (ch === PATTERN_SEPARATOR.charCodeAt(0)) {
      lastSeparator = end;
    }
    const start = end - GRAM + 1;
    h =
      start > 0
        ? Math.imul(h - Math.imul(text.charCodeAt(start - 1), HASH_DROP), HASH_BASE)
        : Math.imul(h, HASH_BASE);
    h = (h + ch) | 0;
    // A token never holds the separator, so a window across two texts can never be its start.
    if (start >= 0 && lastSeparator < start) {
      const bucket = bucketOf(h, mask);
      next[start] = heads[bucket]!;
      heads[bucket] = start;
    }
  }
  return { mask, heads, next };
}

/**
 * The `pattern` column texts of a list of records, joined by {@link PATTERN_SEPARATOR}: a token without the
 * separator occurs in the joined text exactly where it occurs inside one column of one record. Finds the records
 * containing a token with one `indexOf` scan per hit; once enough tokens have been scanned, with a hash index of
 * every 8-character window instead, which makes a token (such as a whole sid) a few table probes.
 */
export class PatternCorpus {
  private static last: PatternCorpus | undefined;

  private readonly joined: string;
  /** Where each record's text starts in `joined`, plus `joined.length + 1`. */
  private readonly starts: number[];
  private index: GramIndex | undefined;
  private scans = 0;

  private constructor(
    private readonly records: readonly SessionRecord[],
    private readonly texts: readonly string[],
  ) {
    this.joined = texts.join(PATTERN_SEPARATOR);
    this.starts = [];
    let at = 0;
    for (const text of texts) {
      this.starts.push(at);
      at += text.length + 1;
    }
    this.starts.push(at);
  }

  /** The corpus of these records and texts: the previous one (and its index) when both are the same. */
  static of(records: readonly SessionRecord[], texts: readonly string[]): PatternCorpus {
    const last = PatternCorpus.last;
    if (last !== undefined && last.texts.length === texts.length) {
      let same = true;
      for (let i = 0; i < texts.length && same; i++) {
        same = last.records[i] === records[i] && last.texts[i] === texts[i];
      }
      if (same) {
        return last;
      }
    }
    PatternCorpus.last = new PatternCorpus(records, texts);
    return PatternCorpus.last;
  }

  /** Adds to `matched` every record whose text contains `token` (non-empty, without the separator). */
  collect(token: string, matched: Set<SessionRecord>): void {
    if (token.length >= GRAM) {
      if (this.index === undefined && ++this.scans > INDEX_AFTER_SCANS) {
        this.index = buildIndex(this.joined);
      }
      if (this.index !== undefined && this.lookUp(this.index, token, matched)) {
        return;
      }
    }
    this.scan(token, matched, 0);
  }

  /** Finds the token through the index; false when it gave up after too many candidates. */
  private lookUp({ mask, heads, next }: GramIndex, token: string, matched: Set<SessionRecord>): boolean {
    const hash = hashGram(token, 0);
    let probes = 0;
    for (let at = heads[bucketOf(hash, mask)]!; at >= 0; at = next[at]!) {
      if (++probes > MAX_PROBES) {
        return false;
      }
      if (this.joined.startsWith(token, at)) {
        matched.add(this.records[this.recordAt(at)]!);
      }
    }
    return true;
  }

  private scan(token: string, matched: Set<SessionRecord>, from: number): void {
    while (matched.size < this.records.length) {
      const at = this.joined.indexOf(token, from);
      if (at < 0) {
        return;
      }
      const i = this.recordAt(at);
      matched.add(this.records[i]!);
      from = this.starts[i + 1]!;
    }
  }

  /** The record whose text holds position `at`: the last start at or before it. */
  private recordAt(at: number): number {
    let lo = 0;
    let hi = this.starts.length - 2;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid]! <= at) {
        lo = mid;
      } else {
        hi = mid - 1;
      }
    }
    return lo;
  }
}
