import { randomUUID } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';

import { ApolloServer, HeaderMap, type HTTPGraphQLRequest } from '@apollo/server';
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginLandingPageDisabled,
} from '@apollo/server/plugin/disabled';
import type { Logger } from 'pino';

import { type Caller, createCallerAuthenticator, readBearerCredential } from './caller-auth.js';
import type { Config } from './config.js';
import { type Context, createContext, type ContextDeps, type RequestScope } from './context.js';
import { FastPath } from './execution/fast-path.js';
import {
  BodyTooLargeError,
  ClientClosedRequestError,
  isIdentityEncoded,
  readBody,
  sendJson,
} from './http/body.js';
import { createClientErrorHandler } from './http/client-error.js';
import { createCors } from './http/cors.js';
import { ASSET_PREFIX, createGraphiQL, graphiqlHeaders } from './http/graphiql.js';
import { createReadiness } from './http/health.js';
import { createMetrics } from './http/metrics.js';
import { createJanssenClient, type JanssenClient } from './janssen/http-client.js';
import { CircuitBreaker } from './janssen/resilience.js';
import { ClientCredentialsTokenProvider } from './janssen/token-provider.js';
import { SearchHealth } from './loaders/search-health.js';
import { shownOperationName } from './logger.js';
import { createPersistedQueries } from './persisted-queries.js';
import { buildAppSchema } from './schema/build-schema.js';
import { depthLimitRule } from './schema/depth-limit.js';
import { boundCapErrorsPlugin, createFormatError } from './schema/errors.js';
import { aliasLimitRule, costLimitPlugin, noSubscriptionsRule, rootFieldLimitRule } from './schema/limits.js';
import { createTracing } from './tracing/tracing.js';
import { createTrustedDocuments, invalidTrustedDocuments } from './trusted-documents.js';
import { RepeatLimiter } from './util/repeat-limiter.js';

export interface AppServer {
  readonly httpServer: http.Server;
  readonly apollo: ApolloServer<Context>;
  /** Repeat requests answered without Apollo's pipeline (`GRAPHQL_FAST_PATH`). */
  readonly fastPath: FastPath;
  /** The upstream client: `upstream.circuit.state()`, `upstream.limit.active` / `.queued` for metrics. */
  readonly upstream: JanssenClient;
  /** Starts listening; resolves with the base URL (e.g. `http://127.0.0.1:4000`). */
  listen(port?: number, host?: string): Promise<string>;
  /** Stops accepting, lets in-flight requests finish (bounded), and releases upstream sockets. */
  stop(): Promise<void>;
}

/** Upstream settings after the demo (if any) has filled them in. */
export type ServerConfig = Config & { upstream: Config['upstream'] & { configApiUrl: string } };

/** How long a client may take to send one request, and how often Node checks. */
export interface RequestTimeouts {
  /** From the first byte of a request to the end of its headers. */
  headersMs: number;
  /** From the first byte of a request to the end of its body; not the time taken to answer it. */
  requestMs: number;
  /** How often stalled requests are looked for: a 408 comes at most this much after its deadline. */
  checkIntervalMs: number;
}

/**
 * A client that sends part of a request and stops holds a socket and its buffers until one of these ends it with
 * a 408. Node's defaults (60 s, 300 s, checked every 30 s) let one do so for minutes. A real client sends its
 * headers at once and a body of at most MAX_BODY_BYTES (1 MB by default) in well under 30 s even on a slow link.
 * The clock stops once the request is received, so slow upstream calls are not cut short. Node needs
 * `headersMs <= requestMs` (it silently swaps them otherwise). The check is one timer walking the open requests.
 */
export const REQUEST_TIMEOUTS: RequestTimeouts = {
  headersMs: 10_000,
  requestMs: 30_000,
  checkIntervalMs: 1_000,
};

/**
 * An idle keep-alive socket stays open longer than the common load-balancer idle timeout (60 s, AWS ALB's default),
 * so the balancer closes first and never sends a request on a socket we are closing.
 */
const KEEP_ALIVE_TIMEOUT_MS = 65_000;

