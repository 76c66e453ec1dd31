import { ApolloGateway, IntrospectAndCompose } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { type DemoUser, startUsersSubgraph, usersOf } from '../../examples/users-subgraph.js';
import { startStack, type Stack } from '../helpers/stack.js';

let stack: Stack;
let users: DemoUser[];
let usersSubgraph: Awaited<ReturnType<typeof startUsersSubgraph>>;
let gateway: ApolloServer;
let gatewayUrl: string;

async function viaGateway<T>(query: string, variables: Record<string, unknown> = {}) {
  const response = await fetch(gatewayUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as {
    data?: T;
    errors?: { message: string; extensions?: { code?: string } }[];
  };
}

beforeAll(async () => {
  stack = await startStack({ emulator: { seed: 5, sessionCount: 300 } });
  users = usersOf(stack.emulator.store);
  usersSubgraph = await startUsersSubgraph(users);
  gateway = new ApolloServer({
    gateway: new ApolloGateway({
      supergraphSdl: new IntrospectAndCompose({
        subgraphs: [
          { name: 'sessions', url: `${stack.url}/graphql` },
          { name: 'users', url: usersSubgraph.url },
        ],
      }),
    }),
  });
  ({ url: gatewayUrl } = await startStandaloneServer(gateway, { listen: { port: 0, host: '127.0.0.1' } }));
});

afterAll(async () => {
  await gateway?.stop();
  await usersSubgraph?.stop();
  await stack?.close();
});

beforeEach(() => {
  stack.emulator.setFault('*', null);
  stack.emulator.resetCounts();
});

describe('through an Apollo gateway', () => {
  it('lists users with their sessions and follows sessions back to users', async () => {
    const first = 20;
    const result = await viaGateway<{
      users: {
        inum: string;
        name: string;
        activeSessionCount: number;
        sessions: {
          totalCount: number;
          nodes: { sid: string; user: { inum: string; name: string } | null }[];
        };
      }[];
    }>(
      /* GraphQL */ `
        query UsersWithSessions($first: Int) {
          users(first: $first) {
            inum
            name
            activeSessionCount
            sessions(page: { limit: 3 }, sort: { field: CREATION_DATE, order: DESC }) {
              totalCount
              nodes {
                sid
                user {
                  inum
                  name
                }
              }
            }
          }
        }
      `,
      { first },
    );
    expect(result.errors).toBeUndefined();
    const all = stack.emulator.store.all();
    const now = Date.now();
    expect(result.data!.users).toHaveLength(first);
    for (const user of result.data!.users) {
      const own = all.filter((s) => s.jansUsrDN === `inum=${user.inum},ou=people,o=jans`);
      expect(user.sessions.totalCount).toBe(own.length);
      expect(user.activeSessionCount).toBe(
        own.filter((s) => s.jansState === 'authenticated' && s.exp.getTime() >= now - 5000).length,
      );
      const newest = [...own].sort((a, b) => b.creationDate.getTime() - a.creationDate.getTime()).slice(0, 3);
      expect(user.sessions.nodes.map((n) => n.sid)).toEqual(newest.map((s) => s.sid));
      for (const node of user.sessions.nodes) {
        expect(node.user).toEqual({ inum: user.inum, name: user.name });
      }
    }
    // 20 users' sessions in one search and their active counts in another.
    expect(stack.emulator.count()).toBeLessThanOrEqual(3); // + at most one token fetch
    expect(stack.emulator.count('search')).toBeLessThanOrEqual(2);
  });

  it('resolves a session entity and its user from the other subgraph', async () => {
    const session = stack.emulator.store.all().find((s) => s.jansState === 'authenticated')!;
    const user = users.find((u) => u.userDn === session.jansUsrDN)!;
    const result = await viaGateway<{ session: { sid: string; user: { name: string; userDn: string } } }>(
      `query One($sid: ID!) { session(sid: $sid) { sid user { name userDn } } }`,
      { sid: session.sid },
    );
    expect(result.data?.session).toEqual({
      sid: session.sid,
      user: { name: user.name, userDn: user.userDn },
    });
  });
});

describe('_entities batching (the subgraph directly)', () => {
  const entities = /* GraphQL */ `
    query Entities($representations: [_Any!]!) {
      _entities(representations: $representations) {
        ... on Session {
          sid
          clientId
          state
        }
      }
    }
  `;
  const asSessions = (sids: string[]) => sids.map((sid) => ({ __typename: 'Session', sid }));

  it('100 Session representations cost at most 2 upstream calls, in key order, null for unknown', async () => {
    const sids = stack.emulator.store
      .all()
      .slice(0, 99)
      .map((s) => s.sid);
    const unknown = '00000000-0000-4000-8000-00000000dead';
    const response = await stack.gql<{ _entities: ({ sid: string } | null)[] }, object>(entities, {
      representations: asSessions([...sids, unknown]),
    });
    expect(response.body.errors).toBeUndefined();
    expect(response.body.data!._entities.map((e) => e?.sid ?? null)).toEqual([...sids, null]);
    expect(stack.emulator.count('get')).toBe(0);
    expect(stack.emulator.count('search')).toBeGreaterThanOrEqual(1);
    expect(stack.emulator.count('search')).toBeLessThanOrEqual(2);
    const longest = Math.max(...stack.emulator.requests.map((r) => r.path.length + r.query.length));
    expect(longest).toBeLessThan(4096);
  });

  it('duplicate sids cost nothing extra', async () => {
    const sids = stack.emulator.store
      .all()
      .slice(0, 10)
      .map((s) => s.sid);
    const response = await stack.gql<{ _entities: { sid: string }[] }, object>(entities, {
      representations: asSessions([...sids, ...sids, ...sids]),
    });
    expect(response.body.data!._entities.map((e) => e.sid)).toEqual([...sids, ...sids, ...sids]);
    expect(stack.emulator.count()).toBe(1);
  });

  it('20 User representations: sessions and active counts in at most 2 calls', async () => {
    const reps = users.slice(0, 20).map((u) => ({ __typename: 'User', inum: u.inum }));
    const response = await stack.gql<
      { _entities: { inum: string; activeSessionCount: number; sessions: { totalCount: number } }[] },
      object
    >(
      /* GraphQL */ `
        query Users($representations: [_Any!]!) {
          _entities(representations: $representations) {
            ... on User {
              inum
              activeSessionCount
              sessions(page: { limit: 2 }) {
                totalCount
                nodes {
                  sid
                }
              }
            }
          }
        }
      `,
      { representations: reps },
    );
    expect(response.body.errors).toBeUndefined();
    expect(response.body.data!._entities).toHaveLength(20);
    expect(stack.emulator.count('search')).toBeLessThanOrEqual(2);
  });

  it('falls back to GETs when search fails with a 5xx, and remembers it', async () => {
    stack.emulator.setFault('search', { status: 500 });
    const sids = stack.emulator.store
      .all()
      .slice(20, 30)
      .map((s) => s.sid);
    const first = await stack.gql<{ _entities: { sid: string }[] }, object>(entities, {
      representations: asSessions(sids),
    });
    expect(first.body.errors).toBeUndefined();
    expect(first.body.data!._entities.map((e) => e.sid)).toEqual(sids);
    expect(stack.emulator.count('search')).toBe(1);
    expect(stack.emulator.count('get')).toBe(10);
    stack.emulator.resetCounts();
    const again = await stack.gql<{ _entities: { sid: string }[] }, object>(entities, {
      representations: asSessions(sids.slice(0, 5)),
    });
    expect(again.body.data!._entities.map((e) => e.sid)).toEqual(sids.slice(0, 5));
    expect(stack.emulator.count('search')).toBe(0);
    expect(stack.emulator.count('get')).toBe(5);
  });

  it('answers _service { sdl } with both entities', async () => {
    const response = await stack.gql<{ _service: { sdl: string } }, object>('{ _service { sdl } }');
    expect(response.body.data!._service.sdl).toMatch(/type Session\s+@key\(fields: "sid"\)/);
    expect(response.body.data!._service.sdl).toMatch(
      /type User\s+@key\(fields: "userDn"\)\s+@key\(fields: "inum"\)/,
    );
  });
});
