import type { IncomingHttpHeaders } from 'node:http';

import type { Logger } from 'pino';

import type { TracingConfig } from '../config.js';

/**
 * OpenTelemetry tracing, as the rest of the service sees it. Off by default: then there is no `Tracing` at all, the
 * OpenTelemetry SDK is never loaded, and each request pays one `undefined` check.
 *
 * Spans are parented explicitly (the request's trace travels in its `RequestScope`), not through a context
 * manager: AsyncLocalStorage's promise hooks cost ~8 % of a request's CPU on Node 20.
 */
export interface Tracing {
  /** The SERVER span of one `/graphql` request, continuing the caller's W3C `traceparent` when it sends one. */
  startRequest(request: { method: string; headers: IncomingHttpHeaders }): RequestTrace;
  /**
   * A CLIENT span for a token request no `/graphql` request asked for (a readiness probe's): the root of a trace
   * of its own, sampled as the sampler samples new traces.
   */
  startTokenRequest(tokenUrl: string): UpstreamSpan;
  /** Exports what is still buffered and stops; bounded, so a dead collector cannot hold up a shutdown. */
  shutdown(): Promise<void>;
}

/** The spans of one HTTP request: the request, its GraphQL operation and the upstream calls that serves. */
export interface RequestTrace {
  /** `trace_id` and `span_id` for the request's log lines. */
  readonly logFields: { trace_id: string; span_id: string };
  /** Starts the operation's span once Apollo or the fast path knows it (a second call is ignored). */
  startOperation(type: string, name: string | null | undefined): void;
  /** Ends the operation's span; `errorCodes` are the response's `extensions.code`s. */
  endOperation(errorCodes: readonly string[]): void;
  /** A CLIENT span for one upstream HTTP call, child of the operation (or of the request, before there is one). */
  startUpstream(call: UpstreamCall): UpstreamSpan;
  /**
   * A CLIENT span for one request to the auth server's token endpoint (`POST <path of tokenUrl>`), parented like
   * `startUpstream`'s: a sibling before the upstream call that waits for the token.
   */
  startTokenRequest(tokenUrl: string): UpstreamSpan;
  /** Ends the request's span with the HTTP status answered (undefined: no answer of ours went out). */
  end(httpStatus: number | undefined): void;
}

/** One call to the Janssen config API, as its span names it. */
export interface UpstreamCall {
  /** The OpenAPI `operationId`, e.g. `search-session`. */
  operation: string;
  method: 'GET' | 'DELETE';
  /** The path template under the session resource, e.g. `session/sid/{sid}`; never the sid or a query string. */
  template: string;
}

export interface UpstreamSpan {
  /** W3C trace-context headers (`traceparent`, and `tracestate` when there is one) to send with the call. */
  readonly headers: Readonly<Record<string, string>>;
  end(outcome: { status?: number; attempts?: number; error?: string }): void;
}

/** Loads the OpenTelemetry SDK and starts exporting, when `config` asks for it. */
export async function createTracing(
  config: TracingConfig | undefined,
  options: { logger: Logger; upstreamUrl: string },
): Promise<Tracing | undefined> {
  if (config === undefined) {
    return undefined;
  }
  const { createOpenTelemetryTracing } = await import('./otel.js');
  return createOpenTelemetryTracing(config, options);
}
