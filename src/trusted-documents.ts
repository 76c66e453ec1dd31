import { hash } from 'node:crypto';
import { readFileSync } from 'node:fs';

import {
  type DocumentNode,
  GraphQLError,
  type GraphQLSchema,
  Kind,
  type OperationDefinitionNode,
  parse,
  validate,
} from 'graphql';
import type { Logger } from 'pino';

import { shownOperationName, shownText } from './logger.js';
import { RepeatLimiter } from './util/repeat-limiter.js';

/**
 * Trusted documents (persisted-document safelisting): the operations a team's own apps send, listed ahead of time in
 * a manifest, and nothing else. The manifest is graphql-codegen's `persisted-documents.json` (client preset,
 * `persistedDocuments: true`): `{ "sha256:<hex>": "<document text>", ... }`, each key the SHA-256 of its text; or
 * Apollo's persisted query manifest (`@apollo/generate-persisted-query-manifest`): `{ "format":
 * "apollo-persisted-query-manifest", "version": 1, "operations": [{ "id", "name", "type", "body" }] }`, each id the
 * SHA-256 of its body. Either way the result is the same: document texts by SHA-256.
 *
 * Requests are decided on before anything else reads them (authentication, parsing, the fast path, Apollo):
 * - by id, GraphQL-over-HTTP's `documentId` (`sha256:<hex>`) or Apollo's `extensions.persistedQuery.sha256Hash`: a
 *   listed id becomes a plain request with the listed text (so the fast path takes its repeats), an unknown one is
 *   PERSISTED_QUERY_NOT_FOUND (HTTP 404);
 * - by text: a text whose SHA-256 is listed runs as sent; any other is refused in `enforce` mode (FORBIDDEN, HTTP
 *   403, before it is parsed) and run in `log` mode, with a warning per document at most once a minute.
 */
export type TrustedDocumentsMode = 'enforce' | 'log';

export interface TrustedDocumentsConfig {
  /** `TRUSTED_DOCUMENTS_FILE`, for the start-up log line. */
  file: string;
  mode: TrustedDocumentsMode;
  /** Document texts by the lower-case hex SHA-256 of their UTF-8 bytes. */
  documents: ReadonlyMap<string, string>;
}

/** A manifest that cannot be used; the message says why in one line, never quoting a document's text. */
export class TrustedDocumentsError extends Error {
  override readonly name = 'TrustedDocumentsError';
}

/** A manifest key or a `documentId`: `sha256:<64 hex>` (GraphQL over HTTP, graphql-codegen) or the bare digest. */
const DOCUMENT_ID = /^(?:sha256:)?([0-9a-fA-F]{64})$/;

/** The `format` of the manifest that `@apollo/generate-persisted-query-manifest` writes. */
const APOLLO_MANIFEST_FORMAT = 'apollo-persisted-query-manifest';
const OPERATION_TYPES: readonly string[] = ['query', 'mutation', 'subscription'];

/**
 * Reads and checks a manifest of at least one document, each listed under the SHA-256 of its text: graphql-codegen's
 * `persisted-documents.json`, or Apollo's persisted query manifest (told apart by its `format`).
 */
export function readTrustedDocuments(file: string): Map<string, string> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new TrustedDocumentsError(
      `cannot read ${JSON.stringify(file)} (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
  let manifest: unknown;
  try {
    manifest = JSON.parse(text);
  } catch {
    // JSON.parse's message quotes the text around the mistake.
    throw new TrustedDocumentsError(`${JSON.stringify(file)} is not valid JSON`);
  }
  if (!isRecord(manifest)) {
    throw new TrustedDocumentsError(
      `${JSON.stringify(file)} must hold a JSON object of document texts by id ({"sha256:<hex>": "query …"}), as graphql-codegen's persisted-documents.json does, or an Apollo persisted query manifest ({"format": "${APOLLO_MANIFEST_FORMAT}", …})`,
    );
  }
  const documents =
    manifest.format === APOLLO_MANIFEST_FORMAT
      ? readApolloManifest(JSON.stringify(file), manifest)
      : readCodegenManifest(JSON.stringify(file), manifest);
  if (documents.size === 0) {
    throw new TrustedDocumentsError(
      `${JSON.stringify(file)} lists no documents: every operation would be refused`,
    );
  }
  return documents;
}

