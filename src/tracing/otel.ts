import type { IncomingHttpHeaders } from 'node:http';
import { createRequire } from 'node:module';

import {
  type Attributes,
  type Context,
  diag,
  DiagLogLevel,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  trace,
  type Tracer,
} from '@opentelemetry/api';
import { setGlobalErrorHandler, W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtobufExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BasicTracerProvider,
  BatchSpanProcessor,
  ParentBasedSampler,
  type Sampler,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace-base';
import type { Logger } from 'pino';

import type { TracingConfig, TracesSampler } from '../config.js';
import { shownOperationName, shownText } from '../logger.js';
import { RepeatLimiter } from '../util/repeat-limiter.js';

import type { RequestTrace, Tracing, UpstreamCall, UpstreamSpan } from './tracing.js';

type ExporterOptions = ConstructorParameters<typeof JsonExporter>[0];

/** The instrumentation scope of every span. */
const SCOPE = 'jans-sessions-graphql';
/** At most this long for the last export at shutdown. */
const SHUTDOWN_MS = 5000;

const headerGetter: TextMapGetter<IncomingHttpHeaders> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => carrier[key],
};

/**
 * Spans per request (a sampled one):
 * - SERVER `POST /graphql` (HTTP semantic conventions), the caller's `traceparent` as parent;
 * - INTERNAL `query Sessions` (GraphQL conventions: `graphql.operation.type`, `graphql.operation.name`), with the
 *   response's error codes;
 * - CLIENT `GET /jans-config-api/api/v1/jans-auth-server/session/search`, one per upstream call (retries of that
 *   call included, counted in `janssen.attempts`), whose context goes to Janssen as `traceparent`;
 * - CLIENT `POST /jans-auth/restv1/token`, one per token fetch (client-credentials mode), before the call that
 *   waits for it; a fetch no request asked for (a readiness probe's) is the root of its own trace.
 * No span carries a sid, a user DN, a query string, a header or a variable: the ids a caller may hold as secrets stay
 * out of the collector.
 */
export function createOpenTelemetryTracing(
  config: TracingConfig,
  options: { logger: Logger; upstreamUrl: string },
): Tracing {
  routeDiagnostics(options.logger);
  const Exporter = config.protocol === 'http/json' ? JsonExporter : ProtobufExporter;
  // Every setting explicitly, as our config read and checked it: these win over what the SDK reads itself.
  const limits = {
    attributeValueLengthLimit: config.attributeValueLengthLimit,
    attributeCountLimit: config.attributeCountLimit,
  };
  const exporter = new Exporter({
    url: config.endpoint,
    headers: { ...config.headers },
    timeoutMillis: config.timeoutMs,
    // The exporter's enum has these two values, spelled alike.
    compression: config.compression as NonNullable<ExporterOptions>['compression'],
  });
  const provider = new BasicTracerProvider({
    sampler: samplerOf(config.sampler, config.samplerRatio),
    spanLimits: limits,
    generalLimits: limits,
    resource: resourceFromAttributes({
      'service.version': serviceVersion(),
      ...config.resourceAttributes,
      'service.name': config.serviceName,
    }),
    spanProcessors: [
      new BatchSpanProcessor(exporter, {
        scheduledDelayMillis: config.batch.scheduledDelayMs,
        exportTimeoutMillis: config.batch.exportTimeoutMs,
        maxQueueSize: config.batch.maxQueueSize,
        maxExportBatchSize: config.batch.maxExportBatchSize,
      }),
    ],
  });
  const tracer = provider.getTracer(SCOPE, serviceVersion());
  const propagator = new W3CTraceContextPropagator();
  const upstream = new URL(options.upstreamUrl);
  const upstreamBase = `${upstream.pathname.replace(/\/+$/, '')}/api/v1/jans-auth-server/`;
  const server = serverOf(upstream);

  return {
    startRequest({ method, headers }) {
      const parent = propagator.extract(ROOT_CONTEXT, headers, headerGetter);
      const span = tracer.startSpan(
        `${method} /graphql`,
        {
          kind: SpanKind.SERVER,
          attributes: {
            'http.request.method': method,
            'http.route': '/graphql',
            'url.path': '/graphql',
            'url.scheme': 'http',
          },
        },
        parent,
      );
      return new OpenTelemetryRequestTrace(tracer, propagator, span, { upstreamBase, server });
    },
    startTokenRequest(tokenUrl) {
      const { name, attributes } = tokenRequest(tokenUrl);
      return startClientSpan(tracer, propagator, name, attributes, ROOT_CONTEXT);
    },
    async shutdown() {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        provider.shutdown().catch((error: unknown) => {
          options.logger.warn(
            { component: 'opentelemetry', cause: error instanceof Error ? error.message : String(error) },
            'tracing: the last spans could not be exported',
          );
        }),
        new Promise<void>((resolve) => {
          timer = setTimeout(() => {
            options.logger.warn(
              { component: 'opentelemetry', timeoutMs: SHUTDOWN_MS },
              'tracing: the last spans could not be exported in time',
            );
            resolve();
          }, SHUTDOWN_MS);
        }),
      ]);
      clearTimeout(timer);
    },
  };
}

