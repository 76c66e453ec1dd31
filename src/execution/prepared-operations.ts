import {
  type DocumentNode,
  execute,
  type ExecutionResult,
  type FragmentDefinitionNode,
  type GraphQLSchema,
  isNonNullType,
  Kind,
  type OperationDefinitionNode,
  TypeInfo,
  visit,
  visitWithTypeInfo,
  BREAK,
} from 'graphql';

import { fragmentsByName } from '../schema/limits.js';

import { compileQuery, isCompiledQuery } from './jit.js';

/**
 * Operations Apollo Server has already parsed, validated and resolved once, kept so the same request text can be
 * executed again without Apollo's per-request pipeline (see `fast-path.ts`). Only Apollo adds entries (from its
 * `didResolveOperation` hook), so nothing here ever accepts a document Apollo's own validation would refuse.
 */
export interface PreparedOperation {
  readonly document: DocumentNode;
  readonly operation: OperationDefinitionNode;
  /** What Apollo reports as the operation name: the operation's own name, or null. */
  readonly operationName: string | null;
  readonly fragments: Record<string, FragmentDefinitionNode>;
  /** Costs already computed, by the JSON of the variables (filled by the fast path). */
  readonly costs: Map<string, number>;
  /**
   * Nullable variables used where an argument is non-null (allowed when the argument has a default): an explicit
   * `null` for one fails only at execution, where graphql-jit words the error differently from graphql-js.
   */
  readonly nullSensitiveVariables: readonly string[];
  /** Runs the operation; a result without `data` is a request error (bad variables): leave it to Apollo. */
  run(contextValue: unknown, variables: Record<string, unknown> | undefined): Promise<ExecutionResult>;
}

export interface PreparedOperationsOptions {
  schema: GraphQLSchema;
  /** Distinct request texts kept; the oldest is dropped past this (a client sending ever-new texts gains nothing). */
  maxEntries?: number;
  /** Compile each operation with graphql-jit (default); false runs graphql-js `execute`. */
  compile?: boolean;
}

const DEFAULT_MAX_ENTRIES = 500;

/** See {@link PreparedOperation.nullSensitiveVariables}. */
function nullSensitiveVariables(schema: GraphQLSchema, document: DocumentNode): string[] {
  const nullable = new Set<string>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.OPERATION_DEFINITION) {
      for (const variable of definition.variableDefinitions ?? []) {
        if (variable.type.kind !== Kind.NON_NULL_TYPE) {
          nullable.add(variable.variable.name.value);
        }
      }
    }
  }
  const found = new Set<string>();
  if (nullable.size === 0) {
    return [];
  }
  const typeInfo = new TypeInfo(schema);
  visit(
    document,
    visitWithTypeInfo(typeInfo, {
      [Kind.VARIABLE](node) {
        const type = typeInfo.getInputType();
        if (nullable.has(node.name.value) && type && isNonNullType(type)) {
          found.add(node.name.value);
        }
      },
    }),
  );
  return [...found];
}

/**
 * Whether the document selects `_entities` (a root field, possibly through a fragment). graphql-jit 0.8.9 pads the
 * `_entities` list with extra nulls when some of its items fail (4 failing sessions and a user gave 9 items where
 * graphql-js gives 5), so such operations keep graphql-js.
 */
function selectsEntities(document: DocumentNode): boolean {
  let found = false;
  visit(document, {
    [Kind.FIELD](node) {
      if (node.name.value === '_entities') {
        found = true;
        return BREAK;
      }
      return undefined;
    },
  });
  return found;
}

/**
 * The cache key of a request: its operation name (if any) and its exact text. Absent and `null` are the same
 * request to Apollo, but `""` is not (it names no operation: Apollo refuses it); and the name's length keeps a
 * name holding a newline from reading as another name plus the start of the text.
 */
function keyOf(query: string, operationName: string | null | undefined): string {
  return operationName === undefined || operationName === null
    ? `-${query}`
    : `${operationName.length}:${operationName}${query}`;
}

export class PreparedOperations {
  private readonly entries = new Map<string, PreparedOperation>();
  private readonly maxEntries: number;

  constructor(private readonly options: PreparedOperationsOptions) {
    this.maxEntries = options.maxEntries ?? DEFAULT_MAX_ENTRIES;
  }

  get size(): number {
    return this.entries.size;
  }

  get(query: string, operationName: string | null | undefined): PreparedOperation | undefined {
    return this.entries.get(keyOf(query, operationName));
  }

  /** Keeps an operation Apollo validated and resolved for this exact request text and operation name. */
  add(
    query: string,
    operationName: string | null | undefined,
    document: DocumentNode,
    operation: OperationDefinitionNode,
  ): void {
    const key = keyOf(query, operationName);
    if (this.entries.has(key)) {
      return;
    }
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) {
        this.entries.delete(oldest.value);
      }
    }
    const fragments = fragmentsByName(document);
    const { schema } = this.options;
    const name = operation.name?.value ?? null;
    const interpreted = async (contextValue: unknown, variables: Record<string, unknown> | undefined) =>
      execute({
        schema,
        document,
        contextValue,
        variableValues: variables,
        ...(operationName ? { operationName } : {}),
      });
    const compile = (): PreparedOperation['run'] => {
      if (this.options.compile === false || selectsEntities(document)) {
        return interpreted;
      }
      // graphql-jit turns the operation into one JavaScript function (no per-field lookups of the AST, types
      // and resolvers); anything it cannot compile keeps graphql-js.
      try {
        const compiled = compileQuery<Record<string, unknown>, Record<string, unknown>>(
          schema,
          document,
          operationName ?? undefined,
        );
        if (isCompiledQuery(compiled)) {
          return async (contextValue, variables) =>
            compiled.query(undefined, contextValue, variables ?? {}) as
              ExecutionResult | Promise<ExecutionResult>;
        }
      } catch {
        // graphql-js below
      }
      return interpreted;
    };
    // Compiled when first repeated, not when Apollo first resolves it: a one-off request costs no compilation.
    let compiledRun: PreparedOperation['run'] | undefined;
    const run: PreparedOperation['run'] = (contextValue, variables) =>
      (compiledRun ??= compile())(contextValue, variables);
    this.entries.set(key, {
      document,
      operation,
      operationName: name,
      fragments,
      costs: new Map(),
      nullSensitiveVariables: nullSensitiveVariables(schema, document),
      run,
    });
  }
}
