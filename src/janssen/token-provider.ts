import type * as GotNamespace from 'got';
import type { Got } from 'got';

import type { RequestTrace } from '../tracing/tracing.js';

import { ClientCredentialsRefusedError, JanssenApiError } from './errors.js';
import { networkError, statusError, timeoutError, toJanssenError, trustedCas } from './http-client.js';
import { backoffMs, type BudgetSignal, type CircuitBreaker, Deadline } from './resilience.js';
import type { TokenResponse } from './session.dto.js';

/** Scopes the service asks for: read the sessions, delete them and revoke a user's (UPSTREAM-BEHAVIOUR.md §6). */
export const SESSION_SCOPES = [
  'https://jans.io/oauth/jans-auth-server/session.readonly',
  'https://jans.io/oauth/jans-auth-server/session.delete',
  'revoke_session',
] as const;

/** Opens the span of one token request (tracing on): a request's trace, or `Tracing` for a root span. */
export type TokenTracer = Pick<RequestTrace, 'startTokenRequest'>;

export interface TokenProviderOptions {
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  scopes?: readonly string[];
  /** Total time of one token fetch, its one retry included. */
  timeoutMs: number;
  /** Default the smaller of 2000 and `timeoutMs`. */
  connectTimeoutMs?: number;
  ca?: string | Buffer;
  /** The upstream's breaker: an auth server that is down stops being asked, like the config API. */
  circuit?: CircuitBreaker;
  /** Traces a fetch no request's trace was given for (a readiness probe's) as a root span; unset: tracing off. */
  tracing?: TokenTracer | undefined;
  now?: () => number;
}

type GotModule = typeof GotNamespace;

/**
 * Largest token response read. Janssen's is a few hundred bytes (a reference token) to a few KB (a signed JWT with
 * its scopes); 64 KiB leaves ten times the largest plausible room, and keeps a broken or hostile endpoint from
 * filling memory and the event loop (the config API's cap is larger: its pages are legitimately MBs).
 */
export const MAX_TOKEN_RESPONSE_BYTES = 64 * 1024;

let gotModule: Promise<GotModule> | undefined;

/**
 * got and its dependencies are loaded with the first token request, not at startup: a pass-through deployment
 * never asks for a token, and they cost ~8 MB of RSS (half of it ICU data touched by an `Intl.ListFormat` that
 * `@sindresorhus/is` makes when it loads).
 */
function loadGot(): Promise<GotModule> {
  return (gotModule ??= import('got'));
}

/**
 * client_credentials against the Janssen auth server, with HTTP Basic client authentication. One fetch at a time
 * however many callers wait (single flight); the token is reused until shortly before `expires_in`. With tracing
 * on, each fetch is one CLIENT span in the trace of the caller that started it; callers that join it add none.
 */
export class ClientCredentialsTokenProvider {
  private client: Promise<{ got: GotModule; http: Got }> | undefined;
  private readonly now: () => number;
  private current: { token: string; refreshAt: number } | undefined;
  private inflight: Promise<string> | undefined;
  /** Number of token requests sent (retries included), for logs and tests. */
  fetches = 0;

  constructor(private readonly options: TokenProviderOptions) {
    this.now = options.now ?? Date.now;
  }

  /** got, and the client of the token requests (made on the first). */
  private gotClient(): Promise<{ got: GotModule; http: Got }> {
    return (this.client ??= loadGot().then((got) => {
      const { options } = this;
      const connect = Math.min(options.connectTimeoutMs ?? 2000, options.timeoutMs);
      const ca = trustedCas(options.ca);
      const http = got.default.extend({
        responseType: 'json',
        timeout: { connect, secureConnect: connect, request: options.timeoutMs },
        // The one retry is `post`'s, inside the fetch's budget.
        retry: { limit: 0 },
        // A redirect would resend the client credentials to wherever it points; a 3xx is an error (see `post`).
        followRedirect: false,
        https: ca ? { certificateAuthority: ca } : {},
        headers: { accept: 'application/json', 'user-agent': 'jans-sessions-graphql' },
      });
      return { got, http };
    }));
  }

