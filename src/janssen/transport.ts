import http from 'node:http';
import https from 'node:https';

import type { BudgetSignal } from './resilience.js';

/**
 * The wire under `JanssenClient`: one request on Node's keep-alive agents, its body read whole and parsed as JSON.
 *
 * Why not got here: got 14 costs 450-800 µs of CPU per call (its `Request` stream, hooks, timings and promise
 * wrapper) against ~60 µs for a bare `http.request`; for a facade whose every GraphQL read is one upstream call
 * that was 43 % of the service's CPU (bench/results/levers.md). Everything got did for us here is small and kept:
 * keep-alive agents, a connect timeout, a prefix URL with form-encoded query parameters, JSON bodies, non-2xx as
 * errors. Retries, the time budget and the breaker were already ours (`JanssenClient.send`). Redirects are not
 * followed: the session resource never redirects, and a redirect must not carry our bearer token elsewhere.
 */

/** The upstream answered with a status outside 2xx; `text` is its body (never shown to callers). */
export class UpstreamStatusError extends Error {
  override readonly name = 'UpstreamStatusError';
  constructor(
    readonly status: number,
    readonly text: string,
  ) {
    super(`upstream answered ${status}`);
  }
}

/** A 2xx answer whose body is not JSON. */
export class UpstreamParseError extends Error {
  override readonly name = 'UpstreamParseError';
  constructor(
    readonly status: number,
    options?: { cause?: unknown },
  ) {
    super('upstream body is not valid JSON', options);
  }
}

/** No connection within the connect timeout (`connect`: nothing was sent), or the call's budget ran out. */
export class UpstreamTimeoutError extends Error {
  override readonly name = 'UpstreamTimeoutError';
  readonly code = 'ETIMEDOUT';
  constructor(readonly event: 'connect' | 'budget') {
    super(event === 'connect' ? 'no upstream connection in time' : 'upstream did not answer in time');
  }
}

/** A broken exchange (refused, reset, TLS failure...): `code` is Node's (`ECONNREFUSED`, `ECONNRESET`, ...). */
export class UpstreamNetworkError extends Error {
  override readonly name = 'UpstreamNetworkError';
  readonly code: string;
  constructor(cause: unknown) {
    const code = (cause as { code?: unknown } | undefined)?.code;
    super(cause instanceof Error ? cause.message : 'upstream request failed', { cause });
    this.code = typeof code === 'string' ? code : 'ERR_UPSTREAM';
  }
}

export interface TransportOptions {
  /** Absolute URL every request path is relative to, ending in `/`. */
  prefixUrl: string;
  agents: { http: http.Agent; https: https.Agent };
  /** Sent on every request (lower-case names). */
  headers: Record<string, string>;
  connectTimeoutMs: number;
  /** A longer body is refused (UpstreamNetworkError `ERR_BODY_TOO_LARGE`). */
  maxBodyBytes?: number;
}

export interface TransportRequest {
  method: 'GET' | 'DELETE';
  /** Relative to `prefixUrl`, already percent-encoded. */
  path: string;
  headers?: Record<string, string>;
  /** Form-encoded like `URLSearchParams` (and got's `searchParams`). */
  searchParams?: Record<string, string | number>;
  /** The call's time budget: the exchange ends as soon as it aborts. */
  signal: BudgetSignal;
}

export interface TransportResponse {
  status: number;
  /** Parsed JSON; `''` for an empty body (Janssen's 200-with-no-body). */
  body: unknown;
}

const DEFAULT_MAX_BODY = 32 * 1024 * 1024;

export class Transport {
  private readonly secure: boolean;
  private readonly hostname: string;
  private readonly port: number;
  private readonly basePath: string;
  private readonly maxBodyBytes: number;

  constructor(private readonly options: TransportOptions) {
    const url = new URL(options.prefixUrl);
    this.secure = url.protocol === 'https:';
    this.hostname = url.hostname.replace(/^\[(.*)\]$/, '$1');
    this.port = url.port === '' ? (this.secure ? 443 : 80) : Number(url.port);
    this.basePath = url.pathname.endsWith('/') ? url.pathname : `${url.pathname}/`;
    this.maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY;
  }

  request(request: TransportRequest): Promise<TransportResponse> {
    const { signal } = request;
    if (signal.aborted) {
      return Promise.reject(new UpstreamTimeoutError('budget'));
    }
    let path = this.basePath + request.path;
    if (request.searchParams) {
      const query = new URLSearchParams();
      for (const key of Object.keys(request.searchParams)) {
        query.append(key, String(request.searchParams[key]));
      }
      path += `?${query.toString()}`;
    }
    const headers = request.headers ? { ...this.options.headers, ...request.headers } : this.options.headers;
    const transport = this.secure ? https : http;
    return new Promise<TransportResponse>((resolve, reject) => {
      let settled = false;
      let connectTimer: NodeJS.Timeout | undefined;
      const fail = (error: Error) => {
        if (settled) {
          return;
        }
        settled = true;
        clearTimeout(connectTimer);
        signal.removeEventListener('abort', onAbort);
        req.destroy();
        reject(error);
      };
      const onAbort = () => fail(new UpstreamTimeoutError('budget'));
      const req = transport.request(
        {
          method: request.method,
          hostname: this.hostname,
          port: this.port,
          path,
          headers,
          agent: this.secure ? this.options.agents.https : this.options.agents.http,
        },
        (res) => {
          clearTimeout(connectTimer);
          const chunks: Buffer[] = [];
          let length = 0;
          res.on('data', (chunk: Buffer) => {
            length += chunk.length;
            if (length > this.maxBodyBytes) {
              fail(
                new UpstreamNetworkError(
                  Object.assign(new Error('upstream body too large'), { code: 'ERR_BODY_TOO_LARGE' }),
                ),
              );
              return;
            }
            chunks.push(chunk);
          });
          res.on('error', (error) => fail(new UpstreamNetworkError(error)));
          res.on('end', () => {
            if (settled) {
              return;
            }
            if (!res.complete) {
              fail(new UpstreamNetworkError(Object.assign(new Error('aborted'), { code: 'ECONNRESET' })));
              return;
            }
            settled = true;
            signal.removeEventListener('abort', onAbort);
            const status = res.statusCode ?? 0;
            const text =
              chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8');
            if (status < 200 || status > 299) {
              reject(new UpstreamStatusError(status, text));
              return;
            }
            if (text.length === 0) {
              resolve({ status, body: '' });
              return;
            }
            try {
              resolve({ status, body: JSON.parse(text) });
            } catch (error) {
              reject(new UpstreamParseError(status, { cause: error }));
            }
          });
        },
      );
      req.on('error', (error) =>
        fail(signal.aborted ? new UpstreamTimeoutError('budget') : new UpstreamNetworkError(error)),
      );
      req.on('socket', (socket) => {
        if (!socket.connecting) {
          return;
        }
        connectTimer = setTimeout(
          () => fail(new UpstreamTimeoutError('connect')),
          this.options.connectTimeoutMs,
        );
        socket.once(this.secure ? 'secureConnect' : 'connect', () => clearTimeout(connectTimer));
      });
      signal.addEventListener('abort', onAbort, { once: true });
      req.end();
    });
  }
}
