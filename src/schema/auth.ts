import { GraphQLError } from 'graphql';

import type { Context } from '../context.js';

/** A caller JWT needs the configured mutation scope (`AUTH_MUTATION_SCOPE`) to delete anything. */
export function requireMutationRight(ctx: Context): void {
  if (!ctx.caller.canMutate) {
    const scope = ctx.caller.mutationScope;
    throw new GraphQLError(`This token lacks the scope needed for mutations${scope ? `: ${scope}` : ''}`, {
      extensions: {
        code: 'FORBIDDEN',
        ...(scope ? { requiredScopes: [scope] } : {}),
        http: { status: 403 },
      },
    });
  }
}