export interface ServerOptions {
  /** Shorter request timeouts, for tests of stalled clients. */
  requestTimeouts?: Partial<RequestTimeouts>;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** `/graphql` methods: GET (queries only) and POST; OPTIONS only as a CORS preflight, answered without CORS. */
const GRAPHQL_ALLOW = 'GET, POST';
const GRAPHQL_PREFLIGHT_ALLOW = 'GET, POST, OPTIONS';
const GRAPHQL_METHOD_MESSAGE = 'GraphQL is served over GET (queries) and POST only';
/** `/healthz`, `/readyz`, `/metrics`, `/graphiql/assets/*`. */
const READ_ONLY_ALLOW = 'GET, HEAD';

/** Builds the whole service (GraphQL, health routes) without side effects beyond creating objects. */
export async function createServer(
  config: ServerConfig,
  logger: Logger,
  options: ServerOptions = {},
): Promise<AppServer> {
  const { upstream } = config;
  // One breaker for Janssen: the config API and its auth server go down together.
  const circuit = new CircuitBreaker({
    ...upstream.circuit,
    onStateChange: (state) =>
      state === 'open'
        ? logger.warn({ openMs: upstream.circuit.openMs }, 'upstream circuit open: failing fast')
        : logger.info('upstream circuit closed: upstream answers again'),
  });
  const janssen = createJanssenClient({
    baseUrl: upstream.configApiUrl,
    timeoutMs: upstream.timeoutMs,
    connectTimeoutMs: upstream.connectTimeoutMs,
    retries: upstream.retries,
    maxConcurrency: upstream.maxConcurrency,
    circuit,
    ...(upstream.ca ? { ca: upstream.ca } : {}),
  });
  const tracing = await createTracing(config.tracing, { logger, upstreamUrl: upstream.configApiUrl });
  const tokens =
    upstream.clientId && upstream.clientSecret && upstream.tokenUrl
      ? new ClientCredentialsTokenProvider({
          tokenUrl: upstream.tokenUrl,
          clientId: upstream.clientId,
          clientSecret: upstream.clientSecret,
          timeoutMs: upstream.timeoutMs,
          connectTimeoutMs: upstream.connectTimeoutMs,
          circuit,
          tracing,
          ...(upstream.ca ? { ca: upstream.ca } : {}),
        })
      : undefined;
  const metrics = createMetrics({ circuitState: () => circuit.state() });
  const deps: ContextDeps = {
    http: janssen,
    tokens,
    settings: { maxPageSize: upstream.maxPageSize, peopleBaseDn: upstream.peopleBaseDn, audit: config.audit },
    searchHealth: new SearchHealth(),
    serviceRefusals: new RepeatLimiter(),
    onUpstreamCall: metrics.onUpstreamCall,
    onBatch: metrics.onBatch,
  };
  const authenticate = createCallerAuthenticator(config.auth, { logger });
  const readiness = createReadiness({ http: janssen, tokens });
  const trusted = config.trustedDocuments
    ? createTrustedDocuments(config.trustedDocuments, { onUntrusted: metrics.onUntrustedDocument })
    : undefined;
  const enforceTrusted = trusted?.mode === 'enforce';
  const graphiql = createGraphiQL({
    headers: graphiqlHeaders(config),
    introspection: !config.production,
    maxPageSize: upstream.maxPageSize,
    trustedDocumentsOnly: enforceTrusted,
  });
  const cors = createCors(config.corsOrigins);
  // Enforce mode answers every persisted-query hash from the manifest: Apollo's APQ cache is never consulted, so
  // nothing registered there (by a log-mode replica sharing Redis, say) can run, and Redis is not connected.
  if (enforceTrusted && config.redisUrl !== undefined) {
    logger.warn(
      'REDIS_URL is not used: with TRUSTED_DOCUMENTS_MODE=enforce persisted queries come from the manifest',
    );
  }
  const persistedQueries = await createPersistedQueries(enforceTrusted ? undefined : config.redisUrl, logger);
  // The request logger of each GraphQL error, so `formatError` (which gets no context) logs with the request id.
  const errorLogs = new WeakMap<object, Logger>();

  const schema = await buildAppSchema();
  if (config.trustedDocuments) {
    const invalid = invalidTrustedDocuments(schema, config.trustedDocuments.documents);
    if (invalid.length > 0) {
      logger.warn(
        { count: invalid.length, documentIds: invalid.slice(0, 10) },
        'trusted documents that do not validate against this schema: requests for them will fail',
      );
    }
  }
  const formatAppError = createFormatError({
    maskUnexpected: config.production,
    hideSuggestions: config.production,
    onUnexpected: (error, graphqlError) => {
      const errorId = randomUUID();
      (errorLogs.get(graphqlError as object) ?? logger).error({ errorId, err: error }, 'unexpected error');
      return errorId;
    },
  });
  // Apollo's CSRF refusal ends its message with a newline (preventCsrf.ts): messages reach clients trimmed.
  const formatError: typeof formatAppError = (formatted, error) =>
    formatAppError(
      /\s$/.test(formatted.message) ? { ...formatted, message: formatted.message.trimEnd() } : formatted,
      error,
    );
  /** The one log line of each operation, whichever path answered it. */
  const logOperation = (
    contextValue: Context,
    operationName: string | null | undefined,
    errors: readonly { extensions?: { code?: unknown } }[] | undefined,
    httpStatus: number,
    durationMs: number,
  ) => {
    const scope = contextValue.scope;
    scope.operationLogged = true;
    const ok = !errors?.length;
    scope.trace?.endOperation(ok ? [] : errors.map((error) => String(error.extensions?.code ?? 'UNKNOWN')));
    // Asked first: reaching for `contextValue.log` makes the request's child logger, even when info is off.
    if (!logger.isLevelEnabled('info')) {
      return;
    }
    contextValue.log.info(
      {
        operationName: shownOperationName(operationName),
        durationMs: Math.round(durationMs * 10) / 10,
        upstreamCalls: contextValue.upstream.calls,
        outcome: ok ? 'ok' : 'error',
        caller: contextValue.caller.id,
        method: scope.method,
        httpStatus,
      },
      'graphql operation',
    );
  };
  const fastPath = new FastPath({
    schema,
    maxCost: config.limits.maxCost,
    formatError,
    onError: (error, contextValue) => errorLogs.set(error, contextValue.log),
    onResponse: ({ context: contextValue, operationName, errors, httpStatus, durationMs }) => {
      metrics.recordOperation(operationName, errors, durationMs);
      logOperation(contextValue, operationName, errors, httpStatus, durationMs);
    },
  });

  const apollo = new ApolloServer<Context>({
    schema,
    logger,
    persistedQueries: enforceTrusted ? false : persistedQueries.options,
    introspection: !config.production,
    hideSchemaDetailsFromClientErrors: config.production,
    includeStacktraceInErrorResponses: false,
    allowBatchedHttpRequests: false,
    csrfPrevention: true,
    // index.ts owns SIGTERM/SIGINT: Apollo's own handlers would stop it first and leave `stop()` waiting forever.
    stopOnTerminationSignals: false,
    validationRules: [
      depthLimitRule(config.limits.maxQueryDepth),
      aliasLimitRule(config.limits.maxAliases),
      rootFieldLimitRule(config.limits.maxRootFields),
      noSubscriptionsRule,
    ],
    parseOptions: { maxTokens: config.limits.maxTokens },
    formatError,
    plugins: [
      // GET /graphql from a browser gets our offline GraphiQL page instead (see `route`).
      ApolloServerPluginLandingPageDisabled(),
      // We set no cache hints; Apollo's default cache-control plugin would wrap every field resolver for nothing.
      ApolloServerPluginCacheControlDisabled(),
      costLimitPlugin(config.limits.maxCost),
      // Before the operation's metrics and log line, which count the errors it leaves.
      boundCapErrorsPlugin,
      {
        async serverWillStart() {
          return { serverWillStop: () => persistedQueries.close() };
        },
      },
      {
        async requestDidStart({ contextValue }) {
          const started = performance.now();
          return {
            async didResolveOperation({ operation, operationName }) {
              if (operation) {
                contextValue.scope.trace?.startOperation(operation.operation, operationName);
              }
            },
            async didEncounterErrors({ errors }) {
              for (const error of errors) {
                errorLogs.set(error, contextValue.log);
              }
            },
            async willSendResponse({ operationName, errors, response }) {
              // The formatted errors (codes as the client sees them), or Apollo's when the body has none.
              const sent = response.body.kind === 'single' ? response.body.singleResult.errors : undefined;
              const durationMs = performance.now() - started;
              metrics.recordOperation(operationName, sent, durationMs);
              logOperation(
                contextValue,
                operationName,
                sent?.length ? sent : errors,
                response.http.status ?? 200,
                durationMs,
              );
            },
          };
        },
      },
      // Records what the fast path may answer; nothing to record when it is off.
      ...(config.fastPath ? [fastPath.plugin] : []),
    ],
  });
  await apollo.start();

  /**
   * Writes a GraphQL error response that no operation produced, and counts it: every GraphQL error response on
   * /graphql counts in `jans_graphql_errors_total` once, whichever layer wrote it.
   */
  function refuse(
    res: ServerResponse,
    scope: RequestScope,
    status: number,
    body: ReturnType<typeof graphqlError>,
    headers?: Record<string, string>,
  ): void {
    sendJson(res, status, body, headers);
    metrics.recordRefusal(body.errors, performance.now() - scope.started);
  }

  async function handleGraphQL(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    scope: RequestScope,
    requestId: string,
  ) {
    // Refused before the body is read: parsing it as sent would either fail (gzip) or take bytes the client meant
    // to be decoded.
    if (!isIdentityEncoded(req.headers['content-encoding'])) {
      refuse(
        res,
        scope,
        415,
        graphqlError(
          'Compressed request bodies are not supported: send the body uncompressed, without Content-Encoding',
          'BAD_USER_INPUT',
        ),
        { 'accept-encoding': 'identity' },
      );
      return;
    }
    let body: unknown;
    if (req.method === 'POST') {
      const raw = await readBody(req, config.limits.maxBodyBytes);
      const type = req.headers['content-type'] ?? '';
      if (/^application\/(graphql-response\+)?json\b/i.test(type)) {
        try {
          body = raw.length === 0 ? {} : JSON.parse(raw);
        } catch {
          refuse(res, scope, 400, graphqlError('Request body is not valid JSON', 'BAD_USER_INPUT'));
          return;
        }
      } else {
        body = raw;
      }
    }
    let search = url.search;
    // Before anything reads the operation: caller authentication, the fast path, Apollo's parser.
    if (trusted !== undefined) {
      const checked = trusted.check(
        { method: req.method === 'POST' ? 'POST' : 'GET', body, search },
        () => scope.log,
      );
      if (checked.refusal) {
        const { status, message, code } = checked.refusal;
        refuse(res, scope, status, graphqlError(message, code));
        return;
      }
      ({ body, search } = checked.request);
    }
    // Every Authorization line: more than one is malformed, and `req.headers` would keep only the first. Node
    // builds `headersDistinct` (all headers) on first use: not for the many requests without the header.
    const bearer = readBearerCredential(
      req.headers.authorization === undefined ? undefined : req.headersDistinct.authorization,
    );
    const apiKey = req.headers['x-api-key'];
    // Once per request: a refusal the fast path meets is Apollo's to send, and a second check would verify the
    // JWT (and, with the key server down, wait for it) again.
    let caller: Promise<Caller> | undefined;
    const createRequestContext = async () => {
      caller ??= authenticate({ bearer, apiKey: Array.isArray(apiKey) ? apiKey[0] : apiKey });
      return createContext(deps, { bearer, requestId, caller: await caller, scope });
    };
    if (req.method === 'POST' && config.fastPath) {
      const answer = await fastPath.execute({
        headers: req.headers,
        body,
        createContext: createRequestContext,
      });
      if (answer) {
        res.statusCode = answer.status;
        for (const [name, value] of answer.headers) {
          res.setHeader(name, value);
        }
        res.end(answer.body);
        return;
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
      search,
      body,
    };
    const response = await apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest,
      context: createRequestContext,
    });
    // Refused before its pipeline ran an operation (CSRF prevention, the caller, a request without a query): Apollo's
    // own error response, `{"errors":[…]}`, counted here as nothing else saw it.
    if (!scope.operationLogged && response.body.kind === 'complete') {
      const errors = errorsIn(response.body.string);
      if (errors.length > 0) {
        metrics.recordRefusal(errors, performance.now() - scope.started);
      }
    }
    res.statusCode = response.status ?? 200;
    if (config.fastPath && res.statusCode === 200 && req.method === 'POST') {
      fastPath.learnContentType(req.headers.accept, response.headers.get('content-type'));
    }
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
    inFlight.add(res);
    res.once('close', () => inFlight.delete(res));
    if (stopping) {
      res.setHeader('connection', 'close');
    }
    const header = req.headers['x-request-id'];
    const requestId = typeof header === 'string' && REQUEST_ID.test(header) ? header : randomUUID();
    res.setHeader('x-request-id', requestId);
    let log: Logger | undefined;
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = req.method ?? 'GET';
    // Every /graphql request but a CORS preflight.
    const trace =
      tracing && url.pathname === '/graphql' && method !== 'OPTIONS'
        ? tracing.startRequest({ method, headers: req.headers })
        : undefined;
    // The child logger is made on first use: most requests at LOG_LEVEL=warn never log.
    const scope: RequestScope = {
      get log() {
        return (log ??= logger.child(trace ? { requestId, ...trace.logFields } : { requestId }));
      },
      method,
      started: performance.now(),
      operationLogged: false,
      trace,
    };
    try {
      await route(req, res, url, scope, requestId);
    } finally {
      trace?.end(res.headersSent ? res.statusCode : undefined);
    }
    // Not a 500: it was logged with its error already. A 503 (the callers' key server down) is, as its cause is
    // logged once a minute only.
    if (
      url.pathname === '/graphql' &&
      !scope.operationLogged &&
      res.statusCode >= 400 &&
      res.statusCode !== 500
    ) {
      scope.log.info(
        {
          method: scope.method,
          httpStatus: res.statusCode,
          durationMs: Math.round((performance.now() - scope.started) * 10) / 10,
          outcome: 'refused',
        },
        'graphql request refused',
      );
    }
  }

