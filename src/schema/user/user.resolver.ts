import type { GraphQLResolveInfo } from 'graphql';
import { Args, Ctx, FieldResolver, Info, Int, Resolver, Root } from 'type-graphql';

import type { Context } from '../../context.js';
import { buildSearchParams } from '../../janssen/query.js';
import type { UserSessions, UserSessionsKey } from '../../loaders/user-sessions.loader.js';
import { locateError } from '../errors.js';
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
    @Info() info: GraphQLResolveInfo,
  ): Promise<SessionPage> {
    const spec = resolvePage(page, ctx.settings.maxPageSize);
    const shared = { ...filter, userDn: null };
    buildSearchParams({ ...shared, userDn: user.inum }, sort, spec, ctx.settings); // refuses bad input up front
    let result: UserSessions;
    try {
      result = await ctx.loaders.userSessions.load({
        inum: user.inum,
        filter: shared,
        sort: sort ?? null,
        page: spec,
      });
    } catch (error) {
      throw locateError(error, info);
    }
    return toSessionPage(result.entries, result.totalCount, spec, ctx);
  }

  @FieldResolver(() => Int, { description: 'Authenticated sessions of this user that have not expired.' })
  activeSessionCount(
    @Root() user: User,
    @Ctx() ctx: Context,
    @Info() info: GraphQLResolveInfo,
  ): Promise<number> {
    return ctx.loaders.userSessions.load({ inum: user.inum, ...activeSessionsQuery(ctx) }).then(
      (result) => result.totalCount,
      (error: unknown) => {
        throw locateError(error, info);
      },
    );
  }
}

const activeSessionsQueries = new WeakMap<Context, Omit<UserSessionsKey, 'inum'>>();

/**
 * What `activeSessionCount` asks of every user of a request, as the same objects each time: the loader serializes
 * a query once for all the keys that share its objects.
 */
function activeSessionsQuery(ctx: Context): Omit<UserSessionsKey, 'inum'> {
  let query = activeSessionsQueries.get(ctx);
  if (!query) {
    query = {
      filter: { state: SessionState.AUTHENTICATED, expiresAfter: new Date(ctx.now) },
      sort: null,
      page: { limit: 1, offset: 0 },
    };
    activeSessionsQueries.set(ctx, query);
  }
  return query;
}
