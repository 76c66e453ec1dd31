import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
const tsc = join(root, 'node_modules/typescript/bin/tsc');

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sessions-client-types-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Runs the repository's tsc settings on one file; resolves to tsc's exit code and its diagnostics. */
async function typeCheck(source: string): Promise<{ code: number; diagnostics: string[] }> {
  // .mts: the temporary directory has no package.json, and a .ts file there would be CommonJS under NodeNext.
  await writeFile(join(dir, 'usage.mts'), source);
  await writeFile(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      extends: join(root, 'tsconfig.json'),
      compilerOptions: { typeRoots: [join(root, 'node_modules/@types')], noUnusedLocals: false },
      files: ['usage.mts'],
      include: [],
    }),
  );
  const result = await promisify(execFile)(process.execPath, [tsc, '-p', dir, '--pretty', 'false']).then(
    ({ stdout }) => ({ code: 0, stdout }),
    (error: { code: number; stdout: string }) => ({ code: error.code, stdout: error.stdout }),
  );
  return {
    code: result.code,
    diagnostics: result.stdout.split('\n').filter((line) => line.includes('error TS')),
  };
}

describe('the typed client under tsc', () => {
  it('accepts right calls and rejects wrongly-typed ones with the expected diagnostics', async () => {
    const client = join(root, 'client/src/index.js');
    const { code, diagnostics } = await typeCheck(
      [
        `import { createSessionsClient } from ${JSON.stringify(client)};`,
        `const client = createSessionsClient({ url: 'http://127.0.0.1:4000/graphql' });`,
        `await client.searchSession({ limit: 10, sortBy: 'exp', sortOrder: 'descending', fieldValuePair: 'state=authenticated' });`,
        `await client.searchSession({ limit: '10' });`,
        `await client.getSessionById(42);`,
        `await client.searchSession({ sortOrder: 'down' });`,
      ].join('\n'),
    );
    expect(code).not.toBe(0);
    // Exactly one diagnostic per wrong line: the right call (line 3) and the import compile.
    expect(diagnostics).toHaveLength(3);
    expect(diagnostics[0]).toMatch(
      /usage\.mts\(4,\d+\): error TS2322: Type 'string' is not assignable to type 'number'/,
    );
    expect(diagnostics[1]).toMatch(
      /usage\.mts\(5,\d+\): error TS2345: Argument of type 'number' is not assignable to parameter of type 'string'/,
    );
    expect(diagnostics[2]).toMatch(/usage\.mts\(6,\d+\): error TS2322: Type '"down"' is not assignable/);
  }, 20_000);
});
