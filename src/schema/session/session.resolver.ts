import { GraphQLError } from 'graphql';
import { Arg, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';

import type { Context } from '../../context.js';
import { buildSearchParams, checkSid, toUserDn } from '../../janssen/query.js';

import { SessionFilter } from './session-filter.input.js';
import { DEFAULT_PAGE_LIMIT, PageInput, SessionPage, SessionSort } from './session-page.type.js';
import { DeleteSessionPayload, RevokeUserSessionsPayload } from './session-payloads.type.js';
import { toSession } from './session.mapper.js';
import { Session } from './session.type.js';

@Resolver(() => Session)
export class SessionResolver {
  @Query(() => SessionPage, { description: 'Sessions matching a filter, one page at a time (any state).' })
  // type-graphql lists arguments in the reverse order of their decorators: this prints (filter, page, sort).
  async sessions(
    @Ctx() ctx: Context,
    @Arg('sort', () => SessionSort, { nullable: true }) sort: SessionSort | null,
    @Arg('page', () => PageInput, { nullable: true }) page: PageInput | null,
    @Arg('filter', () => SessionFilter, { nullable: true }) filter: SessionFilter | null,
  ): Promise<SessionPage> {
    const { maxPageSize } = ctx.settings;
    const limit = page?.limit ?? Math.min(DEFAULT_PAGE_LIMIT, maxPageSize);
    const offset = page?.offset ?? 0;
    const params = buildSearchParams(filter, sort, { limit, offset }, { maxPageSize });
    const result = await ctx.sessions.searchSessions(params);
    for (const entry of result.entries) {
      ctx.loaders.session.prime(entry.outsideSid, entry);
    }
    return {
      nodes: result.entries.map((entry) => toSession(entry, ctx.now)),
      totalCount: result.totalEntriesCount,
      offset,
      limit,
      hasNextPage: offset + result.entries.length < result.totalEntriesCount,
      hasPreviousPage: offset > 0,
    };
  }

  @Query(() => Session, { nullable: true, description: 'One session by sid; null when there is none.' })
  async session(@Arg('sid', () => ID) sid: string, @Ctx() ctx: Context): Promise<Session | null> {
    const wire = await ctx.loaders.session.load(checkSid(sid));
    return wire ? toSession(wire, ctx.now) : null;
  }

  @Mutation(() => DeleteSessionPayload, { description: 'Deletes one session (any state) and its tokens.' })
  async deleteSession(@Arg('sid', () => ID) sid: string, @Ctx() ctx: Context): Promise<DeleteSessionPayload> {
    requireMutationRight(ctx);
    const deleted = await ctx.sessions.deleteSession(checkSid(sid));
    ctx.loaders.session.clear(sid);
    return { sid, deleted };
  }

  @Mutation(() => RevokeUserSessionsPayload, {
    description:
      'Revokes every authenticated session of a user (and their tokens). Takes a full DN or a bare inum.',
  })
  async revokeUserSessions(
    @Arg('userDn', () => String) userDn: string,
    @Ctx() ctx: Context,
  ): Promise<RevokeUserSessionsPayload> {
    requireMutationRight(ctx);
    const dn = toUserDn(userDn, ctx.settings.peopleBaseDn, 'userDn');
    const revoked = await ctx.sessions.revokeUserSessions(dn);
    ctx.loaders.session.clearAll();
    return { userDn: dn, revoked };
  }
}

/** A caller JWT needs the configured mutation scope (`AUTH_MUTATION_SCOPE`) to delete anything. */
function requireMutationRight(ctx: Context): void {
  if (!ctx.caller.canMutate) {
    throw new GraphQLError('This token lacks the scope needed for mutations', {
      extensions: { code: 'FORBIDDEN', http: { status: 403 } },
    });
  }
}
