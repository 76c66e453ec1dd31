import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';

import { describe, expect, it } from 'vitest';

import { ConfigError, ENVIRONMENT, loadConfig } from '../src/config.js';

const run = promisify(execFile);

/** Runs the real entry point from source with exactly `env` (plus PATH), never the developer's environment. */
async function start(args: string[], env: Record<string, string>) {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', 'src/index.ts', ...args], {
      env: { PATH: process.env.PATH ?? '', ...env },
      timeout: 20_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const { code, stdout, stderr } = error as { code: number; stdout: string; stderr: string };
    return { code, stdout, stderr };
  }
}

describe('loadConfig', () => {
  it('names each bad variable, with what it got, in one message', () => {
    const attempt = () =>
      loadConfig({
        PORT: 'eighty',
        JANS_TIMEOUT_MS: '5',
        JANS_CONFIG_API_URL: 'https://jans.example.org/api',
      });
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(/PORT: must be a whole number from 0 to 65535 \(got "eighty"\)/);
    expect(attempt).toThrow(/JANS_TIMEOUT_MS: must be a whole number/);
    expect(attempt).toThrow(/JANS_CONFIG_API_URL: must be the config API base, ending in \/jans-config-api/);
  });

  it('never echoes a secret it refuses', () => {
    expect(() => loadConfig({ JANS_API_KEYS: 'ok,sha256:not-hex-secret' })).toThrow(/JANS_API_KEYS: must be/);
    expect(() => loadConfig({ JANS_API_KEYS: 'ok,sha256:not-hex-secret' })).not.toThrow(/not-hex-secret/);
  });
});

describe('the environment list', () => {
  it('is documented in README.md and .env.example, variable by variable', () => {
    const readme = readFileSync('README.md', 'utf8');
    const example = readFileSync('.env.example', 'utf8');
    const names = Object.keys(ENVIRONMENT);
    expect(names.filter((name) => !readme.includes(`\`${name}\``))).toEqual([]);
    expect(names.filter((name) => !new RegExp(`^#? ?${name}=`, 'm').test(example))).toEqual([]);
  });
});

// Each start compiles the sources with tsx (seconds): run both at once.
describe.concurrent('npm start', () => {
  it('exits with code 2 and a message naming the one bad variable', async () => {
    const { code, stderr, stdout } = await start([], { PORT: 'not-a-port' });
    expect(code).toBe(2);
    expect(stderr).toContain('Invalid configuration');
    expect(stderr).toContain('PORT: must be a whole number from 0 to 65535 (got "not-a-port")');
    expect(stderr.split('\n').filter((line) => /^\s+[A-Z_]+:/.test(line))).toHaveLength(1);
    expect(stdout).toBe('');
  });

  it('lists every variable with its meaning and default under --help', async () => {
    const { code, stdout } = await start(['--help'], {});
    expect(code).toBe(0);
    const rows = stdout.split('\n');
    for (const [name, doc] of Object.entries(ENVIRONMENT)) {
      const row = rows.find((line) => line.startsWith(`${name} `));
      expect(row, name).toBeDefined();
      expect(row).toContain(doc.meaning);
      expect(row).toContain(doc.default || '-');
    }
  });
});
