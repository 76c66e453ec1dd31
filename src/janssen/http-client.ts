import http from 'node:http';
import https from 'node:https';
import { rootCertificates } from 'node:tls';

import { type ChangeOutcome, JanssenApiError } from './errors.js';
import {
  backoffMs,
  CircuitBreaker,
  type CircuitPermit,
  ConcurrencyLimit,
  Deadline,
  QueueTimeoutError,
} from './resilience.js';
import {
  Transport,
  UpstreamNetworkError,
  UpstreamParseError,
  UpstreamStatusError,
  UpstreamTimeoutError,
} from './transport.js';

export interface JanssenClientOptions {
  /** The config API base, ending in `/jans-config-api`. */
  baseUrl: string;
  /** Total time budget of one upstream call: waiting for a slot, every attempt and the backoff between them. */
  timeoutMs: number;
  /** Time allowed to open a connection (TCP, then TLS); default the smaller of 2000 and `timeoutMs`. */
  connectTimeoutMs?: number;
  /** Extra trusted CA certificates (PEM), added to the usual roots. Certificate checks stay on. */
  ca?: string | Buffer;
  /** Upstream requests in flight at most (also the agents' `maxSockets`); more wait for a slot. Default 32. */
  maxConcurrency?: number;
  /** How many times a failed GET is retried (connection refused or reset, 502/503/504); default 4. */
  retries?: number;
  /** Shared with the token provider in the server; default a breaker with {@link DEFAULT_CIRCUIT}. */
  circuit?: CircuitBreaker;
}

/** Consecutive failed calls that open the circuit, and how long it stays open before a probe. */
export const DEFAULT_CIRCUIT = { failureThreshold: 5, openMs: 5000 } as const;

/** One request to the session resource, relative to `.../api/v1/jans-auth-server/`. */
export interface UpstreamRequest {
  method: 'GET' | 'DELETE';
  path: string;
  headers?: Record<string, string>;
  searchParams?: Record<string, string | number>;
}

export interface UpstreamResponse {
  status: number;
  body: unknown;
  /** Requests sent, retries included. */
  attempts: number;
}

/** Network error codes that mean "upstream not reachable right now". */
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNABORTED',
]);

/** Failures a GET is retried after: the connection broke or a proxy/Jetty said "not now". */
const RETRY_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'EAI_AGAIN', 'ECONNABORTED']);
const RETRY_STATUSES = new Set([502, 503, 504]);
/** Failures that happen before a byte of the request leaves, so even a DELETE can be resent. */
const UNSENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);
const TLS_FAILURE = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|^ERR_TLS|^ERR_SSL/;
/** Not worth another attempt with less than this left of the budget. */
const MIN_ATTEMPT_MS = 50;

/** The extra CA appended to Node's bundled roots: a private CA must not make public ones untrusted. */
export function trustedCas(ca: string | Buffer | undefined): string[] | undefined {
  return ca === undefined ? undefined : [...rootCertificates, ca.toString()];
}

/**
 * The upstream connection: keep-alive agents and a lean {@link Transport} (prefix URL at the session resource
 * collection, JSON bodies, connect timeout), plus a total time budget across retries, a cap on concurrent
 * requests whose queue honours that budget, and a circuit breaker.
 */
export class JanssenClient {
  readonly circuit: CircuitBreaker;
  readonly limit: ConcurrencyLimit;
  readonly timeoutMs: number;
  readonly retries: number;
  private readonly agents: { http: http.Agent; https: https.Agent };
  private readonly transport: Transport;

  constructor(options: JanssenClientOptions) {
    const maxConcurrency = options.maxConcurrency ?? 32;
    const connectTimeoutMs = Math.min(options.connectTimeoutMs ?? 2000, options.timeoutMs);
    const ca = trustedCas(options.ca);
    this.timeoutMs = options.timeoutMs;
    this.retries = options.retries ?? 4;
    this.circuit = options.circuit ?? new CircuitBreaker(DEFAULT_CIRCUIT);
    this.limit = new ConcurrencyLimit(maxConcurrency);
    this.agents = {
      http: new http.Agent({ keepAlive: true, maxSockets: maxConcurrency }),
      https: new https.Agent({ keepAlive: true, maxSockets: maxConcurrency, ...(ca ? { ca } : {}) }),
    };
    const base = options.baseUrl.replace(/\/+$/, '');
    this.transport = new Transport({
      prefixUrl: `${base}/api/v1/jans-auth-server/`,
      agents: this.agents,
      headers: { accept: 'application/json', 'user-agent': 'jans-sessions-graphql' },
      connectTimeoutMs,
    });
  }

