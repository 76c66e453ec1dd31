import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { parse, print } from 'graphql';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

import { NOT_TRUSTED_MESSAGE } from '../src/trusted-documents.js';
import { RepeatLimiter } from '../src/util/repeat-limiter.js';

import { startStack, type Stack } from './helpers/stack.js';

const SESSIONS =
  'query TrustedSessions($page: PageInput) { sessions(page: $page) { totalCount nodes { sid } } }';
const SESSION = 'query TrustedSession($sid: ID!) { session(sid: $sid) { sid state } }';
const DELETE = 'mutation TrustedDelete($sid: ID!) { deleteSession(sid: $sid) { sid deleted } }';
/** Not in the manifest. */
const UNLISTED = '{ sessions(page: { limit: 1 }) { totalCount } }';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const id = (text: string) => `sha256:${sha256(text)}`;
const apq = (text: string) => ({ persistedQuery: { version: 1, sha256Hash: sha256(text) } });

const dir = mkdtempSync(join(tmpdir(), 'trusted-documents-'));
const MANIFEST = join(dir, 'persisted-documents.json');
// graphql-codegen's keys (`sha256:<hex>`), and one bare digest: both are document ids.
writeFileSync(
  MANIFEST,
  JSON.stringify({ [id(SESSIONS)]: SESSIONS, [id(DELETE)]: DELETE, [sha256(SESSION)]: SESSION }, null, 2),
);

/** Apollo's manifest, as `npx generate-persisted-query-manifest` writes it: printed bodies, each id its SHA-256. */
const APOLLO_SESSIONS = print(
  parse(
    'query ApolloSessions($page: PageInput) { sessions(page: $page) { totalCount nodes { ...ApolloSessionFields } } } fragment ApolloSessionFields on Session { sid state }',
  ),
);
const APOLLO_DELETE = print(
  parse('mutation ApolloDeleteSession($sid: ID!) { deleteSession(sid: $sid) { sid deleted } }'),
);
/** Built against an older schema: listed, but it does not validate. */
const APOLLO_RETIRED = print(parse('query ApolloRetired { sessions { retiredField } }'));
const APOLLO_OPERATIONS = [
  { id: sha256(APOLLO_SESSIONS), name: 'ApolloSessions', type: 'query', body: APOLLO_SESSIONS },
  { id: sha256(APOLLO_DELETE), name: 'ApolloDeleteSession', type: 'mutation', body: APOLLO_DELETE },
  { id: sha256(APOLLO_RETIRED), name: 'ApolloRetired', type: 'query', body: APOLLO_RETIRED },
];
const APOLLO_MANIFEST = join(dir, 'persisted-query-manifest.json');
writeFileSync(
  APOLLO_MANIFEST,
  JSON.stringify(
    { format: 'apollo-persisted-query-manifest', version: 1, operations: APOLLO_OPERATIONS },
    null,
    2,
  ),
);

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  body: {
    data?: Record<string, unknown> | null;
    errors?: { message: string; extensions?: { code?: string } }[];
  };
}

async function answer(response: Response): Promise<Answer> {
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    text,
    body: JSON.parse(text) as Answer['body'],
  };
}

