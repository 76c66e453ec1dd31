import { get } from 'node:http';
import { gunzipSync } from 'node:zlib';

import { parse, validate } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loadConfig } from '../../src/config.js';
import { exampleTabs } from '../../src/http/graphiql-examples.js';
import { graphiqlHeaders } from '../../src/http/graphiql.js';
import { buildAppSchema } from '../../src/schema/build-schema.js';
import { startStack, type Stack } from '../helpers/stack.js';

import { send } from './raw-http.js';

const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack();
});

afterAll(async () => {
  await stack.close();
});

async function page(url = `${stack.url}/graphql`) {
  const response = await fetch(url, { headers: { accept: BROWSER_ACCEPT } });
  return { response, html: await response.text() };
}

/** The page's configuration block, as the init script reads it. */
function pageConfig(html: string) {
  const json = /<script id="graphiql-config" type="application\/json">([^<]*)<\/script>/.exec(html)?.[1];
  return JSON.parse(json!) as {
    tabs: { query: string; variables?: string; headers: string }[];
    headers: string;
    introspection: boolean;
  };
}

describe('GET /graphql from a browser', () => {
  it('serves the GraphiQL page with a strict CSP and nothing from outside', async () => {
    const { response, html } = await page();
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const csp = response.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self';");
    expect(csp).toContain("connect-src 'self'");
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    expect(html).not.toMatch(/<script>|<script(?![^>]*(src=|type="application\/json"))/);
  });

  it('opens with the six example operations and empty headers in the demo', async () => {
    const config = pageConfig((await page()).html);
    const names = config.tabs.map((tab) => /(query|mutation) (\w+)/.exec(tab.query)?.[2]);
    expect(names).toEqual([
      'Sessions',
      'ActiveSessions',
      'SessionsPage',
      'OneSession',
      'DeleteSession',
      'RevokeUserSessions',
    ]);
    expect(config.headers).toBe('{}');
    expect(config.tabs.every((tab) => tab.headers === '{}')).toBe(true);
    expect(config.introspection).toBe(true);
  });

  it('serves every script and stylesheet itself, versioned, cached for a year, gzipped on request', async () => {
    const { html } = await page();
    const urls = [...html.matchAll(/(?:src|href)="(graphiql\/assets\/[^"]+)"/g)].map((match) => match[1]!);
    expect(urls.map((url) => url.replace(/-[\w.]+?\.(min\.|production\.min\.)?(js|css)$/, ''))).toEqual([
      'graphiql/assets/graphiql',
      'graphiql/assets/page',
      'graphiql/assets/react',
      'graphiql/assets/react-dom',
      'graphiql/assets/graphiql',
      'graphiql/assets/init',
    ]);
    for (const url of urls) {
      const response = await fetch(`${stack.url}/${url}`, { headers: { 'accept-encoding': 'identity' } });
      expect(response.status, url).toBe(200);
      expect(response.headers.get('content-type'), url).toBe(
        url.endsWith('.js') ? 'text/javascript; charset=utf-8' : 'text/css; charset=utf-8',
      );
      expect(response.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect((await response.arrayBuffer()).byteLength).toBeGreaterThan(100);
    }
    const bundle = urls.find((url) => /graphiql-[\d.]+\.min\.js$/.test(url))!;
    const plain = Buffer.from(await (await fetch(`${stack.url}/${bundle}`)).arrayBuffer());
    // node's fetch decodes gzip itself: ask with a raw request to see the encoding.
    const raw = await new Promise<{ encoding: string | undefined; body: Buffer }>((resolve, reject) => {
      get(`${stack.url}/${bundle}`, { headers: { 'accept-encoding': 'gzip' } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({ encoding: res.headers['content-encoding'], body: Buffer.concat(chunks) }),
        );
      }).on('error', reject);
    });
    expect(raw.encoding).toBe('gzip');
    expect(raw.body.length).toBeLessThan(plain.length / 2);
    expect(gunzipSync(raw.body).equals(plain)).toBe(true);
  });

  it.each([
    ['gzip', 'gzip'],
    ['gzip, deflate, br', 'gzip'],
    ['*', 'gzip'],
    ['x-gzip', 'gzip'],
    ['deflate, gzip;q=1.0, *;q=0.5', 'gzip'],
    ['gzip;q=0', undefined],
    ['gzip; q=0.000', undefined],
    ['identity', undefined],
    ['gzip;q=0, identity', undefined],
    ['*;q=0, identity', undefined],
    ['gzip;q=0.5, identity', undefined],
    ['br', undefined],
    ['gzip;q=high', undefined],
    ['', undefined],
  ])('Accept-Encoding %j: asset content encoding %s', async (acceptEncoding, expected) => {
    const [bundle] = [...(await page()).html.matchAll(/src="(graphiql\/assets\/react-[^"]+)"/g)].map(
      (match) => match[1]!,
    );
    const response = await send(stack.url, 'GET', `/${bundle!}`, {
      headers: { 'accept-encoding': acceptEncoding },
    });
    expect(response.status).toBe(200);
    expect(response.headers['content-encoding']).toBe(expected);
    expect(response.headers.vary).toBe('accept-encoding');
    const body = expected === 'gzip' ? gunzipSync(response.body) : response.body;
    expect(body.toString('utf8')).toContain('React');
  });

  it('serves only its own list of assets', async () => {
    for (const name of ['graphiql-0.0.1.min.js', 'package.json', '%2e%2e%2fpackage.json', '']) {
      expect((await fetch(`${stack.url}/graphiql/assets/${name}`)).status, name).toBe(404);
    }
  });

  it('leaves everything that is not a browser navigation to Apollo', async () => {
    const withQuery = await page(`${stack.url}/graphql?query=${encodeURIComponent('{ __typename }')}`);
    expect(withQuery.response.headers.get('content-type')).not.toContain('text/html');
    const json = await fetch(`${stack.url}/graphql`, { headers: { accept: 'application/json' } });
    expect(json.status).toBe(400);
    expect(json.headers.get('content-type')).toContain('application/json');
    const post = await fetch(`${stack.url}/graphql`, {
      method: 'POST',
      headers: { accept: BROWSER_ACCEPT, 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    expect(await post.json()).toEqual({ data: { __typename: 'Query' } });
  });
});

describe('example operations', () => {
  it('are valid against the schema', async () => {
    const schema = await buildAppSchema();
    for (const tab of exampleTabs(new Date(), 200)) {
      expect(validate(schema, parse(tab.query)), tab.query).toEqual([]);
    }
  });

  it('list, filter and page run on the demo data without errors', async () => {
    const [list, filter, paging] = exampleTabs(new Date(), 200);
    for (const tab of [list!, filter!, paging!]) {
      const response = await fetch(`${stack.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: tab.query, variables: tab.variables ? JSON.parse(tab.variables) : {} }),
      });
      const body = (await response.json()) as {
        data?: { sessions: { totalCount: number } };
        errors?: unknown;
      };
      expect(body.errors, tab.query).toBeUndefined();
      expect(body.data!.sessions.totalCount).toBeGreaterThan(0);
    }
  });
});

describe('graphiqlHeaders', () => {
  it('hints at what each way of authenticating needs, and nothing in the demo', () => {
    const upstream = { JANS_CONFIG_API_URL: 'https://jans.example.org/jans-config-api' };
    const clientCredentials = { ...upstream, JANS_CLIENT_ID: 'id', JANS_CLIENT_SECRET: 'secret' };
    expect(graphiqlHeaders(loadConfig(upstream))).toEqual({ Authorization: 'Bearer <token>' });
    expect(graphiqlHeaders(loadConfig({ ...clientCredentials, JANS_API_KEYS: 'k' }))).toEqual({
      'x-api-key': '<key>',
    });
    expect(
      graphiqlHeaders(
        loadConfig({
          ...clientCredentials,
          AUTH_JWKS_URL: 'https://idp.example.org/jwks',
          AUTH_ISSUER: 'https://idp.example.org',
        }),
      ),
    ).toEqual({ Authorization: 'Bearer <token>' });
    const demo = loadConfig({});
    expect(graphiqlHeaders({ ...demo, upstream: { ...demo.upstream, clientId: 'demo-client' } })).toEqual({});
  });
});

describe('example operations under a small JANS_MAX_PAGE_SIZE', () => {
  let small: Stack;

  beforeAll(async () => {
    small = await startStack({ emulator: { sessionCount: 12 }, env: { JANS_MAX_PAGE_SIZE: '4' } });
  });

  afterAll(async () => {
    await small.close();
  });

  it('list, filter and page run as the page opens them, and no tab asks for more than the maximum', async () => {
    const config = pageConfig((await page(`${small.url}/graphql`)).html);
    for (const tab of config.tabs.slice(0, 3)) {
      const response = await small.gql(tab.query, tab.variables ? JSON.parse(tab.variables) : {});
      expect(response.body.errors, tab.query).toBeUndefined();
      expect(response.status).toBe(200);
    }
    const limits = config.tabs.flatMap((tab) =>
      [...`${tab.query}${tab.variables ?? ''}`.matchAll(/"?limit"?: (\d+)/g)].map((match) =>
        Number(match[1]),
      ),
    );
    expect(limits).toEqual([4, 4, 4]);
    expect(config.tabs[2]!.query).toContain('limit 1..4');
  });
});