/** graphql-codegen's `{"sha256:<hex>": "<text>"}`; `where` is the quoted file name. */
function readCodegenManifest(where: string, manifest: Record<string, unknown>): Map<string, string> {
  const documents = new Map<string, string>();
  for (const [key, value] of Object.entries(manifest)) {
    const shownKey = JSON.stringify(shownText(key, 80));
    const digest = DOCUMENT_ID.exec(key)?.[1]?.toLowerCase();
    if (digest === undefined) {
      throw new TrustedDocumentsError(
        `${where}: key ${shownKey} is not a document id (sha256:<64 hex digits>)`,
      );
    }
    if (typeof value !== 'string') {
      throw new TrustedDocumentsError(`${where}: the value of ${shownKey} is not a document text`);
    }
    const actual = hash('sha256', value);
    if (actual !== digest) {
      throw new TrustedDocumentsError(
        `${where}: key ${shownKey} is not the SHA-256 of its text (that is sha256:${actual})`,
      );
    }
    const parsed = parseListed(value);
    if ('problem' in parsed) {
      throw new TrustedDocumentsError(`${where}: the text of ${shownKey} ${parsed.problem}`);
    }
    documents.set(digest, value);
  }
  return documents;
}

/**
 * Apollo's `{"format": "apollo-persisted-query-manifest", "version": 1, "operations": [{id, body, name, type}]}`.
 * Apollo Client sends `id` as the APQ `sha256Hash`, so an id must be what this service looks requests up by: the
 * SHA-256 (hex) of `body`, the generator's default `createOperationId`. `name` and `type`, labels a reviewer reads
 * and Apollo Client finds an operation's id by, must agree with the body: the generator never writes them otherwise.
 */
function readApolloManifest(where: string, manifest: Record<string, unknown>): Map<string, string> {
  if (manifest.version !== 1) {
    throw new TrustedDocumentsError(
      `${where}: an Apollo persisted query manifest's "version" must be 1, the one this service reads (got ${shownValue(manifest.version)})`,
    );
  }
  const { operations } = manifest;
  if (!Array.isArray(operations)) {
    throw new TrustedDocumentsError(
      `${where}: "operations" must be an array of {"id", "body", "name", "type"} (got ${shownValue(operations)})`,
    );
  }
  const documents = new Map<string, string>();
  /** Where each id was first listed. */
  const listedAt = new Map<string, number>();
  for (const [index, operation] of (operations as unknown[]).entries()) {
    let at = `${where}: operations[${index}]`;
    if (!isRecord(operation)) {
      throw new TrustedDocumentsError(`${at} is not an object with "id" and "body"`);
    }
    const { id, body } = operation;
    // Null is absent: a generator may write `"name": null` for an operation without one.
    const name = operation.name ?? undefined;
    const type = operation.type ?? undefined;
    if (name !== undefined) {
      if (typeof name !== 'string') {
        throw new TrustedDocumentsError(`${at}: "name" must be a string (got ${shownValue(name)})`);
      }
      at += ` (${JSON.stringify(shownText(name, 80))})`;
    }
    if (typeof id !== 'string') {
      throw new TrustedDocumentsError(`${at}: "id" must be a string (got ${shownValue(id)})`);
    }
    if (typeof body !== 'string') {
      throw new TrustedDocumentsError(`${at}: "body" must be a document text (a string)`);
    }
    if (type !== undefined && (typeof type !== 'string' || !OPERATION_TYPES.includes(type))) {
      throw new TrustedDocumentsError(
        `${at}: "type" must be query, mutation or subscription (got ${shownValue(type)})`,
      );
    }
    const shownId = JSON.stringify(shownText(id, 80));
    const digest = id.toLowerCase();
    const first = listedAt.get(digest);
    if (first !== undefined && documents.get(digest) !== body) {
      throw new TrustedDocumentsError(
        `${at}: id ${shownId} is also the id of operations[${first}], with another body`,
      );
    }
    if (hash('sha256', body) !== digest) {
      throw new TrustedDocumentsError(
        `${at}: id ${shownId} is not the SHA-256 of its body: the manifest was made with a custom createOperationId, and this service needs the default ids (the SHA-256 hex of each body)`,
      );
    }
    const parsed = parseListed(body);
    if ('problem' in parsed) {
      throw new TrustedDocumentsError(`${at}: the body ${parsed.problem}`);
    }
    const mismatch = labelMismatch(parsed.document, name, type);
    if (mismatch !== undefined) {
      throw new TrustedDocumentsError(
        `${at}: ${mismatch}; Apollo's generator never writes that: regenerate the manifest`,
      );
    }
    listedAt.set(digest, first ?? index);
    documents.set(digest, body);
  }
  return documents;
}

