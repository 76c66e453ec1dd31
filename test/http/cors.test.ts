import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ConfigError, loadConfig } from '../../src/config.js';
import { startStack, type Stack } from '../helpers/stack.js';

const QUERY = JSON.stringify({ query: '{ sessions(page: { limit: 1 }) { totalCount } }' });
const CONSOLE = 'https://admin.example.org';

async function preflight(url: string, origin: string, requestHeaders?: string) {
  return fetch(`${url}/graphql`, {
    method: 'OPTIONS',
    headers: {
      origin,
      'access-control-request-method': 'POST',
      ...(requestHeaders ? { 'access-control-request-headers': requestHeaders } : {}),
    },
  });
}

async function post(url: string, origin: string | undefined, body = QUERY) {
  return fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(origin ? { origin } : {}) },
    body,
  });
}

describe('CORS with CORS_ORIGINS set (real HTTP)', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({ env: { CORS_ORIGINS: `${CONSOLE}, http://localhost:3000` } });
  });

  afterAll(async () => {
    await stack.close();
  });

  it('answers an allowed origin preflight with its origin, the methods and the headers it asked for', async () => {
    const response = await preflight(stack.url, CONSOLE, 'content-type, authorization, x-request-id');
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe(CONSOLE);
    expect(response.headers.get('access-control-allow-methods')).toBe('GET, POST');
    expect(response.headers.get('access-control-allow-headers')).toBe(
      'content-type, authorization, x-request-id',
    );
    expect(response.headers.get('access-control-max-age')).toBe('600');
    expect(response.headers.get('access-control-allow-credentials')).toBeNull();
    expect(response.headers.get('vary')).toContain('Origin');
  });

  it('offers the usual headers when the preflight names none, or names them in a malformed list', async () => {
    for (const requested of [undefined, 'content-type, x-bad header', 'a,'.repeat(600)]) {
      const response = await preflight(stack.url, 'http://localhost:3000', requested);
      expect(response.headers.get('access-control-allow-origin')).toBe('http://localhost:3000');
      expect(response.headers.get('access-control-allow-headers')).toContain(
        'authorization, content-type, x-api-key',
      );
    }
  });

  it('gives an unlisted origin no CORS header, on the preflight and on the request', async () => {
    for (const origin of [
      'https://evil.example',
      'https://admin.example.org:8443',
      'http://admin.example.org',
    ]) {
      const pre = await preflight(stack.url, origin, 'content-type');
      expect(pre.status).toBe(204);
      expect(pre.headers.get('access-control-allow-origin')).toBeNull();
      expect(pre.headers.get('access-control-allow-headers')).toBeNull();
      const response = await post(stack.url, origin);
      expect(response.headers.get('access-control-allow-origin')).toBeNull();
      expect(response.headers.get('vary')).toBe('Origin');
    }
  });

  it('lets an allowed origin read the answer, its request id and its errors', async () => {
    const response = await post(stack.url, CONSOLE);
    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBe(CONSOLE);
    expect(response.headers.get('access-control-expose-headers')).toBe('x-request-id, www-authenticate');
    expect(response.headers.get('vary')).toBe('Origin');
    expect(((await response.json()) as { data: unknown }).data).toEqual({
      sessions: { totalCount: stack.emulator.store.all().length },
    });
    // A repeat (answered by the fast path) and a refused request carry them too.
    const repeat = await post(stack.url, CONSOLE);
    expect(repeat.headers.get('access-control-allow-origin')).toBe(CONSOLE);
    const invalid = await post(stack.url, CONSOLE, '{"query": "{ nope }"}');
    expect(invalid.status).toBe(400);
    expect(invalid.headers.get('access-control-allow-origin')).toBe(CONSOLE);
    const wrongMethod = await fetch(`${stack.url}/graphql`, { method: 'PUT', headers: { origin: CONSOLE } });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('access-control-allow-origin')).toBe(CONSOLE);
  });

  it('keeps CSRF prevention: a simple cross-origin GET without a preflight header is still refused', async () => {
    const response = await fetch(
      `${stack.url}/graphql?query=${encodeURIComponent('{ sessions { totalCount } }')}`,
      { headers: { origin: CONSOLE } },
    );
    expect(response.status).toBe(400);
    expect(await response.text()).toContain('CSRF');
  });

  it('sends nothing of CORS to a request without Origin (same origin, curl, servers)', async () => {
    const response = await post(stack.url, undefined);
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('CORS_ORIGINS=* and CORS off', () => {
  it('answers any origin with * when set to *', async () => {
    const stack = await startStack({ env: { CORS_ORIGINS: '*' } });
    try {
      const pre = await preflight(stack.url, 'https://anywhere.example', 'content-type');
      expect(pre.headers.get('access-control-allow-origin')).toBe('*');
      const response = await post(stack.url, 'https://anywhere.example');
      expect(response.headers.get('access-control-allow-origin')).toBe('*');
      expect(response.headers.get('vary')).toBeNull();
    } finally {
      await stack.close();
    }
  });

  it('sends no CORS header at all by default', async () => {
    const stack = await startStack();
    try {
      const pre = await preflight(stack.url, CONSOLE, 'content-type');
      expect(pre.status).toBe(204);
      expect([...pre.headers.keys()].filter((name) => name.startsWith('access-control-'))).toEqual([]);
      const response = await post(stack.url, CONSOLE);
      expect([...response.headers.keys()].filter((name) => name.startsWith('access-control-'))).toEqual([]);
    } finally {
      await stack.close();
    }
  });
});

describe('CORS_ORIGINS validation', () => {
  it('normalizes origins as browsers send them', () => {
    expect(
      loadConfig({ CORS_ORIGINS: 'https://Admin.Example.org:443/, http://localhost:3000' }).corsOrigins,
    ).toEqual(['https://admin.example.org', 'http://localhost:3000']);
    expect(loadConfig({}).corsOrigins).toBeUndefined();
    expect(loadConfig({ CORS_ORIGINS: ' * ' }).corsOrigins).toBe('*');
  });

  it.each([
    'https://admin.example.org/app',
    'admin.example.org',
    'ftp://files.example',
    'https://a.example,*',
    'https://u:p@a.example',
    'https://*.example.com',
    '',
  ])('refuses %j in the list, naming the variable', (entry) => {
    const value = `https://ok.example,${entry}`;
    expect(() => loadConfig({ CORS_ORIGINS: value })).toThrow(ConfigError);
    expect(() => loadConfig({ CORS_ORIGINS: value })).toThrow(
      'CORS_ORIGINS: must be comma-separated origins',
    );
  });
});
