import type { IncomingHttpHeaders } from 'node:http';

import type { ApolloServerPlugin } from '@apollo/server';
import type { GraphQLError, GraphQLFormattedError, GraphQLSchema } from 'graphql';

import type { Context } from '../context.js';
import { boundCapErrors } from '../schema/errors.js';
import { operationCost } from '../schema/limits.js';

import { type PreparedOperation, PreparedOperations } from './prepared-operations.js';

/**
 * The fast path: a repeat of a request Apollo Server has already answered, executed without Apollo's per-request
 * pipeline. Apollo costs ~0.7 ms of CPU per request here (HeaderMap copies, hashing the text for its document
 * cache, a dozen awaited plugin hooks), more than the whole GraphQL execution of a 20-session page; see
 * bench/results/levers.md.
 *
 * It stays exact by never deciding anything Apollo has not decided first:
 * - an operation is only taken once Apollo has parsed, validated and resolved that exact text and operation name
 *   (`plugin` records it in `didResolveOperation`), so every refusal, message and code is still Apollo's;
 * - a response content type is only used once Apollo has negotiated it for that exact `Accept` value;
 * - whatever the fast path would have to refuse (caller authentication failing, cost over the limit, variables
 *   that do not coerce), it hands to Apollo untouched instead, before any resolver ran;
 * - what it does answer goes through the same `formatError`, HTTP status rules, log line and metrics.
 * It only takes `POST` JSON requests without `extensions` (persisted queries) and without a federation trace
 * request (`apollo-federation-include-trace`); everything else is Apollo's, as before.
 */
export interface FastPathOptions {
  schema: GraphQLSchema;
  maxCost: number;
  /** Apollo's `formatError`, applied the way Apollo applies it. */
  formatError: (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;
  /** Called for every error before it is formatted (the server keeps the request's logger for it). */
  onError: (error: GraphQLError, context: Context) => void;
  /** Called once per answered operation, as the server's operation hook (log line and metrics) is for Apollo. */
  onResponse: (info: {
    context: Context;
    operationName: string | null;
    errors: readonly GraphQLFormattedError[] | undefined;
    httpStatus: number;
    durationMs: number;
  }) => void;
  maxEntries?: number;
}

export interface FastPathRequest {
  headers: IncomingHttpHeaders;
  /** The parsed JSON body. */
  body: unknown;
  createContext: () => Promise<Context>;
}

export interface FastPathResponse {
  status: number;
  /** Content type first, then any an error's `extensions.http.headers` set (Apollo lets those win). */
  headers: Map<string, string>;
  /** The JSON text and Apollo's trailing newline, as bytes. */
  body: Buffer;
}

/** Distinct `Accept` values remembered (they come from clients). */
const MAX_ACCEPT_VALUES = 64;
const TRACE_HEADER = 'apollo-federation-include-trace';
/** Costs remembered per operation, for variable sets of at most this many JSON characters. */
const MAX_COSTS_PER_OPERATION = 64;
const MAX_COST_KEY = 256;

export class FastPath {
  readonly operations: PreparedOperations;
  /** Requests answered here (the rest went to Apollo). */
  answered = 0;
  private readonly contentTypes = new Map<string, string>();

  constructor(private readonly options: FastPathOptions) {
    this.operations = new PreparedOperations({
      schema: options.schema,
      ...(options.maxEntries === undefined ? {} : { maxEntries: options.maxEntries }),
    });
  }

  /** Records each operation Apollo resolved, under the request text and operation name it came with. */
  get plugin(): ApolloServerPlugin<Context> {
    const operations = this.operations;
    return {
      async requestDidStart() {
        return {
          async didResolveOperation({ request, document, operation }) {
            if (typeof request.query === 'string' && operation) {
              operations.add(request.query, request.operationName, document, operation);
            }
          },
        };
      },
    };
  }

  /** Remembers the content type Apollo chose for a successful answer to a request with this `Accept` value. */
  learnContentType(accept: string | undefined, contentType: string | undefined): void {
    const key = accept ?? '';
    if (contentType === undefined || this.contentTypes.has(key)) {
      return;
    }
    if (this.contentTypes.size >= MAX_ACCEPT_VALUES) {
      return;
    }
    this.contentTypes.set(key, contentType);
  }

  /**
   * The operation's cost with these variables (`operationCost`, as Apollo's plugin computes it). Small variable
   * sets are remembered per operation: a client paging through results sends a handful of distinct ones.
   */
  private costOf(prepared: PreparedOperation, variables: Record<string, unknown> | undefined): number {
    const key = variables === undefined ? '' : smallJson(variables, MAX_COST_KEY);
    const cached = key === undefined ? undefined : prepared.costs.get(key);
    if (cached !== undefined) {
      return cached;
    }
    const cost = operationCost(this.options.schema, prepared.operation, prepared.fragments, variables ?? {});
    if (key !== undefined && prepared.costs.size < MAX_COSTS_PER_OPERATION) {
      prepared.costs.set(key, cost);
    }
    return cost;
  }

