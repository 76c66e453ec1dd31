import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startStack, type Stack } from '../helpers/stack.js';

/**
 * One request must cost CPU in proportion to its size, so that MAX_BODY_BYTES and MAX_COST bound what one client can
 * take from the event loop. A 1 MB `_entities` request holds ~19,000 representations; a step quadratic in them cost
 * seconds of CPU (19,000 users: 5-6 s). Not a timed test: each case compares the CPU time of this process (the
 * server, the emulator and the client) for 19,000 representations with that for 1,900, measured in the same run,
 * so a slow or loaded machine slows both.
 */
let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ emulator: { sessionCount: 40 } });
});

afterAll(async () => {
  await stack.close();
});

const SMALL = 1_900;
const LARGE = 19_000;
/**
 * CPU(LARGE) / CPU(SMALL) at most this. Linear work measured 7-9 (below 10: the small request's fixed costs weigh
 * more), 3-4 past the single-read caps (most of the small request is its 100 upstream reads); the user loader that
 * was quadratic in the keys of a batch measured 27.
 */
const MAX_RATIO = 15;

async function post(body: string) {
  const response = await fetch(`${stack.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  });
  return (await response.json()) as { data?: { _entities?: unknown[] }; errors?: unknown[] };
}

/** CPU microseconds of this process per request, the mean of `runs` requests. */
async function cpuOf(body: string, runs: number): Promise<number> {
  let total = 0;
  for (let run = 0; run < runs; run += 1) {
    const before = process.cpuUsage();
    const json = await post(body);
    const used = process.cpuUsage(before);
    expect(json.data?._entities).toBeDefined();
    total += used.user + used.system;
  }
  return total / runs;
}

/** CPU(LARGE) / CPU(SMALL) for `_entities` with this selection over these representations. */
async function costRatio(selection: string, representation: (i: number) => object): Promise<number> {
  const bodyOf = (count: number) =>
    JSON.stringify({
      query: `query E($r: [_Any!]!) { _entities(representations: $r) { ${selection} } }`,
      variables: { r: Array.from({ length: count }, (_, i) => representation(i)) },
    });
  const small = bodyOf(SMALL);
  const large = bodyOf(LARGE);
  // Compiles the code on the way and lets the fast path take the operation, so both sizes run the same code.
  await post(small);
  await post(small);
  const perSmall = await cpuOf(small, 5);
  return (await cpuOf(large, 2)) / perSmall;
}

describe('the CPU one _entities request costs grows in proportion to its representations', () => {
  it('users batched into searches (inums of 16+ characters)', async () => {
    const ratio = await costRatio('... on User { activeSessionCount }', (i) => ({
      __typename: 'User',
      inum: `0000-user-inum-${String(i).padStart(8, '0')}`,
    }));
    expect(ratio).toBeLessThan(MAX_RATIO);
  }, 120_000);

  it('users past the single-read cap (short inums): one error for all of them', async () => {
    const ratio = await costRatio('... on User { activeSessionCount }', (i) => ({
      __typename: 'User',
      inum: `u${i}`,
    }));
    expect(ratio).toBeLessThan(MAX_RATIO);
  }, 120_000);

  it('sessions past the single-read cap (short sids), mixed with a user', async () => {
    const ratio = await costRatio('... on Session { sid }', (i) =>
      i === 0 ? { __typename: 'User', inum: 'u0' } : { __typename: 'Session', sid: `s${i}` },
    );
    expect(ratio).toBeLessThan(MAX_RATIO);
  }, 120_000);
});
