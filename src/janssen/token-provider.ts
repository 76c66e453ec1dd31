import got, { type Got } from 'got';

import { JanssenApiError } from './errors.js';
import { toJanssenError } from './http-client.js';
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
  timeoutMs: number;
  ca?: string | Buffer;
  now?: () => number;
}

/**
 * client_credentials against the Janssen auth server, with HTTP Basic client authentication. One fetch at a time
 * however many callers wait (single flight); the token is reused until shortly before `expires_in`.
 */
export class ClientCredentialsTokenProvider {
  private readonly http: Got;
  private readonly now: () => number;
  private current: { token: string; refreshAt: number } | undefined;
  private inflight: Promise<string> | undefined;
  /** Number of token requests sent, for logs and tests. */
  fetches = 0;

  constructor(private readonly options: TokenProviderOptions) {
    this.now = options.now ?? Date.now;
    this.http = got.extend({
      responseType: 'json',
      timeout: { request: options.timeoutMs },
      retry: { limit: 1, methods: ['POST'], statusCodes: [502, 503, 504], errorCodes: ['ECONNRESET'] },
      https: options.ca ? { certificateAuthority: options.ca } : {},
      headers: { accept: 'application/json', 'user-agent': 'jans-sessions-graphql' },
    });
  }

  /** A valid access token, fetched when none is cached or the cached one is about to expire. */
  async getToken(): Promise<string> {
    if (this.current && this.now() < this.current.refreshAt) {
      return this.current.token;
    }
    this.inflight ??= this.fetch().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  /** Forgets `token` after the upstream refused it, so the next `getToken` fetches a new one. */
  invalidate(token: string): void {
    if (this.current?.token === token) {
      this.current = undefined;
    }
  }

  private async fetch(): Promise<string> {
    this.fetches += 1;
    const basic = Buffer.from(
      `${encodeURIComponent(this.options.clientId)}:${encodeURIComponent(this.options.clientSecret)}`,
    ).toString('base64');
    const started = this.now();
    let body: TokenResponse;
    try {
      body = await this.http
        .post(this.options.tokenUrl, {
          headers: { authorization: `Basic ${basic}` },
          form: {
            grant_type: 'client_credentials',
            scope: (this.options.scopes ?? SESSION_SCOPES).join(' '),
          },
        })
        .json<TokenResponse>();
    } catch (error) {
      const translated = toJanssenError('token', error);
      // The token endpoint refusing our client is a configuration problem of this service, not the caller's.
      throw translated.kind === 'UNAUTHORIZED' ||
        translated.kind === 'INSUFFICIENT_SCOPE' ||
        translated.kind === 'BAD_REQUEST'
        ? new JanssenApiError('ERROR', 'token', 'token: the auth server refused the client credentials', {
            ...(translated.status === undefined ? {} : { status: translated.status }),
            cause: error,
          })
        : translated.kind === 'ERROR'
          ? new JanssenApiError('UNAVAILABLE', 'token', translated.message, { cause: error })
          : translated;
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
}
