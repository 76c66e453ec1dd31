import type { Context } from '../../context.js';
import {
  inumOfDn,
  janssenDateMs,
  type PageSpec,
  parseJanssenDate,
  plainJanssenDateMs,
} from '../../janssen/query.js';
import type { SessionId } from '../../janssen/session.dto.js';
import type { Instant } from '../scalars.js';

import type { SessionPage } from './session-page.type.js';
import { type Session, SessionState } from './session.type.js';

/**
 * A Janssen date as DateTime's output: for the usual `yyyy-MM-ddTHH:mm:ss` (a valid date, four-digit year) that is
 * the text itself with a `Z`, so a page of 20 sessions builds no `Date` and formats none (these were a fifth of
 * the bytes a page allocated). Any other shape is read by `parseJanssenDate`, and the scalar formats the `Date`.
 */
function instant(value: string | undefined): Instant | null {
  if (!value) {
    return null;
  }
  if (plainJanssenDateMs(value) !== undefined) {
    return `${value}Z`;
  }
  return parseJanssenDate(value) ?? null;
}

/**
 * A `Session` read from Janssen's wire shape on demand: each field is a getter, so a query pays only for the
 * fields it selects (a page of 20 used to parse 80 dates and build 20 objects of 19 properties up front).
 */
class WireSession implements Session {
  constructor(
    private readonly wire: SessionId,
    private readonly now: number,
  ) {}

  get sid(): string {
    return this.wire.outsideSid;
  }
  get userDn(): string | null {
    return this.wire.userDn ?? null;
  }
  get userInum(): string | null {
    return inumOfDn(this.wire.userDn) ?? null;
  }
  get state(): SessionState {
    return this.wire.state === 'authenticated' ? SessionState.AUTHENTICATED : SessionState.UNAUTHENTICATED;
  }
  get sessionState(): string | null {
    return this.wire.sessionState ?? null;
  }
  get authenticationTime(): Instant | null {
    return instant(this.wire.authenticationTime);
  }
  get creationDate(): Instant | null {
    return instant(this.wire.creationDate);
  }
  get lastUsedAt(): Instant | null {
    return instant(this.wire.lastUsedAt);
  }
  get expirationDate(): Instant | null {
    return instant(this.wire.expirationDate);
  }
  get expired(): boolean {
    const expiresAt = janssenDateMs(this.wire.expirationDate);
    return expiresAt !== undefined && expiresAt <= this.now;
  }
  get deletable(): boolean | null {
    return this.wire.deletable ?? null;
  }
  get permissionGranted(): boolean | null {
    return this.wire.permissionGranted ?? null;
  }
  get permissionGrantedMap(): Record<string, boolean> | null {
    return this.wire.permissionGrantedMap?.permissionGranted ?? null;
  }
  get sessionAttributes(): Record<string, string> | null {
    return this.wire.sessionAttributes ?? null;
  }
  get clientId(): string | null {
    return this.wire.sessionAttributes?.client_id ?? null;
  }
  get authUser(): string | null {
    return this.wire.sessionAttributes?.auth_user ?? null;
  }
  get acr(): string | null {
    return this.wire.sessionAttributes?.acr ?? null;
  }
  get opbrowserState(): string | null {
    return this.wire.opbrowserState ?? this.wire.sessionAttributes?.opbs ?? null;
  }
  get deviceSecrets(): string[] | null {
    return this.wire.deviceSecrets ?? null;
  }
}

/** The one place where Janssen's wire shape (`SessionId`) becomes the graph's `Session`. */
export function toSession(wire: SessionId, now: number = Date.now()): Session {
  return new WireSession(wire, now);
}

/** A page of wire sessions as the graph's `SessionPage`; each session also primes the request's session loader. */
export function toSessionPage(
  entries: SessionId[],
  totalCount: number,
  page: PageSpec,
  ctx: Context,
): SessionPage {
  for (const entry of entries) {
    ctx.loaders.session.prime(entry.outsideSid, entry);
  }
  return {
    nodes: entries.map((entry) => toSession(entry, ctx.now)),
    totalCount,
    offset: page.offset,
    limit: page.limit,
    hasNextPage: page.offset + entries.length < totalCount,
    hasPreviousPage: page.offset > 0,
  };
}
