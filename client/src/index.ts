/**
 * Typed client for jans-sessions-graphql: the five calls of Janssen's generated `AuthSessionManagementApi`
 * (`getSessions`, `searchSession`, `getSessionById`, `deleteSession`, `revokeUserSession`) over GraphQL, plus the
 * queries that have no REST counterpart and a generic `request` for any typed document.
 */
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { type DocumentNode, Kind, print } from 'graphql';

import { type GraphQLErrorEntry, SessionsClientError } from './errors.js';
import {
  ClientDeleteSessionDocument,
  ClientDeleteSessionsDocument,
  type ClientDeleteSessionsMutation,
  ClientRevokeUserSessionsDocument,
  ClientSessionDocument,
  ClientSessionsConnectionDocument,
  type ClientSessionsConnectionQuery,
  type ClientSessionsConnectionQueryVariables,
  ClientSessionsDocument,
  ClientSessionStatsDocument,
  type ClientSessionStatsQuery,
  type SessionFieldsFragment,
  type SessionFilter,
} from './generated/graphql.js';
import { DEFAULT_LIMIT, type SearchSessionOptions, toSessionsArguments } from './search-session.js';

export {
  type GraphQLErrorEntry,
  SessionsClientError,
  type SessionsClientErrorInit,
  type SessionsErrorCode,
} from './errors.js';
export {
  type SearchSessionOptions,
  type SearchSessionSortBy,
  parseFieldValuePair,
  SORT_BY,
  toSessionsArguments,
} from './search-session.js';
// The input types (SessionFilter, SessionSort...) and the typed documents, for `request` or any client that takes a
// TypedDocumentNode.
export * from './generated/graphql.js';

/** A session as the GraphQL API returns it: camelCase fields, `sid` (Janssen's `outsideSid`), ISO dates in UTC. */
export type Session = SessionFieldsFragment;

/** The shape of Janssen's `SessionPagedResult`, with GraphQL `Session` entries (always an array, maybe empty). */
export interface SessionPagedResult {
  /** 0-based index of the first entry, as requested. */
  start: number;
  /** Sessions matching the search, over all pages. */
  totalEntriesCount: number;
  /** `entries.length`. */
  entriesCount: number;
  entries: Session[];
}

export interface DeleteSessionResult {
  sid: string;
  /** False when no session had this sid (Janssen answers 404). */
  deleted: boolean;
}

export interface RevokeUserSessionResult {
  /** The full DN whose sessions were revoked (a bare inum is expanded). */
  userDn: string;
  /** False when the user had no authenticated session (Janssen answers 404). */
  revoked: boolean;
}

export interface DeleteSessionsOptions {
  /** Only report the matches; true unless set to false. */
  dryRun?: boolean;
  /** 1 to 1000, default 100: with more matches than this nothing is deleted and `truncated` is set. */
  max?: number;
}

export type DeleteSessionsResult = ClientDeleteSessionsMutation['deleteSessions'];

export interface SessionStatsOptions {
  /** Also count per client and per acr (`byClient`, `byAcr`); that reads every matching session upstream. */
  grouped?: boolean;
}

export type SessionStatsResult = ClientSessionStatsQuery['sessionStats'];

export type SessionsConnectionArguments = ClientSessionsConnectionQueryVariables;

export type SessionsConnectionResult = ClientSessionsConnectionQuery['sessionsConnection'];

/** Variables as a rest argument: optional when the operation has no required variable. */
export type VariablesArgument<TVariables> =
  Record<string, never> extends TVariables ? [variables?: TVariables] : [variables: TVariables];

/** Request headers, or a function giving them per request (e.g. a bearer token that is refreshed). */
export type HeadersOption =
  Record<string, string> | (() => Record<string, string> | Promise<Record<string, string>>);

