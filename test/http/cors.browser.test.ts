import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { type BrowserContext, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { CHROMIUM, CHROMIUM_AVAILABLE, requireChromium } from '../helpers/chromium.js';
import { startStack, type Stack } from '../helpers/stack.js';

/**
 * An admin console on another origin calling the API from a real browser: Chromium enforces CORS itself (the
 * preflight, then whether the page may read the answer and which headers), so this is the check that matters.
 */
describe('a browser app on another origin (Chromium)', () => {
  let allowing: Stack;
  let closed: Stack;
  let app: http.Server;
  let appOrigin: string;
  let browser: BrowserContext;
  let profile: string;

  beforeAll(async () => {
    if (!CHROMIUM_AVAILABLE) {
      return;
    }
    app = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<!doctype html><title>console</title><p>admin console</p>');
    });
    await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
    appOrigin = `http://127.0.0.1:${(app.address() as AddressInfo).port}`;
    allowing = await startStack({ env: { CORS_ORIGINS: appOrigin, JANS_API_KEYS: 'console-key' } });
    closed = await startStack({ env: { JANS_API_KEYS: 'console-key' } });
    profile = await mkdtemp(path.join(tmpdir(), 'cors-chromium-'));
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await allowing?.close();
    await closed?.close();
    await new Promise((resolve) => app?.close(resolve));
    if (profile) {
      await rm(profile, { recursive: true, force: true });
    }
  });

  /** Runs `fetch` in the console page: what the page can read, or the browser's refusal. */
  async function callFrom(target: string, apiKey: string) {
    const page = await browser.newPage();
    try {
      await page.goto(appOrigin);
      return await page.evaluate(
        async ({ url, key }) => {
          try {
            const response = await fetch(url, {
              method: 'POST',
              headers: { 'content-type': 'application/json', 'x-api-key': key, 'x-request-id': 'console-1' },
              body: JSON.stringify({
                query: '{ sessions(page: { limit: 2 }) { totalCount nodes { sid } } }',
              }),
            });
            return {
              status: response.status,
              requestId: response.headers.get('x-request-id'),
              challenge: response.headers.get('www-authenticate'),
              body: (await response.json()) as unknown,
            };
          } catch (error) {
            return { refused: String(error) };
          }
        },
        { url: `${target}/graphql`, key: apiKey },
      );
    } finally {
      await page.close();
    }
  }

  it('reads answers, request ids and refusals when its origin is in CORS_ORIGINS', async (ctx) => {
    requireChromium(ctx);
    const ok = await callFrom(allowing.url, 'console-key');
    expect(ok).toMatchObject({
      status: 200,
      requestId: 'console-1',
      body: { data: { sessions: { totalCount: allowing.emulator.store.all().length } } },
    });
    // The preflight went through our server, with the headers the page sends.
    const refused = await callFrom(allowing.url, 'wrong-key');
    expect(refused).toMatchObject({
      status: 401,
      body: { errors: [{ extensions: { code: 'UNAUTHENTICATED' } }] },
    });
    // Readable only because it is exposed: a browser hides other response headers from cross-origin pages.
    expect((refused as { challenge: string | null }).challenge).toContain('ApiKey');
  }, 60_000);

  it('is refused by the browser when CORS is off (the default)', async (ctx) => {
    requireChromium(ctx);
    const before = closed.emulator.count();
    const result = await callFrom(closed.url, 'console-key');
    expect(result).toEqual({ refused: expect.stringContaining('Failed to fetch') });
    // The preflight failed, so the POST never left the browser: Janssen saw nothing.
    expect(closed.emulator.count()).toBe(before);
  }, 60_000);
});