  /** The answer, or undefined when the request must go through Apollo. */
  async execute(request: FastPathRequest): Promise<FastPathResponse | undefined> {
    const started = performance.now();
    const { body, headers } = request;
    if (
      typeof body !== 'object' ||
      body === null ||
      Array.isArray(body) ||
      headers[TRACE_HEADER] !== undefined
    ) {
      return undefined;
    }
    const { query, operationName, variables, extensions } = body as Record<string, unknown>;
    if (
      typeof query !== 'string' ||
      extensions !== undefined ||
      (operationName !== undefined && operationName !== null && typeof operationName !== 'string') ||
      (variables !== undefined &&
        variables !== null &&
        (typeof variables !== 'object' || Array.isArray(variables)))
    ) {
      return undefined;
    }
    const contentType = this.contentTypes.get(headers.accept ?? '');
    const prepared = contentType && this.operations.get(query, operationName);
    if (!prepared) {
      return undefined;
    }
    const variableValues = (variables ?? undefined) as Record<string, unknown> | undefined;
    if (this.costOf(prepared, variableValues) > this.options.maxCost) {
      return undefined;
    }
    // An explicit null where the argument is non-null is refused at execution; Apollo words and codes it.
    for (const name of prepared.nullSensitiveVariables) {
      if (variableValues?.[name] === null) {
        return undefined;
      }
    }
    let context: Context;
    try {
      context = await request.createContext();
    } catch {
      return undefined;
    }
    context.scope.trace?.startOperation(prepared.operation.operation, prepared.operationName);
    const result = await prepared.run(context, variableValues);
    if (!('data' in result)) {
      return undefined;
    }
    let status = 200;
    const responseHeaders = new Map<string, string>();
    let errors: GraphQLFormattedError[] | undefined;
    if (result.errors && result.errors.length > 0) {
      errors = result.errors.map((error) => {
        this.options.onError(error, context);
        const { extensions, formatted } = enrich(error);
        // Apollo's `isPartialHTTPGraphQLHead` and `mergeHTTPGraphQLHead`: only a well-formed head is taken out.
        const http = extensions.http as { status?: unknown; headers?: unknown } | undefined;
        if (
          typeof http === 'object' &&
          http !== null &&
          (http.status === undefined || typeof http.status === 'number') &&
          (http.headers === undefined || http.headers instanceof Map)
        ) {
          if (typeof http.status === 'number') {
            status = http.status;
          }
          for (const [name, value] of (http.headers as Map<string, string> | undefined) ?? []) {
            responseHeaders.set(name, value);
          }
          delete extensions.http;
        }
        try {
          return this.options.formatError(formatted, error);
        } catch {
          return { message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } };
        }
      });
      // As Apollo's `boundCapErrorsPlugin` does.
      errors = boundCapErrors(result.errors, errors) ?? errors;
    }
    this.options.onResponse({
      context,
      operationName: prepared.operationName,
      errors,
      httpStatus: status,
      durationMs: performance.now() - started,
    });
    this.answered += 1;
    // Apollo's field order and trailing newline (`orderExecutionResultFields`, `prettyJSONStringify`).
    if (!responseHeaders.has('content-type')) {
      responseHeaders.set('content-type', contentType);
    }
    return {
      status,
      headers: responseHeaders,
      body: withNewline(JSON.stringify({ errors, data: result.data, extensions: result.extensions })),
    };
  }
}

/**
 * The JSON text of `value` (a parsed JSON body's, so only JSON's types) when it has at most `max` characters, else
 * undefined. It stops as soon as the text would be longer: variables nested thousands deep (which `JSON.stringify`
 * overflowed the stack on, a 500) or a megabyte of them cost no more than `max` characters' worth of walking.
 */
export function smallJson(value: unknown, max: number): string | undefined {
  let length = 0;
  const parts: string[] = [];
  const add = (text: string): boolean => {
    length += text.length;
    parts.push(text);
    return length <= max;
  };
  const walk = (item: unknown): boolean => {
    if (item === null || typeof item !== 'object') {
      // A string, number, boolean or null; anything else cannot come out of JSON.parse. A string is measured
      // before it is quoted, so a long one is not copied.
      return (typeof item !== 'string' || item.length <= max) && add(JSON.stringify(item) ?? 'null');
    }
    if (Array.isArray(item)) {
      if (!add('[')) {
        return false;
      }
      for (let i = 0; i < item.length; i += 1) {
        if ((i > 0 && !add(',')) || !walk(item[i])) {
          return false;
        }
      }
      return add(']');
    }
    if (!add('{')) {
      return false;
    }
    let first = true;
    for (const name in item) {
      if (!Object.hasOwn(item, name)) {
        continue;
      }
      if (
        (!first && !add(',')) ||
        !add(`${JSON.stringify(name)}:`) ||
        !walk((item as Record<string, unknown>)[name])
      ) {
        return false;
      }
      first = false;
    }
    return add('}');
  };
  return walk(value) ? parts.join('') : undefined;
}

/**
 * `json` and a newline, written once into a buffer. `${json}\n` would be a rope that Node flattens into a fresh
 * copy twice, for `content-length` and again with the headers for the socket: 14 KB of garbage per page of 20.
 */
function withNewline(json: string): Buffer {
  const length = Buffer.byteLength(json);
  const buffer = Buffer.allocUnsafe(length + 1);
  buffer.write(json, 0, length, 'utf8');
  buffer[length] = 0x0a;
  return buffer;
}

/**
 * Apollo's `enrichError`: a default code, `extensions.http` left for the caller to take out. graphql-jit's errors
 * may have no `extensions` at all.
 */
function enrich(error: GraphQLError): {
  extensions: Record<string, unknown>;
  formatted: GraphQLFormattedError;
} {
  const own = (error.extensions as Record<string, unknown> | undefined) ?? {};
  const extensions: Record<string, unknown> = { ...own, code: own.code ?? 'INTERNAL_SERVER_ERROR' };
  return { extensions, formatted: { ...error.toJSON(), extensions } };
}
