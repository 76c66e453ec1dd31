import type { ApolloServerPlugin } from '@apollo/server';
import {
  type ASTVisitor,
  type FieldNode,
  type DocumentNode,
  type FragmentDefinitionNode,
  getArgumentValues,
  getNamedType,
  getNullableType,
  GraphQLError,
  type GraphQLField,
  type GraphQLSchema,
  isListType,
  Kind,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
} from 'graphql';

const tooComplex = (message: string, nodes?: readonly FieldNode[] | OperationDefinitionNode) =>
  new GraphQLError(message, {
    ...(nodes ? { nodes: Array.isArray(nodes) ? nodes : [nodes as OperationDefinitionNode] } : {}),
    extensions: { code: 'QUERY_TOO_COMPLEX', http: { status: 400 } },
  });

/** Refuses operations with more than `max` aliased fields (alias bombs that multiply one expensive field). */
export function aliasLimitRule(max: number) {
  return (context: ValidationContext): ASTVisitor => ({
    OperationDefinition(node) {
      let aliases = 0;
      visitFields(node.selectionSet, fragmentsOf(context), (field) => {
        if (field.alias) {
          aliases += 1;
        }
      });
      if (aliases > max) {
        context.reportError(tooComplex(`Operation uses ${aliases} aliases; the limit is ${max}`, node));
      }
    },
  });
}

/**
 * Refuses subscriptions while validating: the schema has none, and graphql-js would only fail them at execution,
 * as an internal error ("Schema is not configured to execute subscription operation").
 */
export function noSubscriptionsRule(context: ValidationContext): ASTVisitor {
  return {
    OperationDefinition(node) {
      if (node.operation === 'subscription') {
        context.reportError(
          new GraphQLError('Subscriptions are not supported: this API has queries and mutations only', {
            nodes: [node],
          }),
        );
      }
    },
  };
}

/** Refuses operations selecting more than `max` root fields (each may cost upstream calls). */
export function rootFieldLimitRule(max: number) {
  return (context: ValidationContext): ASTVisitor => ({
    OperationDefinition(node) {
      let roots = 0;
      visitFields(
        node.selectionSet,
        fragmentsOf(context),
        (field) => {
          if (!field.name.value.startsWith('__')) {
            roots += 1;
          }
        },
        false,
      );
      if (roots > max) {
        context.reportError(tooComplex(`Operation selects ${roots} root fields; the limit is ${max}`, node));
      }
    },
  });
}

function fragmentsOf(context: ValidationContext): Map<string, FragmentDefinitionNode> {
  return new Map(
    context
      .getDocument()
      .definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION)
      .map((d) => [d.name.value, d]),
  );
}

/** Calls `onField` for every field (through fragments, each fragment once per path); not nested when !deep. */
function visitFields(
  selectionSet: SelectionSetNode,
  fragments: Map<string, FragmentDefinitionNode>,
  onField: (field: FieldNode) => void,
  deep = true,
  visiting = new Set<string>(),
): void {
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) {
      onField(selection);
      if (deep && selection.selectionSet) {
        visitFields(selection.selectionSet, fragments, onField, deep, visiting);
      }
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      visitFields(selection.selectionSet, fragments, onField, deep, visiting);
    } else {
      const fragment = fragments.get(selection.name.value);
      if (fragment && !visiting.has(fragment.name.value)) {
        visiting.add(fragment.name.value);
        visitFields(fragment.selectionSet, fragments, onField, deep, visiting);
        visiting.delete(fragment.name.value);
      }
    }
  }
}

/** Default list sizes, as the resolvers apply them, when an argument is not given. */
const DEFAULT_PAGE = 50;
const DEFAULT_BULK_MAX = 100;

/**
 * How many items a field can return, from its size argument: `page.limit`, `first`/`last`, `max`, or the
 * number of `_entities` representations; undefined for a field without one.
 */
