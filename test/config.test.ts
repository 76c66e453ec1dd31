import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { afterAll, describe, expect, it } from 'vitest';

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

  it('refuses caller-JWT settings without AUTH_JWKS_URL, which would be silently ignored', () => {
    const attempt = () =>
      loadConfig({
        JANS_API_KEYS: 'a-key-1234',
        AUTH_ISSUER: 'https://idp.example.org',
        AUTH_AUDIENCE: 'sessions',
        AUTH_MUTATION_SCOPE: 'sessions.delete',
      });
    for (const name of ['AUTH_ISSUER', 'AUTH_AUDIENCE', 'AUTH_MUTATION_SCOPE']) {
      expect(attempt).toThrow(new RegExp(`${name}: needs AUTH_JWKS_URL`));
    }
    expect(() =>
      loadConfig({
        AUTH_JWKS_URL: 'https://idp.example.org/jwks',
        AUTH_ISSUER: 'https://idp.example.org',
        AUTH_AUDIENCE: 'sessions',
        AUTH_MUTATION_SCOPE: 'sessions.delete',
      }),
    ).not.toThrow();
  });

  it('never echoes a secret it refuses', () => {
    expect(() => loadConfig({ JANS_API_KEYS: 'ok,sha256:not-hex-secret' })).toThrow(/JANS_API_KEYS: must be/);
    expect(() => loadConfig({ JANS_API_KEYS: 'ok,sha256:not-hex-secret' })).not.toThrow(/not-hex-secret/);
  });

  it('masks a password inside a URL it refuses', () => {
    const attempt = () =>
      loadConfig({
        JANS_CONFIG_API_URL: 'https://admin:Pa55word@jans.example.org/jans-config-ap',
        REDIS_URL: 'http://:redis-Pa55@cache:6379',
      });
    expect(attempt).toThrow(
      /JANS_CONFIG_API_URL: .*\(got "https:\/\/\*\*\*@jans\.example\.org\/jans-config-ap"\)/,
    );
    expect(attempt).toThrow(/REDIS_URL: .*\(got "http:\/\/\*\*\*@cache:6379"\)/);
    expect(attempt).not.toThrow(/Pa55/);
  });

  it.each([
    ['user:hunter2@jans.example.org/jans-config-api', '***@jans.example.org/jans-config-api'],
    ['//user:hunter2@jans.example.org/jans-config-api', '//***@jans.example.org/jans-config-api'],
  ])('masks a password in a URL without a scheme (%j)', (raw, shown) => {
    const attempt = () => loadConfig({ JANS_CONFIG_API_URL: raw });
    expect(attempt).toThrow(`(got ${JSON.stringify(shown)})`);
    expect(attempt).not.toThrow(/hunter2/);
  });

  it.each(['redis://127.0.0.1:1/abc', 'redis:localhost', 'redis://cache:6379/0/x'])(
    'refuses a REDIS_URL that node-redis would throw on after start (%j)',
    (value) => {
      expect(() => loadConfig({ REDIS_URL: value })).toThrow(
        'REDIS_URL: must be redis://[user:password@]host[:port][/database number] (or rediss://)',
      );
    },
  );

  it('refuses a JANS_CA_FILE that holds no PEM certificate', () => {
    expect(() => loadConfig({ JANS_CA_FILE: 'package.json' })).toThrow(
      'JANS_CA_FILE: "package.json" holds no PEM certificate',
    );
  });

  it('gives one message per mistake in a URL', () => {
    const lines = (env: Record<string, string>) => {
      try {
        loadConfig(env);
        return [];
      } catch (error) {
        return (error as Error).message.split('\n').slice(1);
      }
    };
    expect(lines({ JANS_CONFIG_API_URL: 'jans.example.org/jans-config-api' })).toEqual([
      '  JANS_CONFIG_API_URL: must be a URL starting with http:// or https:// (got "jans.example.org/jans-config-api")',
    ]);
    expect(
      lines({ AUTH_JWKS_URL: 'ftp://idp.example.org/jwks', AUTH_ISSUER: 'https://idp.example.org' }),
    ).toEqual([
      '  AUTH_JWKS_URL: must be a URL starting with http:// or https:// (got "ftp://idp.example.org/jwks")',
    ]);
  });

  it('takes a redis:// or rediss:// REDIS_URL as given, and refuses anything else', () => {
    expect(loadConfig({ REDIS_URL: ' rediss://:p%40ss@cache.internal:6380/2 ' }).redisUrl).toBe(
      'rediss://:p%40ss@cache.internal:6380/2',
    );
    expect(loadConfig({ REDIS_URL: 'redis://localhost:6379' }).redisUrl).toBe('redis://localhost:6379');
    expect(loadConfig({}).redisUrl).toBeUndefined();
    for (const bad of ['localhost:6379', 'http://cache:6379', 'cache']) {
      expect(() => loadConfig({ REDIS_URL: bad }), bad).toThrow(
        /REDIS_URL: must be a URL starting with redis:\/\/ or rediss:\/\//,
      );
    }
  });

  it('lists the accepted values of a choice it refuses', () => {
    expect(() => loadConfig({ LOG_LEVEL: 'verbose' })).toThrow(
      'LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent (got "verbose")',
    );
    expect(() => loadConfig({ GRAPHQL_FAST_PATH: 'yes' })).toThrow(
      'GRAPHQL_FAST_PATH: must be one of on, off (got "yes")',
    );
    expect(loadConfig({ LOG_LEVEL: ' debug ', GRAPHQL_FAST_PATH: 'off' })).toMatchObject({
      logLevel: 'debug',
      fastPath: false,
    });
    expect(loadConfig({})).toMatchObject({ logLevel: 'info', fastPath: true, audit: true });
    expect(loadConfig({ AUDIT_LOG: 'off' })).toMatchObject({ audit: false });
    expect(() => loadConfig({ AUDIT_LOG: 'false' })).toThrow(
      'AUDIT_LOG: must be one of on, off (got "false")',
    );
  });

  it('JANS_PEOPLE_BASE_DN is a plain DN, kept without spaces around , and =', () => {
    expect(loadConfig({}).upstream.peopleBaseDn).toBe('ou=people,o=jans');
    expect(loadConfig({ JANS_PEOPLE_BASE_DN: ' ou = Staff , o=corp ' }).upstream.peopleBaseDn).toBe(
      'ou=Staff,o=corp',
    );
    for (const bad of ['people', 'ou=a\\,b,o=jans', 'ou=a+cn=b,o=jans', 'ou=people,,o=jans']) {
      expect(() => loadConfig({ JANS_PEOPLE_BASE_DN: bad }), bad).toThrow(
        /JANS_PEOPLE_BASE_DN: must be a DN of attr=value parts/,
      );
    }
  });

  it('takes whole numbers written in plain digits only', () => {
    expect(loadConfig({ MAX_BODY_BYTES: ' 2000000 ' }).limits.maxBodyBytes).toBe(2_000_000);
    for (const bad of ['1e6', '0x100000', '1_000_000', '1000000.0', '+1000000', '-5']) {
      expect(() => loadConfig({ MAX_BODY_BYTES: bad }), bad).toThrow(
        /MAX_BODY_BYTES: must be a whole number/,
      );
    }
  });
});