/** How an Apollo entry's `name` and `type` disagree with its body, or undefined when they do not. */
function labelMismatch(
  document: DocumentNode,
  name: string | undefined,
  type: string | undefined,
): string | undefined {
  const operations = document.definitions.filter(
    (d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION,
  );
  const described = name === undefined ? operations : operations.filter((o) => o.name?.value === name);
  if (described.length === 0) {
    const names = operations.map((o) => (o.name ? JSON.stringify(shownText(o.name.value, 80)) : 'anonymous'));
    return `its body has no operation of that name (it has ${names.join(', ')})`;
  }
  const other = type === undefined ? undefined : described.find((o) => o.operation !== type);
  if (other !== undefined) {
    return `"type" is ${type}, but its body's operation is a ${other.operation}`;
  }
  return undefined;
}

/** A manifest field's value, for a message: a scalar as JSON, cut; an object or array by its kind (it may hold texts). */
function shownValue(value: unknown): string {
  if (value === undefined) {
    return 'nothing';
  }
  if (typeof value === 'object' && value !== null) {
    return Array.isArray(value) ? 'an array' : 'an object';
  }
  return shownText(JSON.stringify(value), 40);
}

/** A manifest text parsed, or why it cannot be run: it must parse, and hold operations and fragments only. */
function parseListed(text: string): { document: DocumentNode } | { problem: string } {
  let document: DocumentNode;
  try {
    document = parse(text, { noLocation: true });
  } catch (error) {
    if (!(error instanceof GraphQLError)) {
      throw error;
    }
    const [at] = error.locations ?? [];
    return {
      problem: `is not a GraphQL document: ${error.message}${at ? ` (line ${at.line}, column ${at.column})` : ''}`,
    };
  }
  const { definitions } = document;
  if (definitions.some((d) => d.kind !== Kind.OPERATION_DEFINITION && d.kind !== Kind.FRAGMENT_DEFINITION)) {
    return { problem: 'holds a definition that is not an operation or a fragment (a schema?)' };
  }
  if (!definitions.some((d) => d.kind === Kind.OPERATION_DEFINITION)) {
    return { problem: 'holds no operation' };
  }
  return { document };
}

/**
 * The ids (`sha256:<hex>`) of the documents that do not validate against `schema`: a manifest built against
 * another version of the schema. Their requests would fail (GRAPHQL_VALIDATION_FAILED); worth a warning at start,
 * not a refusal to start, as a manifest keeps the documents of clients still running after a field went away.
 */
export function invalidTrustedDocuments(
  schema: GraphQLSchema,
  documents: ReadonlyMap<string, string>,
): string[] {
  const invalid: string[] = [];
  for (const [digest, text] of documents) {
    if (validate(schema, parse(text, { noLocation: true })).length > 0) {
      invalid.push(`sha256:${digest}`);
    }
  }
  return invalid;
}

/** How a request a manifest did not list ended: refused (enforce), unknown id (either mode), or run (log). */
export type UntrustedOutcome = 'refused' | 'not_found' | 'logged';

/** A refusal, answered as a GraphQL error response before anything else reads the request. */
export interface TrustedDocumentsRefusal {
  status: number;
  code: 'FORBIDDEN' | 'BAD_USER_INPUT' | 'PERSISTED_QUERY_NOT_FOUND';
  message: string;
}

/** A GraphQL request as it came: a POST's parsed JSON body, or a GET's query string (`?…`). */
export interface GraphQLHttpRequest {
  method: 'GET' | 'POST';
  body: unknown;
  search: string;
}

/** The refusal to send, or the request as Apollo and the fast path are to see it. */
export type TrustedCheck =
  { refusal: TrustedDocumentsRefusal } | { refusal?: undefined; request: GraphQLHttpRequest };

export interface TrustedDocuments {
  readonly mode: TrustedDocumentsMode;
  /** Decides on one request; a listed id comes back as a plain request with the listed text. */
  check(request: GraphQLHttpRequest, log: () => Logger): TrustedCheck;
}

export interface TrustedDocumentsOptions {
  /** Each request decided otherwise than "listed", for metrics. */
  onUntrusted?: (outcome: UntrustedOutcome) => void;
}

/** A text not in the manifest, in `enforce` mode. Fixed: the text is never echoed. */
export const NOT_TRUSTED_MESSAGE =
  "Not a trusted document: this service only runs the operations in its manifest; send a listed document's id (documentId) or its exact text";
/** An id (`documentId` or APQ hash) not in the manifest. */
export const UNKNOWN_ID_MESSAGE =
  "Not a trusted document: no document in this service's manifest has this id";

const NOT_TRUSTED: TrustedDocumentsRefusal = { status: 403, code: 'FORBIDDEN', message: NOT_TRUSTED_MESSAGE };
const UNKNOWN_ID: TrustedDocumentsRefusal = {
  status: 404,
  code: 'PERSISTED_QUERY_NOT_FOUND',
  message: UNKNOWN_ID_MESSAGE,
};
const ID_AND_TEXT: TrustedDocumentsRefusal = {
  status: 400,
  code: 'BAD_USER_INPUT',
  message: 'Send either documentId or query, not both',
};
const ID_NOT_STRING: TrustedDocumentsRefusal = {
  status: 400,
  code: 'BAD_USER_INPUT',
  message: 'documentId must be a string (sha256:<64 hex digits>)',
};
/** Apollo's words for an APQ hash sent with a text it is not the hash of. */
const HASH_MISMATCH: TrustedDocumentsRefusal = {
  status: 400,
  code: 'BAD_USER_INPUT',
  message: 'provided sha does not match query',
};

/** What to do with one request. */
type Decision =
  { kind: 'pass' } | { kind: 'listed'; text: string } | { kind: 'refuse'; refusal: TrustedDocumentsRefusal };

const PASS: Decision = { kind: 'pass' };

/** Checks requests against the manifest; see the module comment. */
export function createTrustedDocuments(
  config: TrustedDocumentsConfig,
  options: TrustedDocumentsOptions = {},
): TrustedDocuments {
  const { documents, mode } = config;
  const warnings = new RepeatLimiter();
  const onUntrusted = options.onUntrusted ?? (() => undefined);

  const refuse = (refusal: TrustedDocumentsRefusal, outcome: UntrustedOutcome): Decision => {
    onUntrusted(outcome);
    return { kind: 'refuse', refusal };
  };

  /** In log mode: the unlisted document runs, and is logged once a minute at most. */
  const runUnlisted = (digest: string, operationName: unknown, log: () => Logger): Decision => {
    onUntrusted('logged');
    const suppressed = warnings.take(digest);
    if (suppressed !== undefined) {
      log().warn(
        {
          documentId: `sha256:${digest}`,
          operationName: shownOperationName(typeof operationName === 'string' ? operationName : null),
          ...(suppressed > 0 ? { suppressed } : {}),
        },
        'operation not in the trusted documents (TRUSTED_DOCUMENTS_MODE=log: run anyway)',
      );
    }
    return PASS;
  };

  function decide(
    query: unknown,
    documentId: unknown,
    persistedQuery: unknown,
    operationName: unknown,
    log: () => Logger,
  ): Decision {
    if (documentId !== undefined && documentId !== null) {
      if (typeof documentId !== 'string') {
        return refuse(ID_NOT_STRING, 'refused');
      }
      if (query !== undefined && query !== null) {
        return refuse(ID_AND_TEXT, 'refused');
      }
      const text = lookUp(documentId);
      return text === undefined ? refuse(UNKNOWN_ID, 'not_found') : { kind: 'listed', text };
    }
    const apqHash = persistedQueryHash(persistedQuery);
    if (apqHash !== undefined) {
      const text = lookUp(apqHash);
      if (text !== undefined) {
        // An APQ registration of a listed document: the text must be the one listed.
        if (query !== undefined && query !== null && query !== text) {
          return refuse(HASH_MISMATCH, 'refused');
        }
        return { kind: 'listed', text };
      }
      if (mode === 'enforce') {
        // Registering an unlisted text (hash and text) is an unlisted text like any other.
        return typeof query === 'string' ? refuse(NOT_TRUSTED, 'refused') : refuse(UNKNOWN_ID, 'not_found');
      }
      // Log mode: Apollo's APQ as before. It runs nothing whose text does not have this hash, so a hash that is no
      // SHA-256 at all needs no warning (and is the client's: it is not written to the log).
      const digest = DOCUMENT_ID.exec(apqHash)?.[1];
      return digest === undefined ? PASS : runUnlisted(digest.toLowerCase(), operationName, log);
    }
    if (typeof query !== 'string') {
      // No text (Apollo refuses the request without parsing anything), or not a string (likewise).
      return PASS;
    }
    const digest = hash('sha256', query);
    if (documents.has(digest)) {
      return PASS;
    }
    return mode === 'enforce' ? refuse(NOT_TRUSTED, 'refused') : runUnlisted(digest, operationName, log);
  }

  function lookUp(id: string): string | undefined {
    const digest = DOCUMENT_ID.exec(id)?.[1];
    return digest === undefined ? undefined : documents.get(digest.toLowerCase());
  }

  /** A POST's JSON body. */
  function checkBody(
    body: unknown,
    log: () => Logger,
  ): { refusal: TrustedDocumentsRefusal } | { body: unknown } {
    // Anything but a JSON object (a batch, a text/plain body) Apollo refuses without parsing it.
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      return { body };
    }
    const fields = body as Record<string, unknown>;
    const extensions = fields.extensions;
    const persistedQuery = isRecord(extensions) ? extensions.persistedQuery : undefined;
    const decision = decide(fields.query, fields.documentId, persistedQuery, fields.operationName, log);
    switch (decision.kind) {
      case 'pass':
        return { body };
      case 'refuse':
        return { refusal: decision.refusal };
      case 'listed': {
        // A plain request with the listed text: without `extensions` left over, the fast path takes its repeats.
        const { documentId: _documentId, extensions: _extensions, ...rest } = fields;
        const kept = withoutPersistedQuery(extensions);
        return { body: { ...rest, query: decision.text, ...(kept ? { extensions: kept } : {}) } };
      }
    }
  }

  /** A GET's query string. */
  function checkSearch(
    search: string,
    log: () => Logger,
  ): { refusal: TrustedDocumentsRefusal } | { search: string } {
    const params = new URLSearchParams(search);
    // Apollo refuses a repeated parameter; refused here too, so no copy is read other than the one checked.
    for (const name of ['query', 'documentId', 'extensions']) {
      if (params.getAll(name).length > 1) {
        onUntrusted('refused');
        return {
          refusal: {
            status: 400,
            code: 'BAD_USER_INPUT',
            message: `The '${name}' search parameter may only be specified once.`,
          },
        };
      }
    }
    let extensions: unknown;
    const rawExtensions = params.get('extensions');
    if (rawExtensions !== null) {
      try {
        extensions = JSON.parse(rawExtensions);
      } catch {
        // Apollo refuses it; the query text, if any, is still checked first.
        extensions = undefined;
      }
    }
    const persistedQuery = isRecord(extensions) ? extensions.persistedQuery : undefined;
    const decision = decide(
      params.get('query') ?? undefined,
      params.get('documentId') ?? undefined,
      persistedQuery,
      params.get('operationName') ?? undefined,
      log,
    );
    switch (decision.kind) {
      case 'pass':
        return { search };
      case 'refuse':
        return { refusal: decision.refusal };
      case 'listed': {
        params.delete('documentId');
        params.set('query', decision.text);
        const kept = withoutPersistedQuery(extensions);
        if (kept) {
          params.set('extensions', JSON.stringify(kept));
        } else {
          params.delete('extensions');
        }
        return { search: `?${params.toString()}` };
      }
    }
  }

  return {
    mode,
    check(request, log) {
      if (request.method === 'POST') {
        const checked = checkBody(request.body, log);
        return 'refusal' in checked ? checked : { request: { ...request, body: checked.body } };
      }
      const checked = checkSearch(request.search, log);
      return 'refusal' in checked ? checked : { request: { ...request, search: checked.search } };
    },
  };
}

/** The hash of an APQ `persistedQuery` extension (version 1, as Apollo takes it), or undefined. */
function persistedQueryHash(persistedQuery: unknown): string | undefined {
  if (!isRecord(persistedQuery) || persistedQuery.version !== 1) {
    return undefined;
  }
  const { sha256Hash } = persistedQuery;
  return typeof sha256Hash === 'string' ? sha256Hash : undefined;
}

/** `extensions` without `persistedQuery`, or undefined when nothing else is left. */
function withoutPersistedQuery(extensions: unknown): Record<string, unknown> | undefined {
  if (!isRecord(extensions)) {
    return undefined;
  }
  const { persistedQuery: _persistedQuery, ...rest } = extensions;
  return Object.keys(rest).length > 0 ? rest : undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
