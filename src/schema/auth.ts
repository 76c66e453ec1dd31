import { GraphQLError } from 'graphql';

import type { Context } from '../context.js';
import { bearerChallenge } from '../janssen/errors.js';

/**
 * A caller JWT needs the configured mutation scope (`AUTH_MUTATION_SCOPE`) to delete anything: HTTP 403 with an
 * `insufficient_scope` Bearer challenge naming it (RFC 6750 §3.1). Only JWT callers can lack it.
 */
export function requireMutationRight(ctx: Context): void {
  if (!ctx.caller.canMutate) {
    const scope = ctx.caller.mutationScope;
    const scopes = scope ? [scope] : [];
    throw new GraphQLError(`This token lacks the scope needed for mutations${scope ? `: ${scope}` : ''}`, {
      extensions: {
        code: 'FORBIDDEN',
        ...(scope ? { requiredScopes: scopes } : {}),
        http: {
          status: 403,
          headers: new Map([['www-authenticate', bearerChallenge('insufficient_scope', scopes)]]),
        },
      },
    });
  }
}
