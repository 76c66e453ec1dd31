import Module, { createRequire } from 'node:module';

import type * as GraphQLJit from 'graphql-jit';

/**
 * graphql-jit, loaded without fast-json-stringify.
 *
 * graphql-jit 0.8.9 requires fast-json-stringify (and with it ajv, its formats and a JSON-schema resolver) as soon
 * as it loads, for one option, `customJSONSerializer`, that this service never sets: the fast path writes its
 * answers with `JSON.stringify`, in Apollo's field order. That load alone costs about 5 MB of RSS and 90 ms of
 * start-up (bench/results/levers.md). So before graphql-jit loads, Node's CommonJS cache gets a stand-in for that
 * one module, which throws if anything ever calls it. If fast-json-stringify is already loaded, it is left alone.
 *
 * graphql-jit is loaded here with `require`, not `import`, so that nothing can load it before the stand-in is in
 * place: import graphql-jit's functions from this module only.
 */
const require = createRequire(import.meta.url);
const serializerPath = createRequire(require.resolve('graphql-jit')).resolve('fast-json-stringify');

if (require.cache[serializerPath] === undefined) {
  const standIn = new Module(serializerPath);
  standIn.filename = serializerPath;
  standIn.loaded = true;
  standIn.exports = function fastJsonStringifyNotLoaded(): never {
    throw new Error(
      "fast-json-stringify is not loaded: graphql-jit's customJSONSerializer is not supported here",
    );
  };
  require.cache[serializerPath] = standIn;
}

const jit = require('graphql-jit') as typeof GraphQLJit;

export const { compileQuery, isCompiledQuery } = jit;

/** Where graphql-jit would load fast-json-stringify from (for the test that checks the stand-in is used). */
export const SERIALIZER_PATH = serializerPath;