  /**
   * One GET outside the budget, retries and breaker, for readiness: does the config API answer at all?
   * Throws `JanssenApiError` like {@link send}.
   */
  async probe(path: string, request: Omit<UpstreamRequest, 'method' | 'path'> = {}): Promise<number> {
    const deadline = this.deadline();
    try {
      const response = await this.transport.request({
        method: 'GET',
        path,
        ...request,
        signal: deadline,
      });
      return response.status;
    } catch (error) {
      throw toJanssenError('readiness', error);
    } finally {
      deadline.dispose();
    }
  }

  /** A fresh time budget for one call. */
  deadline(): Deadline {
    return new Deadline(this.timeoutMs);
  }

  /**
   * One upstream call within `deadline`: refused at once while the circuit is open; otherwise queued for a slot,
   * sent, and for a GET retried with jittered exponential backoff on a broken connection or 502/503/504 while
   * the budget lasts. A DELETE is resent only when the failure proves it never left; when its answer is lost the
   * error says so in `details.outcome`. Throws `JanssenApiError`.
   */
  async send(operation: string, request: UpstreamRequest, deadline: Deadline): Promise<UpstreamResponse> {
    const permit = this.circuit.enter();
    if (!permit) {
      throw changeError(
        request,
        new JanssenApiError('UNAVAILABLE', operation, `${operation}: circuit open, upstream call skipped`, {
          notSent: 'circuit_open',
        }),
        false,
      );
    }
    let attempts = 0;
    try {
      for (let retry = 0; ; retry += 1) {
        const noSlot = (cause: unknown) =>
          changeError(
            request,
            new JanssenApiError(
              'TIMEOUT',
              operation,
              `${operation}: no free upstream slot within the budget`,
              // A retry that found no slot was a call Janssen got; a first attempt that found none was not.
              { attempts, cause, ...(attempts === 0 ? { notSent: 'no_slot' as const } : {}) },
            ),
            false,
          );
        let release: () => void;
        try {
          release = await this.limit.acquire(deadline);
        } catch (error) {
          if (!(error instanceof QueueTimeoutError)) {
            throw error;
          }
          throw noSlot(error);
        }
        if (deadline.aborted) {
          // The slot came as the budget ran out (waiters' budgets end together): nothing would be sent.
          release();
          throw noSlot(new QueueTimeoutError('the budget ran out as a slot came free'));
        }
        attempts += 1;
        let failure: { error: unknown; translated: JanssenApiError };
        try {
          const response = await this.transport.request({ ...request, signal: deadline });
          permit.success();
          return { status: response.status, body: response.body, attempts };
        } catch (error) {
          failure = { error, translated: toJanssenError(operation, error) };
        } finally {
          release();
        }
        const unsent = neverSent(failure.error);
        const delay = backoffMs(retry);
        if (
          retry < this.retries &&
          isRetryable(request.method, failure.error, unsent) &&
          deadline.remaining() >= delay + MIN_ATTEMPT_MS &&
          this.circuit.state() !== 'open'
        ) {
          await deadline.sleep(delay).catch(() => undefined);
          if (!deadline.aborted) {
            continue;
          }
        }
        const translated = new JanssenApiError(
          failure.translated.kind,
          operation,
          failure.translated.message,
          { ...failure.translated.details, attempts },
        );
        reportHealth(permit, translated, failure.error);
        throw changeError(request, translated, !unsent);
      }
    } finally {
      permit.release();
    }
  }

  /** Closes the pooled sockets. */
  close(): void {
    this.agents.http.destroy();
    this.agents.https.destroy();
  }
}

/** The one client for the config API; see {@link JanssenClient}. */
export function createJanssenClient(options: JanssenClientOptions): JanssenClient {
  return new JanssenClient(options);
}

/** Whether the request provably never reached the upstream. */
function neverSent(error: unknown): boolean {
  if (error instanceof UpstreamTimeoutError) {
    return error.event === 'connect';
  }
  if (error instanceof UpstreamNetworkError) {
    return UNSENT_CODES.has(error.code) || TLS_FAILURE.test(error.code);
  }
  return false;
}

function isRetryable(method: UpstreamRequest['method'], error: unknown, unsent: boolean): boolean {
  if (error instanceof UpstreamStatusError) {
    return method === 'GET' && RETRY_STATUSES.has(error.status);
  }
  if (error instanceof UpstreamTimeoutError) {
    // Only a connect timeout: after a full-budget timeout nothing is left to retry with.
    return unsent;
  }
  if (error instanceof UpstreamNetworkError) {
    if (TLS_FAILURE.test(error.code)) {
      return false;
    }
    return method === 'GET' ? RETRY_CODES.has(error.code) : unsent && UNSENT_CODES.has(error.code);
  }
  return false;
}

/**
 * Down (timeouts, broken connections, 502/503/504) opens the breaker; any other answer proves it is up, though a
 * 500 or an unreadable body does not end a streak of failures (it closes the circuit when it answers a probe).
 * A failure with no answer at all (a certificate that does not verify) says nothing either way.
 */
