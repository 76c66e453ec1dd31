import type { Context } from '../../context.js';
import { InvalidInputError } from '../../janssen/errors.js';
import { toInum, toUserDn } from '../../janssen/query.js';

import type { User } from './user.type.js';

/** Both keys of a user from either one; no upstream call. */
export function toUser(
  reference: { userDn?: string | null; inum?: string | null },
  peopleBaseDn: string,
): User {
  if (reference.userDn) {
    return {
      userDn: toUserDn(reference.userDn, peopleBaseDn, 'userDn'),
      inum: toInum(reference.userDn, 'userDn'),
    };
  }
  if (reference.inum) {
    const inum = toInum(reference.inum, 'inum');
    return { userDn: toUserDn(inum, peopleBaseDn, 'inum'), inum };
  }
  throw new InvalidInputError('representations', 'a User reference needs userDn or inum');
}

/**
 * Federation `_entities` for `User @key(fields: "userDn") @key(fields: "inum")`. Async so a bad reference is a
 * rejected promise, never a synchronous throw: @apollo/subgraph maps every representation before awaiting any, so
 * a throw here would leave an earlier representation's rejection unhandled, and Node would exit on it.
 */
export async function resolveUserReference(
  reference: { userDn?: string | null; inum?: string | null },
  ctx: Context,
): Promise<User> {
  return toUser(reference, ctx.settings.peopleBaseDn);
}
