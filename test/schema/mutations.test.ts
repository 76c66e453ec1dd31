import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { DeleteSessionDocument, RevokeUserSessionsDocument } from '../generated/graphql.js';
import { startStack, type Stack } from '../helpers/stack.js';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ emulator: { seed: 3, sessionCount: 150 } });
});

afterAll(async () => {
  await stack.close();
});

beforeEach(() => {
  stack.emulator.resetCounts();
});

describe('Mutation.deleteSession', () => {
  it('deletes exactly that session, of any state', async () => {
    const store = stack.emulator.store;
    for (const state of ['authenticated', 'unauthenticated'] as const) {
      const victim = store.all().find((s) => s.jansState === state)!;
      const before = store.all().length;
      const response = await stack.gql(DeleteSessionDocument, { sid: victim.sid });
      expect(response.body.data?.deleteSession).toEqual({ sid: victim.sid, deleted: true });
      expect(store.get(victim.sid)).toBeUndefined();
      expect(store.all()).toHaveLength(before - 1);
    }
  });

  it('reports deleted: false for an unknown sid (Janssen 404) and deletes nothing', async () => {
    const before = stack.emulator.store.all().length;
    const response = await stack.gql(DeleteSessionDocument, { sid: '00000000-0000-4000-8000-000000000000' });
    expect(response.body.errors).toBeUndefined();
    expect(response.body.data?.deleteSession).toEqual({
      sid: '00000000-0000-4000-8000-000000000000',
      deleted: false,
    });
    expect(stack.emulator.store.all()).toHaveLength(before);
    expect(stack.emulator.count('delete')).toBe(1);
  });

  it('is not allowed over GET', async () => {
    const sid = stack.emulator.store.all()[0]!.sid;
    const query = `mutation { deleteSession(sid: "${sid}") { deleted } }`;
    const response = await fetch(`${stack.url}/graphql?query=${encodeURIComponent(query)}`, {
      headers: { 'apollo-require-preflight': 'true' },
    });
    expect(response.status).toBe(405);
    expect(stack.emulator.store.get(sid)).toBeDefined();
    expect(stack.emulator.count()).toBe(0);
  });
});

describe('Mutation.revokeUserSessions', () => {
  function userWithBothStates() {
    const all = stack.emulator.store.all();
    const dns = new Set(all.filter((s) => s.jansState === 'authenticated').map((s) => s.jansUsrDN!));
    return [...dns].find((dn) => all.filter((s) => s.jansUsrDN === dn).length >= 2) ?? [...dns][0]!;
  }

  it('revokes every authenticated session of a user given by full DN, nothing else', async () => {
    const dn = userWithBothStates();
    const all = stack.emulator.store.all();
    const others = all.filter((s) => s.jansUsrDN !== dn || s.jansState !== 'authenticated').map((s) => s.sid);
    const response = await stack.gql(RevokeUserSessionsDocument, { userDn: dn });
    expect(response.body.data?.revokeUserSessions).toEqual({ userDn: dn, revoked: true });
    const after = stack.emulator.store.all();
    expect(after.filter((s) => s.jansUsrDN === dn && s.jansState === 'authenticated')).toHaveLength(0);
    expect(after.map((s) => s.sid).sort()).toEqual(others.sort());
  });

  it('accepts a bare inum and expands it to the people DN', async () => {
    const dn = userWithBothStates();
    const inum = /^inum=([^,]+)/.exec(dn)![1]!;
    const response = await stack.gql(RevokeUserSessionsDocument, { userDn: inum });
    expect(response.body.data?.revokeUserSessions).toEqual({ userDn: dn, revoked: true });
    expect(
      stack.emulator.store.all().some((s) => s.jansUsrDN === dn && s.jansState === 'authenticated'),
    ).toBe(false);
  });

  it('reports revoked: false when the user has no authenticated session', async () => {
    const response = await stack.gql(RevokeUserSessionsDocument, {
      userDn: 'inum=00000000-dead-beef-0000-000000000000,ou=people,o=jans',
    });
    expect(response.body.data?.revokeUserSessions.revoked).toBe(false);
  });

  it.each(['', 'cn=admin', 'inum=a/b,ou=people,o=jans', 'inum=x,ou=people,o=jans/../..', 'a b'])(
    'refuses userDn %j with BAD_USER_INPUT and no call',
    async (userDn) => {
      const before = stack.emulator.store.all().length;
      const response = await stack.gql(RevokeUserSessionsDocument, { userDn });
      expect(response.body.errors?.[0]?.extensions).toMatchObject({
        code: 'BAD_USER_INPUT',
        field: 'userDn',
      });
      expect(stack.emulator.count()).toBe(0);
      expect(stack.emulator.store.all()).toHaveLength(before);
    },
  );
});
