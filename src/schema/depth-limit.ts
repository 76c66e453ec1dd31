import {
  type ASTVisitor,
  type FragmentDefinitionNode,
  GraphQLError,
  Kind,
  type SelectionSetNode,
  type ValidationContext,
} from 'graphql';

/**
 * Rejects operations nested deeper than `maxDepth` fields (fragments followed), before any resolver runs.
 * Introspection root fields are not counted: the standard introspection query of every GraphQL tool nests
 * `ofType` deeper than any real operation needs, and introspection is off in production anyway.
 */
export function depthLimitRule(maxDepth: number) {
  return (context: ValidationContext): ASTVisitor => {
    const fragments = new Map<string, FragmentDefinitionNode>();
    for (const definition of context.getDocument().definitions) {
      if (definition.kind === Kind.FRAGMENT_DEFINITION) {
        fragments.set(definition.name.value, definition);
      }
    }
    const depthOf = (selectionSet: SelectionSetNode, visiting: Set<string>, top = false): number => {
      let deepest = 0;
      for (const selection of selectionSet.selections) {
        if (selection.kind === Kind.FIELD) {
          if (top && selection.name.value.startsWith('__')) {
            continue;
          }
          const inner = selection.selectionSet ? depthOf(selection.selectionSet, visiting) : 0;
          deepest = Math.max(deepest, 1 + inner);
        } else if (selection.kind === Kind.INLINE_FRAGMENT) {
          deepest = Math.max(deepest, depthOf(selection.selectionSet, visiting, top));
        } else {
          const name = selection.name.value;
          const fragment = fragments.get(name);
          // A fragment cycle is reported by graphql-js's own NoFragmentCycles rule.
          if (fragment && !visiting.has(name)) {
            visiting.add(name);
            deepest = Math.max(deepest, depthOf(fragment.selectionSet, visiting, top));
            visiting.delete(name);
          }
        }
        if (deepest > maxDepth) {
          return deepest;
        }
      }
      return deepest;
    };
    return {
      OperationDefinition(node) {
        const depth = depthOf(node.selectionSet, new Set(), true);
        if (depth > maxDepth) {
          context.reportError(
            new GraphQLError(`Query is nested more than ${maxDepth} levels deep`, {
              nodes: [node],
              extensions: { code: 'QUERY_TOO_COMPLEX' },
            }),
          );
        }
        return false;
      },
    };
  };
}
