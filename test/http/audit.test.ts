import { createHash } from 'node:crypto';

import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { SCOPES } from '../../src/emulator/auth.js';
import {
  DeleteSessionDocument,
  DeleteSessionsDocument,
  RevokeUserSessionsDocument,
} from '../generated/graphql.js';
import { startStack, type Stack } from '../helpers/stack.js';

const API_KEY = 'audit-caller-key-do-not-log';
const KEY_ID = `key:${createHash('sha256').update(API_KEY).digest('hex').slice(0, 8)}`;
const DELETE_SCOPE = 'https://jans.io/oauth/jans-auth-server/session.delete';

describe('audit lines (LOG_LEVEL=warn: the rest of the log is quiet)', () => {
  let stack: Stack;
  const withKey = { 'x-api-key': API_KEY };

  beforeAll(async () => {
    stack = await startStack({
      emulator: { sessionCount: 40 },
      env: { LOG_LEVEL: 'warn', JANS_API_KEYS: API_KEY },
      envFrom: (emulator) => ({ AUTH_JWKS_URL: emulator.jwksUrl, AUTH_ISSUER: emulator.origin }),
    });
  });
  afterAll(async () => {
    await stack.close();
  });
  beforeEach(() => {
    stack.emulator.setFault('*', null);
    stack.emulator.resetCounts();
  });

  /** The audit lines written for one request, found by its request id. */
  const auditOf = (requestId: string) =>
    stack.logs.filter((l) => l.requestId === requestId && l.audit === true);
  let requests = 0;
  const send = async <T, V>(
    document: TypedDocumentNode<T, V>,
    variables: V,
    headers: Record<string, string> = withKey,
  ) => {
    const requestId = `audit-${++requests}`;
    const response = await stack.gql(document, variables, { ...headers, 'x-request-id': requestId });
    return { response, lines: auditOf(requestId), requestId };
  };

  it('deleteSession: one info line with the request id, the caller, the sid and the outcome', async () => {
    const sid = stack.emulator.store.all()[0]!.sid;
    const { response, lines, requestId } = await send(DeleteSessionDocument, { sid });
    expect(response.body.data).toEqual({ deleteSession: { sid, deleted: true } });
    expect(stack.emulator.store.all().some((s) => s.sid === sid)).toBe(false);
    expect(lines).toEqual([
      expect.objectContaining({
        level: 30,
        msg: 'audit',
        audit: true,
        requestId,
        service: 'jans-sessions-graphql',
        action: 'deleteSession',
        caller: KEY_ID,
        sid,
        outcome: 'deleted',
      }),
    ]);
    // Only the audit line: at warn, the operation line is not written.
    expect(stack.logs.filter((l) => l.requestId === requestId)).toHaveLength(1);

    const again = await send(DeleteSessionDocument, { sid });
    expect(again.response.body.data).toEqual({ deleteSession: { sid, deleted: false } });
    expect(again.lines).toEqual([
      expect.objectContaining({ action: 'deleteSession', sid, outcome: 'not_found' }),
    ]);
  });

  it('every request answered by the fast path is audited too', async () => {
    const [a, b, c] = stack.emulator.store
      .all()
      .slice(0, 3)
      .map((s) => s.sid);
    const answered = stack.server.fastPath.answered;
    const outcomes = [];
    for (const sid of [a!, b!, c!]) {
      const { response, lines } = await send(DeleteSessionDocument, { sid });
      expect(response.body.data).toEqual({ deleteSession: { sid, deleted: true } });
      outcomes.push(...lines.map((l) => [l.sid, l.outcome]));
    }
    expect(stack.server.fastPath.answered).toBeGreaterThan(answered);
    expect(outcomes).toEqual([
      [a, 'deleted'],
      [b, 'deleted'],
      [c, 'deleted'],
    ]);
  });

  it('revokeUserSessions: the full DN (a bare inum expanded), revoked then not_found', async () => {
    const record = stack.emulator.store.all().find((s) => s.jansState === 'authenticated' && s.jansUsrDN)!;
    const inum = /^inum=([^,]+),/.exec(record.jansUsrDN!)![1]!;
    const first = await send(RevokeUserSessionsDocument, { userDn: inum });
    expect(first.response.body.data?.revokeUserSessions).toEqual({ userDn: record.jansUsrDN, revoked: true });
    expect(first.lines).toEqual([
      expect.objectContaining({
        action: 'revokeUserSessions',
        caller: KEY_ID,
        userDn: record.jansUsrDN,
        outcome: 'revoked',
      }),
    ]);
    const second = await send(RevokeUserSessionsDocument, { userDn: inum });
    expect(second.response.body.data?.revokeUserSessions.revoked).toBe(false);
    expect(second.lines).toEqual([
      expect.objectContaining({ userDn: record.jansUsrDN, outcome: 'not_found' }),
    ]);
  });

  it('a JWT without the mutation scope: denied, with nothing sent to Janssen', async () => {
    const token = await stack.emulator.issueJwt({ sub: 'mallory', scope: 'openid' });
    const sid = stack.emulator.store.all()[0]!.sid;
    const { response, lines } = await send(
      DeleteSessionDocument,
      { sid },
      { authorization: `Bearer ${token}` },
    );
    expect(response.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(stack.emulator.count('delete')).toBe(0);
    expect(lines).toEqual([
      expect.objectContaining({
        action: 'deleteSession',
        caller: 'sub:mallory',
        sid,
        outcome: 'denied',
        code: 'FORBIDDEN',
      }),
    ]);
    const bulk = await send(
      DeleteSessionsDocument,
      { filter: { state: 'AUTHENTICATED' }, dryRun: false },
      { authorization: `Bearer ${token}` },
    );
    expect(bulk.response.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(bulk.lines).toEqual([
      expect.objectContaining({ action: 'deleteSessions', caller: 'sub:mallory', outcome: 'denied' }),
    ]);
    // (The emulator served the JWKS; Janssen's session routes saw nothing.)
    expect(stack.emulator.count('delete') + stack.emulator.count('search')).toBe(0);
    // A JWT with the scope may delete, and is named by its subject.
    const allowed = await stack.emulator.issueJwt({ sub: 'alice', scope: `openid ${DELETE_SCOPE}` });
    const ok = await send(DeleteSessionDocument, { sid }, { authorization: `Bearer ${allowed}` });
    expect(ok.lines).toEqual([expect.objectContaining({ caller: 'sub:alice', sid, outcome: 'deleted' })]);
  });

  it('a DELETE whose answer is lost: failed, with what is known of the change', async () => {
    const kept = stack.emulator.store.all()[0]!.sid;
    // Janssen answers 500 before deleting: the GET that follows finds the session, so nothing was changed.
    stack.emulator.setFault('delete', { status: 500 });
    const notApplied = await send(DeleteSessionDocument, { sid: kept });
    expect(notApplied.response.body.errors?.[0]?.extensions).toMatchObject({ outcome: 'NOT_APPLIED' });
    expect(notApplied.lines).toEqual([
      expect.objectContaining({
        sid: kept,
        outcome: 'failed',
        code: 'UPSTREAM_ERROR',
        change: 'NOT_APPLIED',
      }),
    ]);
    // The revocation's answer is lost after Janssen made it: nobody can tell.
    const record = stack.emulator.store.all().find((s) => s.jansState === 'authenticated' && s.jansUsrDN)!;
    stack.emulator.setFault('revoke', { status: 500, afterHandling: true });
    const unknown = await send(RevokeUserSessionsDocument, { userDn: record.jansUsrDN! });
    expect(unknown.response.body.errors?.[0]?.extensions).toMatchObject({ outcome: 'UNKNOWN' });
    expect(unknown.lines).toEqual([
      expect.objectContaining({
        action: 'revokeUserSessions',
        userDn: record.jansUsrDN,
        outcome: 'failed',
        change: 'UNKNOWN',
      }),
    ]);
  });

  it('deleteSessions: one line per session it tried; a dry run and refused input write none', async () => {
    const dry = await send(DeleteSessionsDocument, { filter: { state: 'UNAUTHENTICATED' } });
    expect(dry.response.body.data?.deleteSessions.dryRun).toBe(true);
    expect(dry.lines).toEqual([]);
    const badInput = await send(DeleteSessionDocument, { sid: 'not a sid/../x' });
    expect(badInput.response.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(badInput.lines).toEqual([]);

    const targets = stack.emulator.store.all().filter((s) => s.jansState !== 'authenticated');
    expect(targets.length).toBeGreaterThan(1);
    stack.emulator.setFault('delete', { status: 500, times: 1 });
    const { response, lines } = await send(DeleteSessionsDocument, {
      filter: { state: 'UNAUTHENTICATED' },
      dryRun: false,
      max: 1000,
    });
    const result = response.body.data!.deleteSessions;
    expect(result.deleted).toBe(targets.length - 1);
    expect(lines).toHaveLength(targets.length);
    expect(new Set(lines.map((l) => l.sid))).toEqual(new Set(targets.map((s) => s.sid)));
    expect(lines.filter((l) => l.outcome === 'deleted')).toHaveLength(targets.length - 1);
    expect(lines.filter((l) => l.outcome === 'failed')).toEqual([
      expect.objectContaining({ action: 'deleteSessions', caller: KEY_ID, code: 'UPSTREAM_ERROR' }),
    ]);
  });

  it('never carries the API key, a bearer token or more than 512 characters of a refused caller’s input', async () => {
    const token = await stack.emulator.issueJwt({ sub: 'mallory', scope: 'openid' });
    const huge = 'x'.repeat(100_000);
    const { lines } = await send(
      RevokeUserSessionsDocument,
      { userDn: huge },
      { authorization: `Bearer ${token}` },
    );
    expect(lines).toEqual([expect.objectContaining({ outcome: 'denied', userDn: `${'x'.repeat(512)}…` })]);
    const text = JSON.stringify(stack.logs.filter((l) => l.audit === true));
    expect(text).not.toContain(API_KEY);
    expect(text).not.toContain(token);
  });
});

describe('audit lines in pass-through mode', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({
      mode: 'pass-through',
      emulator: { sessionCount: 5 },
      env: { LOG_LEVEL: 'warn' },
    });
  });
  afterAll(async () => {
    await stack.close();
  });

  it('name the forwarded token by a digest prefix, never the token', async () => {
    const token = stack.emulator.issueToken([SCOPES.sessionDelete, SCOPES.revokeSession]);
    const sid = stack.emulator.store.all()[0]!.sid;
    const response = await stack.gql(
      DeleteSessionDocument,
      { sid },
      { authorization: `Bearer ${token}`, 'x-request-id': 'pt-1' },
    );
    expect(response.body.data).toEqual({ deleteSession: { sid, deleted: true } });
    const lines = stack.logs.filter((l) => l.requestId === 'pt-1' && l.audit === true);
    expect(lines).toEqual([
      expect.objectContaining({
        caller: 'anonymous',
        token: `sha256:${createHash('sha256').update(token).digest('hex').slice(0, 8)}`,
        sid,
        outcome: 'deleted',
      }),
    ]);
    expect(JSON.stringify(lines)).not.toContain(token);

    // Janssen refuses a token without the scope: denied, and the session is still there.
    const readOnly = stack.emulator.issueToken([SCOPES.sessionReadonly]);
    const other = stack.emulator.store.all()[0]!.sid;
    await stack.gql(
      DeleteSessionDocument,
      { sid: other },
      { authorization: `Bearer ${readOnly}`, 'x-request-id': 'pt-2' },
    );
    expect(stack.logs.filter((l) => l.requestId === 'pt-2' && l.audit === true)).toEqual([
      expect.objectContaining({ sid: other, outcome: 'denied', code: 'FORBIDDEN' }),
    ]);
    expect(stack.emulator.store.all().some((s) => s.sid === other)).toBe(true);

    // A malformed Authorization header is refused input (HTTP 400): nothing attempted, nothing audited.
    const malformed = await stack.gql(
      DeleteSessionDocument,
      { sid: other },
      { authorization: 'Bearer two tokens', 'x-request-id': 'pt-3' },
    );
    expect(malformed.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(stack.logs.filter((l) => l.requestId === 'pt-3' && l.audit === true)).toEqual([]);
  });
});

describe('AUDIT_LOG=off', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ emulator: { sessionCount: 5 }, env: { LOG_LEVEL: 'info', AUDIT_LOG: 'off' } });
  });
  afterAll(async () => {
    await stack.close();
  });

  it('writes no audit line; the operation line is still there at info', async () => {
    const sid = stack.emulator.store.all()[0]!.sid;
    const response = await stack.gql(DeleteSessionDocument, { sid }, { 'x-request-id': 'off-1' });
    expect(response.body.data).toEqual({ deleteSession: { sid, deleted: true } });
    const lines = stack.logs.filter((l) => l.requestId === 'off-1');
    expect(lines.some((l) => l.audit !== undefined)).toBe(false);
    expect(lines.filter((l) => l.msg === 'graphql operation')).toHaveLength(1);
  });
});
