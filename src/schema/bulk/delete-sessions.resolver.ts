import { Arg, Ctx, Int, Mutation, Resolver } from 'type-graphql';

import type { Context } from '../../context.js';
import { InvalidInputError, JanssenApiError } from '../../janssen/errors.js';
import { buildSearchParams, searchShows } from '../../janssen/query.js';
import { deleteSessions, findAllSessions } from '../../janssen/session-bulk.js';
import { audit, failureOf } from '../audit.js';
import { requireMutationRight } from '../auth.js';
import { describeJanssenError } from '../errors.js';
import { SessionFilter } from '../session/session-filter.input.js';
import { toSession } from '../session/session.mapper.js';

import { DeleteSessionsPayload } from './delete-sessions.type.js';

/** The largest `max` a caller may ask for. */
export const MAX_BULK_DELETE = 1000;
/** Deletions in flight at once. */
const DELETE_CONCURRENCY = 4;
/**
 * With `search`: Janssen's matches read at most, to tell whether more than `max` show the text (as many as
 * `sessionStats` reads). Hidden-only matches are few in practice (jansId and sid are both random UUIDs).
 */
export const MAX_SEARCH_READ = 10_000;

@Resolver()
export class DeleteSessionsResolver {
  @Mutation(() => DeleteSessionsPayload, {
    description:
      'Deletes every session matching the filter (any state), or with dryRun (the default) only reports them. ' +
      'An empty filter is refused; more than `max` matches deletes nothing and sets truncated. With `search`, ' +
      'only sessions where the text shows (sid, userDn, sessionAttributes keys or values, permissionGrantedMap ' +
      "client ids) match: not those Janssen's search found only by its internal id.",
  })
  // type-graphql lists arguments in the reverse order of their decorators: this prints (filter, dryRun, max).
  async deleteSessions(
    @Ctx() ctx: Context,
    @Arg('max', () => Int, { defaultValue: 100, description: `1 to ${MAX_BULK_DELETE}.` }) max: number,
    @Arg('dryRun', () => Boolean, { defaultValue: true }) dryRun: boolean,
    @Arg('filter', () => SessionFilter) filter: SessionFilter,
  ): Promise<DeleteSessionsPayload> {
    if (!dryRun) {
      try {
        requireMutationRight(ctx);
      } catch (error) {
        audit(ctx, { action: 'deleteSessions', ...failureOf(error) });
        throw error;
      }
    }
    if (!Object.values(filter).some((value) => value !== null && value !== undefined)) {
      throw new InvalidInputError(
        'filter',
        'must set at least one field (an empty filter would log out everyone)',
      );
    }
    if (!Number.isInteger(max) || max < 1 || max > MAX_BULK_DELETE) {
      throw new InvalidInputError('max', `must be between 1 and ${MAX_BULK_DELETE}`);
    }
    const { maxPageSize } = ctx.settings;
    const {
      limit: _limit,
      startIndex: _startIndex,
      ...params
    } = buildSearchParams(
      filter,
      { field: 'CREATION_DATE', order: 'ASC' },
      { limit: 1, offset: 0 },
      ctx.settings,
    );
    // Janssen's `pattern` also matches its internal jansId (never returned) and stored JSON text: only sessions
    // where the text shows are matched, so a dry run lists exactly what a real run deletes.
    const search = params.pattern;
    const found = await findAllSessions(
      ctx.sessions,
      params,
      max,
      maxPageSize,
      search === undefined
        ? {}
        : { keep: (session) => searchShows(session, search), maxRead: MAX_SEARCH_READ },
    );
    if (found.undecided) {
      throw new InvalidInputError(
        'filter.search',
        `${MAX_SEARCH_READ} of Janssen's matches were read without telling whether more than max show the ` +
          'text (the others match only where the API shows nothing); use a longer search or another filter field',
      );
    }
    const excluded = search === undefined ? {} : { excluded: found.excluded };
    const payload: DeleteSessionsPayload = {
      matched: found.total,
      deleted: 0,
      failed: [],
      dryRun,
      truncated: found.truncated,
      sessions: found.sessions.map((session) => toSession(session, ctx.now)),
    };
    if (dryRun || found.truncated) {
      ctx.log.info(
        { caller: ctx.caller.id, matched: found.total, ...excluded, dryRun, truncated: found.truncated },
        'bulk delete previewed',
      );
      return payload;
    }
    const outcomes = await deleteSessions(
      ctx.sessions,
      found.sessions.map((session) => session.outsideSid),
      DELETE_CONCURRENCY,
      ({ sid, result }) => {
        ctx.loaders.session.clear(sid);
        audit(ctx, {
          action: 'deleteSessions',
          sid,
          ...(result === 'deleted'
            ? { outcome: 'deleted' }
            : result === 'gone'
              ? { outcome: 'not_found' }
              : failureOf(result)),
        });
      },
    );
    for (const { sid, result } of outcomes) {
      if (result === 'deleted') {
        payload.deleted += 1;
      } else if (result === 'gone') {
        payload.failed.push({ sid, code: 'NOT_FOUND', message: 'No session with this sid any more' });
      } else {
        const { code, message } = describeJanssenError(result);
        payload.failed.push({
          sid,
          code,
          message,
          outcome: result instanceof JanssenApiError ? (result.details.outcome ?? null) : null,
        });
      }
    }
    ctx.log.info(
      {
        caller: ctx.caller.id,
        matched: found.total,
        ...excluded,
        deleted: payload.deleted,
        failed: payload.failed.length,
      },
      'bulk delete done',
    );
    return payload;
  }
}
