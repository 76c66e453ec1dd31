import type { Context } from '../../context.js';
import { InvalidInputError } from '../../janssen/errors.js';
import { toInum, toUserDn } from '../../janssen/query.js';
import { representationField } from '../representation-field.js';

import type { User } from './user.type.js';

/** Both keys of a user from either one; no upstream call. Errors name the key as `representations.<index>.<key>`. */
export function toUser(
  reference: { userDn?: string | null; inum?: string | null },
  peopleBaseDn: string,
): User {
  if (reference.userDn) {
    const field = representationField(reference, 'userDn');
    return {
      userDn: toUserDn(reference.userDn, peopleBaseDn, field),
      inum: toInum(reference.userDn, field),
    };
  }
  if (reference.inum) {
    const field = representationField(reference, 'inum');
    const inum = toInum(reference.inum, field);
    return { userDn: toUserDn(inum, peopleBaseDn, field), inum };
  }
  throw new InvalidInputError(representationField(reference), 'a User reference needs userDn or inum');
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
