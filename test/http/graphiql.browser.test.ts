import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { type BrowserContext, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { CHROMIUM, CHROMIUM_AVAILABLE, requireChromium } from '../helpers/chromium.js';
import { startStack, type Stack } from '../helpers/stack.js';

const SCREENSHOT = path.resolve('test-results/graphiql.png');

describe('GraphiQL page in Chromium', () => {
  let stack: Stack;
  let browser: BrowserContext;
  let profile: string;

  beforeAll(async () => {
    if (!CHROMIUM_AVAILABLE) {
      return;
    }
    stack = await startStack();
    profile = await mkdtemp(path.join(tmpdir(), 'graphiql-chromium-'));
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1400, height: 900 },
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        // Any host but loopback fails to resolve: the page cannot reach a CDN even if it tried.
        '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
      ],
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.close();
    if (profile) {
      await rm(profile, { recursive: true, force: true });
    }
  });

  it('runs the Sessions example offline and shows sessions in the result pane', async (ctx) => {
    requireChromium(ctx);
    const page = await browser.newPage();
    const requested: string[] = [];
    const problems: string[] = [];
    page.on('request', (request) => requested.push(request.url()));
    // CSP violations and script errors reach the console as errors.
    page.on('console', (message) => {
      if (message.type() === 'error') {
        problems.push(message.text());
      }
    });
    page.on('pageerror', (error) => problems.push(error.message));
    page.on('response', async (response) => {
      if (response.status() >= 400) {
        problems.push(
          `${response.status()} ${response.url()} ${response.request().postData()} ${await response.text()}`,
        );
      }
    });

    await page.goto(`${stack.url}/graphql`);
    await expect.poll(() => page.locator('.graphiql-tab').count(), { timeout: 15_000 }).toBe(6);
    await page.locator('.graphiql-execute-button').click();

    const result = page.locator('.result-window');
    await expect.poll(() => result.innerText(), { timeout: 15_000 }).toMatch(/"totalCount": \d+/);
    const text = await result.innerText();
    expect(text).toContain(`"totalCount": ${stack.emulator.store.all().length}`);
    const sids = new Set(stack.emulator.store.all().map((session) => session.sid));
    const shown = [...text.matchAll(/"sid": "([^"]+)"/g)].map((match) => match[1]);
    expect(shown.length).toBeGreaterThan(0);
    expect(shown.every((sid) => sids.has(sid!))).toBe(true);

    // Demo mode: callers need no credentials, so the headers editor starts as a bare `{}`.
    await page.getByRole('button', { name: 'Headers' }).click();
    const headerLines = page.locator('.graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror-line');
    expect((await headerLines.allInnerTexts()).join('\n')).toBe('{}');

    // Dialogs insert inline styles: the CSP must let them through (a violation lands in `problems`).
    await page.getByLabel('Open settings dialog').click();
    await expect.poll(() => page.getByRole('dialog').count()).toBe(1);
    await page.keyboard.press('Escape');

    await mkdir(path.dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT });

    const offLoopback = requested.filter(
      (url) => /^https?:/.test(url) && new URL(url).hostname !== '127.0.0.1',
    );
    expect(offLoopback).toEqual([]);
    expect(requested.some((url) => url.includes('/graphiql/assets/graphiql-'))).toBe(true);
    expect(problems).toEqual([]);
  }, 60_000);
});
