import type { Context } from '../../context.js';
import { checkSid } from '../../janssen/query.js';

import { toSession } from './session.mapper.js';
import type { Session } from './session.type.js';

/** Federation `_entities` for `Session @key(fields: "sid")`: batched through the request's session loader. */
export async function resolveSessionReference(
  reference: { sid: string },
  ctx: Context,
): Promise<Session | null> {
  const wire = await ctx.loaders.session.load(checkSid(reference.sid, 'representations.sid'));
  return wire ? toSession(wire, ctx.now) : null;
}
