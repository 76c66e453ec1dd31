/**
 * Bench peer: the subgraph a team would write by hand from Apollo's docs. Apollo Server 5 standalone,
 * `buildSubgraphSchema`, and a `RESTDataSource` per request (docs: "Fetching from REST"), for the subset of our
 * schema the benchmark uses: `session(sid)`, `sessions(filter, page, sort)`, `deleteSession(sid)` and
 * `_entities` for `Session @key(fields: "sid")`, which does one GET per representation (no batching; the data
 * source only de-duplicates identical GETs within a request).
 *
 *   BENCH_UPSTREAM=<config api url> BENCH_TOKEN_URL=... BENCH_CLIENT_ID=... BENCH_CLIENT_SECRET=...
 *   BENCH_API_KEY=... PORT=4003 node <compiled apollo-rest>
 *
 * It fetches one token with client credentials at start and keeps it (the benchmark is shorter than its
 * lifetime). Self-contained: imports nothing from the project, so nothing of ours makes it faster or slower.
 */
import { RESTDataSource, type AugmentedRequest } from '@apollo/datasource-rest';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { GraphQLError, parse } from 'graphql';

interface WireSession {
  outsideSid: string;
  userDn?: string;
  state?: 'authenticated' | 'unauthenticated';
  sessionAttributes?: Record<string, string>;
  creationDate?: string;
  expirationDate?: string;
  lastUsedAt?: string;
  authenticationTime?: string;
}

interface WirePage {
  start: number;
  totalEntriesCount: number;
  entries?: WireSession[];
}

interface SessionFilter {
  state?: 'AUTHENTICATED' | 'UNAUTHENTICATED';
  clientId?: string;
  authUser?: string;
  acr?: string;
  expiresAfter?: string;
  expiresBefore?: string;
  search?: string;
}

const typeDefs = parse(/* GraphQL */ `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])

  type Query {
    session(sid: ID!): Session
    sessions(filter: SessionFilter, page: PageInput, sort: SessionSort): SessionPage!
  }

  type Mutation {
    deleteSession(sid: ID!): DeleteSessionPayload!
  }

  type Session @key(fields: "sid") {
    sid: ID!
    userDn: String
    state: SessionState!
    clientId: String
    authUser: String
    acr: String
    creationDate: String
    expirationDate: String
    lastUsedAt: String
    authenticationTime: String
    expired: Boolean!
  }

  enum SessionState {
    AUTHENTICATED
    UNAUTHENTICATED
  }

  type SessionPage {
    nodes: [Session!]!
    totalCount: Int!
    offset: Int!
    limit: Int!
    hasNextPage: Boolean!
  }

  input SessionFilter {
    state: SessionState
    clientId: String
    authUser: String
    acr: String
    expiresAfter: String
    expiresBefore: String
    search: String
  }

  input PageInput {
    limit: Int = 50
    offset: Int = 0
  }

  input SessionSort {
    field: SessionSortField!
    order: SortOrder = ASC
  }

  enum SessionSortField {
    CREATION_DATE
    EXPIRATION_DATE
    LAST_USED_AT
  }

  enum SortOrder {
    ASC
    DESC
  }

  type DeleteSessionPayload {
    sid: ID!
    deleted: Boolean!
  }
`);

const SORT_COLUMNS: Record<string, string> = {
  CREATION_DATE: 'creationDate',
  EXPIRATION_DATE: 'exp',
  LAST_USED_AT: 'jansLastAccessTime',
};

/** Janssen dates are zone-less UTC. */
const toIso = (value: string | undefined) => (value ? `${value}Z` : null);
const toJanssenDate = (iso: string) => new Date(iso).toISOString().slice(0, 19);

function toSession(wire: WireSession) {
  const attributes = wire.sessionAttributes ?? {};
  return {
    sid: wire.outsideSid,
    userDn: wire.userDn ?? null,
    state: wire.state === 'authenticated' ? 'AUTHENTICATED' : 'UNAUTHENTICATED',
    clientId: attributes.client_id ?? null,
    authUser: attributes.auth_user ?? null,
    acr: attributes.acr ?? null,
    creationDate: toIso(wire.creationDate),
    expirationDate: toIso(wire.expirationDate),
    lastUsedAt: toIso(wire.lastUsedAt),
    authenticationTime: toIso(wire.authenticationTime),
    expired: wire.expirationDate ? Date.parse(`${wire.expirationDate}Z`) <= Date.now() : false,
  };
}

class SessionsAPI extends RESTDataSource {
  override baseURL = `${process.env.BENCH_UPSTREAM ?? ''}/api/v1/jans-auth-server/`;

  constructor(
    private readonly token: string,
    options: ConstructorParameters<typeof RESTDataSource>[0],
  ) {
    super(options);
  }

  protected override willSendRequest(_path: string, request: AugmentedRequest) {
    request.headers.authorization = `Bearer ${this.token}`;
  }

