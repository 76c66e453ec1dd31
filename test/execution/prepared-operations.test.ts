import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startStack, type Stack } from '../helpers/stack.js';

/**
 * The fast path keeps each request text Apollo resolved (`PreparedOperations`), and request texts are the
 * client's: kept by count alone, 800 distinct 1 MB texts took the process to 2.1 GB of RSS. What it keeps is
 * bounded in bytes, and what it does not keep is still answered, by Apollo.
 */
let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ emulator: { sessionCount: 5 } });
});

afterAll(async () => {
  await stack.close();
});

async function post(query: string) {
  const response = await fetch(`${stack.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query }),
  });
  return { status: response.status, json: (await response.json()) as { data?: unknown; errors?: unknown } };
}

/** Posts `query` once; whether the fast path answered it. */
async function answeredFast(query: string): Promise<boolean> {
  const answered = stack.server.fastPath.answered;
  expect((await post(query)).status).toBe(200);
  return stack.server.fastPath.answered === answered + 1;
}

/** Posts `query` twice; whether the repeat was answered by the fast path. */
async function repeatAnsweredFast(query: string): Promise<boolean> {
  await post(query);
  return answeredFast(query);
}

describe('the fast path keeps request texts within a byte budget', () => {
  const operations = () => stack.server.fastPath.operations;

  it('keeps an ordinary operation', async () => {
    expect(await repeatAnsweredFast('query Ordinary { sessions(page: { limit: 1 }) { totalCount } }')).toBe(
      true,
    );
  });

  it('answers a 1 MB text (a 1 MB operation name is one token) through Apollo each time, keeping nothing', async () => {
    const size = operations().size;
    const bytes = operations().bytes;
    for (let i = 0; i < 3; i += 1) {
      const query = `query N${i}${'x'.repeat(1_000_000)} { __typename }`;
      expect(await repeatAnsweredFast(query)).toBe(false);
      expect((await post(query)).json).toEqual({ data: { __typename: 'Query' } });
    }
    expect(operations().size).toBe(size);
    expect(operations().bytes).toBe(bytes);
  });

  it('does not keep an 18 KB text of 4,500 tokens either: its parsed document takes ~1 MB', async () => {
    const representations = Array.from({ length: 500 }, (_, i) => `{__typename:"Session",sid:"s${i}"}`);
    const query = `query Dense { _entities(representations: [${representations.join(',')}]) { __typename } }`;
    expect(query.length).toBeLessThan(20_000);
    expect(await repeatAnsweredFast(query)).toBe(false);
  });

  it('drops the oldest texts to stay within the budget, and still answers the newest fast', async () => {
    const padding = '#'.repeat(60_000);
    const texts = Array.from({ length: 250 }, (_, i) => `query Padded${i} { __typename }\n${padding}`);
    for (const query of texts) {
      expect((await post(query)).status).toBe(200);
    }
    // 250 entries of ~130 KB would be ~32 MB.
    expect(operations().bytes).toBeLessThanOrEqual(24 * 1024 * 1024);
    expect(operations().size).toBeLessThan(texts.length);
    expect(await answeredFast(texts.at(-1)!)).toBe(true);
    expect(await answeredFast(texts[0]!)).toBe(false);
  }, 60_000);
});
