import type { GraphQLResolveInfo } from 'graphql';

import type { Context } from '../../context.js';
import { checkSid } from '../../janssen/query.js';
import { locateError } from '../errors.js';
import {
  positionOf,
  representationField,
  representationPath,
  withTypename,
} from '../representation-field.js';

import { toSession } from './session.mapper.js';
import type { Session } from './session.type.js';

/**
 * Federation `_entities` for `Session @key(fields: "sid")`: batched through the request's session loader. Its error
 * is located at its item already ({@link locateError}: thousands of items may fail in one request).
 */
export async function resolveSessionReference(
  reference: { sid: string },
  ctx: Context,
  info: GraphQLResolveInfo,
): Promise<Session | null> {
  let wire;
  try {
    wire = await ctx.loaders.session.load(checkSid(reference.sid, representationField(reference, 'sid')));
  } catch (error) {
    const index = positionOf(reference);
    throw index === undefined ? error : locateError(error, info, index);
  }
  return wire ? toSession(wire, ctx.now) : null;
}

/**
 * `_entities` when every representation is a `Session`: what `resolveSessionReference` gives for each one, as one
 * promise of the whole list. The per-item path keeps two suspended async functions and a few promises and
 * closures alive per representation while the upstream answers (~1 KB each: ~100 KB per in-flight request of 100
 * representations); here it is the loader's promise per sid and one for the list. A failed load is that item's
 * error, located at its path as graphql-js locates a rejected item ({@link locateError}, cheaply: thousands may
 * fail), and reported in the same (index) order. Undefined when a sid is refused: that error comes before the others
 * in the per-item path, so such a request is left to it.
 */
export function resolveSessionReferences(
  references: readonly { sid: string }[],
  ctx: Context,
  info: GraphQLResolveInfo,
): Promise<(Session | Error | null)[]> | undefined {
  const sids: string[] = [];
  try {
    references.forEach((reference, index) => {
      sids.push(checkSid(reference.sid, representationPath(index, 'sid')));
    });
  } catch {
    return undefined;
  }
  return ctx.loaders.session
    .loadMany(sids)
    .then((wires) =>
      wires.map((wire, index) =>
        wire instanceof Error
          ? locateError(wire, info, index)
          : wire
            ? withTypename(toSession(wire, ctx.now), 'Session')
            : null,
      ),
    );
}
