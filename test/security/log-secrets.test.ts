import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { DEMO_CLIENT_SECRET } from '../../src/emulator/emulator.js';
import { DeleteSessionDocument, SessionDocument, SessionsDocument } from '../generated/graphql.js';
import { startStack, type Stack } from '../helpers/stack.js';

describe('logs carry no token, key or secret', () => {
  let stack: Stack;
  let passThrough: Stack;
  const apiKey = 'k-log-test-5c1e77b2';

  beforeAll(async () => {
    stack = await startStack({
      emulator: { sessionCount: 10 },
      env: { JANS_API_KEYS: apiKey, LOG_LEVEL: 'trace', JANS_TIMEOUT_MS: '300' },
    });
    passThrough = await startStack({
      mode: 'pass-through',
      emulator: { sessionCount: 10 },
      env: { LOG_LEVEL: 'trace' },
    });
  });
  afterAll(async () => {
    await stack.close();
    await passThrough.close();
  });

  it('after successes, upstream failures, refused callers and refused tokens', async () => {
    const key = { 'x-api-key': apiKey };
    const sid = stack.emulator.store.all()[0]!.sid;
    await stack.gql(SessionsDocument, {}, key);
    await stack.gql(SessionsDocument, {}, { 'x-api-key': `${apiKey}-wrong` });
    stack.emulator.setFault('get', { status: 500, html: true });
    await stack.gql(SessionDocument, { sid }, key);
    stack.emulator.setFault('get', { hang: true });
    await stack.gql(SessionDocument, { sid }, key);
    stack.emulator.setFault('*', null);
    await stack.gql(DeleteSessionDocument, { sid }, key);

    const callerToken = passThrough.emulator.issueToken([
      'https://jans.io/oauth/jans-auth-server/session.readonly',
    ]);
    await passThrough.gql(SessionsDocument, {}, { authorization: `Bearer ${callerToken}` });
    await passThrough.gql(
      DeleteSessionDocument,
      { sid: passThrough.emulator.store.all()[0]!.sid },
      {
        authorization: `Bearer ${callerToken}`,
      },
    );
    await passThrough.gql(SessionsDocument, {}, { authorization: 'Bearer forged-token-value-123' });

    const serviceTokens = stack.emulator.requests
      .map((r) => /^Bearer (.+)$/.exec(String(r.headers.authorization ?? ''))?.[1])
      .filter((t): t is string => t !== undefined);
    expect(serviceTokens.length).toBeGreaterThan(0);

    const logs = JSON.stringify([...stack.logs, ...passThrough.logs]);
    expect(stack.logs.length + passThrough.logs.length).toBeGreaterThan(10);
    for (const secret of [
      apiKey,
      DEMO_CLIENT_SECRET,
      callerToken,
      'forged-token-value-123',
      ...new Set(serviceTokens),
    ]) {
      expect(logs).not.toContain(secret);
    }
    expect(logs).not.toMatch(/Basic [A-Za-z0-9+/=]{8,}/);
  });
});
