import { Args, Ctx, FieldResolver, Int, Resolver, Root } from 'type-graphql';

import type { Context } from '../../context.js';
import { buildSearchParams } from '../../janssen/query.js';
import { resolvePage, SessionPage } from '../session/session-page.type.js';
import { toSessionPage } from '../session/session.mapper.js';
import { SessionState } from '../session/session.type.js';
import { SessionsArgs } from '../session/sessions.args.js';

import { User } from './user.type.js';

@Resolver(() => User)
export class UserResolver {
  @FieldResolver(() => SessionPage, {
    description: "This user's sessions (any state unless filtered); `filter.userDn` is implied and ignored.",
  })
  async sessions(
    @Root() user: User,
    @Args(() => SessionsArgs) { filter, page, sort }: SessionsArgs,
    @Ctx() ctx: Context,
  ): Promise<SessionPage> {
    const spec = resolvePage(page, ctx.settings.maxPageSize);
    const shared = { ...filter, userDn: null };
    buildSearchParams({ ...shared, userDn: user.inum }, sort, spec, ctx.settings); // refuses bad input up front
    const result = await ctx.loaders.userSessions.load({
      inum: user.inum,
      filter: shared,
      sort: sort ?? null,
      page: spec,
    });
    return toSessionPage(result.entries, result.totalCount, spec, ctx);
  }

  @FieldResolver(() => Int, { description: 'Authenticated sessions of this user that have not expired.' })
  async activeSessionCount(@Root() user: User, @Ctx() ctx: Context): Promise<number> {
    const result = await ctx.loaders.userSessions.load({
      inum: user.inum,
      filter: { state: SessionState.AUTHENTICATED, expiresAfter: new Date(ctx.now) },
      sort: null,
      page: { limit: 1, offset: 0 },
    });
    return result.totalCount;
  }
}
