import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Kind } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import * as generated from '../../client/src/generated/graphql.js';
import { createSessionsClient, SessionsClientError } from '../../client/src/index.js';
import { loadConfig } from '../../src/config.js';
import { SessionCountsDocument } from '../generated/graphql.js';
import { startStack, type Stack } from '../helpers/stack.js';

/** What `npm run codegen` writes for the client (codegen.yml: `persistedDocuments: true`). */
const MANIFEST_FILE = 'client/src/generated/persisted-documents.json';
const manifest = JSON.parse(readFileSync(MANIFEST_FILE, 'utf8')) as Record<string, string>;

/** The client's generated operation documents, by export name, with the id codegen put in each. */
const operations = Object.entries(generated as Record<string, unknown>)
  .filter(([name]) => name.endsWith('Document'))
  .map(([name, document]) => {
    const node = document as { __meta__?: { hash?: string }; definitions: { kind: string }[] };
    return {
      name,
      id: node.__meta__?.hash,
      isOperation: node.definitions.some((d) => d.kind === Kind.OPERATION_DEFINITION),
    };
  })
  .filter((operation) => operation.isOperation);

const STATS = operations.find((operation) => operation.name === 'ClientSessionStatsDocument')!.id!;

describe("the typed client's manifest", () => {
  it('lists every operation of client/operations/ by the id its generated document carries, and only those', () => {
    expect(operations.length).toBeGreaterThanOrEqual(7);
    expect(operations.every((operation) => operation.id?.startsWith('sha256:'))).toBe(true);
    expect(Object.keys(manifest).sort()).toEqual(operations.map((operation) => operation.id).sort());
  });

  it('is a manifest the service takes as TRUSTED_DOCUMENTS_FILE', () => {
    expect(loadConfig({ TRUSTED_DOCUMENTS_FILE: MANIFEST_FILE }).trustedDocuments?.documents.size).toBe(
      operations.length,
    );
  });
});

describe('a client with persistedDocuments against a service enforcing its manifest', () => {
  const dir = mkdtempSync(join(tmpdir(), 'client-trusted-'));
  let stack: Stack;
  const requests: Record<string, unknown>[] = [];

  beforeAll(async () => {
    // The client's manifest without sessionStats: an operation a newer client has and the service not yet.
    const file = join(dir, 'persisted-documents.json');
    writeFileSync(
      file,
      JSON.stringify(Object.fromEntries(Object.entries(manifest).filter(([id]) => id !== STATS))),
    );
    stack = await startStack({
      emulator: { seed: 7, sessionCount: 40 },
      env: { TRUSTED_DOCUMENTS_FILE: file },
    });
  });

  afterAll(async () => {
    await stack.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const client = () =>
    createSessionsClient({
      url: `${stack.url}/graphql`,
      persistedDocuments: true,
      fetch: async (input, init) => {
        requests.push(JSON.parse(String(init?.body)) as Record<string, unknown>);
        return fetch(input, init);
      },
    });

  it('runs every call by documentId, never sending a text', async () => {
    const sessions = client();
    const all = stack.emulator.store.all();
    requests.length = 0;
    const page = await sessions.searchSession({ limit: 5 });
    expect(page.totalEntriesCount).toBe(all.length);
    const [first, second] = page.entries;
    expect((await sessions.getSessionById(first!.sid))?.sid).toBe(first!.sid);
    expect((await sessions.sessionsConnection({ first: 2 })).totalCount).toBe(all.length);
    expect((await sessions.deleteSessions({ authUser: first!.authUser! })).dryRun).toBe(true);
    expect(await sessions.deleteSession(second!.sid)).toEqual({ sid: second!.sid, deleted: true });
    expect(requests).toHaveLength(5);
    for (const body of requests) {
      expect(body.query).toBeUndefined();
      expect(Object.keys(manifest)).toContain(body.documentId);
      expect(body.operationName).toMatch(/^Client/);
    }
  });

  it('rejects with PERSISTED_QUERY_NOT_FOUND (404) for an operation the manifest does not list', async () => {
    const error = await client()
      .sessionStats()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SessionsClientError);
    expect(error).toMatchObject({ code: 'PERSISTED_QUERY_NOT_FOUND', status: 404 });
  });

  it('sends a document without an id as text, which enforce mode refuses', async () => {
    const error = await client()
      .request(SessionCountsDocument)
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'FORBIDDEN', status: 403 });
  });

  it('is refused without persistedDocuments: the text it prints is not the listed one', async () => {
    const error = await createSessionsClient({ url: `${stack.url}/graphql` })
      .getSessions()
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'FORBIDDEN', status: 403 });
  });
});
