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

/** Federation `_entities` for `User @key(fields: "userDn") @key(fields: "inum")`. */
export function resolveUserReference(
  reference: { userDn?: string | null; inum?: string | null },
  ctx: Context,
): User {
  return toUser(reference, ctx.settings.peopleBaseDn);
}
