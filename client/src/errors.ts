/** One entry of a GraphQL response's `errors`, as the server sends it. */
export interface GraphQLErrorEntry {
  message: string;
  path?: readonly (string | number)[];
  locations?: readonly { line: number; column: number }[];
  /** `code` is always set by this server; `field` names the offending input on BAD_USER_INPUT. */
  extensions?: { code?: string; field?: string; [key: string]: unknown };
}

/**
 * The server's stable error codes (README "Errors"), plus the client's own: `NETWORK_ERROR` (no HTTP response)
 * and `HTTP_ERROR` (a response that is not a GraphQL result, e.g. a proxy's 502 page).
 */
export type SessionsErrorCode =
  | 'BAD_USER_INPUT'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'UPSTREAM_TIMEOUT'
  | 'UPSTREAM_UNAVAILABLE'
  | 'UPSTREAM_ERROR'
  | 'GRAPHQL_PARSE_FAILED'
  | 'GRAPHQL_VALIDATION_FAILED'
  | 'QUERY_TOO_COMPLEX'
  | 'INTERNAL_SERVER_ERROR'
  // A `persistedDocuments` client whose document ids the service's manifest does not list.
  | 'PERSISTED_QUERY_NOT_FOUND'
  | 'NETWORK_ERROR'
  | 'HTTP_ERROR'
  // Any other code a newer server may send, without losing completion on the known ones.
  | (string & {});

export interface SessionsClientErrorInit {
  code: SessionsErrorCode;
  /** The response's GraphQL errors; empty when the request was refused before sending or got no GraphQL body. */
  errors?: readonly GraphQLErrorEntry[];
  /** HTTP status; undefined when nothing was received (refused before sending, or a network failure). */
  status?: number;
  /** The offending option or input field, e.g. `fieldValuePair` or `page.limit`. */
  field?: string;
  /** Whatever `data` came with the errors (partial results are not returned by the client methods). */
  data?: unknown;
  cause?: unknown;
}

/**
 * Every failure of the typed client: GraphQL errors from the server (`code` is the first error's
 * `extensions.code`), options refused before sending (`BAD_USER_INPUT`, `status` undefined), network failures and
 * non-GraphQL responses.
 */
export class SessionsClientError extends Error {
  override readonly name = 'SessionsClientError';
  readonly code: SessionsErrorCode;
  readonly errors: readonly GraphQLErrorEntry[];
  readonly status: number | undefined;
  readonly field: string | undefined;
  readonly data: unknown;

  constructor(message: string, init: SessionsClientErrorInit) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.code = init.code;
    this.errors = init.errors ?? [];
    this.status = init.status;
    this.field = init.field;
    this.data = init.data;
  }
}

/** An option the server cannot express, refused before any request. */
export function invalidOption(field: string, message: string): SessionsClientError {
  return new SessionsClientError(`${field} ${message}`, { code: 'BAD_USER_INPUT', field });
}