function reportHealth(permit: CircuitPermit, error: JanssenApiError, cause: unknown): void {
  const answered =
    error.status !== undefined ||
    cause instanceof UpstreamParseError ||
    (cause instanceof UpstreamNetworkError && cause.code === 'ERR_BODY_TOO_LARGE');
  if (error.kind === 'TIMEOUT' || error.kind === 'UNAVAILABLE') {
    permit.failure();
  } else if (!answered) {
    permit.release();
  } else if (
    error.kind === 'ERROR' &&
    (cause instanceof UpstreamParseError || (error.status ?? 500) >= 500)
  ) {
    permit.answered();
  } else {
    permit.success();
  }
}

/**
 * For a DELETE, records whether the failed change took effect: `NOT_APPLIED` when it never left or the upstream
 * answered a definite refusal, `UNKNOWN` when it left and no answer (or only a 5xx) came back.
 */
function changeError(request: UpstreamRequest, error: JanssenApiError, sent: boolean): JanssenApiError {
  if (request.method === 'GET' || !['TIMEOUT', 'UNAVAILABLE', 'ERROR'].includes(error.kind)) {
    return error;
  }
  const outcome: ChangeOutcome = sent && (error.status ?? 500) >= 500 ? 'UNKNOWN' : 'NOT_APPLIED';
  return new JanssenApiError(error.kind, error.operation, error.message, { ...error.details, outcome });
}

/**
 * Turns what the transport threw into a `JanssenApiError` that names the operation and keeps the original as
 * `cause`. (got's errors, from the token request only, are translated by the token provider, which loads got.)
 */
export function toJanssenError(operation: string, error: unknown): JanssenApiError {
  if (error instanceof JanssenApiError) {
    return error;
  }
  if (error instanceof UpstreamStatusError) {
    return statusError(operation, error.status, error.text, error);
  }
  if (error instanceof UpstreamTimeoutError) {
    return timeoutError(operation, error);
  }
  if (error instanceof UpstreamParseError) {
    return new JanssenApiError('ERROR', operation, `${operation}: upstream body is not valid JSON`, {
      status: error.status,
      cause: error,
    });
  }
  if (error instanceof UpstreamNetworkError) {
    return networkError(operation, error.code, error);
  }
  if (error instanceof Error && error.name === 'TimeoutError') {
    return timeoutError(operation, error);
  }
  return new JanssenApiError('ERROR', operation, `${operation}: unexpected failure`, { cause: error });
}

/** The upstream did not answer within the call's budget. */
export function timeoutError(operation: string, cause: unknown): JanssenApiError {
  return new JanssenApiError('TIMEOUT', operation, `${operation}: upstream did not answer in time`, {
    cause,
  });
}

/** A non-2xx answer: 401 (bad token, or a missing scope named in the text), 400, 502/503/504, or any other. */
export function statusError(
  operation: string,
  status: number,
  text: string,
  cause: unknown,
): JanssenApiError {
  if (status === 401) {
    const requiredScopes = parseRequiredScopes(text);
    return requiredScopes
      ? new JanssenApiError('INSUFFICIENT_SCOPE', operation, `${operation}: token lacks a required scope`, {
          status,
          requiredScopes,
          cause,
        })
      : new JanssenApiError('UNAUTHORIZED', operation, `${operation}: upstream refused the token`, {
          status,
          cause,
        });
  }
  if (status === 400) {
    return new JanssenApiError('BAD_REQUEST', operation, `${operation}: upstream answered 400`, {
      status,
      cause,
    });
  }
  const kind = status === 502 || status === 503 || status === 504 ? 'UNAVAILABLE' : 'ERROR';
  return new JanssenApiError(kind, operation, `${operation}: upstream answered ${status}`, { status, cause });
}

export function networkError(operation: string, code: string, cause: unknown): JanssenApiError {
  if (UNAVAILABLE_CODES.has(code)) {
    return new JanssenApiError('UNAVAILABLE', operation, `${operation}: upstream unreachable (${code})`, {
      cause,
    });
  }
  return new JanssenApiError('ERROR', operation, `${operation}: upstream request failed (${code})`, {
    cause,
  });
}

/**
 * Janssen's scope failure text (UPSTREAM-BEHAVIOUR.md §5.1):
 * `oAuth authorization error Insufficient scopes! , Required scope: [a, b], however token scopes: [..]`.
 */
export function parseRequiredScopes(text: string): string[] | undefined {
  if (!/insufficient scopes/i.test(text)) {
    return undefined;
  }
  const match = /Required scope:\s*\[([^\]]*)\]/i.exec(text);
  const scopes = (match?.[1] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  return scopes;
}