function sizeOf(field: GraphQLField<unknown, unknown>, args: Record<string, unknown>): number | undefined {
  if (field.args.some((a) => a.name === 'page')) {
    return (args.page as { limit?: number | null } | null | undefined)?.limit ?? DEFAULT_PAGE;
  }
  if (field.args.some((a) => a.name === 'first')) {
    return (
      (args.first as number | null | undefined) ?? (args.last as number | null | undefined) ?? DEFAULT_PAGE
    );
  }
  if (field.name === 'deleteSessions') {
    return (args.max as number | null | undefined) ?? DEFAULT_BULK_MAX;
  }
  if (field.name === '_entities' && Array.isArray(args.representations)) {
    return Math.max(args.representations.length, 1);
  }
  return undefined;
}

/**
 * The cost of an operation: every field costs 1, and the lists a field returns count once per item its size
 * argument allows (`sessions(page: {limit: 200}) { nodes { ... } }` counts `nodes` 200 times). Nested pages
 * multiply: `sessions(page: {limit: 200}) { nodes { user { sessions { nodes { sid } } } } }` costs about
 * 200 x 50 x 2, what it could make the upstream return, not what it happens to.
 */
export function operationCost(
  schema: GraphQLSchema,
  operation: OperationDefinitionNode,
  fragments: Record<string, FragmentDefinitionNode>,
  variables: Record<string, unknown>,
): number {
  const root =
    operation.operation === 'mutation'
      ? schema.getMutationType()
      : operation.operation === 'subscription'
        ? schema.getSubscriptionType()
        : schema.getQueryType();
  /** `size`: the item count that lists directly below come with (from the field that holds the argument). */
  const costOf = (
    parent: unknown,
    selectionSet: SelectionSetNode,
    size: number,
    visiting: Set<string>,
  ): number => {
    let total = 0;
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FIELD) {
        const parentType = parent as { getFields?: () => Record<string, GraphQLField<unknown, unknown>> };
        const field = parentType.getFields?.()[selection.name.value];
        if (!field) {
          total += 1; // __typename and introspection
          continue;
        }
        let own: number | undefined;
        try {
          own = sizeOf(field, getArgumentValues(field, selection, variables));
        } catch {
          own = undefined; // invalid arguments are reported by validation or execution
        }
        const list = isListType(getNullableType(field.type));
        const count = list ? (own ?? size) : 1;
        const childSize = list ? 1 : (own ?? 1);
        const inner = selection.selectionSet
          ? costOf(getNamedType(field.type), selection.selectionSet, childSize, visiting)
          : 0;
        total += 1 + count * inner;
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const typeName = selection.typeCondition?.name.value;
        const type = typeName ? schema.getType(typeName) : parent;
        total += costOf(type ?? parent, selection.selectionSet, size, visiting);
      } else {
        const fragment = fragments[selection.name.value];
        if (fragment && !visiting.has(fragment.name.value)) {
          visiting.add(fragment.name.value);
          const type = schema.getType(fragment.typeCondition.name.value);
          total += costOf(type ?? parent, fragment.selectionSet, size, visiting);
          visiting.delete(fragment.name.value);
        }
      }
    }
    return total;
  };
  return root ? costOf(root, operation.selectionSet, 1, new Set()) : 0;
}

/** A document's fragment definitions by name, as `operationCost` takes them. */
export function fragmentsByName(document: DocumentNode): Record<string, FragmentDefinitionNode> {
  const fragments: Record<string, FragmentDefinitionNode> = {};
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) {
      fragments[definition.name.value] = definition;
    }
  }
  return fragments;
}

/** Refuses operations whose cost is over `maxCost`, after variables are known and before any resolver runs. */
export function costLimitPlugin(maxCost: number): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ schema, operation, document, request }) {
          if (!operation) {
            return;
          }
          const cost = operationCost(schema, operation, fragmentsByName(document), request.variables ?? {});
          if (cost > maxCost) {
            throw tooComplex(`Operation cost ${cost} is over the limit of ${maxCost} (page sizes multiply)`);
          }
        },
      };
    },
  };
}
