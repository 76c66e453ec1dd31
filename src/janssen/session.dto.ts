/**
 * Wire shapes of the Janssen config API session endpoints, with upstream names.
 * See shared UPSTREAM-BEHAVIOUR.md §4: Jackson NON_EMPTY drops null, "", [] and {} members, and dates are
 * `yyyy-MM-ddTHH:mm:ss` in UTC with no zone designator.
 */

export type SessionIdState = 'authenticated' | 'unauthenticated';

/** `io.jans.as.common.model.session.SessionId` as config-api serializes it (no `id`, `dn`, `persisted` since 2.0.0). */
export interface SessionId {
  outsideSid: string;
  lastUsedAt?: string;
  userDn?: string;
  authenticationTime?: string;
  state?: SessionIdState;
  sessionState?: string;
  permissionGranted?: boolean;
  permissionGrantedMap?: { permissionGranted?: Record<string, boolean> };
  sessionAttributes?: Record<string, string>;
  predefinedAttributes?: { index?: number };
  deviceSecrets?: string[];
  expirationDate?: string;
  deletable?: boolean;
  creationDate?: string;
  ttl?: number;
  opbrowserState?: string;
  /** Present in responses of Janssen <= 1.16.x only. */
  persisted?: boolean;
}

/** `SessionPagedResult`: `entries` is absent when the page is empty. */
export interface SessionPagedResult {
  start: number;
  totalEntriesCount: number;
  entriesCount: number;
  entries?: SessionId[];
}

/** The `sortBy` values we send: database columns of `jansSessId`, never JSON property names. */
export type SessionSortColumn =
  'exp' | 'creationDate' | 'jansLastAccessTime' | 'authnTime' | 'jansUsrDN' | 'jansState' | 'jansId' | 'sid';

/** Query parameters of `GET /session/search`, already in upstream form. */
export interface SessionSearchParams {
  limit: number;
  startIndex: number;
  pattern?: string;
  sortBy?: SessionSortColumn;
  sortOrder?: 'ascending' | 'descending';
  fieldValuePair?: string;
}

/** Standard OAuth 2.0 token response of `/jans-auth/restv1/token`. */
export interface TokenResponse {
  access_token: string;
  token_type: string;
  expires_in?: number;
  scope?: string;
}