  async function route(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    scope: RequestScope,
    requestId: string,
  ): Promise<void> {
    try {
      if (url.pathname.startsWith(ASSET_PREFIX)) {
        if (!allowsReadOnly(req, res)) {
          return;
        }
        if (!(await graphiql.sendAsset(req, res, url.pathname.slice(ASSET_PREFIX.length)))) {
          sendJson(res, 404, { error: 'Not found' });
        }
        return;
      }
      switch (url.pathname) {
        case '/graphql':
          // Answers depend on the caller's credentials: no browser or shared cache may keep any of them.
          res.setHeader('cache-control', 'no-store');
          if (req.method === 'OPTIONS') {
            if (cors) {
              cors.preflight(req, res, GRAPHQL_PREFLIGHT_ALLOW);
            } else {
              // No CORS: a preflight gets no Access-Control-* header, so browsers refuse cross-origin calls.
              res.writeHead(204, { allow: GRAPHQL_PREFLIGHT_ALLOW });
              res.end();
            }
            return;
          }
          cors?.apply(req, res);
          if (req.method !== 'GET' && req.method !== 'POST') {
            refuse(res, scope, 405, graphqlError(GRAPHQL_METHOD_MESSAGE, 'BAD_USER_INPUT'), {
              allow: GRAPHQL_ALLOW,
            });
            return;
          }
          if (graphiql.wantsPage(req, url)) {
            graphiql.sendPage(res);
            return;
          }
          await handleGraphQL(req, res, url, scope, requestId);
          return;
        case '/metrics': {
          if (!allowsReadOnly(req, res)) {
            return;
          }
          const { contentType, body } = await metrics.render();
          res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' });
          res.end(body);
          return;
        }
        case '/healthz':
          if (allowsReadOnly(req, res)) {
            sendJson(res, 200, { status: 'ok' });
          }
          return;
        case '/readyz': {
          if (!allowsReadOnly(req, res)) {
            return;
          }
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
        refuse(
          res,
          scope,
          413,
          graphqlError(`Request body is larger than ${config.limits.maxBodyBytes} bytes`, 'BAD_USER_INPUT'),
        );
        req.resume();
        return;
      }
      if (error instanceof ClientClosedRequestError) {
        // A cancelled fetch, a closed tab, a proxy giving up: normal client behaviour, so no stack and no 500.
        // Node has answered a stalled one with a 408 itself.
        if (error.timedOut) {
          scope.log.info(
            { method: scope.method, path: url.pathname },
            'request timed out before its body was complete',
          );
        } else {
          scope.log.debug({ method: scope.method, path: url.pathname }, 'client closed the request');
        }
        res.destroy();
        return;
      }
      const errorId = randomUUID();
      scope.log.error({ errorId, err: error }, 'request failed');
      if (!res.headersSent) {
        const body = graphqlError('Internal server error', 'INTERNAL_SERVER_ERROR', { errorId });
        // Counted unless its operation was: a response of /graphql that no operation's metrics saw.
        if (url.pathname === '/graphql' && !scope.operationLogged) {
          refuse(res, scope, 500, body);
        } else {
          sendJson(res, 500, body);
        }
      } else {
        res.destroy();
      }
    }
  }

  /** Responses not yet finished, so a stop can tell their clients not to reuse the connection. */
  const inFlight = new Set<ServerResponse>();
  let stopping = false;
  const timeouts = { ...REQUEST_TIMEOUTS, ...options.requestTimeouts };
  // Given to the constructor, which refuses headersTimeout > requestTimeout (set later, Node would swap them).
  const httpServer = http.createServer(
    {
      headersTimeout: timeouts.headersMs,
      requestTimeout: timeouts.requestMs,
      connectionsCheckingInterval: timeouts.checkIntervalMs,
    },
    (req, res) => {
      void handle(req, res);
    },
  );
  httpServer.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  // Node answers these (408, 400, 431, …) by itself and silently; the handler answers alike and logs a timeout.
  httpServer.on('clientError', createClientErrorHandler(logger));
  // CONNECT (a proxy tunnel) never reaches the request handler; without this Node just drops the socket.
  httpServer.on('connect', (_req: IncomingMessage, socket: Duplex) => {
    socket.end(
      `HTTP/1.1 405 Method Not Allowed\r\nAllow: ${GRAPHQL_ALLOW}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
    );
  });

  return {
    httpServer,
    apollo,
    fastPath,
    upstream: janssen,
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
      stopping = true;
      const closed = new Promise<void>((resolve) => httpServer.close(() => resolve()));
      // A keep-alive connection would keep `close` waiting until it idles out: answers in flight say
      // `Connection: close`, so each socket ends with its last response.
      for (const res of inFlight) {
        if (!res.headersSent) {
          res.setHeader('connection', 'close');
        }
      }
      httpServer.closeIdleConnections();
      const timer = setTimeout(() => httpServer.closeAllConnections(), 10_000);
      await closed;
      clearTimeout(timer);
      await apollo.stop();
      janssen.close();
      await tracing?.shutdown();
    },
  };
}

/** `GET` and `HEAD` (Node leaves the body out) pass; any other method gets a 405 and false. */
function allowsReadOnly(req: IncomingMessage, res: ServerResponse): boolean {
  if (req.method === 'GET' || req.method === 'HEAD') {
    return true;
  }
  sendJson(res, 405, { error: 'Method not allowed' }, { allow: READ_ONLY_ALLOW });
  return false;
}

function graphqlError(message: string, code: string, extra: Record<string, unknown> = {}) {
  return { errors: [{ message, extensions: { code, ...extra } }] };
}

/** The errors of a JSON GraphQL response (none when it is not one). */
function errorsIn(text: string): { extensions?: { code?: unknown } }[] {
  try {
    const { errors } = JSON.parse(text) as { errors?: unknown };
    return Array.isArray(errors) ? (errors as { extensions?: { code?: unknown } }[]) : [];
  } catch {
    return [];
  }
}
