import { gzipSync } from 'node:zlib';

import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { startStack, type Stack } from '../helpers/stack.js';

import { send, sendAndStall } from './raw-http.js';

/**
 * HTTP semantics of the routes: which methods each answers (and what any other gets), request body encodings,
 * caching. Requests go through node:http or a raw socket (raw-http.ts), so what is checked is what was sent.
 */
let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ emulator: { sessionCount: 5 } });
});

afterAll(async () => {
  await stack.close();
});

beforeEach(() => {
  stack.emulator.resetCounts();
});

const JSON_TYPE = { 'content-type': 'application/json' };
const errorsOf = (text: string) =>
  (JSON.parse(text) as { errors: { message: string; extensions: { code: string } }[] }).errors;

describe('/graphql', () => {
  it('answers a CORS preflight with 204 and Allow, and no Access-Control-* header (we serve no CORS)', async () => {
    const response = await send(stack.url, 'OPTIONS', '/graphql', {
      headers: {
        origin: 'https://elsewhere.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
      },
    });
    expect(response.status).toBe(204);
    expect(response.headers.allow).toBe('GET, POST, OPTIONS');
    expect(Object.keys(response.headers).filter((name) => name.startsWith('access-control-'))).toEqual([]);
    expect(response.body.length).toBe(0);
  });

  it('answers HEAD with 405 and Allow: GET, POST, without a body', async () => {
    const response = await send(stack.url, 'HEAD', '/graphql');
    expect(response.status).toBe(405);
    expect(response.headers.allow).toBe('GET, POST');
    expect(response.body.length).toBe(0);
  });

  it.each([
    ['DELETE', {}],
    ['TRACE', {}],
    ['PUT', JSON_TYPE],
    ['PATCH', JSON_TYPE],
    ['DELETE', JSON_TYPE],
    ['PROPFIND', {}],
  ])('answers %s (headers %j) with 405, Allow: GET, POST and our own words', async (method, headers) => {
    const response = await send(stack.url, method, '/graphql', { headers });
    expect(response.status).toBe(405);
    expect(response.headers.allow).toBe('GET, POST');
    expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(errorsOf(response.text)).toEqual([
      {
        message: 'GraphQL is served over GET (queries) and POST only',
        extensions: { code: 'BAD_USER_INPUT' },
      },
    ]);
    expect(stack.emulator.count()).toBe(0);
  });

  it('refuses a GET without a preflight-forcing header (CSRF) with a message free of trailing whitespace', async () => {
    const response = await send(stack.url, 'GET', `/graphql?query=${encodeURIComponent('{ __typename }')}`);
    expect(response.status).toBe(400);
    const [error] = errorsOf(response.text);
    expect(error!.message).toMatch(
      /^This operation has been blocked as a potential Cross-Site Request Forgery/,
    );
    expect(error!.message).toMatch(/apollo-require-preflight$/);
    expect(error!.extensions.code).toBe('BAD_USER_INPUT');
  });

  it('still answers GET and POST', async () => {
    const get = await send(stack.url, 'GET', `/graphql?query=${encodeURIComponent('{ __typename }')}`, {
      headers: { 'apollo-require-preflight': 'true' },
    });
    expect(get.status).toBe(200);
    const post = await send(stack.url, 'POST', '/graphql', {
      headers: JSON_TYPE,
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    expect(JSON.parse(post.text)).toEqual({ data: { __typename: 'Query' } });
  });
});

describe('/healthz, /readyz, /metrics', () => {
  it.each([
    ['POST', '/healthz'],
    ['POST', '/metrics'],
    ['DELETE', '/readyz'],
    ['PUT', '/healthz'],
    ['OPTIONS', '/metrics'],
    ['PATCH', '/readyz'],
  ])('answer %s %s with 405 and Allow: GET, HEAD', async (method, path) => {
    const response = await send(stack.url, method, path, { headers: JSON_TYPE, body: '{}' });
    expect(response.status).toBe(405);
    expect(response.headers.allow).toBe('GET, HEAD');
    expect(JSON.parse(response.text)).toEqual({ error: 'Method not allowed' });
  });

  it.each(['/healthz', '/readyz', '/metrics'])(
    'answer GET and HEAD %s, HEAD without a body',
    async (path) => {
      await expectGetAndHead(path);
    },
  );
});

describe('/graphiql/assets/*', () => {
  /** A real asset of the GraphiQL page, as the page links it. */
  const assetPath = async () => {
    const page = await send(stack.url, 'GET', '/graphql', { headers: { accept: 'text/html' } });
    return `/${/src="(graphiql\/assets\/init-[^"]+)"/.exec(page.text)![1]!}`;
  };

  it.each(['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE'])(
    'answer %s with 405 and Allow: GET, HEAD, for a known asset and an unknown one alike',
    async (method) => {
      for (const path of [await assetPath(), '/graphiql/assets/no-such-file.js']) {
        const response = await send(stack.url, method, path, {
          ...(method === 'TRACE' || method === 'OPTIONS' ? {} : { headers: JSON_TYPE, body: '{}' }),
        });
        expect(response.status, path).toBe(405);
        expect(response.headers.allow, path).toBe('GET, HEAD');
        expect(JSON.parse(response.text), path).toEqual({ error: 'Method not allowed' });
      }
    },
  );

  it('answer GET and HEAD (HEAD without a body); an unknown asset is 404', async () => {
    const path = await assetPath();
    await expectGetAndHead(path);
    expect((await send(stack.url, 'GET', '/graphiql/assets/no-such-file.js')).status).toBe(404);
    expect((await send(stack.url, 'HEAD', '/graphiql/assets/no-such-file.js')).status).toBe(404);
  });
});

describe('request bodies with a Content-Encoding', () => {
  const QUERY = JSON.stringify({ query: '{ sessions { totalCount } }' });
  const refusal = {
    message:
      'Compressed request bodies are not supported: send the body uncompressed, without Content-Encoding',
    extensions: { code: 'BAD_USER_INPUT' },
  };

  it.each([
    ['gzip', 'gzip', gzipSync(QUERY)],
    ['br on a plain body', 'br', QUERY],
    ['deflate on a plain body', 'deflate', QUERY],
    ['identity then gzip', 'identity, gzip', gzipSync(QUERY)],
  ])('%s: 415 with a GraphQL error, nothing sent upstream', async (_name, encoding, body) => {
    const response = await send(stack.url, 'POST', '/graphql', {
      headers: { ...JSON_TYPE, 'content-encoding': encoding },
      body,
    });
    expect(response.status).toBe(415);
    expect(response.headers['accept-encoding']).toBe('identity');
    expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(errorsOf(response.text)).toEqual([refusal]);
    expect(stack.emulator.count()).toBe(0);
  });

  it('is refused before the body is read: the answer comes while the body is still missing', async () => {
    const answer = await Promise.race([
      sendAndStall(
        stack.url,
        'POST /graphql HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n' +
          'Content-Length: 1000\r\nConnection: close\r\n\r\n',
      ),
      new Promise((resolve) => setTimeout(resolve, 3_000, 'no answer')),
    ]);
    expect(answer).toMatchObject({ statusLine: 'HTTP/1.1 415 Unsupported Media Type' });
  });

  it.each(['identity', 'Identity', ''])('Content-Encoding %j is the body as sent', async (encoding) => {
    const response = await send(stack.url, 'POST', '/graphql', {
      headers: { ...JSON_TYPE, 'content-encoding': encoding },
      body: QUERY,
    });
    expect(response.status).toBe(200);
    expect(JSON.parse(response.text)).toEqual({ data: { sessions: { totalCount: 5 } } });
  });
});

describe('Cache-Control on /graphql', () => {
  const SIDS = '{ sessions(page: { limit: 2 }) { nodes { sid } } }';

  it('is no-store on GET data', async () => {
    const response = await send(stack.url, 'GET', `/graphql?query=${encodeURIComponent(SIDS)}`, {
      headers: { 'apollo-require-preflight': 'true' },
    });
    expect(response.status).toBe(200);
    expect(response.headers['cache-control']).toBe('no-store');
  });

  it('is no-store on POST data, whether Apollo or the fast path answers', async () => {
    const query = `${SIDS} # cache-control`;
    const answered = stack.server.fastPath.answered;
    for (const path of ['apollo', 'fast']) {
      const response = await send(stack.url, 'POST', '/graphql', {
        headers: JSON_TYPE,
        body: JSON.stringify({ query }),
      });
      expect(response.status, path).toBe(200);
      expect(response.headers['cache-control'], path).toBe('no-store');
    }
    expect(stack.server.fastPath.answered).toBe(answered + 1);
  });

  it.each([
    ['a validation error', 'POST', '/graphql', { ...JSON_TYPE }, JSON.stringify({ query: '{ nope }' }), 400],
    ['a CSRF refusal', 'GET', '/graphql?query=%7B__typename%7D', {}, undefined, 400],
    ['a method refused', 'DELETE', '/graphql', {}, undefined, 405],
    ['a preflight', 'OPTIONS', '/graphql', {}, undefined, 204],
  ])('is no-store on %s', async (_name, method, path, headers, body, status) => {
    const response = await send(stack.url, method, path, { headers, ...(body ? { body } : {}) });
    expect(response.status).toBe(status);
    expect(response.headers['cache-control']).toBe('no-store');
  });
});

/** GET answers 200 with a body; HEAD the same status and type, without the body. */
async function expectGetAndHead(path: string) {
  const get = await send(stack.url, 'GET', path);
  expect(get.status).toBe(200);
  expect(get.body.length).toBeGreaterThan(0);
  const head = await send(stack.url, 'HEAD', path);
  expect(head.status).toBe(200);
  expect(head.headers['content-type']).toBe(get.headers['content-type']);
  expect(head.body.length).toBe(0);
}
