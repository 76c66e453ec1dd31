import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { parse } from 'graphql';

import type { SessionStore } from '../src/emulator/session-store.js';

export interface DemoUser {
  inum: string;
  userDn: string;
  name: string;
}

/** The people behind the emulator's sessions, as a users service would know them. */
export function usersOf(store: SessionStore): DemoUser[] {
  const users = new Map<string, DemoUser>();
  for (const session of store.all()) {
    const dn = session.jansUsrDN;
    const inum = dn ? /^inum=([^,]+),/.exec(dn)?.[1] : undefined;
    if (dn && inum && !users.has(inum)) {
      users.set(inum, { inum, userDn: dn, name: session.jansSessAttr.auth_user ?? inum });
    }
  }
  return [...users.values()].sort((a, b) => a.inum.localeCompare(b.inum));
}

/** A second subgraph that owns `User`, as our users' own people service would. */
export const USERS_SDL = /* GraphQL */ `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])

  type Query {
    users(first: Int = 100): [User!]!
  }

  type User @key(fields: "inum") @key(fields: "userDn") {
    inum: String!
    userDn: String!
    name: String!
  }
`;

/** Starts the tiny users subgraph on an ephemeral loopback port. */
export async function startUsersSubgraph(
  users: DemoUser[],
): Promise<{ url: string; stop: () => Promise<void> }> {
  const server = new ApolloServer({
    schema: buildSubgraphSchema({
      typeDefs: parse(USERS_SDL),
      resolvers: {
        Query: { users: (_root: unknown, args: { first: number }) => users.slice(0, args.first) },
        User: {
          __resolveReference: (ref: { inum?: string; userDn?: string }) =>
            users.find((user) => user.inum === ref.inum || user.userDn === ref.userDn) ?? null,
        },
      },
    }),
  });
  const { url } = await startStandaloneServer(server, { listen: { port: 0, host: '127.0.0.1' } });
  return { url, stop: () => server.stop() };
}
