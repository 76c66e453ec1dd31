import { randomBytes, randomUUID } from 'node:crypto';

import type { SessionId, SessionIdState } from '../janssen/session.dto.js';

import { memoOf } from './record-memo.js';

/** `staticConfiguration.baseDn.people` of a default Janssen install. */
export const PEOPLE_BASE_DN = 'ou=people,o=jans';
/** `staticConfiguration.baseDn.sessions` of a default Janssen install. */
export const SESSIONS_BASE_DN = 'ou=sessions,o=jans';

/**
 * One row of the `jansSessId` table, named by its database columns (UPSTREAM-BEHAVIOUR.md §3.4, §4.2).
 * Optional members are SQL NULL.
 */
export interface SessionRecord {
  jansId: string;
  sid: string;
  creationDate: Date;
  exp: Date;
  jansLastAccessTime: Date;
  authnTime?: Date;
  jansUsrDN?: string;
  jansState: SessionIdState;
  jansSessState?: string;
  jansPermissionGranted?: boolean;
  /** The `permissionGranted` map inside the `jansPermissionGrantedMap` JSON column. */
  jansPermissionGrantedMap: Record<string, boolean>;
  jansSessAttr: Record<string, string>;
  jansAttrs: { index?: number };
  deviceSecret: string[];
  del: boolean;
}

/** A row of the auth server's token table bound to a session (`ssnId` = the session's DN), §2.4. */
export interface SessionTokenRecord {
  tknCde: string;
  tknTyp: 'access_token' | 'id_token' | 'refresh_token';
  ssnId: string;
  clnId?: string;
}

/** The DN of a session entry: `jansId=<id>,ou=sessions,o=jans`. */
export function sessionDn(record: Pick<SessionRecord, 'jansId'>): string {
  return `jansId=${record.jansId},${SESSIONS_BASE_DN}`;
}

/** The DN config-api builds from a user inum (`SessionService.getDnForUser`, §3.5 step 4). */
export function userDnForInum(inum: string | null): string {
  return inum ? `inum=${inum},${PEOPLE_BASE_DN}` : PEOPLE_BASE_DN;
}

/** Jackson's `yyyy-MM-dd'T'HH:mm:ss` in UTC: no milliseconds, no zone designator (§4.1). */
export function formatJansDate(date: Date): string {
  return date.toISOString().slice(0, 19);
}

function wholeSecond(date: Date): Date {
  return new Date(Math.floor(date.getTime() / 1000) * 1000);
}

/** A complete record with plausible defaults for everything not given; handy in tests. */
export function createSessionRecord(
  init: Partial<SessionRecord> = {},
  now: Date = new Date(),
): SessionRecord {
  const creationDate = init.creationDate ?? wholeSecond(now);
  const jansState = init.jansState ?? (init.jansUsrDN ? 'authenticated' : 'unauthenticated');
  const sid = init.sid ?? randomUUID();
  const record: SessionRecord = {
    jansId: randomUUID(),
    sid,
    creationDate,
    exp: new Date(creationDate.getTime() + 86_400_000),
    jansLastAccessTime: creationDate,
    jansState,
    jansSessState: `${randomBytes(32).toString('hex')}.${randomUUID()}`,
    jansPermissionGrantedMap: {},
    jansSessAttr: { sid },
    jansAttrs: {},
    deviceSecret: [],
    del: true,
    ...init,
  };
  if (jansState === 'authenticated' && !('authnTime' in init)) {
    record.authnTime = creationDate;
  }
  return record;
}

/** Session attributes config-api nulls before answering (`SessionService.excludeAttribute`, §4.1). */
const STRIPPED_ATTRIBUTES = new Set(['session_id', 'old_session_id']);

/**
 * In-memory `jansSessId` table plus the session-bound token rows, in insertion order.
 * Records are live objects: tests may mutate them directly.
 */
export class SessionStore {
  private readonly sessions = new Map<string, SessionRecord>();
  private tokenRows: SessionTokenRecord[] = [];

  /** Number of sessions. */
  get size(): number {
    return this.sessions.size;
  }

  /** All sessions in insertion order (a new array each call). */
  all(): SessionRecord[] {
    return [...this.sessions.values()];
  }

  /** The first session whose `sid` equals `sid` (any state), as `SessionService.getSession` does (§2.3). */
  get(sid: string): SessionRecord | undefined {
    for (const record of this.sessions.values()) {
      if (record.sid === sid) {
        return record;
      }
    }
    return undefined;
  }

  /** The session with primary key `jansId`. */
  getById(jansId: string): SessionRecord | undefined {
    return this.sessions.get(jansId);
  }

