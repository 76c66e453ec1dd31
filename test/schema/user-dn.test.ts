import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import {
  DeleteSessionsDocument,
  RevokeUserSessionsDocument,
  SessionsDocument,
} from '../generated/graphql.js';
import { startStack, type Stack } from '../helpers/stack.js';

/**
 * A user DN under another base than the people base was reduced to its inum, which Janssen puts back under the
 * people base: another user's sessions matched (and deleteSessions deleted them). Refused wherever a DN is taken.
 */
let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ emulator: { seed: 17, sessionCount: 80 } });
});

afterAll(async () => {
  await stack.close();
});

beforeEach(() => {
  stack.emulator.resetCounts();
});

describe('a userDn must be under the people base (JANS_PEOPLE_BASE_DN)', () => {
  /** A user with at least one authenticated session, by full DN and inum. */
  function someUser() {
    const record = stack.emulator.store
      .all()
      .find((s) => s.jansState === 'authenticated' && s.jansUsrDN?.endsWith(',ou=people,o=jans'))!;
    const dn = record.jansUsrDN!;
    return { dn, inum: /^inum=([^,]+)/.exec(dn)![1]! };
  }

  const elsewhere = (inum: string) => [
    `inum=${inum},ou=admins,o=othercorp`,
    `INUM=${inum},dc=x`,
    `inum=${inum}`,
    `inum=${inum},ou=people,o=jans,dc=x`,
    `inum=${inum},ou=people`,
  ];

  it('filter.userDn under another base is refused before any call, naming the base', async () => {
    const { inum } = someUser();
    for (const userDn of elsewhere(inum)) {
      const response = await stack.gql(SessionsDocument, { filter: { userDn } });
      expect(response.body.data ?? null).toBeNull();
      const [error] = response.body.errors!;
      expect(error?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'filter.userDn' });
      expect(error?.message).toContain('ou=people,o=jans');
    }
    expect(stack.emulator.count()).toBe(0);
  });

  it('deleteSessions with such a userDn deletes nothing', async () => {
    const { dn, inum } = someUser();
    const before = stack.emulator.store.all().filter((s) => s.jansUsrDN === dn).length;
    const response = await stack.gql(DeleteSessionsDocument, {
      filter: { userDn: `inum=${inum},ou=admins,o=othercorp` },
      dryRun: false,
      max: 1000,
    });
    expect(response.body.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'filter.userDn',
    });
    expect(stack.emulator.store.all().filter((s) => s.jansUsrDN === dn)).toHaveLength(before);
    expect(stack.emulator.count()).toBe(0);
  });

  it('revokeUserSessions refuses it too (it compared the whole DN, the filter did not)', async () => {
    const { inum } = someUser();
    for (const userDn of elsewhere(inum)) {
      const response = await stack.gql(RevokeUserSessionsDocument, { userDn });
      expect(response.body.errors?.[0]?.extensions).toMatchObject({
        code: 'BAD_USER_INPUT',
        field: 'userDn',
      });
      expect(response.body.errors?.[0]?.message).toContain('ou=people,o=jans');
    }
    expect(stack.emulator.count()).toBe(0);
  });

  it('a User reference with such a userDn is an error for that item, with no call', async () => {
    const { inum } = someUser();
    const response = await stack.gql(
      /* GraphQL */ `
        query E($r: [_Any!]!) {
          _entities(representations: $r) {
            ... on User {
              inum
              activeSessionCount
              sessions {
                totalCount
              }
            }
          }
        }
      `,
      { r: [{ __typename: 'User', userDn: `inum=${inum},ou=admins,o=othercorp` }] },
    );
    expect(response.body.errors).toHaveLength(1);
    expect(response.body.errors?.[0]).toMatchObject({
      path: ['_entities', 0],
      extensions: { code: 'BAD_USER_INPUT', field: 'representations.0.userDn' },
    });
    expect(response.body.errors?.[0]?.message).toContain('ou=people,o=jans');
    expect(stack.emulator.count()).toBe(0);
  });

  it('the people base compares DN-wise: any case, spaces around , and =', async () => {
    const { dn, inum } = someUser();
    const spelled = ` INUM = ${inum} , OU=People,  O = JANS `;
    const expected = stack.emulator.store.all().filter((s) => s.jansUsrDN === dn).length;
    const page = await stack.gql(SessionsDocument, { filter: { userDn: spelled }, page: { limit: 4 } });
    expect(page.body.errors).toBeUndefined();
    expect(page.body.data!.sessions.totalCount).toBe(expected);

    const entity = await stack.gql(
      /* GraphQL */ `
        query E($r: [_Any!]!) {
          _entities(representations: $r) {
            ... on User {
              userDn
              inum
            }
          }
        }
      `,
      { r: [{ __typename: 'User', userDn: spelled }] },
    );
    expect(entity.body.data).toEqual({ _entities: [{ userDn: dn, inum }] });

    // Revoked under the DN Janssen stores (it compares the whole DN by equality), not the caller's spelling.
    const revoke = await stack.gql(RevokeUserSessionsDocument, { userDn: spelled });
    expect(revoke.body.data?.revokeUserSessions).toEqual({ userDn: dn, revoked: true });
    expect(
      stack.emulator.store.all().some((s) => s.jansUsrDN === dn && s.jansState === 'authenticated'),
    ).toBe(false);
  });
});

describe('with JANS_PEOPLE_BASE_DN set', () => {
  let other: Stack;

  beforeAll(async () => {
    other = await startStack({
      emulator: { seed: 4, sessionCount: 10 },
      env: { JANS_PEOPLE_BASE_DN: 'ou=staff,o=corp' },
    });
  });

  afterAll(async () => {
    await other.close();
  });

  it('a DN under the default base is refused, and the message names the configured one', async () => {
    const response = await other.gql(SessionsDocument, {
      filter: { userDn: 'inum=abc-1,ou=people,o=jans' },
    });
    expect(response.body.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'filter.userDn',
    });
    expect(response.body.errors?.[0]?.message).toContain('ou=staff,o=corp');
    const ok = await other.gql(RevokeUserSessionsDocument, { userDn: 'inum=abc-1,OU=Staff,o=corp' });
    expect(ok.body.data?.revokeUserSessions).toEqual({
      userDn: 'inum=abc-1,ou=staff,o=corp',
      revoked: false,
    });
  });

  it('does not print a long caller value back', async () => {
    const userDn = `inum=abc-1,${'ou=x,'.repeat(80)}o=y`;
    const response = await other.gql(SessionsDocument, { filter: { userDn } });
    expect(response.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(response.body.errors?.[0]?.message).not.toContain('ou=x,ou=x');
  });
});
