import { GraphQLError } from 'graphql';
import type { Logger } from 'pino';

import type { Context } from '../context.js';
import { InvalidInputError, JanssenApiError } from '../janssen/errors.js';
import { shownText } from '../logger.js';

import { describeJanssenError } from './errors.js';

/** The mutations that change Janssen's data: each attempt writes audit lines. */
export type AuditAction = 'deleteSession' | 'revokeUserSessions' | 'deleteSessions';

/**
 * What came of one change: `deleted` / `revoked`; `not_found` (nothing to delete: the sid or the user's
 * authenticated sessions did not exist); `denied` (the caller may not mutate: nothing was sent to Janssen);
 * `failed` (Janssen did not confirm the change: `code` says why, `change` whether it may have happened anyway).
 */
export type AuditOutcome = 'deleted' | 'revoked' | 'not_found' | 'denied' | 'failed';

export interface AuditEvent {
  action: AuditAction;
  outcome: AuditOutcome;
  sid?: string;
  userDn?: string;
  /** For `denied` and `failed`: the error's `extensions.code`. */
  code?: string;
  /** For `failed`: `NOT_APPLIED` (nothing changed) or `UNKNOWN` (may have happened), when Janssen's answer was lost. */
  change?: string;
}

/** What a change is done to. */
export type AuditTarget = Pick<AuditEvent, 'action' | 'sid' | 'userDn'>;

/** Characters of a sid or DN an audit line keeps: a denied caller's input is not checked yet, and may be huge. */
const MAX_SHOWN_TARGET = 512;

/** Pass-through mode: which bearer token asked (a digest prefix), since the caller is `anonymous` to us. */
function tokenOf(ctx: Context): { token?: string } {
  const id = ctx.forwardedTokenId();
  return id === undefined ? {} : { token: `sha256:${id}` };
}

/** The audit log of a request: the request's logger at level info whatever `LOG_LEVEL` says, or none. */
const auditLogs = new WeakMap<Logger, Logger>();

/**
 * Writes one audit line (`"audit": true`, message `audit`) for a change a caller asked for, with the request id,
 * the caller, the action, its target and its outcome. Written at info even when `LOG_LEVEL` is higher, unless
 * `AUDIT_LOG=off`: who deleted which sessions must not depend on how chatty the rest of the log is.
 */
export function audit(ctx: Context, event: AuditEvent): void {
  if (!ctx.settings.audit) {
    return;
  }
  const log = ctx.log;
  let auditLog = auditLogs.get(log);
  if (auditLog === undefined) {
    auditLog = log.child({ audit: true }, { level: 'info' });
    auditLogs.set(log, auditLog);
  }
  auditLog.info(
    {
      action: event.action,
      caller: ctx.caller.id,
      ...tokenOf(ctx),
      ...(event.sid === undefined ? {} : { sid: shownText(event.sid, MAX_SHOWN_TARGET) }),
      ...(event.userDn === undefined ? {} : { userDn: shownText(event.userDn, MAX_SHOWN_TARGET) }),
      outcome: event.outcome,
      ...(event.code === undefined ? {} : { code: event.code }),
      ...(event.change === undefined ? {} : { change: event.change }),
    },
    'audit',
  );
}

/**
 * The audit fields of an error that stopped a change. A refusal of the caller's credentials, ours or Janssen's, is
 * `denied`: nothing changed. Anything else is `failed`, with Janssen's word on whether the change happened when it
 * has one (`change`); so is Janssen refusing this service's own credentials (`UPSTREAM_ERROR`, `NOT_APPLIED`): the
 * caller had the right, the service could not use it.
 */
export function failureOf(error: unknown): Pick<AuditEvent, 'outcome' | 'code' | 'change'> {
  let code: string;
  let change: string | undefined;
  if (error instanceof JanssenApiError) {
    code = describeJanssenError(error).code;
    change = error.details.outcome;
  } else if (error instanceof InvalidInputError) {
    code = 'BAD_USER_INPUT';
  } else if (error instanceof GraphQLError && typeof error.extensions.code === 'string') {
    code = error.extensions.code;
  } else {
    code = 'INTERNAL_SERVER_ERROR';
  }
  const outcome: AuditOutcome = code === 'UNAUTHENTICATED' || code === 'FORBIDDEN' ? 'denied' : 'failed';
  return { outcome, code, ...(change === undefined ? {} : { change }) };
}

/**
 * Runs a change and writes its audit line: its outcome, or why it failed. Input errors are not audited (nothing
 * was attempted); every other failure is, and is thrown on. `target` is read when the line is written, so the
 * change may complete it (a DN expanded from an inum).
 */
export async function audited<T>(
  ctx: Context,
  target: AuditTarget,
  change: () => Promise<T>,
  outcomeOf: (result: T) => AuditOutcome,
): Promise<T> {
  let result: T;
  try {
    result = await change();
  } catch (error) {
    const failure = failureOf(error);
    // Input refused before any call: nothing was attempted, and the operation's log line has the error.
    if (failure.code !== 'BAD_USER_INPUT') {
      audit(ctx, { ...target, ...failure });
    }
    throw error;
  }
  audit(ctx, { ...target, outcome: outcomeOf(result) });
  return result;
}