  async getSession(sid: string): Promise<WireSession | null> {
    const body = await this.get<WireSession | ''>(`session/sid/${encodeURIComponent(sid)}`);
    return body === '' ? null : body;
  }

  searchSessions(params: Record<string, string>): Promise<WirePage> {
    return this.get<WirePage>('session/search', { params });
  }

  async deleteSession(sid: string): Promise<boolean> {
    try {
      await this.delete(`session/sid/${encodeURIComponent(sid)}`);
      return true;
    } catch (error) {
      const status = (error as GraphQLError).extensions?.response as { status?: number } | undefined;
      if (status?.status === 404) {
        return false;
      }
      throw error;
    }
  }
}

interface Context {
  dataSources: { sessions: SessionsAPI };
}

function searchParams(
  filter: SessionFilter | undefined,
  page: { limit: number; offset: number },
  sort: { field: string; order: string } | undefined,
): Record<string, string> {
  const params: Record<string, string> = { limit: String(page.limit), startIndex: String(page.offset) };
  const pairs: string[] = [];
  if (filter?.state) {
    pairs.push(`state=${filter.state.toLowerCase()}`);
  }
  if (filter?.clientId) {
    pairs.push(`client_id=${filter.clientId}`);
  }
  if (filter?.authUser) {
    pairs.push(`auth_user=${filter.authUser}`);
  }
  if (filter?.acr) {
    pairs.push(`acr=${filter.acr}`);
  }
  if (filter?.expiresAfter) {
    pairs.push(`expirationDate>${toJanssenDate(filter.expiresAfter)}`);
  }
  if (filter?.expiresBefore) {
    pairs.push(`expirationDate<${toJanssenDate(filter.expiresBefore)}`);
  }
  if (pairs.length > 0) {
    params.fieldValuePair = pairs.join(',');
  }
  if (filter?.search) {
    params.pattern = filter.search;
  }
  if (sort) {
    params.sortBy = SORT_COLUMNS[sort.field] ?? 'jansId';
    params.sortOrder = sort.order === 'DESC' ? 'descending' : 'ascending';
  }
  return params;
}

const resolvers = {
  Query: {
    session: async (_root: unknown, { sid }: { sid: string }, { dataSources }: Context) => {
      const wire = await dataSources.sessions.getSession(sid);
      return wire ? toSession(wire) : null;
    },
    sessions: async (
      _root: unknown,
      args: {
        filter?: SessionFilter;
        page?: { limit: number; offset: number };
        sort?: { field: string; order: string };
      },
      { dataSources }: Context,
    ) => {
      const page = args.page ?? { limit: 50, offset: 0 };
      const result = await dataSources.sessions.searchSessions(searchParams(args.filter, page, args.sort));
      const entries = result.entries ?? [];
      return {
        nodes: entries.map(toSession),
        totalCount: result.totalEntriesCount,
        offset: page.offset,
        limit: page.limit,
        hasNextPage: page.offset + entries.length < result.totalEntriesCount,
      };
    },
  },
  Mutation: {
    deleteSession: async (_root: unknown, { sid }: { sid: string }, { dataSources }: Context) => ({
      sid,
      deleted: await dataSources.sessions.deleteSession(sid),
    }),
  },
  Session: {
    __resolveReference: async (reference: { sid: string }, { dataSources }: Context) => {
      const wire = await dataSources.sessions.getSession(reference.sid);
      return wire ? toSession(wire) : null;
    },
  },
};

async function fetchToken(): Promise<string> {
  const basic = Buffer.from(`${process.env.BENCH_CLIENT_ID}:${process.env.BENCH_CLIENT_SECRET}`).toString(
    'base64',
  );
  const response = await fetch(process.env.BENCH_TOKEN_URL ?? '', {
    method: 'POST',
    headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials',
  });
  if (!response.ok) {
    throw new Error(`token endpoint answered ${response.status}`);
  }
  return ((await response.json()) as { access_token: string }).access_token;
}

async function main(): Promise<void> {
  const token = await fetchToken();
  const apiKey = process.env.BENCH_API_KEY;
  const server = new ApolloServer<Context>({
    // Resolvers typed with our context; Apollo's resolver map types it as unknown.
    schema: buildSubgraphSchema({ typeDefs, resolvers } as unknown as Parameters<
      typeof buildSubgraphSchema
    >[0]),
    introspection: false,
  });
  await startStandaloneServer(server, {
    listen: { port: Number(process.env.PORT ?? 4003), host: '127.0.0.1' },
    context: async ({ req }) => {
      if (apiKey !== undefined && req.headers['x-api-key'] !== apiKey) {
        throw new GraphQLError('Unauthenticated', {
          extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } },
        });
      }
      return { dataSources: { sessions: new SessionsAPI(token, { cache: server.cache }) } };
    },
  });
  const stop = () => void server.stop().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
