import { buildSubgraphSchema } from '@apollo/subgraph';
import { printSchemaWithDirectives } from '@graphql-tools/utils';
import { execute, type GraphQLResolveInfo, type GraphQLSchema, isUnionType, parse } from 'graphql';
import { buildSchema, createResolversMap } from 'type-graphql';

import type { Context } from '../context.js';
import { InvalidInputError } from '../janssen/errors.js';

import { DeleteSessionsResolver } from './bulk/delete-sessions.resolver.js';
import { SessionStatsResolver } from './bulk/session-stats.resolver.js';
import { notePosition, representationPath } from './representation-field.js';
import { SessionConnectionResolver } from './session/session-connection.resolver.js';
import { resolveSessionReference, resolveSessionReferences } from './session/session.reference.js';
import { SessionResolver } from './session/session.resolver.js';
import { resolveUserReference, resolveUserReferences } from './user/user.reference.js';
import { UserResolver } from './user/user.resolver.js';

type SubgraphResolvers =
  Exclude<Parameters<typeof buildSubgraphSchema>[0], unknown[]> extends infer M
    ? M extends { resolvers?: infer R }
      ? R
      : never
    : never;

/** The Federation 2 features this subgraph uses. */
const FEDERATION_LINK =
  'extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@shareable"])';

/**
 * All federation glue: build the type-graphql schema, print it with its directives, and hand it to
 * `buildSubgraphSchema` with the type-graphql resolvers plus the entity reference resolvers.
 */
export async function buildAppSchema(): Promise<GraphQLSchema> {
  const schema = await buildSchema({
    resolvers: [
      SessionResolver,
      SessionConnectionResolver,
      UserResolver,
      DeleteSessionsResolver,
      SessionStatsResolver,
    ],
    skipCheck: true,
    validate: false,
  });
  const resolvers = createResolversMap(schema) as Record<string, Record<string, unknown>>;
  const references: Record<string, (reference: never, ctx: Context, info: GraphQLResolveInfo) => unknown> = {
    Session: resolveSessionReference,
    User: resolveUserReference,
  };
  for (const [typeName, resolveReference] of Object.entries(references)) {
    resolvers[typeName] = { ...resolvers[typeName], __resolveReference: resolveReference };
  }
  const subgraph = buildSubgraphSchema({
    typeDefs: parse(`${FEDERATION_LINK}\n${printSchemaWithDirectives(schema)}`),
    resolvers: resolvers as SubgraphResolvers,
  });
  batchSessionEntities(subgraph);
  return subgraph;
}

/**
 * `_entities` whose representations are all sessions (a gateway's usual batch) resolves them as one list
 * ({@link resolveSessionReferences}), all users as a plain list ({@link resolveUserReferences}); any other mix keeps
 * @apollo/subgraph's resolver, one reference at a time.
 */
function batchSessionEntities(schema: GraphQLSchema): void {
  const field = schema.getQueryType()?.getFields()['_entities'];
  const generic = field?.resolve;
  const entityUnion = schema.getType('_Entity');
  if (!field || !generic || !isUnionType(entityUnion)) {
    return;
  }
  const entityTypes = new Set(entityUnion.getTypes().map((type) => type.name));
  field.resolve = (
    source,
    // Any JSON: checked below, and by the reference resolvers.
    args: {
      representations: readonly { __typename?: unknown; sid: string; userDn?: string; inum?: string }[];
    },
    ctx,
    info,
  ) => {
    const { representations } = args;
    representations.forEach((reference: unknown, index) => {
      // @apollo/subgraph fails on these with an internal message; they are the caller's mistake.
      const typename =
        typeof reference === 'object' && reference !== null && !Array.isArray(reference)
          ? (reference as { __typename?: unknown }).__typename
          : undefined;
      if (typeof typename !== 'string' || !entityTypes.has(typename)) {
        throw new InvalidInputError(
          representationPath(index),
          `must be an object whose __typename is one of ${[...entityTypes].join(', ')}`,
        );
      }
      // So the reference resolvers' errors name `representations.<index>.<key>`.
      notePosition(reference, index);
    });
    // A cache-control hint per entity type is @apollo/subgraph's business (cache control is off here anyway).
    if (representations.length > 0 && (info as { cacheControl?: unknown }).cacheControl === undefined) {
      const typename = representations[0]?.__typename;
      if (representations.every((reference) => reference.__typename === typename)) {
        const batched =
          typename === 'Session'
            ? resolveSessionReferences(representations, ctx as Context, info)
            : typename === 'User'
              ? resolveUserReferences(representations, ctx as Context, info)
              : undefined;
        if (batched) {
          return batched;
        }
      }
    }
    return generic(source, args, ctx, info);
  };
}

/** The SDL a gateway sees through `_service { sdl }`, as checked in to `schema.graphql`. */
export async function printAppSchema(schema: GraphQLSchema): Promise<string> {
  const result = await execute({ schema, document: parse('{ _service { sdl } }') });
  const sdl = (result.data as { _service?: { sdl?: string } } | null | undefined)?._service?.sdl;
  if (typeof sdl !== 'string') {
    throw new Error(`cannot read _service.sdl: ${JSON.stringify(result.errors)}`);
  }
  return sdl;
}
