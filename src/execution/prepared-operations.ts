import {
  type DocumentNode,
  execute,
  type ExecutionResult,
  type FragmentDefinitionNode,
  type GraphQLSchema,
  isNonNullType,
  Kind,
  type OperationDefinitionNode,
  type Token,
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
  /** What all entries may take, by {@link estimateBytes}; the oldest are dropped to make room. */
  maxBytes?: number;
  /** An operation estimated over this is not kept (Apollo answers it each time). */
  maxEntryBytes?: number;
  /** Compile each operation with graphql-jit (default); false runs graphql-js `execute`. */
  compile?: boolean;
}

const DEFAULT_MAX_ENTRIES = 500;
/**
 * Request texts are the client's: without a bound in bytes, 500 distinct 1 MB texts (a 1 MB operation name is one
 * token) held ~1.5 GB, and 500 texts of 18 KB near MAX_TOKENS ~550 MB. A real client's operation is a few KB and a
 * few hundred tokens: a 100-token operation is estimated at ~34 KB.
 */
const DEFAULT_MAX_BYTES = 24 * 1024 * 1024;
const DEFAULT_MAX_ENTRY_BYTES = 256 * 1024;

/**
 * What keeping an operation costs, roughly, in bytes: its key and its text, 2 bytes a character (the key is a
 * copy of the text; one-byte strings take 1, two-byte ones 2), its parsed document, 256 bytes a token (the tokens,
 * the AST and their locations: a document of 4,336 tokens measured 1.1 MB), and 8 KB for the rest (its maps,
 * the function graphql-jit compiles). Measured retained heap per entry: 14-25 KB for a 40-token operation,
 * 2-3 MB for a 1 MB text, 1.1 MB for 4,336 tokens in 18 KB.
 */
function estimateBytes(
  query: string,
  operationName: string | null | undefined,
  document: DocumentNode,
): number {
  const characters = query.length + (operationName?.length ?? 0);
  let tokens = 0;
  for (let token: Token | null | undefined = document.loc?.startToken; token; token = token.next) {
    tokens += 1;
  }
  // Without locations (never from Apollo), assume a token every 4 characters.
  return 2 * characters + 256 * (document.loc ? tokens : Math.ceil(query.length / 4)) + 8 * 1024;
}

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
  private readonly entries = new Map<string, { operation: PreparedOperation; bytes: number }>();
  private readonly maxEntries: number;
  private readonly maxBytes: number;
  private readonly maxEntryBytes: number;
  private totalBytes = 0;

  constructor(private readonly options: PreparedOperationsOptions) {
    this.maxEntries = options.maxEntries ?? DEFAULT_MAX_ENTRIES;
    this.maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
    this.maxEntryBytes = Math.min(options.maxEntryBytes ?? DEFAULT_MAX_ENTRY_BYTES, this.maxBytes);
  }

  get size(): number {
    return this.entries.size;
  }

  /** What the entries take, by {@link estimateBytes}. */
  get bytes(): number {
    return this.totalBytes;
  }

  get(query: string, operationName: string | null | undefined): PreparedOperation | undefined {
    return this.entries.get(keyOf(query, operationName))?.operation;
  }

  /**
   * Keeps an operation Apollo validated and resolved for this exact request text and operation name, unless it
   * is estimated over `maxEntryBytes`; drops the oldest to stay within `maxEntries` and `maxBytes`.
   */
  add(
    query: string,
    operationName: string | null | undefined,
    document: DocumentNode,
    operation: OperationDefinitionNode,
  ): void {
    // Cheap before counting tokens: the text alone takes 2 bytes a character.
    if (2 * (query.length + (operationName?.length ?? 0)) > this.maxEntryBytes) {
      return;
    }
    const key = keyOf(query, operationName);
    if (this.entries.has(key)) {
      return;
    }
    const bytes = estimateBytes(query, operationName, document);
    if (bytes > this.maxEntryBytes) {
      return;
    }
    for (const [oldest, entry] of this.entries) {
      if (this.entries.size < this.maxEntries && this.totalBytes + bytes <= this.maxBytes) {
        break;
      }
      this.entries.delete(oldest);
      this.totalBytes -= entry.bytes;
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
      operation: {
        document,
        operation,
        operationName: name,
        fragments,
        costs: new Map(),
        nullSensitiveVariables: nullSensitiveVariables(schema, document),
        run,
      },
      bytes,
    });
    this.totalBytes += bytes;
  }
}
