import type { GraphQLError, GraphQLResolveInfo } from 'graphql';

import type { Context } from '../../context.js';
import { InvalidInputError } from '../../janssen/errors.js';
import { toUserKeys } from '../../janssen/query.js';
import { locateError } from '../errors.js';
import { representationField, withTypename } from '../representation-field.js';

import type { User } from './user.type.js';

/**
 * Both keys of a user from either one (a DN must be under the people base); no upstream call. Errors name the key
 * as `representations.<index>.<key>`.
 */
export function toUser(
  reference: { userDn?: string | null; inum?: string | null },
  peopleBaseDn: string,
): User {
  if (reference.userDn) {
    return toUserKeys(reference.userDn, peopleBaseDn, representationField(reference, 'userDn'));
  }
  if (reference.inum) {
    return toUserKeys(reference.inum, peopleBaseDn, representationField(reference, 'inum'));
  }
  throw new InvalidInputError(representationField(reference), 'a User reference needs userDn or inum');
}

/**
 * Federation `_entities` for `User @key(fields: "userDn") @key(fields: "inum")`: the user itself, or a rejected
 * promise for a bad reference, never a synchronous throw: @apollo/subgraph maps every representation before
 * awaiting any, so a throw here would leave an earlier representation's rejection unhandled, and Node would exit on
 * it. Not an async function: a valid reference costs no promise (thousands may come in one request).
 */
export function resolveUserReference(
  reference: { userDn?: string | null; inum?: string | null },
  ctx: Context,
): User | Promise<never> {
  try {
    return toUser(reference, ctx.settings.peopleBaseDn);
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * `_entities` when every representation is a `User`: what `resolveUserReference` gives for each one, as a plain
 * list (@apollo/subgraph's resolver makes two promises per representation, and one request may bring 19,000). A bad
 * reference is its item's error, located there ({@link locateError}): graphql-js reports those in index order, as it
 * reports the per-item path's rejections, and before the errors of any field (which wait for a loader).
 */
export function resolveUserReferences(
  references: readonly { userDn?: string | null; inum?: string | null }[],
  ctx: Context,
  info: GraphQLResolveInfo,
): (User | GraphQLError)[] {
  return references.map((reference, index) => {
    try {
      return withTypename(toUser(reference, ctx.settings.peopleBaseDn), 'User');
    } catch (error) {
      return locateError(error, info, index);
    }
  });
}
