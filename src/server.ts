import { randomUUID } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import { ApolloServer, HeaderMap, type HTTPGraphQLRequest } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import type { Logger } from 'pino';

import { createCallerAuthenticator } from './caller-auth.js';
import type { Config } from './config.js';
import { type Context, createContext, type ContextDeps } from './context.js';
import { sendJson, readBody, BodyTooLargeError } from './http/body.js';
import { createReadiness } from './http/health.js';
import { createJanssenClient } from './janssen/http-client.js';
import { ClientCredentialsTokenProvider } from './janssen/token-provider.js';
import { SearchHealth } from './loaders/search-health.js';
import { buildAppSchema } from './schema/build-schema.js';
import { depthLimitRule } from './schema/depth-limit.js';
import { createFormatError } from './schema/errors.js';

export interface AppServer {
  readonly httpServer: http.Server;
  readonly apollo: ApolloServer<Context>;
  /** Starts listening; resolves with the base URL (e.g. `http://127.0.0.1:4000`). */
  listen(port?: number, host?: string): Promise<string>;
  /** Stops accepting, lets in-flight requests finish (bounded), and releases upstream sockets. */
  stop(): Promise<void>;
}

/** Upstream settings after the demo (if any) has filled them in. */
export type ServerConfig = Config & { upstream: Config['upstream'] & { configApiUrl: string } };

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Builds the whole service (GraphQL, health routes) without side effects beyond creating objects. */
export async function createServer(config: ServerConfig, logger: Logger): Promise<AppServer> {
  const { upstream } = config;
  const janssen = createJanssenClient({
    baseUrl: upstream.configApiUrl,
    timeoutMs: upstream.timeoutMs,
    ...(upstream.ca ? { ca: upstream.ca } : {}),
  });
  const tokens =
    upstream.clientId && upstream.clientSecret && upstream.tokenUrl
      ? new ClientCredentialsTokenProvider({
          tokenUrl: upstream.tokenUrl,
          clientId: upstream.clientId,
          clientSecret: upstream.clientSecret,
          timeoutMs: upstream.timeoutMs,
          ...(upstream.ca ? { ca: upstream.ca } : {}),
        })
      : undefined;
  const deps: ContextDeps = {
    http: janssen,
    tokens,
    settings: { maxPageSize: upstream.maxPageSize, peopleBaseDn: upstream.peopleBaseDn },
    searchHealth: new SearchHealth(),
  };
  const authenticate = createCallerAuthenticator(config.auth);
  const readiness = createReadiness({ http: janssen, tokens });

  const apollo = new ApolloServer<Context>({
    schema: await buildAppSchema(),
    logger,
    introspection: !config.production,
    hideSchemaDetailsFromClientErrors: config.production,
    includeStacktraceInErrorResponses: false,
    allowBatchedHttpRequests: false,
    csrfPrevention: true,
    validationRules: [depthLimitRule(config.limits.maxQueryDepth)],
    formatError: createFormatError({
      maskUnexpected: config.production,
      onUnexpected: (error) => {
        const errorId = randomUUID();
        logger.error({ errorId, err: error }, 'unexpected error');
        return errorId;
      },
    }),
    plugins: [
      ApolloServerPluginLandingPageDisabled(),
      {
        async requestDidStart({ contextValue }) {
          const started = performance.now();
          return {
            async willSendResponse({ operationName, errors, response }) {
              const ok =
                !errors?.length && !(response.body.kind === 'single' && response.body.singleResult.errors);
              contextValue.log.info(
                {
                  operationName: operationName ?? null,
                  durationMs: Math.round((performance.now() - started) * 10) / 10,
                  upstreamCalls: contextValue.upstream.calls,
                  outcome: ok ? 'ok' : 'error',
                  caller: contextValue.caller.id,
                },
                'graphql operation',
              );
            },
          };
        },
      },
    ],
  });
  await apollo.start();

  async function handleGraphQL(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    log: Logger,
    requestId: string,
  ) {
    let body: unknown;
    if (req.method === 'POST') {
      const raw = await readBody(req, config.limits.maxBodyBytes);
      const type = req.headers['content-type'] ?? '';
      if (/^application\/(graphql-response\+)?json\b/i.test(type)) {
        try {
          body = raw.length === 0 ? {} : JSON.parse(raw);
        } catch {
          sendJson(res, 400, graphqlError('Request body is not valid JSON', 'BAD_USER_INPUT'));
          return;
        }
      } else {
        body = raw;
      }
    }
    const headers = new HeaderMap();
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined) {
        headers.set(name, Array.isArray(value) ? value.join(', ') : value);
      }
    }
    const httpGraphQLRequest: HTTPGraphQLRequest = {
      method: (req.method ?? 'GET').toUpperCase(),
      headers,
      search: url.search,
      body,
    };
    const authorization = req.headers.authorization;
    const apiKey = req.headers['x-api-key'];
    const response = await apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest,
      context: async () => {
        const caller = await authenticate({
          authorization,
          apiKey: Array.isArray(apiKey) ? apiKey[0] : apiKey,
        });
        return createContext(deps, { authorization, requestId, log, caller });
      },
    });
    res.statusCode = response.status ?? 200;
    for (const [name, value] of response.headers) {
      res.setHeader(name, value);
    }
    if (response.body.kind === 'complete') {
      res.end(response.body.string);
      return;
    }
    for await (const chunk of response.body.asyncIterator) {
      res.write(chunk);
    }
    res.end();
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const header = req.headers['x-request-id'];
    const requestId = typeof header === 'string' && REQUEST_ID.test(header) ? header : randomUUID();
    res.setHeader('x-request-id', requestId);
    const log = logger.child({ requestId });
    const url = new URL(req.url ?? '/', 'http://localhost');
    try {
      switch (url.pathname) {
        case '/graphql':
          await handleGraphQL(req, res, url, log, requestId);
          return;
        case '/healthz':
          sendJson(res, 200, { status: 'ok' });
          return;
        case '/readyz': {
          const state = await readiness.check();
          sendJson(
            res,
            state.ready ? 200 : 503,
            state.ready ? { status: 'ready' } : { status: 'unavailable', reason: state.reason },
          );
          return;
        }
        default:
          sendJson(res, 404, { error: 'Not found' });
      }
    } catch (error) {
      if (error instanceof BodyTooLargeError) {
        sendJson(
          res,
          413,
          graphqlError(`Request body is larger than ${config.limits.maxBodyBytes} bytes`, 'BAD_USER_INPUT'),
        );
        req.resume();
        return;
      }
      const errorId = randomUUID();
      log.error({ errorId, err: error }, 'request failed');
      if (!res.headersSent) {
        sendJson(res, 500, graphqlError('Internal server error', 'INTERNAL_SERVER_ERROR', { errorId }));
      } else {
        res.destroy();
      }
    }
  }

  const httpServer = http.createServer((req, res) => {
    void handle(req, res);
  });
  httpServer.keepAliveTimeout = 65_000;
  httpServer.headersTimeout = 66_000;
  httpServer.requestTimeout = 30_000;

  return {
    httpServer,
    apollo,
    listen(port = config.port, host = config.host) {
      return new Promise((resolve, reject) => {
        httpServer.once('error', reject);
        httpServer.listen(port, host, () => {
          httpServer.off('error', reject);
          const address = httpServer.address() as AddressInfo;
          const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
          resolve(`http://${shownHost}:${address.port}`);
        });
      });
    },
    async stop() {
      const closed = new Promise<void>((resolve) => httpServer.close(() => resolve()));
      httpServer.closeIdleConnections();
      const timer = setTimeout(() => httpServer.closeAllConnections(), 10_000);
      await closed;
      clearTimeout(timer);
      await apollo.stop();
      destroyAgents(janssen);
    },
  };
}

function graphqlError(message: string, code: string, extra: Record<string, unknown> = {}) {
  return { errors: [{ message, extensions: { code, ...extra } }] };
}

function destroyAgents(client: ReturnType<typeof createJanssenClient>): void {
  const { http: httpAgent, https: httpsAgent } = client.defaults.options.agent;
  for (const agent of [httpAgent, httpsAgent]) {
    if (agent) {
      agent.destroy();
    }
  }
}
