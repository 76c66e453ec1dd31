import type { ApolloServerPlugin, BaseContext, GraphQLRequestListener } from '@apollo/server';
import { unwrapResolverError } from '@apollo/server/errors';
import {
  GraphQLError,
  type GraphQLFormattedError,
  type GraphQLResolveInfo,
  locatedError,
  responsePathAsArray,
} from 'graphql';

import { MALFORMED_AUTHORIZATION_MESSAGE } from '../caller-auth.js';
import {
  type ChangeOutcome,
  ClientCredentialsRefusedError,
  InvalidInputError,
  JanssenApiError,
  MalformedBearerTokenError,
  MissingBearerTokenError,
  TooManyCallsError,
} from '../janssen/errors.js';

import { representationPath } from './representation-field.js';

/** The stable `extensions.code` values of this service (CONTRACT.md). */
export const ErrorCode = {
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  FORBIDDEN: 'FORBIDDEN',
  NOT_FOUND: 'NOT_FOUND',
  UPSTREAM_TIMEOUT: 'UPSTREAM_TIMEOUT',
  UPSTREAM_UNAVAILABLE: 'UPSTREAM_UNAVAILABLE',
  UPSTREAM_ERROR: 'UPSTREAM_ERROR',
  GRAPHQL_VALIDATION_FAILED: 'GRAPHQL_VALIDATION_FAILED',
  GRAPHQL_PARSE_FAILED: 'GRAPHQL_PARSE_FAILED',
  QUERY_TOO_COMPLEX: 'QUERY_TOO_COMPLEX',
  INTERNAL_SERVER_ERROR: 'INTERNAL_SERVER_ERROR',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Thrown where an impossible branch is reached; the compiler proves it unreachable. */
export class UnreachableCaseError extends Error {
  constructor(value: never) {
    super(`Unreachable case: ${JSON.stringify(value)}`);
  }
}

interface ClientError {
  code: ErrorCode;
  message: string;
  extra?: Record<string, unknown>;
}

/** What a client may learn of an upstream failure: a code and a fixed sentence, never the upstream's words. */
export function describeJanssenError(error: JanssenApiError): ClientError {
  switch (error.kind) {
    case 'UNAUTHORIZED':
      // The request's fault, not the token's: another token sent the same way would fail alike (HTTP 400).
      if (error instanceof MalformedBearerTokenError) {
        return { code: ErrorCode.BAD_USER_INPUT, message: MALFORMED_AUTHORIZATION_MESSAGE };
      }
      // Not UNAUTHENTICATED: clients log out or re-authenticate on that, and their credentials are fine.
      if (error.details.serviceCredentials) {
        return {
          code: ErrorCode.UPSTREAM_ERROR,
          message:
            "Janssen refused this service's own access token, a freshly issued one too: its operator must fix " +
            "the service's Janssen client",
        };
      }
      return {
        code: ErrorCode.UNAUTHENTICATED,
        message:
          error instanceof MissingBearerTokenError
            ? "No bearer token: each request must carry the caller's Janssen token in the Authorization header"
            : 'Janssen refused the credentials: send a valid bearer token in the Authorization header',
      };
    case 'INSUFFICIENT_SCOPE': {
      const scopes = error.details.requiredScopes ?? [];
      if (error.details.serviceCredentials) {
        return {
          code: ErrorCode.UPSTREAM_ERROR,
          message:
            `This service's Janssen client lacks a scope this operation needs${scopes.length ? `: ${scopes.join(' and ')}` : ''}; ` +
            `its operator must grant ${scopes.length > 1 ? 'them' : 'it'}`,
        };
      }
      return {
        code: ErrorCode.FORBIDDEN,
        message: `The token lacks a scope this operation needs${scopes.length ? `: ${scopes.join(' and ')}` : ''}`,
        extra: { requiredScopes: scopes },
      };
    }
    case 'BAD_REQUEST':
      return {
        code: ErrorCode.BAD_USER_INPUT,
        // Only a search has a page; Janssen's documented 400 is a `limit` above its `maxCount`.
        message:
          error.operation === 'search-session'
            ? 'Janssen rejected the request parameters (is page.limit above its maximum page size?)'
            : 'Janssen rejected the request parameters',
      };
    case 'TIMEOUT':
      return { code: ErrorCode.UPSTREAM_TIMEOUT, message: 'Janssen did not answer in time' };
    case 'UNAVAILABLE':
      return { code: ErrorCode.UPSTREAM_UNAVAILABLE, message: 'Janssen is unavailable, try again later' };
    case 'ERROR':
      return {
        code: ErrorCode.UPSTREAM_ERROR,
        message:
          error instanceof ClientCredentialsRefusedError
            ? "Janssen's token endpoint refused this service's own client credentials: its operator must fix them"
            : 'Janssen answered with an error',
      };
    default:
      throw new UnreachableCaseError(error.kind);
  }
}

/** What a failed mutation's client learns of whether its change happened (`extensions.outcome`). */
const OUTCOME_NOTES: Record<ChangeOutcome, string> = {
  NOT_APPLIED: 'Nothing was changed',
  UNKNOWN: 'Janssen may or may not have made the change: check before retrying',
};

/**
 * Codes whose messages are safe to show: ours, plus Apollo's automatic-persisted-query codes that clients act on.
 */
const PASS_THROUGH = new Set<string>([
  ...Object.values(ErrorCode),
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
]);

/** Apollo's request-level codes, folded into ours (the HTTP status, 400, is kept). */
const APOLLO_CODES: Record<string, ErrorCode> = {
  BAD_REQUEST: ErrorCode.BAD_USER_INPUT,
  OPERATION_RESOLUTION_FAILURE: ErrorCode.BAD_USER_INPUT,
};

export interface FormatErrorOptions {
  /** Hide the message of unexpected errors (production). */
  maskUnexpected: boolean;
  /**
   * Drop graphql-js's "Did you mean …?" from every message (production). Apollo's
   * `hideSchemaDetailsFromClientErrors` does it for validation errors only, not for variables that do not coerce.
   */
  hideSuggestions?: boolean;
  /** Called with each unexpected error, so it reaches the log with its stack; returns a correlation id. */
  onUnexpected: (error: unknown, graphqlError: unknown) => string;
}

/**
 * Apollo `formatError`: upstream and input errors get their stable code, known GraphQL errors keep theirs,
 * anything else becomes INTERNAL_SERVER_ERROR with a correlation id. Stack traces never leave.
 */
export function createFormatError(options: FormatErrorOptions) {
  const format = formatWith(options);
  if (!options.hideSuggestions) {
    return format;
  }
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const result = format(formatted, error);
    const message = withoutSuggestion(result.message);
    return message === result.message ? result : { ...result, message };
  };
}

