import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type Emulator, startEmulator } from '../../src/emulator/emulator.js';

const API_KEY = 'shutdown-test-key';

/** The real service (`src/index.ts`) as a child process, against `emulator`; resolves with its GraphQL URL. */
async function startService(
  emulator: Emulator,
): Promise<{ child: ChildProcess; url: string; log: unknown[] }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/index.ts'], {
    cwd: process.cwd(),
    env: {
      PATH: process.env.PATH,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      JANS_CONFIG_API_URL: emulator.configApiUrl,
      JANS_TOKEN_URL: emulator.tokenUrl,
      JANS_CLIENT_ID: emulator.clientId,
      JANS_CLIENT_SECRET: emulator.clientSecret,
      JANS_API_KEYS: API_KEY,
      JANS_TIMEOUT_MS: '5000',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log: unknown[] = [];
  const lines = createInterface({ input: child.stdout! });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the service did not start in time')), 15_000);
    lines.on('line', (line) => {
      const entry = JSON.parse(line) as { url?: string; msg?: string };
      log.push(entry);
      if (typeof entry.url === 'string' && entry.url.endsWith('/graphql')) {
        clearTimeout(timer);
        resolve(entry.url);
      }
    });
    child.once('exit', (code) => reject(new Error(`the service exited early with ${code}`)));
  });
  return { child, url, log };
}

describe('graceful shutdown of the real process', () => {
  let emulator: Emulator;

  beforeAll(async () => {
    emulator = await startEmulator({ sessionCount: 30 });
  });
  afterAll(async () => {
    await emulator.close();
  });

  it('SIGTERM during a slow query: the query completes, new connections are refused, exit code 0', async () => {
    const { child, url, log } = await startService(emulator);
    const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    try {
      emulator.setFault('search', { latencyMs: 1500 });
      const query = fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': API_KEY },
        body: JSON.stringify({ query: '{ sessions(page: {limit: 5}) { totalCount nodes { sid } } }' }),
      });
      // Wait until the query is in flight at Janssen, then ask the service to stop.
      while (emulator.count('search') === 0) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      const signalledAt = performance.now();
      child.kill('SIGTERM');

      await new Promise((resolve) => setTimeout(resolve, 100));
      await expect(fetch(url, { method: 'POST', body: '{}' })).rejects.toThrow();

      const response = await query;
      expect(response.status).toBe(200);
      const body = (await response.json()) as {
        data?: { sessions: { totalCount: number; nodes: unknown[] } };
      };
      expect(body.data?.sessions.totalCount).toBe(30);
      expect(body.data?.sessions.nodes).toHaveLength(5);

      const [code, signal] = await exited;
      expect({ code, signal }).toEqual({ code: 0, signal: null });
      // It exits once the query is answered, not after the keep-alive or the 10 s hard limit.
      expect(performance.now() - signalledAt).toBeLessThan(4000);
      expect(log).toContainEqual(expect.objectContaining({ msg: 'stopped' }));
    } finally {
      emulator.setFault('search', null);
      if (child.exitCode === null) {
        child.kill('SIGKILL');
      }
    }
  });
});