describe('TRUSTED_DOCUMENTS_FILE', () => {
  const dir = mkdtempSync(join(tmpdir(), 'trusted-config-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const QUERY = 'query One { sessions { totalCount } }';
  const ID = `sha256:${createHash('sha256').update(QUERY).digest('hex')}`;
  /** Writes `content` (JSON unless a string) to a manifest file and returns its path. */
  let files = 0;
  const manifest = (content: unknown) => {
    const file = join(dir, `manifest-${(files += 1)}.json`);
    writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
    return file;
  };
  /** The one line naming the variable, without the file's temporary path. */
  const refusal = (env: Record<string, string>) => {
    try {
      loadConfig(env);
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const lines = (error as Error).message.split('\n');
      expect(lines).toHaveLength(2);
      return lines[1]!.replaceAll(dir, '<dir>').replace(/manifest-\d+/, 'm');
    }
    throw new Error('accepted');
  };

  it('reads a manifest once, keyed as graphql-codegen writes it, enforcing by default', () => {
    const config = loadConfig({ TRUSTED_DOCUMENTS_FILE: manifest({ [ID]: QUERY }) });
    expect(config.trustedDocuments?.mode).toBe('enforce');
    expect([...config.trustedDocuments!.documents]).toEqual([[ID.slice('sha256:'.length), QUERY]]);
    expect(loadConfig({}).trustedDocuments).toBeUndefined();
    expect(
      loadConfig({ TRUSTED_DOCUMENTS_FILE: manifest({ [ID]: QUERY }), TRUSTED_DOCUMENTS_MODE: 'log' })
        .trustedDocuments?.mode,
    ).toBe('log');
  });

  it('refuses an entry whose key is not the SHA-256 of its text, naming the key and the right one', () => {
    const other = `sha256:${'0'.repeat(64)}`;
    expect(refusal({ TRUSTED_DOCUMENTS_FILE: manifest({ [ID]: QUERY, [other]: `${QUERY} ` }) })).toBe(
      `  TRUSTED_DOCUMENTS_FILE: "<dir>/m.json": key "${other}" is not the SHA-256 of its text (that is sha256:${createHash('sha256').update(`${QUERY} `).digest('hex')})`,
    );
  });

  it.each([
    [undefined, 'cannot read "<dir>/missing.json" (ENOENT)'],
    ['{"sha256:', '"<dir>/m.json" is not valid JSON'],
    [[QUERY], '"<dir>/m.json" must hold a JSON object of document texts by id'],
    [{}, '"<dir>/m.json" lists no documents: every operation would be refused'],
    [{ 'md5:abc': QUERY }, '"<dir>/m.json": key "md5:abc" is not a document id (sha256:<64 hex digits>)'],
    [{ [ID]: 42 }, `"<dir>/m.json": the value of "${ID}" is not a document text`],
  ])('refuses a manifest that is not one (%j)', (content, message) => {
    const file = content === undefined ? join(dir, 'missing.json') : manifest(content);
    expect(refusal({ TRUSTED_DOCUMENTS_FILE: file })).toContain(`  TRUSTED_DOCUMENTS_FILE: ${message}`);
  });

  it('refuses a text that is not an executable GraphQL document, never quoting it', () => {
    const entry = (text: string) => ({ [`sha256:${createHash('sha256').update(text).digest('hex')}`]: text });
    expect(refusal({ TRUSTED_DOCUMENTS_FILE: manifest(entry('query Secret { sessions { ')) })).toMatch(
      /: the text of "sha256:[0-9a-f]{64}" is not a GraphQL document: Syntax Error: Expected Name, found <EOF>\. \(line 1, column 27\)$/,
    );
    expect(refusal({ TRUSTED_DOCUMENTS_FILE: manifest(entry('type Query { a: Int }')) })).toMatch(
      /holds a definition that is not an operation or a fragment/,
    );
    expect(refusal({ TRUSTED_DOCUMENTS_FILE: manifest(entry('fragment F on Session { sid }')) })).toMatch(
      /holds no operation$/,
    );
  });

  describe('an Apollo persisted query manifest', () => {
    const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
    // As @apollo/generate-persisted-query-manifest prints them.
    const BODY = 'query Sessions {\n  sessions {\n    totalCount\n  }\n}';
    const MUTATION =
      'mutation DeleteSession($sid: ID!) {\n  deleteSession(sid: $sid) {\n    ...Deleted\n  }\n}\n\nfragment Deleted on DeleteSessionPayload {\n  sid\n  deleted\n}';
    const operation = (fields: Record<string, unknown> = {}) => ({
      id: sha256(BODY),
      name: 'Sessions',
      type: 'query',
      body: BODY,
      ...fields,
    });
    const apollo = (operations: unknown, fields: Record<string, unknown> = {}) => ({
      format: 'apollo-persisted-query-manifest',
      version: 1,
      operations,
      ...fields,
    });

    it('reads its operations by id, as a graphql-codegen manifest', () => {
      const config = loadConfig({
        TRUSTED_DOCUMENTS_FILE: manifest(
          apollo([
            operation(),
            { id: sha256(MUTATION), name: 'DeleteSession', type: 'mutation', body: MUTATION },
            // Listed twice (manifests of two apps put together), in upper case, without labels or with null ones.
            { id: sha256(BODY).toUpperCase(), body: BODY },
            operation({ name: null, type: null }),
          ]),
        ),
      });
      expect([...config.trustedDocuments!.documents]).toEqual([
        [sha256(BODY), BODY],
        [sha256(MUTATION), MUTATION],
      ]);
    });

    it.each([
      [
        'version 2',
        apollo([operation()], { version: 2 }),
        `an Apollo persisted query manifest's "version" must be 1, the one this service reads (got 2)`,
      ],
      [
        'no version',
        apollo([operation()], { version: undefined }),
        `an Apollo persisted query manifest's "version" must be 1, the one this service reads (got nothing)`,
      ],
      [
        'version "1"',
        apollo([operation()], { version: '1' }),
        `an Apollo persisted query manifest's "version" must be 1, the one this service reads (got "1")`,
      ],
      [
        'no operations',
        apollo(undefined),
        '"operations" must be an array of {"id", "body", "name", "type"} (got nothing)',
      ],
      [
        'operations an object',
        apollo({ [sha256(BODY)]: BODY }),
        '"operations" must be an array of {"id", "body", "name", "type"} (got an object)',
      ],
      ['operations empty', apollo([]), ' lists no documents: every operation would be refused'],
      ['an operation a string', apollo([BODY]), 'operations[0] is not an object with "id" and "body"'],
      [
        'no id',
        apollo([operation({ id: undefined })]),
        'operations[0] ("Sessions"): "id" must be a string (got nothing)',
      ],
      [
        'an id a number',
        apollo([operation({ id: 7 })]),
        'operations[0] ("Sessions"): "id" must be a string (got 7)',
      ],
      [
        'no body',
        apollo([operation({ body: undefined })]),
        'operations[0] ("Sessions"): "body" must be a document text (a string)',
      ],
      [
        'a body an object',
        apollo([operation({ body: { kind: 'Document' } })]),
        'operations[0] ("Sessions"): "body" must be a document text (a string)',
      ],
      ['a name a number', apollo([operation({ name: 7 })]), 'operations[0]: "name" must be a string (got 7)'],
      [
        'a type not an operation type',
        apollo([operation({ type: 'fragment' })]),
        'operations[0] ("Sessions"): "type" must be query, mutation or subscription (got "fragment")',
      ],
      [
        'a type a number',
        apollo([operation({ type: 1 })]),
        'operations[0] ("Sessions"): "type" must be query, mutation or subscription (got 1)',
      ],
      [
        'an id listed twice with different bodies',
        apollo([operation(), operation({ body: `${BODY}\n` })]),
        `operations[1] ("Sessions"): id "${sha256(BODY)}" is also the id of operations[0], with another body`,
      ],
      [
        'a name its body does not have',
        apollo([operation({ name: 'AllSessions' })]),
        `operations[0] ("AllSessions"): its body has no operation of that name (it has "Sessions"); Apollo's generator never writes that: regenerate the manifest`,
      ],
      [
        'a mutation typed query',
        apollo([operation({ id: sha256(MUTATION), name: 'DeleteSession', body: MUTATION })]),
        `operations[0] ("DeleteSession"): "type" is query, but its body's operation is a mutation; Apollo's generator never writes that: regenerate the manifest`,
      ],
    ])('refuses a manifest with %s', (_case, content, message) => {
      expect(refusal({ TRUSTED_DOCUMENTS_FILE: manifest(content) })).toBe(
        `  TRUSTED_DOCUMENTS_FILE: "<dir>/m.json"${message.startsWith(' ') ? '' : ': '}${message}`,
      );
    });

    it.each([
      ['the operation name', 'Sessions'],
      ['base64 of the body', Buffer.from(BODY).toString('base64')],
      ['a hash of another text', sha256(BODY.replace(/\s+/g, ' '))],
      ['a prefixed SHA-256', `sha256:${sha256(BODY)}`],
    ])('refuses ids from a custom createOperationId (%s), never quoting the body', (_case, id) => {
      const line = refusal({ TRUSTED_DOCUMENTS_FILE: manifest(apollo([operation({ id })])) });
      expect(line).toBe(
        `  TRUSTED_DOCUMENTS_FILE: "<dir>/m.json": operations[0] ("Sessions"): id ${JSON.stringify(id)} is not the SHA-256 of its body: the manifest was made with a custom createOperationId, and this service needs the default ids (the SHA-256 hex of each body)`,
      );
      expect(line).not.toContain('totalCount');
    });

    it('refuses a body that is not an executable GraphQL document, never quoting it', () => {
      const body = (text: string) => apollo([operation({ id: sha256(text), body: text })]);
      expect(refusal({ TRUSTED_DOCUMENTS_FILE: manifest(body('query Sessions { sessions { ')) })).toBe(
        '  TRUSTED_DOCUMENTS_FILE: "<dir>/m.json": operations[0] ("Sessions"): the body is not a GraphQL document: Syntax Error: Expected Name, found <EOF>. (line 1, column 29)',
      );
      expect(refusal({ TRUSTED_DOCUMENTS_FILE: manifest(body('type Query { a: Int }')) })).toMatch(
        /: operations\[0\] \("Sessions"\): the body holds a definition that is not an operation or a fragment/,
      );
    });

    it('reads any other "format" as a graphql-codegen key, as before', () => {
      expect(
        refusal({
          TRUSTED_DOCUMENTS_FILE: manifest(apollo([operation()], { format: 'relay-persisted-queries' })),
        }),
      ).toBe(
        '  TRUSTED_DOCUMENTS_FILE: "<dir>/m.json": key "format" is not a document id (sha256:<64 hex digits>)',
      );
    });
  });

  it('refuses TRUSTED_DOCUMENTS_MODE without a manifest, or with a value it does not know', () => {
    expect(refusal({ TRUSTED_DOCUMENTS_MODE: 'enforce' })).toBe(
      '  TRUSTED_DOCUMENTS_MODE: needs TRUSTED_DOCUMENTS_FILE (the manifest of the operations to allow) (got "enforce")',
    );
    expect(
      refusal({ TRUSTED_DOCUMENTS_FILE: manifest({ [ID]: QUERY }), TRUSTED_DOCUMENTS_MODE: 'warn' }),
    ).toBe('  TRUSTED_DOCUMENTS_MODE: must be one of enforce, log (got "warn")');
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

  it('exits with code 2 and one line for a bad export header, never showing its value', async () => {
    const { code, stderr, stdout } = await start([], {
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318',
      OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer SECRET-TOKEN;v=1',
    });
    expect(code).toBe(2);
    expect(stderr.trim().split('\n')).toEqual([
      'Invalid configuration:',
      '  OTEL_EXPORTER_OTLP_HEADERS: must be comma-separated name=value pairs, values percent-encoded (%2C for a comma); pair 1 holds a ; (write it %3B)',
    ]);
    expect(stdout).toBe('');
  });

  it('exits with code 2 and one line for a trusted-documents manifest whose key does not match its text', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'trusted-start-'));
    try {
      const file = join(dir, 'persisted-documents.json');
      writeFileSync(file, JSON.stringify({ [`sha256:${'a'.repeat(64)}`]: '{ sessions { totalCount } }' }));
      const { code, stderr, stdout } = await start([], { TRUSTED_DOCUMENTS_FILE: file });
      expect(code).toBe(2);
      const lines = stderr.trim().split('\n');
      expect(lines).toHaveLength(2);
      expect(lines[0]).toBe('Invalid configuration:');
      expect(lines[1]).toMatch(
        new RegExp(
          `^  TRUSTED_DOCUMENTS_FILE: ".*persisted-documents\\.json": key "sha256:a{64}" is not the SHA-256 of its text`,
        ),
      );
      expect(stdout).toBe('');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('exits with code 2 and one line for an Apollo manifest made with a custom createOperationId', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'trusted-start-'));
    try {
      const file = join(dir, 'persisted-query-manifest.json');
      const body = 'query Sessions {\n  sessions {\n    totalCount\n  }\n}';
      writeFileSync(
        file,
        JSON.stringify({
          format: 'apollo-persisted-query-manifest',
          version: 1,
          operations: [{ id: 'Sessions', name: 'Sessions', type: 'query', body }],
        }),
      );
      const { code, stderr, stdout } = await start([], { TRUSTED_DOCUMENTS_FILE: file });
      expect(code).toBe(2);
      const lines = stderr.trim().split('\n');
      expect(lines).toHaveLength(2);
      expect(lines[0]).toBe('Invalid configuration:');
      expect(lines[1]).toMatch(
        /^ {2}TRUSTED_DOCUMENTS_FILE: ".*persisted-query-manifest\.json": operations\[0\] \("Sessions"\): id "Sessions" is not the SHA-256 of its body: the manifest was made with a custom createOperationId/,
      );
      expect(stdout).toBe('');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('exits with code 1 and one line naming the address when the port is taken', async () => {
    const taken = createNetServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as AddressInfo;
    try {
      const { code, stderr } = await start([], { PORT: String(port), LOG_LEVEL: 'silent' });
      expect(code).toBe(1);
      expect(stderr.trim()).toBe(
        `Cannot listen on 127.0.0.1:${port}: the port is already in use (EADDRINUSE); set PORT or HOST`,
      );
    } finally {
      taken.close();
    }
  });

  it('exits with code 1 and one line, no stack trace, when HOST is no host name it can resolve', async () => {
    const { code, stderr } = await start([], {
      HOST: 'no-such-host.invalid',
      JANS_CONFIG_API_URL: 'http://127.0.0.1:1/jans-config-api',
      LOG_LEVEL: 'silent',
    });
    expect(code).toBe(1);
    expect(stderr.trim()).toMatch(
      /^Cannot listen on no-such-host\.invalid:4000: (no such host name \(ENOTFOUND\)|the host name could not be resolved \(DNS did not answer\) \(EAI_AGAIN\)); set PORT or HOST$/,
    );
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