  /** Inserts a session; `jansId` must be unique. */
  add(record: SessionRecord): void {
    if (this.sessions.has(record.jansId)) {
      throw new Error(`duplicate jansId ${record.jansId}`);
    }
    this.sessions.set(record.jansId, record);
  }

  /**
   * Removes the first session with this `sid` and its access and id tokens (§2.4, checklist 10).
   * Returns the removed session, if any.
   */
  remove(sid: string): SessionRecord | undefined {
    const record = this.get(sid);
    if (record) {
      this.removeById(record.jansId);
    }
    return record;
  }

  /** Removes a session by primary key together with its access and id tokens. */
  removeById(jansId: string): boolean {
    const record = this.sessions.get(jansId);
    if (!record) {
      return false;
    }
    this.sessions.delete(jansId);
    const dn = sessionDn(record);
    // Only access_token and id_token rows are revoked; refresh tokens survive (§2.4).
    this.tokenRows = this.tokenRows.filter((t) => t.ssnId !== dn || t.tknTyp === 'refresh_token');
    return true;
  }

  /** Removes every session and token. */
  clear(): void {
    this.sessions.clear();
    this.tokenRows = [];
  }

  /** All session-bound token rows. */
  tokens(): SessionTokenRecord[] {
    return [...this.tokenRows];
  }

  /** Adds a session-bound token row. */
  addToken(token: SessionTokenRecord): void {
    this.tokenRows.push(token);
  }

  /** Token rows bound to the given session. */
  tokensOf(record: Pick<SessionRecord, 'jansId'>): SessionTokenRecord[] {
    const dn = sessionDn(record);
    return this.tokenRows.filter((t) => t.ssnId === dn);
  }

  /** The record as config-api serializes it (§4.1, §4.2). */
  toWire(record: SessionRecord): SessionId {
    return toWire(record);
  }

  /** `JSON.stringify(this.toWire(record))`, memoized while the record is unchanged. */
  toWireJson(record: SessionRecord): string {
    return toWireJson(record);
  }
}

/**
 * `JSON.stringify(toWire(record))`. The string is kept until the record changes; a record with a blank sid gets a
 * new random `outsideSid` every time, so its JSON is built afresh on every call.
 */
export function toWireJson(record: SessionRecord): string {
  const memo = memoOf(record);
  if (memo === undefined || !record.sid) {
    return JSON.stringify(toWire(record));
  }
  return (memo.wireJson ??= JSON.stringify(toWire(record)));
}

/**
 * Serializes a record like Jackson with NON_EMPTY inclusion, in `SessionId` field order (§4.1, §4.2):
 * null, "", empty maps and empty lists are dropped (map entries too), beans such as
 * `permissionGrantedMap` and `predefinedAttributes` are kept even when they serialize as `{}`.
 */
export function toWire(record: SessionRecord): SessionId {
  const wire: Record<string, unknown> = {};
  // SessionId.getOutsideSid() invents a random UUID when the column is blank (§4.2).
  wire.outsideSid = record.sid ? record.sid : randomUUID();
  wire.lastUsedAt = formatJansDate(record.jansLastAccessTime);
  if (record.jansUsrDN) {
    wire.userDn = record.jansUsrDN;
  }
  if (record.authnTime) {
    wire.authenticationTime = formatJansDate(record.authnTime);
  }
  wire.state = record.jansState;
  if (record.jansSessState) {
    wire.sessionState = record.jansSessState;
  }
  if (record.jansPermissionGranted !== undefined) {
    wire.permissionGranted = record.jansPermissionGranted;
  }
  const granted = Object.entries(record.jansPermissionGrantedMap);
  wire.permissionGrantedMap = granted.length > 0 ? { permissionGranted: Object.fromEntries(granted) } : {};
  const attributes = Object.entries(record.jansSessAttr).filter(
    ([key, value]) => !STRIPPED_ATTRIBUTES.has(key) && value !== '' && value !== null && value !== undefined,
  );
  if (attributes.length > 0) {
    wire.sessionAttributes = Object.fromEntries(attributes);
  }
  wire.predefinedAttributes =
    record.jansAttrs.index !== undefined && record.jansAttrs.index !== null
      ? { index: record.jansAttrs.index }
      : {};
  if (record.deviceSecret.length > 0) {
    wire.deviceSecrets = [...record.deviceSecret];
  }
  wire.expirationDate = formatJansDate(record.exp);
  wire.deletable = record.del;
  wire.creationDate = formatJansDate(record.creationDate);
  wire.ttl = 0;
  const opbs = record.jansSessAttr.opbs;
  if (opbs) {
    wire.opbrowserState = opbs;
  }
  return wire as unknown as SessionId;
}
