import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { SessionsConnectionDocument } from '../generated/graphql.js';
import { startStack, type Stack } from '../helpers/stack.js';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ emulator: { seed: 8, sessionCount: 137 } });
});

afterAll(async () => {
  await stack.close();
});

async function connection(variables: Parameters<typeof stack.gql<unknown, object>>[1] & object) {
  const response = await stack.gql(SessionsConnectionDocument, variables);
  expect(response.body.errors).toBeUndefined();
  return response.body.data!.sessionsConnection;
}

describe('Query.sessionsConnection (Relay)', () => {
  const sort = { field: 'CREATION_DATE' as const, order: 'DESC' as const };

  it('walks forward with first/after to the end, then back with last/before, each session once', async () => {
    const total = stack.emulator.store.all().length;
    const forward: string[] = [];
    let after: string | null = null;
    for (;;) {
      const page = await connection({ sort, first: 20, after });
      forward.push(...page.edges.map((e) => e.node.sid));
      expect(page.totalCount).toBe(total);
      if (!page.pageInfo.hasNextPage) {
        break;
      }
      after = page.pageInfo.endCursor!;
    }
    expect(forward).toHaveLength(total);
    expect(new Set(forward).size).toBe(total);

    const backward: string[] = [];
    let before: string | null = null;
    for (;;) {
      const page = await connection({ sort, last: 25, before });
      backward.unshift(...page.edges.map((e) => e.node.sid));
      if (!page.pageInfo.hasPreviousPage) {
        break;
      }
      before = page.pageInfo.startCursor!;
    }
    expect(backward).toEqual(forward);
  });

  it('orders as asked', async () => {
    const page = await connection({ sort, first: 30 });
    const created = page.edges.map((e) => stack.emulator.store.get(e.node.sid)!.creationDate.getTime());
    expect(created).toEqual([...created].sort((a, b) => b - a));
  });

  it('first: 0 returns no edges but the total', async () => {
    const page = await connection({ first: 0 });
    expect(page.edges).toEqual([]);
    expect(page.totalCount).toBe(stack.emulator.store.all().length);
  });

  it('a cursor belongs to the search, not its spelling: explicit nulls take it, another filter does not', async () => {
    const filter = { state: 'AUTHENTICATED' as const };
    const page = await connection({ filter, sort, first: 2 });
    const next = await connection({ filter, sort, first: 2, after: page.pageInfo.endCursor });
    for (const respelled of [
      { ...filter, clientId: null, search: null },
      { ...filter, userDn: null, expiresAfter: null },
    ]) {
      const same = await connection({ filter: respelled, sort, first: 2, after: page.pageInfo.endCursor });
      expect(same.edges).toEqual(next.edges);
    }
    const other = await stack.gql(SessionsConnectionDocument, {
      filter: { state: 'UNAUTHENTICATED' },
      sort,
      first: 2,
      after: page.pageInfo.endCursor,
    });
    expect(other.body.errors?.[0]?.message).toMatch(/belongs to another filter or sort/);
  });

  it('refuses first with last, a foreign cursor, and garbage', async () => {
    const first = await connection({ sort, first: 2 });
    const cases = [
      { first: 1, last: 1 },
      { first: 1, after: first.pageInfo.endCursor, sort: { field: 'EXPIRATION_DATE' as const } },
      { first: 1, after: 'not-a-cursor' },
      { first: 201 },
    ];
    for (const variables of cases) {
      const response = await stack.gql(SessionsConnectionDocument, variables);
      expect(response.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    }
  });
});
