import { GraphQLError } from 'graphql';

import type { Context } from '../context.js';

/** A caller JWT needs the configured mutation scope (`AUTH_MUTATION_SCOPE`) to delete anything. */
export function requireMutationRight(ctx: Context): void {
  if (!ctx.caller.canMutate) {
    throw new GraphQLError('This token lacks the scope needed for mutations', {
      extensions: { code: 'FORBIDDEN', http: { status: 403 } },
    });
  }
}
