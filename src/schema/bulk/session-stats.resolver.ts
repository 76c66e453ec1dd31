import { type FieldNode, type GraphQLResolveInfo, Kind, type SelectionSetNode } from 'graphql';
import { Arg, Ctx, Info, Query, Resolver } from 'type-graphql';

import type { Context } from '../../context.js';
import { computeSessionStats } from '../../janssen/session-stats.js';
import { SessionFilter } from '../session/session-filter.input.js';

import { SessionStats, type StatsBucket } from './session-stats.type.js';

const GROUPED_FIELDS = new Set(['byClient', 'byAcr']);

@Resolver()
export class SessionStatsResolver {
  @Query(() => SessionStats, {
    description:
      'Session counts by state, expiry, client and acr. Counts cost one small upstream search each; byClient ' +
      'and byAcr read the matching sessions in pages of the maximum page size (up to 10000 sessions; more is ' +
      'refused).',
  })
  async sessionStats(
    @Arg('filter', () => SessionFilter, { nullable: true }) filter: SessionFilter | null,
    @Ctx() ctx: Context,
    @Info() info: GraphQLResolveInfo,
  ): Promise<SessionStats> {
    const grouped = selects(info, GROUPED_FIELDS);
    const stats = await computeSessionStats(ctx.sessions, filter, ctx.now, { grouped, limits: ctx.settings });
    ctx.log.info({ upstreamCalls: stats.calls, grouped, total: stats.total }, 'session stats computed');
    return {
      ...stats,
      computedAt: new Date(ctx.now),
      byClient: toBuckets(stats.byClient),
      byAcr: toBuckets(stats.byAcr),
    };
  }
}

function toBuckets(counts: Map<string, number> | undefined): StatsBucket[] {
  return [...(counts ?? [])]
    .map(([key, count]) => ({ key: key === '' ? null : key, count }))
    .sort((a, b) => b.count - a.count || (a.key ?? '').localeCompare(b.key ?? ''));
}

/** Whether the operation selects any of `names` directly under this field (fragments included). */
function selects(info: GraphQLResolveInfo, names: Set<string>): boolean {
  const visit = (selectionSet: SelectionSetNode | undefined, seen: Set<string>): boolean =>
    (selectionSet?.selections ?? []).some((selection) => {
      if (selection.kind === Kind.FIELD) {
        return names.has(selection.name.value);
      }
      if (selection.kind === Kind.INLINE_FRAGMENT) {
        return visit(selection.selectionSet, seen);
      }
      const name = selection.name.value;
      if (seen.has(name)) {
        return false;
      }
      seen.add(name);
      return visit(info.fragments[name]?.selectionSet, seen);
    });
  return info.fieldNodes.some((node: FieldNode) => visit(node.selectionSet, new Set()));
}
