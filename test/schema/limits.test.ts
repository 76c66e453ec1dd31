import { type FragmentDefinitionNode, Kind, type OperationDefinitionNode, parse } from 'graphql';
import { beforeAll, describe, expect, it } from 'vitest';

import { buildAppSchema } from '../../src/schema/build-schema.js';
import { operationCost } from '../../src/schema/limits.js';

let schema: Awaited<ReturnType<typeof buildAppSchema>>;

beforeAll(async () => {
  schema = await buildAppSchema();
});

function cost(source: string, variables: Record<string, unknown> = {}): number {
  const document = parse(source);
  const operation = document.definitions.find(
    (d) => d.kind === Kind.OPERATION_DEFINITION,
  ) as OperationDefinitionNode;
  const fragments = Object.fromEntries(
    document.definitions
      .filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION)
      .map((d) => [d.name.value, d]),
  );
  return operationCost(schema, operation, fragments, variables);
}

describe('operationCost', () => {
  it('counts each field once without lists', () => {
    expect(cost('{ session(sid: "x") { sid clientId } }')).toBe(3);
  });

  it('multiplies a page’s list by its limit, and not its scalar fields', () => {
    expect(cost('{ sessions(page: { limit: 10 }) { totalCount nodes { sid clientId } } }')).toBe(
      1 + 1 + 1 + 10 * 2,
    );
  });

  it('uses the default page size without arguments, and variables when given', () => {
    expect(cost('{ sessions { nodes { sid } } }')).toBe(1 + 1 + 50);
    expect(cost('query($p: PageInput) { sessions(page: $p) { nodes { sid } } }', { p: { limit: 7 } })).toBe(
      1 + 1 + 7,
    );
  });

  it('nested pages multiply', () => {
    const nested = cost(
      '{ sessions(page: { limit: 200 }) { nodes { user { sessions(page: { limit: 200 }) { nodes { sid } } } } } }',
    );
    expect(nested).toBeGreaterThan(200 * 200);
  });

  it('counts connections by first/last, _entities by representations, and deleteSessions by max', () => {
    expect(cost('{ sessionsConnection(first: 20) { edges { node { sid } } } }')).toBe(1 + 1 + 20 * 2);
    expect(
      cost('query($r: [_Any!]!) { _entities(representations: $r) { ... on Session { sid } } }', {
        r: [{}, {}, {}],
      }),
    ).toBe(1 + 3 * 1);
    expect(
      cost('mutation { deleteSessions(filter: { acr: "x" }, max: 500) { matched sessions { sid } } }'),
    ).toBe(1 + 1 + 1 + 500);
  });

  it('follows fragments', () => {
    expect(
      cost(
        '{ ...Q } fragment Q on Query { sessions(page: { limit: 4 }) { nodes { ...S } } } fragment S on Session { sid }',
      ),
    ).toBe(1 + 1 + 4);
  });
});