async function post(stack: Stack, body: unknown): Promise<Answer> {
  return answer(
    await fetch(`${stack.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    }),
  );
}

/** A GET with `apollo-require-preflight`, as CSRF prevention wants. */
async function get(stack: Stack, params: Record<string, string>): Promise<Answer> {
  return answer(
    await fetch(`${stack.url}/graphql?${new URLSearchParams(params)}`, {
      headers: { 'apollo-require-preflight': '1' },
    }),
  );
}

const codeOf = (reply: Answer) => reply.body.errors?.[0]?.extensions?.code;
const totalOf = (reply: Answer) =>
  (reply.body.data?.sessions as { totalCount: number } | undefined)?.totalCount;

/** Trusted-document warnings in the log. */
const warnings = (stack: Stack) =>
  stack.logs.filter((line) => String(line.msg).startsWith('operation not in the trusted documents'));

function metric(text: string, outcome: string): number {
  const line = text
    .split('\n')
    .find((l) => l.startsWith(`jans_graphql_untrusted_documents_total{outcome="${outcome}"}`));
  return line === undefined ? 0 : Number(line.split(' ').pop());
}

describe('TRUSTED_DOCUMENTS_MODE=enforce', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({ env: { TRUSTED_DOCUMENTS_FILE: MANIFEST } });
  });

  afterAll(async () => {
    await stack.close();
  });

  const total = () => stack.emulator.store.all().length;

  it('runs a listed document by documentId, by APQ hash (never asking for the text) and by its exact text', async () => {
    const variables = { page: { limit: 2 } };
    const byId = await post(stack, { documentId: id(SESSIONS), variables, operationName: 'TrustedSessions' });
    expect(byId.status).toBe(200);
    expect(byId.body.errors).toBeUndefined();
    expect(totalOf(byId)).toBe(total());

    const byHash = await post(stack, { extensions: apq(SESSIONS), variables });
    expect(byHash.body.errors).toBeUndefined();
    expect(totalOf(byHash)).toBe(total());

    const byText = await post(stack, { query: SESSIONS, variables });
    expect(byText.body.errors).toBeUndefined();
    expect(totalOf(byText)).toBe(total());

    // A manifest keyed by the bare digest, and an id in upper case, name the same document.
    const bare = await post(stack, {
      documentId: id(SESSION).toUpperCase().replace('SHA256', 'sha256'),
      variables: { sid: 'x'.repeat(20) },
    });
    expect(bare.body).toEqual({ data: { session: null } });
  });

  it('runs a listed query by id over GET, as documentId or as APQ hash', async () => {
    const variables = JSON.stringify({ page: { limit: 1 } });
    const byId = await get(stack, { documentId: id(SESSIONS), variables });
    expect(byId.status).toBe(200);
    expect(totalOf(byId)).toBe(total());
    const byHash = await get(stack, { extensions: JSON.stringify(apq(SESSIONS)), variables });
    expect(byHash.status).toBe(200);
    expect(totalOf(byHash)).toBe(total());
  });

  it('refuses any other text before parsing it and before any upstream call, without echoing it', async () => {
    const calls = stack.emulator.count();
    const refused = await post(stack, { query: UNLISTED });
    expect(refused.status).toBe(403);
    expect(refused.body.data).toBeUndefined();
    expect(refused.body.errors).toEqual([
      {
        message:
          "Not a trusted document: this service only runs the operations in its manifest; send a listed document's id (documentId) or its exact text",
        extensions: { code: 'FORBIDDEN' },
      },
    ]);
    // Not parsed: a text that does not parse is refused alike, not GRAPHQL_PARSE_FAILED.
    const broken = await post(stack, { query: '{ sessions(page: { limit: 1 } { totalCount } }' });
    expect([broken.status, codeOf(broken)]).toEqual([403, 'FORBIDDEN']);
    // A listed text changed by one space is another text.
    const changed = await post(stack, { query: `${SESSIONS} ` });
    expect([changed.status, codeOf(changed)]).toEqual([403, 'FORBIDDEN']);
    const overGet = await get(stack, { query: UNLISTED });
    expect([overGet.status, codeOf(overGet)]).toEqual([403, 'FORBIDDEN']);
    // A gateway's query planner writes these: in enforce mode they are refused like any unlisted text.
    const sdl = await post(stack, { query: '{ _service { sdl } }' });
    expect([sdl.status, codeOf(sdl)]).toEqual([403, 'FORBIDDEN']);
    for (const reply of [refused, overGet]) {
      expect(reply.text).not.toContain('totalCount');
    }
    expect(stack.emulator.count()).toBe(calls);
  });

  it('does not let APQ register an unlisted text, nor serve one by hash', async () => {
    const calls = stack.emulator.count();
    const registration = await post(stack, { query: UNLISTED, extensions: apq(UNLISTED) });
    expect([registration.status, codeOf(registration)]).toEqual([403, 'FORBIDDEN']);
    const byHash = await post(stack, { extensions: apq(UNLISTED) });
    expect([byHash.status, codeOf(byHash)]).toEqual([404, 'PERSISTED_QUERY_NOT_FOUND']);
    // A listed hash with another text is Apollo's mismatch, not a way to run that text.
    const mismatch = await post(stack, { query: UNLISTED, extensions: apq(SESSIONS) });
    expect([mismatch.status, codeOf(mismatch)]).toEqual([400, 'BAD_USER_INPUT']);
    expect(stack.emulator.count()).toBe(calls);
  });

  it('answers an unknown id with PERSISTED_QUERY_NOT_FOUND saying it is not a trusted document', async () => {
    for (const reply of [
      await post(stack, { documentId: id(UNLISTED) }),
      await post(stack, { documentId: 'sha256:not-a-digest' }),
      await get(stack, { documentId: id(UNLISTED) }),
    ]) {
      expect(reply.status).toBe(404);
      expect(reply.body.errors).toEqual([
        {
          message: "Not a trusted document: no document in this service's manifest has this id",
          extensions: { code: 'PERSISTED_QUERY_NOT_FOUND' },
        },
      ]);
    }
    const both = await post(stack, { documentId: id(SESSIONS), query: SESSIONS });
    expect([both.status, codeOf(both)]).toEqual([400, 'BAD_USER_INPUT']);
  });

  it('runs a listed mutation by id over POST, and refuses it over GET', async () => {
    const [victim] = stack.emulator.store.all();
    const overGet = await get(stack, {
      documentId: id(DELETE),
      variables: JSON.stringify({ sid: victim!.sid }),
    });
    expect(overGet.status).toBe(405);
    expect(stack.emulator.store.all().some((session) => session.sid === victim!.sid)).toBe(true);

    const deleted = await post(stack, { documentId: id(DELETE), variables: { sid: victim!.sid } });
    expect(deleted.body).toEqual({ data: { deleteSession: { sid: victim!.sid, deleted: true } } });
    expect(stack.emulator.store.all().some((session) => session.sid === victim!.sid)).toBe(false);
  });

  it('answers repeat requests by id on the fast path', async () => {
    const body = { documentId: id(SESSIONS), variables: { page: { limit: 3 } } };
    await post(stack, body);
    const before = stack.server.fastPath.answered;
    const again = await post(stack, body);
    expect(totalOf(again)).toBe(total());
    expect(stack.server.fastPath.answered).toBe(before + 1);
    // By APQ hash too: the hash is gone from the request Apollo and the fast path see.
    const byHash = await post(stack, { extensions: apq(SESSIONS), variables: { page: { limit: 3 } } });
    expect(totalOf(byHash)).toBe(total());
    expect(stack.server.fastPath.answered).toBe(before + 2);
  });

  it('refuses a batch or a non-JSON body without running anything', async () => {
    const calls = stack.emulator.count();
    const batch = await post(stack, [{ query: UNLISTED }]);
    expect(batch.status).toBe(400);
    const plain = await fetch(`${stack.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', 'apollo-require-preflight': '1' },
      body: JSON.stringify({ query: UNLISTED }),
    });
    expect(plain.status).toBe(400);
    expect(stack.emulator.count()).toBe(calls);
  });

  it('counts refusals and unknown ids in /metrics', async () => {
    const before = await (await fetch(`${stack.url}/metrics`)).text();
    await post(stack, { query: UNLISTED });
    await post(stack, { documentId: id(UNLISTED) });
    const after = await (await fetch(`${stack.url}/metrics`)).text();
    expect(metric(after, 'refused')).toBe(metric(before, 'refused') + 1);
    expect(metric(after, 'not_found')).toBe(metric(before, 'not_found') + 1);
  });

  it('still serves GraphiQL, saying that its examples are refused, without asking for the schema', async () => {
    const response = await fetch(`${stack.url}/graphql`, { headers: { accept: 'text/html' } });
    expect(response.status).toBe(200);
    const html = await response.text();
    const json = /<script id="graphiql-config" type="application\/json">([^<]*)<\/script>/.exec(html)?.[1];
    const config = JSON.parse(json!) as { tabs: { query: string }[]; introspection: boolean };
    expect(config.introspection).toBe(false);
    for (const tab of config.tabs) {
      expect(tab.query).toMatch(
        /^# This service runs trusted documents only \(TRUSTED_DOCUMENTS_MODE=enforce\)/,
      );
    }
  });
});

