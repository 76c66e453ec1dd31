import { InvalidInputError } from '../../janssen/errors.js';

/**
 * Connection cursors: a position in the result of one filter and sort. Janssen pages by offset, so a cursor is an
 * offset plus a short fingerprint of the query it belongs to; a cursor from another query is refused instead of
 * silently pointing into the wrong list. Opaque to clients (base64url).
 */
export function encodeCursor(offset: number, fingerprint: string): string {
  return Buffer.from(`s1:${fingerprint}:${offset}`).toString('base64url');
}

export function decodeCursor(cursor: string, fingerprint: string, field: string): number {
  const decoded = Buffer.from(cursor, 'base64url').toString('utf8');
  const match = /^s1:([0-9a-z]+):(\d{1,9})$/.exec(decoded);
  if (!match) {
    throw new InvalidInputError(field, 'is not a cursor of this connection');
  }
  if (match[1] !== fingerprint) {
    throw new InvalidInputError(field, 'belongs to another filter or sort');
  }
  return Number(match[2]);
}

/** A short stable hash of a query's filter and sort (FNV-1a, base 36). */
export function fingerprintOf(value: unknown): string {
  let hash = 0x811c9dc5;
  for (const char of JSON.stringify(value ?? null)) {
    hash ^= char.charCodeAt(0);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(36);
}