  /**
   * A valid access token, fetched when none is cached or the cached one is about to expire. `signal` ends this
   * caller's wait (with a TIMEOUT error), not the shared fetch other callers may still be waiting for. `trace` is
   * the caller's request trace: a fetch this call starts is a span in it.
   */
  async getToken(signal?: BudgetSignal, trace?: TokenTracer): Promise<string> {
    if (this.current && this.now() < this.current.refreshAt) {
      return this.current.token;
    }
    const inflight = (this.inflight ??= this.guardedFetch(trace ?? this.options.tracing).finally(() => {
      this.inflight = undefined;
    }));
    if (!signal) {
      return inflight;
    }
    if (signal.aborted) {
      throw waitTimeout();
    }
    return new Promise<string>((resolve, reject) => {
      const onAbort = () => reject(waitTimeout());
      signal.addEventListener('abort', onAbort, { once: true });
      inflight.then(
        (token) => {
          signal.removeEventListener('abort', onAbort);
          resolve(token);
        },
        (error: unknown) => {
          signal.removeEventListener('abort', onAbort);
          reject(error);
        },
      );
    });
  }

  /** Forgets `token` after the upstream refused it, so the next `getToken` fetches a new one. */
  invalidate(token: string): void {
    if (this.current?.token === token) {
      this.current = undefined;
    }
  }

  private async guardedFetch(tracer: TokenTracer | undefined): Promise<string> {
    const permit = this.options.circuit?.enter();
    if (this.options.circuit && !permit) {
      throw new JanssenApiError('UNAVAILABLE', 'token', 'token: circuit open, token request skipped', {
        notSent: 'circuit_open',
      });
    }
    try {
      const token = await this.fetch(tracer);
      permit?.success();
      return token;
    } catch (error) {
      if (error instanceof JanssenApiError && (error.kind === 'UNAVAILABLE' || error.kind === 'TIMEOUT')) {
        permit?.failure();
      } else if (error instanceof JanssenApiError && error.status !== undefined) {
        // The auth server answered (refused our client, no access_token, a redirect, too large): it is up.
        permit?.answered();
      } else {
        permit?.release();
      }
      throw error;
    }
  }

  private async fetch(tracer: TokenTracer | undefined): Promise<string> {
    const started = this.now();
    const deadline = new Deadline(this.options.timeoutMs);
    let body: TokenResponse;
    try {
      body = await this.post(deadline, tracer);
    } finally {
      deadline.dispose();
    }
    const lifetimeMs =
      (typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : 300) * 1000;
    // Refresh a little early: 10% of the lifetime, at most 30 s, so a call never starts with a dying token.
    const margin = Math.min(30_000, lifetimeMs / 10);
    this.current = { token: body.access_token, refreshAt: started + lifetimeMs - margin };
    return body.access_token;
  }

