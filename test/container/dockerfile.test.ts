import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

interface Instruction {
  keyword: string;
  args: string;
}

interface Stage {
  from: string;
  name: string | undefined;
  instructions: Instruction[];
}

/** Dockerfile instructions grouped by stage, continuation lines joined and comments dropped. */
function parseDockerfile(text: string): Stage[] {
  const logical = text
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  const stages: Stage[] = [];
  for (const line of logical) {
    const [, keyword = '', args = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    if (keyword.toUpperCase() === 'FROM') {
      const [, from = '', name] = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args) ?? [];
      stages.push({ from, name, instructions: [] });
    } else {
      stages.at(-1)?.instructions.push({ keyword: keyword.toUpperCase(), args });
    }
  }
  return stages;
}

const stages = parseDockerfile(readFileSync('Dockerfile', 'utf8'));
const runtime = stages.at(-1)!;
const all = (stage: Stage, keyword: string) =>
  stage.instructions
    .filter((instruction) => instruction.keyword === keyword)
    .map((instruction) => instruction.args);

describe('Dockerfile', () => {
  it('builds in one stage and runs from a later one', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const build = stages.find((stage) => all(stage, 'RUN').some((run) => /npm run build/.test(run)));
    expect(build?.name).toBeDefined();
    expect(build).not.toBe(runtime);
    expect(all(runtime, 'COPY')).toContainEqual(expect.stringMatching(`^--from=${build!.name} .*dist`));
    expect(all(runtime, 'RUN').join(' ')).not.toMatch(/npm run build/);
  });

  it('ships production dependencies only', () => {
    const deps = stages.find((stage) => all(stage, 'RUN').some((run) => /npm ci\b.*--omit=dev/.test(run)));
    expect(deps).toBeDefined();
    const copies = all(runtime, 'COPY').filter((copy) => /node_modules/.test(copy));
    expect(copies).toHaveLength(1);
    expect(copies[0]).toMatch(deps === runtime ? /^(?!--from)/ : new RegExp(`^--from=${deps!.name} `));
  });

  it('runs as a non-root user, in production mode, with node itself as the process', () => {
    const user = all(runtime, 'USER').at(-1);
    expect(user).toBeDefined();
    expect(user).not.toMatch(/^(root|0)(:|$)/);
    expect(all(runtime, 'ENV').join(' ')).toMatch(/\bNODE_ENV[= ]production\b/);
    // Not `npm start`: that rebuilds first (needing dev dependencies) and would not pass SIGTERM on.
    // The same node flags as `npm start` (memory: bench/results/levers.md).
    const start = (JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: { start: string } }).scripts
      .start;
    expect(JSON.parse(all(runtime, 'CMD').at(-1) ?? '[]')).toEqual(start.split(' '));
  });

  it('exposes port 4000 and checks its health over HTTP', () => {
    expect(all(runtime, 'EXPOSE')).toContain('4000');
    const healthcheck = all(runtime, 'HEALTHCHECK').at(-1);
    expect(healthcheck).toMatch(/\/(healthz|readyz)\b/);
    expect(healthcheck).toMatch(/--interval=\S+/);
  });

  it('keeps local installs, builds and secrets out of the build context', () => {
    const ignored = readFileSync('.dockerignore', 'utf8').split('\n');
    expect(ignored).toEqual(expect.arrayContaining(['node_modules', 'dist', '.env', '.git']));
  });
});
