import { readFile } from 'node:fs/promises';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startStack, type Stack } from '../helpers/stack.js';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ emulator: { sessionCount: 3 } });
});

afterAll(async () => {
  await stack.close();
});

describe('schema.graphql', () => {
  it('equals the SDL the running server gives a gateway (_service { sdl })', async () => {
    const response = await stack.gql<{ _service: { sdl: string } }, object>('{ _service { sdl } }');
    const served = response.body.data!._service.sdl;
    const file = await readFile(new URL('../../schema.graphql', import.meta.url), 'utf8');
    const body = file.replace(/^(#.*\n)+\n/, '').trimEnd();
    expect(body, 'schema.graphql is stale: run `npm run schema:emit` and commit it').toBe(served.trimEnd());
  });

  it('declares Session as a federation entity keyed by sid', async () => {
    const file = await readFile(new URL('../../schema.graphql', import.meta.url), 'utf8');
    expect(file).toMatch(/type Session\s+@key\(fields: "sid"\)/);
    expect(file).toContain('@link(url: "https://specs.apollo.dev/federation/v2.7"');
  });
});