/** A message without graphql-js's trailing suggestion (" Did you mean "x"?" or "…the enum value "A" or "B"?"). */
export function withoutSuggestion(message: string): string {
  return message.replace(/ ?Did you mean .+\?$/s, '');
}

/** Messages of a JavaScript stack overflow, which graphql-js's recursive parser and validation can hit. */
const STACK_OVERFLOW = /^Maximum call stack size exceeded$/;

function formatWith(options: FormatErrorOptions) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = unwrapResolverError(error);
    if (original instanceof JanssenApiError) {
      const { code, message, extra } = describeJanssenError(original);
      const { outcome } = original.details;
      return outcome
        ? at(formatted, `${message}. ${OUTCOME_NOTES[outcome]}`, { code, ...extra, outcome })
        : at(formatted, message, { code, ...extra });
    }
    if (original instanceof TooManyCallsError) {
      // Only `_entities` reads enough for a cap: it names the representation left unread, at its item's path.
      const index = formatted.path?.[0] === '_entities' ? formatted.path[1] : undefined;
      return at(
        formatted,
        original.message,
        typeof index === 'number'
          ? { code: ErrorCode.QUERY_TOO_COMPLEX, field: representationPath(index) }
          : { code: ErrorCode.QUERY_TOO_COMPLEX },
      );
    }
    if (original instanceof InvalidInputError) {
      return at(formatted, original.message, { code: ErrorCode.BAD_USER_INPUT, field: original.field });
    }
    // A document nested thousands deep (`[[[[…]]]]`) overflows graphql-js's recursion while within MAX_TOKENS.
    // Only before execution (no `path`): an overflow in a resolver is a bug of ours, for the log.
    if (
      formatted.path === undefined &&
      (STACK_OVERFLOW.test(formatted.message) ||
        (original instanceof RangeError && STACK_OVERFLOW.test(original.message)))
    ) {
      return at(formatted, 'The document is nested too deeply', { code: ErrorCode.QUERY_TOO_COMPLEX });
    }
    // graphql-js stops comparing same-named fields past a work budget (hundreds of repeats of one field).
    if (formatted.message === 'Validation aborted.') {
      return at(formatted, 'The document repeats the same fields too often to be validated', {
        code: ErrorCode.QUERY_TOO_COMPLEX,
      });
    }
    // Apollo's own refusals of a request (an unsupported persisted-query version, …) carry an HTTP 4xx and no code.
    // (`extensions?.`: graphql-jit's errors are GraphQLErrors that may have no `extensions` at all.)
    if (
      original instanceof GraphQLError &&
      original.extensions?.code === undefined &&
      isClientStatus((original.extensions?.http as { status?: unknown } | undefined)?.status)
    ) {
      return at(formatted, formatted.message, { code: ErrorCode.BAD_USER_INPUT });
    }
    // graphql-js refuses an argument's value only at execution when a nullable variable gave null to a non-null
    // argument (allowed when the argument has a default).
    if (
      original instanceof GraphQLError &&
      original.originalError === undefined &&
      original.extensions?.code === undefined &&
      /^Argument ".+" of non-null type ".+" must not be null\.$/.test(original.message)
    ) {
      return at(formatted, formatted.message, { code: ErrorCode.BAD_USER_INPUT });
    }
    // graphql-js reports its token limit (MAX_TOKENS) as a syntax error; it is a size limit like the others.
    if (
      formatted.extensions?.code === 'GRAPHQL_PARSE_FAILED' &&
      /contains more th(?:an|at) \d+ tokens/.test(formatted.message)
    ) {
      return at(formatted, formatted.message, { code: ErrorCode.QUERY_TOO_COMPLEX });
    }
    // Apollo gives a persisted query whose hash does not match its text no code at all.
    if (formatted.message === 'provided sha does not match query') {
      return at(formatted, formatted.message, { code: ErrorCode.BAD_USER_INPUT });
    }
    // Apollo re-codes validation errors GRAPHQL_VALIDATION_FAILED; a rule's or scalar's own code is more precise.
    const inner = original instanceof GraphQLError ? (original.originalError ?? original) : undefined;
    const ownCode = inner instanceof GraphQLError ? inner.extensions?.code : undefined;
    const rawCode =
      typeof ownCode === 'string' && PASS_THROUGH.has(ownCode) ? ownCode : formatted.extensions?.code;
    const code = typeof rawCode === 'string' ? (APOLLO_CODES[rawCode] ?? rawCode) : undefined;
    if (code !== undefined && PASS_THROUGH.has(code) && code !== ErrorCode.INTERNAL_SERVER_ERROR) {
      const { stacktrace: _stacktrace, ...extensions } = formatted.extensions ?? {};
      return { ...formatted, extensions: { ...extensions, code } };
    }
    const errorId = options.onUnexpected(original, error);
    return at(formatted, options.maskUnexpected ? 'Internal server error' : formatted.message, {
      code: ErrorCode.INTERNAL_SERVER_ERROR,
      errorId,
    });
  };
}

