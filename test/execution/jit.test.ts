import { createRequire } from 'node:module';

import {
  GraphQLID,
  GraphQLList,
  GraphQLNonNull,
  GraphQLObjectType,
  GraphQLSchema,
  GraphQLString,
  parse,
} from 'graphql';
import { describe, expect, it } from 'vitest';

import { compileQuery, isCompiledQuery, SERIALIZER_PATH } from '../../src/execution/jit.js';

/**
 * src/execution/jit.ts loads graphql-jit with a stand-in for fast-json-stringify, which graphql-jit requires at
 * load time for an option we never set. These tests run in a process of their own (vitest's `forks` pool), so
 * Node's CommonJS cache holds only what this file loaded.
 */
const require = createRequire(import.meta.url);
const loaded = () => Object.keys(require.cache);

const Session = new GraphQLObjectType({
  name: 'Session',
  fields: {
    sid: { type: new GraphQLNonNull(GraphQLID) },
    state: { type: GraphQLString },
    attributes: { type: new GraphQLNonNull(new GraphQLList(new GraphQLNonNull(GraphQLString))) },
  },
});
const schema = new GraphQLSchema({
  query: new GraphQLObjectType({
    name: 'Query',
    fields: {
      session: {
        type: Session,
        args: { sid: { type: new GraphQLNonNull(GraphQLID) } },
        resolve: (_root, { sid }: { sid: string }) =>
          Promise.resolve({ sid, state: 'authenticated', attributes: ['acr', 'auth_user'] }),
      },
    },
  }),
});

describe('graphql-jit without fast-json-stringify', () => {
  it('resolves fast-json-stringify where graphql-jit would, and caches the stand-in there', () => {
    expect(SERIALIZER_PATH).toBe(
      createRequire(require.resolve('graphql-jit')).resolve('fast-json-stringify'),
    );
    const cached = require.cache[SERIALIZER_PATH];
    expect(cached?.loaded).toBe(true);
    expect(typeof cached?.exports).toBe('function');
    expect((cached?.exports as () => unknown).name).toBe('fastJsonStringifyNotLoaded');
    expect(() => (cached?.exports as () => unknown)()).toThrow(/fast-json-stringify is not loaded/);
  });

  it('loads neither fast-json-stringify itself nor ajv', () => {
    expect(loaded().some((path) => path.includes('/node_modules/ajv/'))).toBe(false);
    expect(loaded().filter((path) => path.includes('/fast-json-stringify/'))).toEqual([SERIALIZER_PATH]);
  });

  it('still compiles and runs queries, answering like graphql-js', async () => {
    const compiled = compileQuery(
      schema,
      parse('query($sid: ID!) { session(sid: $sid) { sid state attributes } }'),
    );
    expect(isCompiledQuery(compiled)).toBe(true);
    if (!isCompiledQuery(compiled)) {
      return;
    }
    const result = await compiled.query(undefined, {}, { sid: 's-1' });
    expect(result).toEqual({
      data: { session: { sid: 's-1', state: 'authenticated', attributes: ['acr', 'auth_user'] } },
    });
    expect(compiled.stringify(result)).toBe(JSON.stringify(result));
  });

  it("answers graphql-jit's customJSONSerializer with a clear error instead of loading it", () => {
    const compiled = compileQuery(schema, parse('{ session(sid: "s-1") { sid } }'), undefined, {
      customJSONSerializer: true,
    });
    expect(isCompiledQuery(compiled)).toBe(false);
    expect('errors' in compiled ? compiled.errors?.[0]?.message : undefined).toMatch(
      /fast-json-stringify is not loaded/,
    );
    expect(loaded().some((path) => path.includes('/node_modules/ajv/'))).toBe(false);
  });
});
