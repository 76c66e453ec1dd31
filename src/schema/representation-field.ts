/**
 * Errors about one `_entities` representation name it as every `BAD_USER_INPUT` names its input, by argument path:
 * `representations.<index>` for the representation as a whole, `representations.<index>.<key>` for one of its keys
 * (`extensions.field`, and the start of the message).
 *
 * @apollo/subgraph hands each reference resolver the representation object without its index, so the `_entities`
 * resolver (build-schema.ts) notes every index first. Weak keys: each request's representations are its own
 * objects (parsed from its variables or its document), and nothing is kept once they are gone.
 */
const positions = new WeakMap<object, number>();

/** Notes where each representation sits, before any is resolved. */
export function notePosition(reference: unknown, index: number): void {
  if (typeof reference === 'object' && reference !== null) {
    positions.set(reference, index);
  }
}

/** Where a representation sits in `representations`, if noted. */
export function positionOf(reference: object): number | undefined {
  return positions.get(reference);
}

/** `representations.<index>`, or with `key` the path to that key; `representations` for one never noted. */
export function representationField(reference: object, key?: string): string {
  return representationPath(positions.get(reference), key);
}

/** The same from a known index. */
export function representationPath(index: number | undefined, key?: string): string {
  const base = index === undefined ? 'representations' : `representations.${index}`;
  return key === undefined ? base : `${base}.${key}`;
}

/** What @apollo/subgraph does to each entity it resolves, so `_Entity`'s type resolution finds its type. */
export function withTypename<T extends object>(value: T, typename: string): T {
  Object.defineProperty(value, '__typename', { value: typename });
  return value;
}
