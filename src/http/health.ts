import { ClientCredentialsRefusedError } from '../janssen/errors.js';
import { type JanssenClient, toJanssenError } from '../janssen/http-client.js';
import type { ClientCredentialsTokenProvider } from '../janssen/token-provider.js';

export type Readiness = { ready: true } | { ready: false; reason: string };

/** How long one readiness answer is reused, so probes from many replicas or a tight loop cost one upstream call. */
const CACHE_MS = 2000;

/**
 * Ready when Janssen answers and, in client-credentials mode, a token can be had. Without a token of our own,
 * a 401 from Janssen still proves it is up.
 */
export function createReadiness(deps: {
  http: Pick<JanssenClient, 'probe'>;
  tokens: ClientCredentialsTokenProvider | undefined;
}) {
  let cached: { at: number; value: Promise<Readiness> } | undefined;

  async function probe(): Promise<Readiness> {
    let authorization: string | undefined;
    if (deps.tokens) {
      try {
        authorization = `Bearer ${await deps.tokens.getToken()}`;
      } catch (error) {
        return {
          ready: false,
          reason:
            error instanceof ClientCredentialsRefusedError
              ? 'token endpoint: client credentials refused'
              : `token endpoint: ${toJanssenError('token', error).kind.toLowerCase()}`,
        };
      }
    }
    try {
      await deps.http.probe('session/search', {
        searchParams: { limit: 1 },
        ...(authorization ? { headers: { authorization } } : {}),
      });
      return { ready: true };
    } catch (error) {
      const translated = toJanssenError('readiness', error);
      if (!deps.tokens && translated.kind === 'UNAUTHORIZED') {
        return { ready: true };
      }
      // Only the service's own token has scopes here: the operator must grant its client the read scope.
      if (translated.kind === 'INSUFFICIENT_SCOPE') {
        const scopes = translated.details.requiredScopes ?? [];
        return {
          ready: false,
          reason: `config API: client lacks scope ${scopes.length > 0 ? scopes.join(' ') : 'to read sessions'}`,
        };
      }
      return { ready: false, reason: `config API: ${translated.kind.toLowerCase()}` };
    }
  }

  return {
    check(): Promise<Readiness> {
      const now = Date.now();
      if (!cached || now - cached.at > CACHE_MS) {
        cached = { at: now, value: probe() };
      }
      return cached.value;
    },
  };
}
