import type { GraphQLFormattedError } from 'graphql';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

import type { UpstreamCallListener } from '../janssen/session-api.js';
import type { UntrustedOutcome } from '../trusted-documents.js';

/** `jans_upstream_circuit_state` values. */
const CIRCUIT_STATE_VALUES = { closed: 0, 'half-open': 1, open: 2 } as const;

export interface MetricsOptions {
  /** The upstream circuit breaker's state, read at each scrape. Default: always closed. */
  circuitState?: () => keyof typeof CIRCUIT_STATE_VALUES;
}

/** Prometheus metrics of one server, in a registry of its own so several servers can share a process. */
export interface Metrics {
  readonly registry: Registry;
  /**
   * Counts an operation (Apollo's or the fast path's answer) by name and outcome, times it, and counts the codes
   * of the errors its response carries.
   */
  recordOperation(
    operationName: string | null | undefined,
    errors: readonly GraphQLFormattedError[] | undefined,
    durationMs: number,
  ): void;
  /**
   * The same for a GraphQL error response no operation produced: refused before Apollo's pipeline read one
   * (authentication, trusted documents, CSRF prevention, a body that is not JSON, too large, compressed, a method
   * other than GET and POST) or failed outside it (a 500). Counted as operation `(refused)`, outcome `error`.
   */
  recordRefusal(errors: readonly Pick<GraphQLFormattedError, 'extensions'>[], durationMs: number): void;
  /** `ContextDeps.onUpstreamCall`: counts and times every upstream call. */
  readonly onUpstreamCall: UpstreamCallListener;
  /** `createSessionLoader`'s batch callback: the number of keys of each DataLoader batch. */
  readonly onBatch: (size: number) => void;
  /** Each request `TRUSTED_DOCUMENTS_FILE` does not list: refused, unknown id, or run (log mode). */
  readonly onUntrustedDocument: (outcome: UntrustedOutcome) => void;
  /** The exposition text, and its content type, for `GET /metrics`. */
  render(): Promise<{ contentType: string; body: string }>;
}

/**
 * Operation names come from clients, so each would otherwise be a new time series: past this many distinct
 * names, further ones are counted as `other`.
 */
const MAX_OPERATION_NAMES = 100;
/** Names kept as labels; longer ones are `other` too (a name is one token: a client may send one of 1 MB). */
const OPERATION_NAME = /^[_A-Za-z][_0-9A-Za-z]{0,63}$/;
/** The labels of a request answered with errors before any operation ran; no GraphQL name has parentheses. */
const REFUSED = { operation: '(refused)', outcome: 'error' } as const;

/** A fresh registry with Node's default metrics and the service's own; the server wires in the three hooks. */
export function createMetrics(options: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  const operations = new Counter({
    name: 'jans_graphql_operations_total',
    help: 'GraphQL operations by operation name and outcome (ok or error)',
    labelNames: ['operation', 'outcome'] as const,
    registers: [registry],
  });
  const operationSeconds = new Histogram({
    name: 'jans_graphql_operation_duration_seconds',
    help: 'Time from receiving a GraphQL operation to sending its response',
    labelNames: ['operation', 'outcome'] as const,
    registers: [registry],
  });
  const errors = new Counter({
    name: 'jans_graphql_errors_total',
    help: 'Errors in GraphQL responses by extensions.code',
    labelNames: ['code'] as const,
    registers: [registry],
  });
  const upstreamRequests = new Counter({
    name: 'jans_upstream_requests_total',
    help: 'Calls to Janssen (retries included in their call) by operation, HTTP status (none: no answer) and outcome',
    labelNames: ['operation', 'status', 'outcome'] as const,
    registers: [registry],
  });
  const upstreamRejected = new Counter({
    name: 'jans_upstream_rejected_total',
    help:
      'Calls to Janssen never sent, by operation and reason: circuit_open (the circuit breaker refused it) or ' +
      'no_slot (no free upstream slot, JANS_MAX_CONCURRENCY, within the time budget)',
    labelNames: ['operation', 'reason'] as const,
    registers: [registry],
  });
  const upstreamRetries = new Counter({
    name: 'jans_upstream_retries_total',
    help: 'Requests to Janssen resent after a failed attempt, by operation',
    labelNames: ['operation'] as const,
    registers: [registry],
  });
  const upstreamSeconds = new Histogram({
    name: 'jans_upstream_request_duration_seconds',
    help: 'Duration of calls to Janssen by operation and outcome',
    labelNames: ['operation', 'outcome'] as const,
    registers: [registry],
  });
  const batchSize = new Histogram({
    name: 'jans_dataloader_batch_size',
    help: 'Keys per DataLoader batch (session by sid)',
    buckets: [1, 2, 5, 10, 20, 50, 100, 200],
    registers: [registry],
  });
  const untrustedDocuments = new Counter({
    name: 'jans_graphql_untrusted_documents_total',
    help: 'Requests for operations not in TRUSTED_DOCUMENTS_FILE: refused (enforce), not_found (unknown id), logged (log mode: run)',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const circuitState = options.circuitState ?? (() => 'closed');
  new Gauge({
    name: 'jans_upstream_circuit_state',
    help: 'Circuit breaker in front of Janssen: 0 closed, 1 half-open, 2 open',
    registers: [registry],
    collect() {
      this.set(CIRCUIT_STATE_VALUES[circuitState()]);
    },
  });

  const seenNames = new Set<string>();
  const operationLabel = (name: string | null | undefined): string => {
    if (!name) {
      return 'anonymous';
    }
    if (!OPERATION_NAME.test(name)) {
      return 'other';
    }
    if (!seenNames.has(name) && seenNames.size >= MAX_OPERATION_NAMES) {
      return 'other';
    }
    seenNames.add(name);
    return name;
  };

  const countErrors = (formatted: readonly Pick<GraphQLFormattedError, 'extensions'>[]) => {
    for (const error of formatted) {
      const code = error.extensions?.code;
      errors.inc({ code: typeof code === 'string' ? code : 'UNKNOWN' });
    }
  };

  return {
    registry,
    recordOperation(operationName, formatted, durationMs) {
      const outcome = formatted?.length ? 'error' : 'ok';
      const labels = { operation: operationLabel(operationName), outcome };
      operations.inc(labels);
      operationSeconds.observe(labels, durationMs / 1000);
      if (formatted) {
        countErrors(formatted);
      }
    },
    recordRefusal(formatted, durationMs) {
      operations.inc(REFUSED);
      operationSeconds.observe(REFUSED, durationMs / 1000);
      countErrors(formatted);
    },
    onUpstreamCall(call) {
      const notSent = call.error?.details.notSent;
      if (notSent) {
        // Never sent: counted apart, so an error rate over requests_total only sees what Janssen was asked.
        upstreamRejected.inc({ operation: call.operation, reason: notSent });
        return;
      }
      const outcome = call.error ? call.error.kind.toLowerCase() : 'ok';
      upstreamRequests.inc({
        operation: call.operation,
        status: call.status === undefined ? 'none' : String(call.status),
        outcome,
      });
      upstreamSeconds.observe({ operation: call.operation, outcome }, call.durationMs / 1000);
      if (call.attempts !== undefined && call.attempts > 1) {
        upstreamRetries.inc({ operation: call.operation }, call.attempts - 1);
      }
    },
    onBatch(size) {
      batchSize.observe(size);
    },
    onUntrustedDocument(outcome) {
      untrustedDocuments.inc({ outcome });
    },
    async render() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}
