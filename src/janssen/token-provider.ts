import type * as GotNamespace from 'got';
import type { Got } from 'got';

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
  now?: () => number;
}

type GotModule = typeof GotNamespace;

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
 * however many callers wait (single flight); the token is reused until shortly before `expires_in`.
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
        https: ca ? { certificateAuthority: ca } : {},
        headers: { accept: 'application/json', 'user-agent': 'jans-sessions-graphql' },
      });
      return { got, http };
    }));
  }

  /**
   * A valid access token, fetched when none is cached or the cached one is about to expire. `signal` ends this
   * caller's wait (with a TIMEOUT error), not the shared fetch other callers may still be waiting for.
   */
  async getToken(signal?: BudgetSignal): Promise<string> {
    if (this.current && this.now() < this.current.refreshAt) {
      return this.current.token;
    }
    const inflight = (this.inflight ??= this.guardedFetch().finally(() => {
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

  private async guardedFetch(): Promise<string> {
    const permit = this.options.circuit?.enter();
    if (this.options.circuit && !permit) {
      throw new JanssenApiError('UNAVAILABLE', 'token', 'token: circuit open, token request skipped');
    }
    try {
      const token = await this.fetch();
      permit?.success();
      return token;
    } catch (error) {
      if (error instanceof JanssenApiError && (error.kind === 'UNAVAILABLE' || error.kind === 'TIMEOUT')) {
        permit?.failure();
      } else {
        permit?.release();
      }
      throw error;
    }
  }

  private async fetch(): Promise<string> {
    const started = this.now();
    const deadline = new Deadline(this.options.timeoutMs);
    let body: TokenResponse;
    try {
      body = await this.post(deadline);
    } finally {
      deadline.dispose();
    }
    if (!body || typeof body.access_token !== 'string' || body.access_token.length === 0) {
      throw new JanssenApiError('ERROR', 'token', 'token: the auth server answered without an access_token');
    }
    const lifetimeMs =
      (typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : 300) * 1000;
    // Refresh a little early: 10% of the lifetime, at most 30 s, so a call never starts with a dying token.
    const margin = Math.min(30_000, lifetimeMs / 10);
    this.current = { token: body.access_token, refreshAt: started + lifetimeMs - margin };
    return body.access_token;
  }

  /** The token request, sent again once (it changes nothing) when the first fails to reach the auth server. */
  private async post(deadline: Deadline): Promise<TokenResponse> {
    const basic = Buffer.from(
      `${encodeURIComponent(this.options.clientId)}:${encodeURIComponent(this.options.clientSecret)}`,
    ).toString('base64');
    const { got, http } = await this.gotClient();
    for (let retry = 0; ; retry += 1) {
      this.fetches += 1;
      try {
        return await http
          .post(this.options.tokenUrl, {
            headers: { authorization: `Basic ${basic}` },
            form: {
              grant_type: 'client_credentials',
              scope: (this.options.scopes ?? SESSION_SCOPES).join(' '),
            },
            signal: deadline.signal,
          })
          .json<TokenResponse>();
      } catch (error) {
        const translated = fromGotError(got, 'token', error) ?? toJanssenError('token', error);
        const delay = backoffMs(retry);
        if (retry === 0 && translated.kind === 'UNAVAILABLE' && deadline.remaining() >= delay + 50) {
          await deadline.sleep(delay).catch(() => undefined);
          if (!deadline.aborted) {
            continue;
          }
        }
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

function waitTimeout(): JanssenApiError {
  return new JanssenApiError('TIMEOUT', 'token', 'token: no token within the time budget');
}
