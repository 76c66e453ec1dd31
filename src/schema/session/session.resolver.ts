import { Arg, Args, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';

import type { Context } from '../../context.js';
import { buildSearchParams, checkSid, toUserKeys } from '../../janssen/query.js';
import { audited, type AuditTarget } from '../audit.js';
import { requireMutationRight } from '../auth.js';
import { User } from '../user/user.type.js';

import { resolvePage, SessionPage } from './session-page.type.js';
import { DeleteSessionPayload, RevokeUserSessionsPayload } from './session-payloads.type.js';
import { toSession, toSessionPage } from './session.mapper.js';
import { Session } from './session.type.js';
import { SessionsArgs } from './sessions.args.js';

@Resolver(() => Session)
export class SessionResolver {
  @Query(() => SessionPage, { description: 'Sessions matching a filter, one page at a time (any state).' })
  async sessions(
    @Args(() => SessionsArgs) { filter, page, sort }: SessionsArgs,
    @Ctx() ctx: Context,
  ): Promise<SessionPage> {
    const spec = resolvePage(page, ctx.settings.maxPageSize);
    const result = await ctx.sessions.searchSessions(buildSearchParams(filter, sort, spec, ctx.settings));
    return toSessionPage(result.entries, result.totalEntriesCount, spec, ctx);
  }

  @Query(() => Session, { nullable: true, description: 'One session by sid; null when there is none.' })
  async session(@Arg('sid', () => ID) sid: string, @Ctx() ctx: Context): Promise<Session | null> {
    const wire = await ctx.loaders.session.load(checkSid(sid));
    return wire ? toSession(wire, ctx.now) : null;
  }

  @FieldResolver(() => User, {
    nullable: true,
    description: 'The user, as a federation reference; null until the session is authenticated.',
  })
  user(@Root() session: Session): User | null {
    return session.userDn && session.userInum ? { userDn: session.userDn, inum: session.userInum } : null;
  }

  @Mutation(() => DeleteSessionPayload, { description: 'Deletes one session (any state) and its tokens.' })
  async deleteSession(@Arg('sid', () => ID) sid: string, @Ctx() ctx: Context): Promise<DeleteSessionPayload> {
    const deleted = await audited(
      ctx,
      { action: 'deleteSession', sid },
      () => {
        requireMutationRight(ctx);
        return ctx.sessions.deleteSession(checkSid(sid));
      },
      (deleted) => (deleted ? 'deleted' : 'not_found'),
    );
    ctx.loaders.session.clear(sid);
    return { sid, deleted };
  }

  @Mutation(() => RevokeUserSessionsPayload, {
    description:
      'Revokes every authenticated session of a user (and their tokens). Takes a DN under the people base ' +
      '(inum=…,ou=people,o=jans) or a bare inum; the payload names the DN used.',
  })
  async revokeUserSessions(
    @Arg('userDn', () => String) userDn: string,
    @Ctx() ctx: Context,
  ): Promise<RevokeUserSessionsPayload> {
    // The audit line names the DN sent (a bare inum expanded, the people base as configured), what was given before.
    const target: AuditTarget = { action: 'revokeUserSessions', userDn };
    const revoked = await audited(
      ctx,
      target,
      () => {
        requireMutationRight(ctx);
        target.userDn = toUserKeys(userDn, ctx.settings.peopleBaseDn, 'userDn').userDn;
        return ctx.sessions.revokeUserSessions(target.userDn);
      },
      (any) => (any ? 'revoked' : 'not_found'),
    );
    ctx.loaders.session.clearAll();
    return { userDn: target.userDn as string, revoked };
  }
}