class OpenTelemetryRequestTrace implements RequestTrace {
  readonly logFields: { trace_id: string; span_id: string };
  private operation: Span | undefined;
  private operationEnded = false;

  constructor(
    private readonly tracer: Tracer,
    private readonly propagator: W3CTraceContextPropagator,
    private readonly span: Span,
    private readonly upstream: {
      upstreamBase: string;
      server: { 'server.address': string; 'server.port': number };
    },
  ) {
    const context = span.spanContext();
    this.logFields = { trace_id: context.traceId, span_id: context.spanId };
  }

  startOperation(type: string, fullName: string | null | undefined): void {
    if (this.operation !== undefined) {
      return;
    }
    // The client chooses it, and one GraphQL token may be a megabyte long.
    const name = shownOperationName(fullName);
    this.operation = this.tracer.startSpan(
      name ? `${type} ${name}` : type,
      {
        kind: SpanKind.INTERNAL,
        attributes: {
          'graphql.operation.type': type,
          ...(name ? { 'graphql.operation.name': name } : {}),
        },
      },
      trace.setSpan(ROOT_CONTEXT, this.span),
    );
  }

  endOperation(errorCodes: readonly string[]): void {
    const span = this.operation ?? this.span;
    if (errorCodes.length > 0) {
      const codes = [...new Set(errorCodes)];
      span.setAttribute('graphql.error.codes', codes);
      if (this.operation !== undefined) {
        span.setAttribute('error.type', codes[0]!);
        span.setStatus({ code: SpanStatusCode.ERROR, message: codes.join(', ') });
      }
    }
    if (this.operation !== undefined && !this.operationEnded) {
      this.operationEnded = true;
      this.operation.end();
    }
  }

  startUpstream(call: UpstreamCall): UpstreamSpan {
    const template = `${this.upstream.upstreamBase}${call.template}`;
    return startClientSpan(
      this.tracer,
      this.propagator,
      `${call.method} ${template}`,
      {
        'http.request.method': call.method,
        'url.template': template,
        'janssen.operation': call.operation,
        ...this.upstream.server,
      },
      trace.setSpan(ROOT_CONTEXT, this.operation ?? this.span),
    );
  }

  startTokenRequest(tokenUrl: string): UpstreamSpan {
    const { name, attributes } = tokenRequest(tokenUrl);
    return startClientSpan(
      this.tracer,
      this.propagator,
      name,
      attributes,
      trace.setSpan(ROOT_CONTEXT, this.operation ?? this.span),
    );
  }

  end(httpStatus: number | undefined): void {
    // An operation cut short (the client went away) still ends, before its parent.
    if (this.operation !== undefined && !this.operationEnded) {
      this.operationEnded = true;
      this.operation.end();
    }
    if (httpStatus === undefined) {
      // No answer of ours went out: the client went away, or Node answered a stalled request with its own 408.
      this.span.setAttribute('error.type', 'response_not_sent');
      this.span.end();
      return;
    }
    this.span.setAttribute('http.response.status_code', httpStatus);
    if (httpStatus >= 500) {
      // HTTP server conventions: only a 5xx is the server's error.
      this.span.setAttribute('error.type', String(httpStatus));
      this.span.setStatus({ code: SpanStatusCode.ERROR });
    }
    this.span.end();
  }
}

/**
 * A CLIENT span of one outgoing HTTP request (a Janssen call, a token request), whose context goes out with it as
 * `traceparent`; one way to end them all.
 */
