import { Arg, Ctx, Int, Query, Resolver } from 'type-graphql';

import type { Context } from '../../context.js';
import { InvalidInputError } from '../../janssen/errors.js';
import { buildSearchParams } from '../../janssen/query.js';

import { decodeCursor, encodeCursor, fingerprintOf } from './cursor.js';
import { SessionConnection } from './session-connection.type.js';
import { SessionFilter } from './session-filter.input.js';
import { DEFAULT_PAGE_LIMIT, SessionSort } from './session-page.type.js';
import { toSessionPage } from './session.mapper.js';

@Resolver()
export class SessionConnectionResolver {
  @Query(() => SessionConnection, {
    description:
      'Sessions as a Relay connection: `first`/`after` forward, `last`/`before` backward. Cursors are positions ' +
      'in the filtered, sorted list: sessions deleted meanwhile shift them, as with any offset paging.',
  })
  // type-graphql lists arguments in the reverse order of their decorators: this prints (filter, sort, first, after, last, before).
  async sessionsConnection(
    @Ctx() ctx: Context,
    @Arg('before', () => String, { nullable: true }) beforeArg: string | null | undefined,
    @Arg('last', () => Int, { nullable: true }) lastArg: number | null | undefined,
    @Arg('after', () => String, { nullable: true }) afterArg: string | null | undefined,
    @Arg('first', () => Int, { nullable: true }) firstArg: number | null | undefined,
    @Arg('sort', () => SessionSort, { nullable: true }) sort: SessionSort | null,
    @Arg('filter', () => SessionFilter, { nullable: true }) filter: SessionFilter | null,
  ): Promise<SessionConnection> {
    const max = ctx.settings.maxPageSize;
    const [first, last, after, before] = [
      firstArg ?? null,
      lastArg ?? null,
      afterArg ?? null,
      beforeArg ?? null,
    ];
    if (first !== null && last !== null) {
      throw new InvalidInputError('first', 'cannot be combined with last');
    }
    for (const [name, value] of [
      ['first', first],
      ['last', last],
    ] as const) {
      if (value !== null && (value < 0 || value > max)) {
        throw new InvalidInputError(name, `must be between 0 and ${max}`);
      }
    }
    // Validates filter and sort before any upstream call.
    const base = buildSearchParams(filter, sort, { limit: 1, offset: 0 }, ctx.settings);
    // Cursors belong to the search Janssen is asked, not to how the caller spelled it: explicit nulls, a DN or its
    // inum, one instant in two zones give the same search, and so take each other's cursors.
    const fingerprint = fingerprintOf([base.fieldValuePair, base.pattern, base.sortBy, base.sortOrder]);
    const afterOffset = after === null ? -1 : decodeCursor(after, fingerprint, 'after');
    const beforeOffset = before === null ? undefined : decodeCursor(before, fingerprint, 'before');

    let start = afterOffset + 1;
    let end = beforeOffset; // exclusive
    if (last !== null) {
      if (end === undefined) {
        // "The last N" needs the total first: Janssen pages from the front only.
        end = (await ctx.sessions.searchSessions({ ...base, limit: 1, startIndex: 0 })).totalEntriesCount;
      }
      start = Math.max(start, end - last);
    }
    const limit = Math.min(
      first ?? (last === null ? Math.min(DEFAULT_PAGE_LIMIT, max) : max),
      end === undefined ? max : Math.max(end - start, 0),
    );
    if (limit === 0) {
      const total = (await ctx.sessions.searchSessions({ ...base, limit: 1, startIndex: 0 }))
        .totalEntriesCount;
      return { edges: [], nodes: [], totalCount: total, pageInfo: pageInfo([], start, total) };
    }
    const result = await ctx.sessions.searchSessions({ ...base, limit, startIndex: start });
    const page = toSessionPage(result.entries, result.totalEntriesCount, { limit, offset: start }, ctx);
    const edges = page.nodes.map((node, index) => ({
      cursor: encodeCursor(start + index, fingerprint),
      node,
    }));
    return {
      edges,
      nodes: page.nodes,
      totalCount: result.totalEntriesCount,
      pageInfo: pageInfo(edges, start, result.totalEntriesCount),
    };
  }
}

function pageInfo(edges: { cursor: string }[], start: number, total: number) {
  return {
    hasPreviousPage: start > 0,
    hasNextPage: start + edges.length < total,
    startCursor: edges[0]?.cursor ?? null,
    endCursor: edges.at(-1)?.cursor ?? null,
  };
}