export interface SessionsClientOptions {
  /** The GraphQL endpoint, e.g. `http://127.0.0.1:4000/graphql`. */
  url: string | URL;
  /** Sent with every request: `authorization: Bearer …` (pass-through) or `x-api-key` (client-credentials). */
  headers?: HeadersOption;
  /** Defaults to the global `fetch`. */
  fetch?: typeof fetch;
  /**
   * Send the client's operations by id (`{"documentId": "sha256:…"}`, GraphQL over HTTP) instead of their text,
   * for a service whose `TRUSTED_DOCUMENTS_FILE` lists them: the manifest `npm run codegen` writes to
   * `client/src/generated/persisted-documents.json` (`persisted-documents.json` next to the build). Required by a
   * service in `TRUSTED_DOCUMENTS_MODE=enforce`, which refuses the client's texts as sent otherwise. Documents
   * without an id (your own, given to `request`) are still sent as text.
   */
  persistedDocuments?: boolean;
}

/**
 * The calls of Janssen's `AuthSessionManagementApi`, same names and options, returning promises of GraphQL
 * results; plus `deleteSessions`, `sessionStats`, `sessionsConnection` and `request`.
 * Every method rejects with `SessionsClientError`.
 */
export interface SessionsClient {
  /** Upstream `GET /session`: the first 50 sessions of any state, in Janssen's default (internal id) order. */
  getSessions(): Promise<SessionPagedResult>;
  /** Upstream `GET /session/search`: one page of the sessions matching the options. */
  searchSession(options?: SearchSessionOptions): Promise<SessionPagedResult>;
  /** Upstream `GET /session/sid/{sid}`: the session, or null when there is none. */
  getSessionById(sid: string): Promise<Session | null>;
  /** Upstream `DELETE /session/sid/{sid}`: deletes one session (any state) and its tokens. */
  deleteSession(sid: string): Promise<DeleteSessionResult>;
  /** Upstream `DELETE /session/user/{userDn}`: revokes the user's authenticated sessions; a DN or a bare inum. */
  revokeUserSession(userDn: string): Promise<RevokeUserSessionResult>;
  /** Deletes every session matching `filter`, or with `dryRun` (the default) only reports them. */
  deleteSessions(filter: SessionFilter, options?: DeleteSessionsOptions): Promise<DeleteSessionsResult>;
  /** Session counts by state and expiry (and by client and acr with `grouped`). */
  sessionStats(filter?: SessionFilter, options?: SessionStatsOptions): Promise<SessionStatsResult>;
  /** Sessions as a Relay connection: `first`/`after` forward, `last`/`before` backward. */
  sessionsConnection(args?: SessionsConnectionArguments): Promise<SessionsConnectionResult>;
  /**
   * Runs any typed document (e.g. one generated from your own `.graphql` files) and resolves to its `data`.
   * Any GraphQL error rejects, even with partial data (kept in the error's `data`): a field nulled by an error
   * would otherwise read as "not found".
   */
  request<TResult, TVariables>(
    document: TypedDocumentNode<TResult, TVariables>,
    ...variables: VariablesArgument<NoInfer<TVariables>>
  ): Promise<TResult>;
}

