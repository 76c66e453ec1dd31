import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';

import { loadConfig } from '../../src/config.js';
import { configForEmulator } from '../../src/demo.js';
import { type Emulator, type EmulatorOptions, startEmulator } from '../../src/emulator/emulator.js';
import { createLogger } from '../../src/logger.js';
import { type AppServer, createServer, type ServerConfig } from '../../src/server.js';

export interface GraphQLResponse<T> {
  status: number;
  headers: Headers;
  body: {
    data?: T | null;
    errors?: { message: string; path?: string[]; extensions?: Record<string, unknown> }[];
  };
}

export interface Stack {
  emulator: Emulator;
  server: AppServer;
  /** Base URL of our service, e.g. http://127.0.0.1:40123 */
  url: string;
  /** Every log line the service wrote, parsed. */
  logs: Record<string, unknown>[];
  /** POSTs one operation to /graphql over real HTTP. */
  gql<T, V>(
    document: TypedDocumentNode<T, V> | string,
    variables?: V,
    headers?: Record<string, string>,
  ): Promise<GraphQLResponse<T>>;
  close(): Promise<void>;
}

export interface StackOptions {
  /** `client-credentials` (the demo's wiring, default) or `pass-through` (callers' bearer tokens are forwarded). */
  mode?: 'client-credentials' | 'pass-through';
  emulator?: EmulatorOptions;
  /** Extra environment for `loadConfig`. */
  env?: Record<string, string>;
  /** Environment that depends on the emulator (e.g. its JWKS URL), applied after `env`. */
  envFrom?: (emulator: Emulator) => Record<string, string>;
  /** Client-credentials mode: a token endpoint other than the emulator's (one the emulator cannot imitate). */
  tokenUrl?: string;
}

/** The emulator and our real server, each on an ephemeral loopback port. */
export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const emulator = await startEmulator({ host: '127.0.0.1', port: 0, ...options.emulator });
  const config = loadConfig({ LOG_LEVEL: 'debug', ...options.env, ...options.envFrom?.(emulator) });
  const demo = configForEmulator(config, emulator);
  const serverConfig: ServerConfig =
    (options.mode ?? 'client-credentials') === 'client-credentials'
      ? { ...demo, upstream: { ...demo.upstream, tokenUrl: options.tokenUrl ?? demo.upstream.tokenUrl } }
      : { ...config, upstream: { ...config.upstream, configApiUrl: emulator.configApiUrl } };
  const logs: Record<string, unknown>[] = [];
  const logger = createLogger(
    { level: serverConfig.logLevel, production: serverConfig.production },
    { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) },
  );
  const server = await createServer(serverConfig, logger);
  const url = await server.listen(0, '127.0.0.1');
  return {
    emulator,
    server,
    url,
    logs,
    async gql(document, variables, headers = {}) {
      const response = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ query: typeof document === 'string' ? document : print(document), variables }),
      });
      return { status: response.status, headers: response.headers, body: (await response.json()) as never };
    },
    async close() {
      await server.stop();
      await emulator.close();
    },
  };
}
