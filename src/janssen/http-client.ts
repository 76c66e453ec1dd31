import http from 'node:http';
import https from 'node:https';

import got, { type Got, HTTPError, ParseError, RequestError, TimeoutError } from 'got';

import { JanssenApiError } from './errors.js';

export interface JanssenClientOptions {
  /** The config API base, ending in `/jans-config-api`. */
  baseUrl: string;
  /** Total time budget of one upstream call, retries included. */
  timeoutMs: number;
  /** Extra trusted CA certificates (PEM) for the upstream's TLS. Certificate checks stay on. */
  ca?: string | Buffer;
  /** Upper bound on open sockets to the upstream; further requests queue in the agent. */
  maxSockets?: number;
  /** How many times an idempotent GET is retried on a connection error or 502/503/504. */
  retries?: number;
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

/**
 * The one configured got instance for the config API: keep-alive agents, `prefixUrl` at the session resource
 * collection, JSON bodies, time budget and retries for GETs only (a DELETE whose answer was lost is never resent).
 */
export function createJanssenClient(options: JanssenClientOptions): Got {
  const maxSockets = options.maxSockets ?? 64;
  const base = options.baseUrl.replace(/\/+$/, '');
  return got.extend({
    prefixUrl: `${base}/api/v1/jans-auth-server/`,
    responseType: 'json',
    headers: { accept: 'application/json', 'user-agent': 'jans-sessions-graphql' },
    agent: {
      http: new http.Agent({ keepAlive: true, maxSockets }),
      https: new https.Agent({ keepAlive: true, maxSockets, ...(options.ca ? { ca: options.ca } : {}) }),
    },
    https: options.ca ? { certificateAuthority: options.ca } : {},
    timeout: { request: options.timeoutMs },
    retry: {
      limit: options.retries ?? 2,
      methods: ['GET'],
      statusCodes: [502, 503, 504],
      errorCodes: ['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'EAI_AGAIN'],
      // Jittered exponential backoff, small enough to stay well inside the caller's budget.
      calculateDelay: ({ attemptCount, computedValue }) =>
        computedValue === 0 ? 0 : Math.round(25 * 2 ** (attemptCount - 1) * (0.5 + Math.random())),
    },
    throwHttpErrors: true,
  });
}

/** Turns whatever got threw into a `JanssenApiError` that names the operation and keeps the original as `cause`. */
export function toJanssenError(operation: string, error: unknown): JanssenApiError {
  if (error instanceof JanssenApiError) {
    return error;
  }
  if (error instanceof HTTPError) {
    const status = error.response.statusCode;
    if (status === 401) {
      const text =
        typeof error.response.body === 'string' ? error.response.body : String(error.response.rawBody ?? '');
      const requiredScopes = parseRequiredScopes(text);
      return requiredScopes
        ? new JanssenApiError('INSUFFICIENT_SCOPE', operation, `${operation}: token lacks a required scope`, {
            status,
            requiredScopes,
            cause: error,
          })
        : new JanssenApiError('UNAUTHORIZED', operation, `${operation}: upstream refused the token`, {
            status,
            cause: error,
          });
    }
    if (status === 400) {
      return new JanssenApiError('BAD_REQUEST', operation, `${operation}: upstream answered 400`, {
        status,
        cause: error,
      });
    }
    const kind = status === 502 || status === 503 || status === 504 ? 'UNAVAILABLE' : 'ERROR';
    return new JanssenApiError(kind, operation, `${operation}: upstream answered ${status}`, {
      status,
      cause: error,
    });
  }
  if (error instanceof TimeoutError || (error instanceof Error && error.name === 'TimeoutError')) {
    return new JanssenApiError('TIMEOUT', operation, `${operation}: upstream did not answer in time`, {
      cause: error,
    });
  }
  if (error instanceof ParseError) {
    // A 401 answered in plain text also lands here when got tried to parse it as JSON; handled above via HTTPError.
    return new JanssenApiError('ERROR', operation, `${operation}: upstream body is not valid JSON`, {
      status: error.response.statusCode,
      cause: error,
    });
  }
  if (error instanceof RequestError) {
    const code = error.code;
    if (code === 'ERR_ABORTED' || error.name === 'AbortError') {
      return new JanssenApiError('TIMEOUT', operation, `${operation}: upstream did not answer in time`, {
        cause: error,
      });
    }
    if (UNAVAILABLE_CODES.has(code)) {
      return new JanssenApiError('UNAVAILABLE', operation, `${operation}: upstream unreachable (${code})`, {
        cause: error,
      });
    }
    return new JanssenApiError('ERROR', operation, `${operation}: upstream request failed (${code})`, {
      cause: error,
    });
  }
  return new JanssenApiError('ERROR', operation, `${operation}: unexpected failure`, { cause: error });
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