/** Creates a client for the GraphQL endpoint at `url`. */
export function createSessionsClient(options: SessionsClientOptions): SessionsClient {
  const url = String(options.url);
  if (!options.fetch && typeof globalThis.fetch !== 'function') {
    throw new TypeError('createSessionsClient: no global fetch (Node 18+ or a browser); pass options.fetch');
  }
  // Called through a closure: browsers throw "Illegal invocation" for a fetch detached from globalThis.
  const fetchImpl: typeof fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const headersOption = options.headers ?? {};

  async function request<TResult, TVariables>(
    document: TypedDocumentNode<TResult, TVariables>,
    ...[variables]: VariablesArgument<NoInfer<TVariables>>
  ): Promise<TResult> {
    const { query, operationName, documentId } = serialize(document);
    const headers = new Headers(typeof headersOption === 'function' ? await headersOption() : headersOption);
    headers.set('accept', 'application/json');
    headers.set('content-type', 'application/json');
    let status: number;
    let text: string;
    try {
      const response = await fetchImpl(url, {
        method: 'POST',
        headers,
        body: JSON.stringify(
          options.persistedDocuments && documentId !== undefined
            ? { documentId, variables: variables ?? {}, operationName }
            : { query, variables: variables ?? {}, operationName },
        ),
      });
      status = response.status;
      text = await response.text();
    } catch (cause) {
      throw new SessionsClientError(`${operationName ?? 'request'}: ${url} could not be reached`, {
        code: 'NETWORK_ERROR',
        cause,
      });
    }
    const body = parseBody(text);
    if (body?.errors && body.errors.length > 0) {
      const [first] = body.errors as [GraphQLErrorEntry, ...GraphQLErrorEntry[]];
      const more = body.errors.length > 1 ? ` (and ${body.errors.length - 1} more errors)` : '';
      throw new SessionsClientError(`${first.message}${more}`, {
        code: typeof first.extensions?.code === 'string' ? first.extensions.code : 'INTERNAL_SERVER_ERROR',
        errors: body.errors,
        status,
        field: typeof first.extensions?.field === 'string' ? first.extensions.field : undefined,
        data: body.data ?? undefined,
      });
    }
    if (!body || body.data === null || body.data === undefined) {
      throw new SessionsClientError(
        `${operationName ?? 'request'}: HTTP ${status} without a GraphQL result`,
        {
          code: 'HTTP_ERROR',
          status,
        },
      );
    }
    return body.data as TResult;
  }

  async function searchSession(searchOptions: SearchSessionOptions = {}): Promise<SessionPagedResult> {
    const { sessions } = await request(ClientSessionsDocument, toSessionsArguments(searchOptions));
    return {
      start: sessions.offset,
      totalEntriesCount: sessions.totalCount,
      entriesCount: sessions.nodes.length,
      entries: sessions.nodes,
    };
  }

  return {
    getSessions: () => searchSession({ limit: DEFAULT_LIMIT }),
    searchSession,
    async getSessionById(sid) {
      return (await request(ClientSessionDocument, { sid })).session;
    },
    async deleteSession(sid) {
      return (await request(ClientDeleteSessionDocument, { sid })).deleteSession;
    },
    async revokeUserSession(userDn) {
      return (await request(ClientRevokeUserSessionsDocument, { userDn })).revokeUserSessions;
    },
    async deleteSessions(filter, { dryRun, max } = {}) {
      return (await request(ClientDeleteSessionsDocument, { filter, dryRun, max })).deleteSessions;
    },
    async sessionStats(filter, { grouped } = {}) {
      return (await request(ClientSessionStatsDocument, { filter, grouped })).sessionStats;
    },
    async sessionsConnection(args = {}) {
      return (await request(ClientSessionsConnectionDocument, args)).sessionsConnection;
    },
    request,
  };
}

interface GraphQLBody {
  data?: unknown;
  errors?: GraphQLErrorEntry[];
}

/** The JSON body if it looks like a GraphQL result, else undefined (an HTML error page, an empty body...). */
function parseBody(text: string): GraphQLBody | undefined {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof body !== 'object' || body === null || !('data' in body || 'errors' in body)) {
    return undefined;
  }
  const { errors } = body as GraphQLBody;
  return errors === undefined || Array.isArray(errors) ? (body as GraphQLBody) : undefined;
}

interface SerializedDocument {
  query: string;
  operationName: string | undefined;
  /** `sha256:<hex>` of the text in the codegen manifest, for documents generated with `persistedDocuments`. */
  documentId: string | undefined;
}

/** Printed once per document: the generated documents are module constants. */
const serialized = new WeakMap<DocumentNode, SerializedDocument>();

function serialize(document: DocumentNode): SerializedDocument {
  let entry = serialized.get(document);
  if (!entry) {
    const operation = document.definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION);
    // graphql-codegen's client preset puts the manifest id there (`persistedDocuments: true`).
    const hash = (document as { __meta__?: { hash?: unknown } }).__meta__?.hash;
    entry = {
      query: print(document),
      operationName: operation?.name?.value,
      documentId: typeof hash === 'string' ? hash : undefined,
    };
    serialized.set(document, entry);
  }
  return entry;
}