function startClientSpan(
  tracer: Tracer,
  propagator: W3CTraceContextPropagator,
  name: string,
  attributes: Attributes,
  parent: Context,
): UpstreamSpan {
  const span = tracer.startSpan(name, { kind: SpanKind.CLIENT, attributes }, parent);
  const headers: Record<string, string> = {};
  propagator.inject(trace.setSpan(ROOT_CONTEXT, span), headers, {
    set: (carrier, key, value) => {
      carrier[key] = value;
    },
  });
  return {
    headers,
    end({ status, attempts, error }) {
      if (status !== undefined) {
        span.setAttribute('http.response.status_code', status);
      }
      if (attempts !== undefined && attempts > 1) {
        span.setAttribute('janssen.attempts', attempts);
      }
      // HTTP client conventions: a 4xx or 5xx, or no answer at all, is an error.
      const failed = error ?? (status !== undefined && status >= 400 ? String(status) : undefined);
      if (failed !== undefined) {
        span.setAttribute('error.type', failed);
        span.setStatus({ code: SpanStatusCode.ERROR });
      }
      span.end();
    },
  };
}

/**
 * A token request as its span names it: the path of the token URL only, never its query string or user
 * information (nor, as for every span, the client id, the secret or the token).
 */
function tokenRequest(tokenUrl: string): { name: string; attributes: Attributes } {
  const url = new URL(tokenUrl);
  return {
    name: `POST ${url.pathname}`,
    attributes: {
      'http.request.method': 'POST',
      'url.template': url.pathname,
      'janssen.operation': 'token',
      ...serverOf(url),
    },
  };
}

/** `server.address` and `server.port` of a URL (the scheme's port when it names none). */
function serverOf(url: URL): { 'server.address': string; 'server.port': number } {
  return {
    'server.address': url.hostname,
    'server.port': Number(url.port || (url.protocol === 'https:' ? 443 : 80)),
  };
}

/** This package's version, for `service.version`. */
function serviceVersion(): string {
  try {
    const manifest = createRequire(import.meta.url)('../../package.json') as { version?: unknown };
    return typeof manifest.version === 'string' ? manifest.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

/** The sampler `OTEL_TRACES_SAMPLER` names (read by our config, case-insensitively, rather than by the SDK). */
function samplerOf(name: TracesSampler, ratio: number): Sampler {
  switch (name) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return new TraceIdRatioBasedSampler(ratio);
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) });
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
  }
}

/**
 * The SDK's own complaints (an export that failed, a full queue) go to our log at warn, each kind at most once a
 * minute and 100 kinds a minute in all (`RepeatLimiter`): a collector that is down fails every batch. The kind is the message with its numbers left out ("Dropped
 * 512 spans" and "Dropped 37 spans" are one). A failed export is logged by its message and code only: the error
 * also holds the collector's response body and a stack.
 */
function routeDiagnostics(logger: Logger): void {
  const limiter = new RepeatLimiter();
  const warn = (message: string, fields: Record<string, unknown> = {}) => {
    const suppressed = limiter.take(message.slice(0, 200).replace(/\d+/g, '#'));
    if (suppressed === undefined) {
      return;
    }
    logger.warn(
      { component: 'opentelemetry', ...fields, ...(suppressed > 0 ? { suppressed } : {}) },
      `tracing: ${message}`,
    );
  };
  const log = (message: string) => {
    // Our config reads OTEL_TRACES_SAMPLER and its argument itself (case-insensitively, checked at start) and hands
    // the SDK a sampler; the SDK still reads them when the provider is built and calls `ALWAYS_ON` "invalid" or an
    // unset ratio "blank". Its word on them is never the one in force, so it is not passed on.
    if (message.startsWith('OTEL_TRACES_SAMPLER')) {
      return;
    }
    warn(shownText(message, 500));
  };
  diag.setLogger(
    { error: log, warn: log, info: () => {}, debug: () => {}, verbose: () => {} },
    { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true },
  );
  setGlobalErrorHandler((error) => {
    const { message, code } = (typeof error === 'object' && error !== null ? error : {}) as {
      message?: unknown;
      code?: unknown;
    };
    warn('span export failed', {
      cause: typeof message === 'string' ? message.slice(0, 200) : String(error).slice(0, 200),
      ...(typeof code === 'string' || typeof code === 'number' ? { code } : {}),
    });
  });
}