  /**
   * The token request, sent again once (it changes nothing) when the first fails to reach the auth server; an
   * answer without an access token is a failure. Its span (tracing on) covers both attempts.
   */
  private async post(deadline: Deadline, tracer: TokenTracer | undefined): Promise<TokenResponse> {
    const basic = Buffer.from(
      `${encodeURIComponent(this.options.clientId)}:${encodeURIComponent(this.options.clientSecret)}`,
    ).toString('base64');
    const { got, http } = await this.gotClient();
    const authorization = `Basic ${basic}`;
    const span = tracer?.startTokenRequest(this.options.tokenUrl);
    for (let retry = 0; ; retry += 1) {
      this.fetches += 1;
      let response: GotNamespace.Response<TokenResponse>;
      let tooLarge = false;
      try {
        const request = http.post<TokenResponse>(this.options.tokenUrl, {
          responseType: 'json',
          headers: span ? { ...span.headers, authorization } : { authorization },
          form: {
            grant_type: 'client_credentials',
            scope: (this.options.scopes ?? SESSION_SCOPES).join(' '),
          },
          signal: deadline.signal,
        });
        // got has no size limit: count while it reads (decompressed bytes), and hang up at the cap. A
        // Content-Length past it is refused as soon as the headers arrive.
        request.on('downloadProgress', ({ transferred, total }) => {
          if (
            !tooLarge &&
            (transferred > MAX_TOKEN_RESPONSE_BYTES || (total ?? 0) > MAX_TOKEN_RESPONSE_BYTES)
          ) {
            tooLarge = true;
            request.cancel();
          }
        });
        response = await request;
      } catch (error) {
        // An answer refused as such (too large; a redirect whose body is not JSON): the auth server is up. No
        // `cause`: the log shows the cause's message, and got's (`Promise was canceled`) would hide this one.
        const answered = error instanceof got.RequestError ? error.response?.statusCode : undefined;
        const refused = tooLarge
          ? new JanssenApiError(
              'ERROR',
              'token',
              `token: the auth server answered more than ${MAX_TOKEN_RESPONSE_BYTES / 1024} KiB, not read`,
              answered === undefined ? {} : { status: answered },
            )
          : answered !== undefined && isRedirect(answered)
            ? redirectError(answered)
            : undefined;
        if (refused) {
          span?.end({
            ...(answered === undefined ? {} : { status: answered }),
            error: 'ERROR',
            attempts: retry + 1,
          });
          throw refused;
        }
        const translated = fromGotError(got, 'token', error) ?? toJanssenError('token', error);
        const delay = backoffMs(retry);
        if (retry === 0 && translated.kind === 'UNAVAILABLE' && deadline.remaining() >= delay + 50) {
          await deadline.sleep(delay).catch(() => undefined);
          if (!deadline.aborted) {
            continue;
          }
        }
        // An error status speaks for itself (`error.type` 401); a 2xx that is not JSON, or no answer, by its kind.
        const { status } = translated;
        span?.end(
          status !== undefined && status >= 400
            ? { status, attempts: retry + 1 }
            : { ...(status === undefined ? {} : { status }), error: translated.kind, attempts: retry + 1 },
        );
        // The token endpoint refusing our client is a configuration problem of this service, not the caller's.
        throw translated.kind === 'UNAUTHORIZED' ||
          translated.kind === 'INSUFFICIENT_SCOPE' ||
          translated.kind === 'BAD_REQUEST'
          ? new ClientCredentialsRefusedError({
              ...(translated.status === undefined ? {} : { status: translated.status }),
              cause: error,
            })
          : translated.kind === 'ERROR'
            ? new JanssenApiError('UNAVAILABLE', 'token', translated.message, { cause: error })
            : translated;
      }
      if (isRedirect(response.statusCode)) {
        span?.end({ status: response.statusCode, error: 'ERROR', attempts: retry + 1 });
        throw redirectError(response.statusCode);
      }
      const body = response.body;
      if (!body || typeof body.access_token !== 'string' || body.access_token.length === 0) {
        span?.end({ status: response.statusCode, error: 'ERROR', attempts: retry + 1 });
        throw new JanssenApiError(
          'ERROR',
          'token',
          'token: the auth server answered without an access_token',
          { status: response.statusCode },
        );
      }
      span?.end({ status: response.statusCode, attempts: retry + 1 });
      return body;
    }
  }
}

/** What got throws, as a `JanssenApiError` (undefined for anything else). */
function fromGotError(got: GotModule, operation: string, error: unknown): JanssenApiError | undefined {
  if (error instanceof got.HTTPError) {
    const text =
      typeof error.response.body === 'string' ? error.response.body : String(error.response.rawBody ?? '');
    return statusError(operation, error.response.statusCode, text, error);
  }
  if (error instanceof got.TimeoutError) {
    return timeoutError(operation, error);
  }
  if (error instanceof got.ParseError) {
    // A 401 answered in plain text also lands here when got tried to parse it as JSON; handled above via HTTPError.
    return new JanssenApiError('ERROR', operation, `${operation}: upstream body is not valid JSON`, {
      status: error.response.statusCode,
      cause: error,
    });
  }
  if (error instanceof got.RequestError) {
    const code = error.code;
    if (code === 'ERR_ABORTED' || error.name === 'AbortError') {
      return timeoutError(operation, error);
    }
    return networkError(operation, code, error);
  }
  return undefined;
}

function isRedirect(status: number): boolean {
  return status >= 300 && status < 400 && status !== 304;
}

/**
 * A 3xx from the token endpoint: not followed (it would carry the client credentials wherever it points). The
 * message, which is logged, names the status and not the `Location`.
 */
function redirectError(status: number): JanssenApiError {
  return new JanssenApiError(
    'ERROR',
    'token',
    `token: the auth server answered ${status}, a redirect, which is not followed`,
    { status },
  );
}

function waitTimeout(): JanssenApiError {
  return new JanssenApiError('TIMEOUT', 'token', 'token: no token within the time budget');
}