describe('TRUSTED_DOCUMENTS_MODE=log', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({ env: { TRUSTED_DOCUMENTS_FILE: MANIFEST, TRUSTED_DOCUMENTS_MODE: 'log' } });
  });

  afterAll(async () => {
    await stack.close();
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  it('runs unlisted operations, with one warning per document a minute, never its text', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: new Date('2030-01-01T00:00:00Z') });
    const name = `Unlisted${'X'.repeat(300)}`;
    const query = `query ${name} { sessions(page: { limit: 1 }) { totalCount } }`;
    for (let i = 0; i < 3; i += 1) {
      const reply = await post(stack, { query, operationName: name });
      expect(reply.body.errors).toBeUndefined();
      expect(totalOf(reply)).toBe(stack.emulator.store.all().length);
    }
    expect(warnings(stack)).toHaveLength(1);
    const [line] = warnings(stack);
    expect(line).toMatchObject({ level: 40, documentId: id(query), operationName: `${name.slice(0, 100)}…` });
    expect(JSON.stringify(line)).not.toContain('totalCount');
    expect(line!.requestId).toEqual(expect.any(String));

    // Another document has its own warning; the first gets another only after a minute.
    await post(stack, { query: UNLISTED });
    expect(warnings(stack)).toHaveLength(2);
    vi.setSystemTime(Date.now() + 59_000);
    await post(stack, { query, operationName: name });
    expect(warnings(stack)).toHaveLength(2);
    vi.setSystemTime(Date.now() + 2_000);
    await post(stack, { query, operationName: name });
    expect(warnings(stack)).toHaveLength(3);
  });

  it('runs listed documents by id without a warning, and still answers an unknown id with not found', async () => {
    const before = warnings(stack).length;
    const byId = await post(stack, { documentId: id(SESSIONS), variables: { page: { limit: 1 } } });
    expect(totalOf(byId)).toBe(stack.emulator.store.all().length);
    const byText = await post(stack, { query: SESSIONS, variables: { page: { limit: 1 } } });
    expect(byText.body.errors).toBeUndefined();
    const unknown = await post(stack, { documentId: id(UNLISTED) });
    expect([unknown.status, codeOf(unknown)]).toEqual([404, 'PERSISTED_QUERY_NOT_FOUND']);
    expect(warnings(stack).length).toBe(before);
  });

  it('keeps automatic persisted queries for unlisted texts, and finds a listed hash at once', async () => {
    const query = `{ sessions(page: { limit: 2 }) { totalCount } } # ${Date.now()}`;
    const miss = await post(stack, { extensions: apq(query) });
    expect([miss.status, codeOf(miss)]).toEqual([200, 'PERSISTED_QUERY_NOT_FOUND']);
    expect(totalOf(await post(stack, { query, extensions: apq(query) }))).toBe(
      stack.emulator.store.all().length,
    );
    expect(totalOf(await post(stack, { extensions: apq(query) }))).toBe(stack.emulator.store.all().length);
    expect(warnings(stack).filter((line) => line.documentId === id(query))).toHaveLength(1);
    expect((await post(stack, { extensions: apq(SESSIONS) })).body.errors).toBeUndefined();
  });
});