/** Per original error and field: the `GraphQLError` the errors of its other items derive from ({@link locateError}). */
const locatedByField = new WeakMap<Error, Map<GraphQLResolveInfo['fieldNodes'], GraphQLError>>();

/**
 * A resolver's error as graphql-js reports it at the field (`info`), or at item `index` of the field's list: what its
 * `locatedError` makes, which graphql-js then reports as it is. Made cheaply, because one `_entities` request may
 * fail 19,000 items with one shared error (a single-read cap, a failed search): a `GraphQLError` costs ~40 µs to
 * construct (~15 µs of it `Object.defineProperties`, most of the rest formatting the stack trace it captures and
 * then replaces with the original error's). So the first item of an error and field gets a real `GraphQLError`, made
 * without capturing a stack, and each further item an object whose prototype is that one, with its own `path`:
 * still a `GraphQLError` (`instanceof`, `toJSON`, `originalError`, `extensions`, `locations`, `stack`), made in under
 * a microsecond. The same error at the same field has the same message, locations and extensions anyway.
 */
export function locateError(error: unknown, info: GraphQLResolveInfo, index?: number): GraphQLError {
  const path = responsePathAsArray(info.path);
  if (index !== undefined) {
    path.push(index);
  }
  if (!(error instanceof Error) || (error instanceof GraphQLError && Array.isArray(error.path))) {
    return locatedError(error, info.fieldNodes, path);
  }
  let byField = locatedByField.get(error);
  if (!byField) {
    byField = new Map();
    locatedByField.set(error, byField);
  }
  const first = byField.get(info.fieldNodes);
  if (first) {
    const derived = Object.create(first) as GraphQLError & { path: (string | number)[] };
    derived.path = path; // its own, like the first's: a writable, enumerable data property
    return derived;
  }
  const stackTraceLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    const located = locatedError(error, info.fieldNodes, path);
    byField.set(info.fieldNodes, located);
    return located;
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
  }
}

