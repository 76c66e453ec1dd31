import type { Context } from '../../context.js';
import { inumOfDn, type PageSpec, parseJanssenDate } from '../../janssen/query.js';
import type { SessionId } from '../../janssen/session.dto.js';

import type { SessionPage } from './session-page.type.js';
import { type Session, SessionState } from './session.type.js';

/** The one place where Janssen's wire shape (`SessionId`) becomes the graph's `Session`. */
export function toSession(wire: SessionId, now: number = Date.now()): Session {
  const attributes = wire.sessionAttributes;
  const expirationDate = parseJanssenDate(wire.expirationDate) ?? null;
  return {
    sid: wire.outsideSid,
    userDn: wire.userDn ?? null,
    userInum: inumOfDn(wire.userDn) ?? null,
    state: wire.state === 'authenticated' ? SessionState.AUTHENTICATED : SessionState.UNAUTHENTICATED,
    sessionState: wire.sessionState ?? null,
    authenticationTime: parseJanssenDate(wire.authenticationTime) ?? null,
    creationDate: parseJanssenDate(wire.creationDate) ?? null,
    lastUsedAt: parseJanssenDate(wire.lastUsedAt) ?? null,
    expirationDate,
    expired: expirationDate !== null && expirationDate.getTime() <= now,
    deletable: wire.deletable ?? null,
    permissionGranted: wire.permissionGranted ?? null,
    permissionGrantedMap: wire.permissionGrantedMap?.permissionGranted ?? null,
    sessionAttributes: attributes ?? null,
    clientId: attributes?.client_id ?? null,
    authUser: attributes?.auth_user ?? null,
    acr: attributes?.acr ?? null,
    opbrowserState: wire.opbrowserState ?? attributes?.opbs ?? null,
    deviceSecrets: wire.deviceSecrets ?? null,
  };
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