describe('an Apollo persisted query manifest, enforced', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({ env: { TRUSTED_DOCUMENTS_FILE: APOLLO_MANIFEST } });
  });

  afterAll(async () => {
    await stack.close();
  });

  /** What Apollo Client sends with `generatePersistedQueryIdsFromManifest`: the name's id as the hash, no text. */
  const byManifest = (operationName: string, variables: Record<string, unknown>) => {
    const operation = APOLLO_OPERATIONS.find((o) => o.name === operationName)!;
    return {
      operationName,
      variables,
      extensions: { persistedQuery: { version: 1, sha256Hash: operation.id } },
    };
  };

  it('runs a listed query and mutation sent by sha256Hash only, as Apollo Client sends them', async () => {
    const all = stack.emulator.store.all();
    const page = await post(stack, byManifest('ApolloSessions', { page: { limit: 2 } }));
    expect(page.status).toBe(200);
    expect(page.body.errors).toBeUndefined();
    expect(page.body.data?.sessions).toEqual({
      totalCount: all.length,
      nodes: [
        expect.objectContaining({ sid: expect.any(String), state: expect.any(String) }),
        expect.anything(),
      ],
    });

    // useGETForHashedQueries: a query by hash over GET.
    const overGet = await get(stack, {
      operationName: 'ApolloSessions',
      variables: JSON.stringify({ page: { limit: 1 } }),
      extensions: JSON.stringify(byManifest('ApolloSessions', {}).extensions),
    });
    expect([overGet.status, totalOf(overGet)]).toEqual([200, all.length]);

    const [victim] = all;
    const deleted = await post(stack, byManifest('ApolloDeleteSession', { sid: victim!.sid }));
    expect(deleted.body).toEqual({ data: { deleteSession: { sid: victim!.sid, deleted: true } } });
  });

  it('refuses an unlisted text with FORBIDDEN (403), also when Apollo Client retries a miss with its text', async () => {
    const calls = stack.emulator.count();
    const text = await post(stack, { query: UNLISTED });
    expect(text.status).toBe(403);
    expect(text.body.errors).toEqual([{ message: NOT_TRUSTED_MESSAGE, extensions: { code: 'FORBIDDEN' } }]);
    // The persisted-query link's miss and its retry with the text.
    const miss = await post(stack, { extensions: apq(UNLISTED) });
    expect([miss.status, codeOf(miss)]).toEqual([404, 'PERSISTED_QUERY_NOT_FOUND']);
    const retry = await post(stack, { query: UNLISTED, extensions: apq(UNLISTED) });
    expect([retry.status, codeOf(retry)]).toEqual([403, 'FORBIDDEN']);
    expect(stack.emulator.count()).toBe(calls);
  });

  it('warns at start of a listed operation that does not validate against the schema', () => {
    const [line] = stack.logs.filter((l) =>
      String(l.msg).startsWith('trusted documents that do not validate'),
    );
    expect(line).toMatchObject({ level: 40, count: 1, documentIds: [id(APOLLO_RETIRED)] });
  });
});