/**
 * A formatted error with this message and extensions, at `formatted`'s locations and path (when it has them), in
 * the order clients get the keys. Built without object spreads: one `_entities` request can format 19,000 errors.
 */
function at(
  formatted: GraphQLFormattedError,
  message: string,
  extensions: Record<string, unknown>,
): GraphQLFormattedError {
  const error: { -readonly [K in keyof GraphQLFormattedError]?: GraphQLFormattedError[K] } = {};
  if (formatted.locations) {
    error.locations = formatted.locations;
  }
  if (formatted.path) {
    error.path = formatted.path;
  }
  error.message = message;
  error.extensions = extensions;
  return error as GraphQLFormattedError;
}

function isClientStatus(status: unknown): boolean {
  return typeof status === 'number' && status >= 400 && status < 500;
}

/**
 * The single-read caps (`TooManyCallsError`) refuse every `_entities` item past them, each with the same error:
 * 19,000 short sids made 18,900 identical errors, a ~6 MB response to a 0.7 MB request. Keeps one error per cap,
 * the one at the lowest item, saying how many representations it stands for; the other items stay null without an
 * error of their own. `raw` are the errors `formatted` was made from, in the same order (as Apollo and the fast
 * path both keep them). Undefined when there is nothing to change.
 */
export function boundCapErrors(
  raw: readonly unknown[],
  formatted: readonly GraphQLFormattedError[],
): GraphQLFormattedError[] | undefined {
  if (raw.length !== formatted.length) {
    return undefined;
  }
  const caps = new Map<
    string,
    { error: TooManyCallsError; keep: number; lowest: number; items: Set<unknown> }
  >();
  const capped = new Set<number>();
  raw.forEach((error, position) => {
    const original = unwrapResolverError(error);
    if (!(original instanceof TooManyCallsError)) {
      return;
    }
    capped.add(position);
    const path = formatted[position]?.path;
    // An item of `_entities` may fail in several of its fields (a User's `sessions` and `activeSessionCount`).
    const item = path?.[0] === '_entities' && typeof path[1] === 'number' ? path[1] : `#${position}`;
    const at = typeof item === 'number' ? item : Number.POSITIVE_INFINITY;
    const cap = caps.get(original.what);
    if (!cap) {
      caps.set(original.what, { error: original, keep: position, lowest: at, items: new Set([item]) });
      return;
    }
    cap.items.add(item);
    if (at < cap.lowest) {
      cap.keep = position;
      cap.lowest = at;
    }
  });
  if (caps.size === 0) {
    return undefined;
  }
  const kept = new Map([...caps.values()].map((cap) => [cap.keep, cap]));
  const bounded: GraphQLFormattedError[] = [];
  formatted.forEach((error, position) => {
    const cap = kept.get(position);
    if (cap) {
      const count = cap.items.size;
      const unread =
        count === 1
          ? '1 representation was not read and is null'
          : `${count} representations were not read and are null`;
      bounded.push({
        ...error,
        message: `${cap.error.reason}: ${unread}, this error standing for all of them; send fewer per request`,
      });
    } else if (!capped.has(position)) {
      bounded.push(error);
    }
  });
  return bounded;
}

const boundCapErrorsListener: GraphQLRequestListener<BaseContext> = {
  async willSendResponse({ errors, response }) {
    const body = response.body;
    if (errors && body.kind === 'single' && body.singleResult.errors) {
      const bounded = boundCapErrors(errors, body.singleResult.errors);
      if (bounded) {
        body.singleResult.errors = bounded;
      }
    }
  },
};

/**
 * {@link boundCapErrors} on Apollo's responses. Listed before the plugins that read the formatted errors (metrics):
 * Apollo calls `willSendResponse` hooks in order, and this one changes the errors before its first `await`.
 */
export const boundCapErrorsPlugin: ApolloServerPlugin<BaseContext> = {
  async requestDidStart() {
    return boundCapErrorsListener;
  },
};
