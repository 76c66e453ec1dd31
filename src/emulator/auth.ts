import { randomUUID } from 'node:crypto';

/** OAuth scopes involved in the session endpoints (UPSTREAM-BEHAVIOUR.md §6). */
export const SCOPES = {
  sessionReadonly: 'https://jans.io/oauth/jans-auth-server/session.readonly',
  sessionDelete: 'https://jans.io/oauth/jans-auth-server/session.delete',
  revokeSession: 'revoke_session',
  sessionAdmin: 'https://jans.io/oauth/jans-auth-server/session.admin',
  configReadAll: 'https://jans.io/oauth/config/read-all',
  configWriteAll: 'https://jans.io/oauth/config/write-all',
  configDeleteAll: 'https://jans.io/oauth/config/delete-all',
} as const;

/** Which `@ProtectedApi` annotation an operation carries. */
export type Access = 'read' | 'delete';

/** Required scopes (all of) and super scopes (any one), per `SessionResource` (§6). */
export const ACCESS_RULES: Readonly<
  Record<Access, { required: readonly string[]; superScopes: readonly string[] }>
> = {
  read: {
    required: [SCOPES.sessionReadonly],
    superScopes: [SCOPES.sessionAdmin, SCOPES.configReadAll, SCOPES.configWriteAll],
  },
  delete: {
    required: [SCOPES.sessionDelete, SCOPES.revokeSession],
    superScopes: [SCOPES.sessionAdmin, SCOPES.configDeleteAll],
  },
};

/** An access token the emulated auth server issued. */
export interface IssuedToken {
  readonly token: string;
  readonly scopes: readonly string[];
  /** Epoch millis; the token is inactive from this instant on. */
  readonly expiresAt: number;
  readonly clientId?: string;
}

/** Opaque access tokens held in memory, as the auth server's introspection endpoint would see them. */
export class TokenRegistry {
  private readonly tokens = new Map<string, IssuedToken>();

  constructor(private readonly now: () => Date) {}

  /** Mints an opaque token valid for `ttlSeconds`. */
  issue(scopes: readonly string[], ttlSeconds: number, clientId?: string): IssuedToken {
    const issued: IssuedToken = {
      token: randomUUID(),
      scopes: [...scopes],
      expiresAt: this.now().getTime() + ttlSeconds * 1000,
      ...(clientId === undefined ? {} : { clientId }),
    };
    this.tokens.set(issued.token, issued);
    return issued;
  }

  /** The token if it exists and has not expired (introspection `active`). */
  introspect(token: string): IssuedToken | undefined {
    const issued = this.tokens.get(token);
    if (!issued) {
      return undefined;
    }
    if (issued.expiresAt <= this.now().getTime()) {
      this.tokens.delete(token);
      return undefined;
    }
    return issued;
  }
}

/** A registered OAuth client allowed to use `client_credentials`. */
export interface OAuthClient {
  readonly id: string;
  readonly secret: string;
  readonly scopes: readonly string[];
}

/** Registered clients by id. */
export class ClientRegistry {
  private readonly clients = new Map<string, OAuthClient>();

  /** Registers or replaces a client. */
  add(id: string, secret: string, scopes: readonly string[]): void {
    this.clients.set(id, { id, secret, scopes: [...scopes] });
  }

  /** The client when id and secret match. */
  authenticate(id: string, secret: string): OAuthClient | undefined {
    const client = this.clients.get(id);
    return client && client.secret === secret ? client : undefined;
  }
}

/** Outcome of the config-api `AuthorizationFilter` for one request. */
export type AuthorizationResult = { ok: true; token: IssuedToken } | { ok: false; message: string };

function looksLikeJwt(token: string): boolean {
  const parts = token.split('.');
  if (parts.length !== 3 || !parts[0]) {
    return false;
  }
  try {
    const header: unknown = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'));
    return header !== null && typeof header === 'object' && !Array.isArray(header);
  } catch {
    return false;
  }
}

/** Java's `List.toString()`. */
function javaList(items: readonly string[]): string {
  return `[${items.join(', ')}]`;
}

/**
 * `AuthorizationFilter` + `OpenIdAuthorizationService.processAuthorization` (§5.1): bearer scheme check,
 * `issuer` header, JWT vs opaque token, then `findMissingScopes` (any super scope, else all required scopes).
 * Every failure message is what the 401 plain-text body carries.
 */
export function authorize(
  authorizationHeader: string | undefined,
  issuerHeader: string | undefined,
  access: Access,
  tokens: TokenRegistry,
  approvedIssuer: string,
): AuthorizationResult {
  if (authorizationHeader === undefined || !authorizationHeader.toLowerCase().startsWith('bearer ')) {
    return { ok: false, message: 'ONLY TOKEN BASED AUTHORIZATION IS SUPPORTED!' };
  }
  if (issuerHeader !== undefined && issuerHeader.trim() !== '' && issuerHeader !== approvedIssuer) {
    return { ok: false, message: 'Header Issuer is Invalid.' };
  }
  const token = authorizationHeader.slice('Bearer'.length).trim();
  const issued = tokens.introspect(token);
  if (!issued) {
    // The emulated auth server only issues opaque tokens, so every JWT fails local validation.
    return { ok: false, message: looksLikeJwt(token) ? 'Jwt Token is Invalid.' : 'Token is Invalid.' };
  }
  const rule = ACCESS_RULES[access];
  const hasSuperScope = rule.superScopes.some((scope) => issued.scopes.includes(scope));
  const hasAllRequired = rule.required.every((scope) => issued.scopes.includes(scope));
  if (!hasSuperScope && !hasAllRequired) {
    // The inner "Insufficient scopes!" exception is caught and rewrapped by validateScope (§5.1).
    return {
      ok: false,
      message: `oAuth authorization error Insufficient scopes! , Required scope: ${javaList(rule.required)}, however token scopes: ${javaList(issued.scopes)}`,
    };
  }
  return { ok: true, token: issued };
}