describe('without TRUSTED_DOCUMENTS_FILE', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack();
  });

  afterAll(async () => {
    await stack.close();
  });

  it('runs any text, knows no documentId, and keeps APQ as it was', async () => {
    expect(totalOf(await post(stack, { query: UNLISTED }))).toBe(stack.emulator.store.all().length);
    const byId = await post(stack, { documentId: id(SESSIONS) });
    expect([byId.status, codeOf(byId)]).toEqual([400, 'BAD_USER_INPUT']);
    const miss = await post(stack, { extensions: apq(SESSIONS) });
    expect([miss.status, codeOf(miss)]).toEqual([200, 'PERSISTED_QUERY_NOT_FOUND']);
    expect(warnings(stack)).toEqual([]);
    expect(await (await fetch(`${stack.url}/metrics`)).text()).not.toContain(
      'jans_graphql_untrusted_documents_total{',
    );
  });
});

describe('RepeatLimiter', () => {
  it('logs each document once a minute, and at most 100 documents a minute, reporting those left out', () => {
    const warnings = new RepeatLimiter();
    const start = 1_000_000;
    expect(warnings.take('a', start)).toBe(0);
    expect(warnings.take('a', start + 59_999)).toBeUndefined();
    expect(warnings.take('a', start + 60_000)).toBe(0);
    for (let i = 0; i < 99; i += 1) {
      expect(warnings.take(`d${i}`, start + 60_001)).toBe(0);
    }
    expect(warnings.take('over', start + 60_002)).toBeUndefined();
    expect(warnings.take('over-too', start + 60_003)).toBeUndefined();
    expect(warnings.take('later', start + 120_000)).toBe(2);
  });
});
