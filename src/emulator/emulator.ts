import { randomUUID } from 'node:crypto';
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';

import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';

import type { TokenResponse } from '../janssen/session.dto.js';

import { type Access, authorize, ClientRegistry, SCOPES, TokenRegistry } from './auth.js';
import { generateDemoData } from './demo-data.js';
import { type Fault, FaultInjector, jettyHtmlErrorPage, jettyJsonErrorBody } from './faults.js';
import { mulberry32 } from './prng.js';
import { SearchError, type SearchPage, type SearchQuery, searchSessions } from './search.js';
import { SessionStore } from './session-store.js';

export type { Fault } from './faults.js';

/** Options of {@link startEmulator}. */
export interface EmulatorOptions {
  /** Interface to bind; default `127.0.0.1`. */
  host?: string;
  /**
   * Keep only about this many of the latest requests in `requests` (counts stay exact); default all, as tests
   * want. A long-running emulator (the demo, benchmarks) sets it so memory does not grow with traffic.
   */
  maxRecordedRequests?: number;
  /** Port; default 0 (ephemeral). */
  port?: number;
  /** PRNG seed for demo data and fault dice; default 42. */
  seed?: number;
  /** Number of demo sessions; default 300, 0 = empty store. */
  sessionCount?: number;
  /** Config-api `maxCount` (page size limit and ORM chunk size); default 200, values <= 0 mean 200 (§2.2). */
  maxCount?: number;
  /** Lifetime of issued access tokens; default 3600. */
  tokenTtlSeconds?: number;
  /** Clock for demo data and token expiry; default `() => new Date()`. */
  now?: () => Date;
  /** Serve HTTPS with this key and certificate (PEM) instead of plain HTTP. */
  tls?: { key: string | Buffer; cert: string | Buffer };
}

/** The operations the emulator serves. */
export type RouteName = 'list' | 'search' | 'get' | 'delete' | 'revoke' | 'token';

/** One request as the emulator received it. */
export interface RecordedRequest {
  method: string;
  /** The operation the method and path matched, `null` for anything else (404, 405, OPTIONS, discovery). */
  route: RouteName | null;
  /** Raw (still percent-encoded) path. */
  path: string;
  /** Raw query string without the `?` (`''` when absent); `new URLSearchParams(query)` decodes it. */
  query: string;
  /** Decoded query parameters, first value of each name (what JAX-RS `@QueryParam` sees). */
  params: Record<string, string>;
  headers: IncomingHttpHeaders;
  /** Status sent; 0 while pending and for requests that never got an answer (hang, reset). */
  status: number;
}

/** A running emulator. */
export interface Emulator {
  /** e.g. `http://127.0.0.1:43567`; also the issuer of the emulated auth server. */
  readonly origin: string;
  /** `origin + '/jans-config-api'`. */
  readonly configApiUrl: string;
  /** `origin + '/jans-auth/restv1/token'`. */
  readonly tokenUrl: string;
  /** A client allowed session.readonly, session.delete and revoke_session. */
  readonly clientId: string;
  readonly clientSecret: string;
  /** The data behind the endpoints. */
  readonly store: SessionStore;
  /** Requests received, in order: every one, or the latest `maxRecordedRequests`. */
  readonly requests: RecordedRequest[];
  /** Number of requests that matched `route`, or of all requests when omitted. */
  count(route?: RouteName): number;
  /** Forgets recorded requests. */
  resetCounts(): void;
  /** Mints an access token directly; `ttlSeconds` defaults to the configured token TTL. */
  issueToken(scopes: string[], ttlSeconds?: number): string;
  /** `origin + '/jans-auth/restv1/jwks'`: the public key of `issueJwt`. */
  readonly jwksUrl: string;
  /**
   * Signs a JWT access token as the auth server would (RS256, `iss` = origin, `iat`, `exp`), with `claims` on top
   * (e.g. `sub`, `aud`, `scope`, or an overriding `iss`); `expiresInSeconds` may be negative for an expired token.
   */
  issueJwt(claims: Record<string, unknown>, options?: { expiresInSeconds?: number }): Promise<string>;
  /** Registers (or replaces) a `client_credentials` client. */
  addClient(id: string, secret: string, scopes: string[]): void;
  /**
   * Installs a fault for one route or for every route (`'*'`); `null` removes the route's fault, and
   * `setFault('*', null)` removes all faults.
   */
  setFault(route: RouteName | '*', fault: Fault | null): void;
  /** Stops listening and destroys every open socket; idempotent. */
  close(): Promise<void>;
}

/** Id of the built-in demo client. */
export const DEMO_CLIENT_ID = '1800.4f1c7a52-0e5b-4c39-9a1d-6b0e2f8d3c71';
/** Secret of the built-in demo client. */
export const DEMO_CLIENT_SECRET = 'demo-client-secret';

/** Config-api session resource path (§2). */
export const SESSION_PATH = '/jans-config-api/api/v1/jans-auth-server/session';
/** Auth server token endpoint path (§6). */
export const TOKEN_PATH = '/jans-auth/restv1/token';

/** Auth server JWKS path. */
export const JWKS_PATH = '/jans-auth/restv1/jwks';

const DISCOVERY_PATHS = new Set([
  '/jans-auth/.well-known/openid-configuration',
  '/.well-known/openid-configuration',
]);
const DEFAULT_MAX_COUNT = 200;
const MAX_BODY_BYTES = 64 * 1024;

type Operation = RouteName | 'discovery' | 'jwks';

interface PathMatch {
  operations: Partial<Record<string, Operation>>;
  /** Raw path parameter (`{sid}` or `{userDn}`). */
  param?: string;
}

/** Resource matching: a JAX-RS path parameter is one non-empty segment (`[^/]+`, §2.5). */
function matchPath(rawPath: string): PathMatch | null {
  const path = rawPath.length > 1 && rawPath.endsWith('/') ? rawPath.slice(0, -1) : rawPath;
  if (path === SESSION_PATH) {
    return { operations: { GET: 'list' } };
  }
  if (path === `${SESSION_PATH}/search`) {
    return { operations: { GET: 'search' } };
  }
  const param = /^\/(sid|user)\/([^/]+)$/.exec(
    path.startsWith(SESSION_PATH) ? path.slice(SESSION_PATH.length) : '',
  );
  if (param?.[1] === 'sid') {
    return { operations: { GET: 'get', DELETE: 'delete' }, param: param[2] };
  }
  if (param?.[1] === 'user') {
    return { operations: { DELETE: 'revoke' }, param: param[2] };
  }
  if (path === TOKEN_PATH) {
    return { operations: { POST: 'token' } };
  }
  if (DISCOVERY_PATHS.has(path)) {
    return { operations: { GET: 'discovery' } };
  }
  if (path === JWKS_PATH) {
    return { operations: { GET: 'jwks' } };
  }
  return null;
}

/** Methods JAX-RS advertises in `Allow` (HEAD and OPTIONS come with GET automatically). */
function allowedMethods(match: PathMatch): string[] {
  const methods = Object.keys(match.operations);
  if (methods.includes('GET')) {
    methods.push('HEAD');
  }
  methods.push('OPTIONS');
  return methods;
}

/** `Integer.valueOf` as JAX-RS uses it for `int` query parameters: `null` when it would throw. */
function parseJavaInt(raw: string): number | null {
  if (!/^[+-]?\d+$/.test(raw)) {
    return null;
  }
  const n = Number(raw);
  return n >= -2147483648 && n <= 2147483647 ? n : null;
}

function mediaRange(value: string): { type: string; subtype: string; q: number } {
  const [range = '', ...params] = value.split(';');
  const [type = '', subtype = ''] = range.trim().toLowerCase().split('/');
  let q = 1;
  for (const param of params) {
    const [name, v] = param.split('=');
    if (name?.trim().toLowerCase() === 'q' && v !== undefined) {
      q = Number(v.trim());
    }
  }
  return { type, subtype, q: Number.isNaN(q) ? 1 : q };
}

function isJsonCompatible(range: { type: string; subtype: string }): boolean {
  return (
    (range.type === '*' || range.type === 'application') &&
    (range.subtype === '*' || range.subtype === 'json')
  );
}

function firstQueryValues(search: string): Record<string, string> {
  const query: Record<string, string> = {};
  for (const [name, value] of new URLSearchParams(search)) {
    if (!Object.hasOwn(query, name)) {
      query[name] = value;
    }
  }
  return query;
}

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function formDecode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s;
  }
}

/** Client credentials from HTTP Basic (`client_secret_basic`) or the form body (`client_secret_post`). */
function clientCredentials(
  headers: IncomingHttpHeaders,
  form: URLSearchParams,
): { id: string; secret: string } | null {
  const authorization = headerValue(headers, 'authorization');
  const basic = authorization ? /^basic\s+(\S+)$/i.exec(authorization) : null;
  if (basic?.[1]) {
    const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) {
      return null;
    }
    // RFC 6749 §2.3.1: id and secret are form-urlencoded before base64.
    return { id: formDecode(decoded.slice(0, colon)), secret: formDecode(decoded.slice(colon + 1)) };
  }
  const id = form.get('client_id');
  const secret = form.get('client_secret');
  return id !== null && secret !== null ? { id, secret } : null;
}

function readBody(req: IncomingMessage): Promise<string | null> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) {
        chunks.push(chunk);
      }
    });
    req.on('end', () => resolve(size > MAX_BODY_BYTES ? null : Buffer.concat(chunks).toString('utf8')));
    req.on('error', () => resolve(null));
  });
}

/**
 * `JSON.stringify` of the `SessionPagedResult` (§4.3), put together from each entry's memoized JSON: the same
 * bytes, as `JSON.stringify` without indentation nests the members' own output verbatim.
 */
function pagedResultJson(page: SearchPage, store: SessionStore): string {
  // Integers only (`-0` prints as `0` either way); member order as in SessionPagedResult.
  const head = `{"start":${page.start},"totalEntriesCount":${page.totalEntriesCount},"entriesCount":${page.entries.length}`;
  // NON_EMPTY drops an empty entries list (§4.3).
  if (page.entries.length === 0) {
    return `${head}}`;
  }
  return `${head},"entries":[${page.entries.map((record) => store.toWireJson(record)).join(',')}]}`;
}

/**
 * Starts an HTTP server that behaves like Janssen's config-api session endpoints and the auth server's
 * token endpoint (UPSTREAM-BEHAVIOUR.md §2-§6), seeded with deterministic demo sessions.
 */
export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const host = options.host ?? '127.0.0.1';
  const seed = options.seed ?? 42;
  const now = options.now ?? (() => new Date());
  const maxCount =
    options.maxCount !== undefined && options.maxCount > 0 ? options.maxCount : DEFAULT_MAX_COUNT;
  const tokenTtlSeconds = options.tokenTtlSeconds ?? 3600;

  const store = new SessionStore();
  const demo = generateDemoData({ seed, sessionCount: options.sessionCount ?? 300, now: now() });
  demo.sessions.forEach((record) => store.add(record));
  demo.tokens.forEach((token) => store.addToken(token));

  const tokens = new TokenRegistry(now);
  const signing = await createSigningKey();
  const clients = new ClientRegistry();
  clients.add(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, [
    SCOPES.sessionReadonly,
    SCOPES.sessionDelete,
    SCOPES.revokeSession,
  ]);
  const faults = new FaultInjector<RouteName>(mulberry32(seed ^ 0x5eed));
  const requests: RecordedRequest[] = [];
  const maxRecorded = options.maxRecordedRequests ?? Number.POSITIVE_INFINITY;
  const counts = new Map<RouteName | null, number>();
  let total = 0;
  const sockets = new Set<Socket>();
  const sleepers = new Set<{ timer: NodeJS.Timeout; wake: () => void }>();
  let closed = false;
  let origin = '';

  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const sleeper = {
        timer: setTimeout(() => {
          sleepers.delete(sleeper);
          resolve();
        }, ms),
        wake: resolve,
      };
      sleepers.add(sleeper);
    });

  /** The JSON text of a search's `SessionPagedResult`. */
  const runSearch = (query: Omit<SearchQuery, 'maxCount'>): string =>
    pagedResultJson(searchSessions(store.all(), { ...query, maxCount }), store);

  const listQuery = {
    limit: 50,
    startIndex: 0,
    pattern: '',
    sortBy: 'jansId',
    sortOrder: 'ascending',
    fieldValuePair: '',
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '/';
    const queryAt = url.indexOf('?');
    const rawPath = queryAt >= 0 ? url.slice(0, queryAt) : url;
    const search = queryAt >= 0 ? url.slice(queryAt) : '';
    const method = (req.method ?? 'GET').toUpperCase();
    const match = matchPath(rawPath);
    const operation = match?.operations[method === 'HEAD' ? 'GET' : method];
    const route: RouteName | null =
      operation && operation !== 'discovery' && operation !== 'jwks' ? operation : null;
    const record: RecordedRequest = {
      method,
      route,
      path: rawPath,
      query: search.slice(1),
      params: firstQueryValues(search),
      headers: req.headers,
      status: 0,
    };
    requests.push(record);
    total += 1;
    counts.set(route, (counts.get(route) ?? 0) + 1);
    if (requests.length > 2 * maxRecorded) {
      requests.splice(0, requests.length - maxRecorded);
    }

    // A fault with `afterHandling` replaces the answer once the operation has run.
    let late: Fault | undefined;
    const send = (status: number, body?: string, headers: Record<string, string> = {}): void => {
      if (res.destroyed || res.headersSent) {
        return;
      }
      if (late) {
        const fault = late;
        late = undefined;
        if (fault.reset) {
          req.socket.resetAndDestroy();
        } else if (fault.status !== undefined || fault.html) {
          const lateStatus = fault.status ?? 500;
          send(lateStatus, jettyJsonErrorBody(lateStatus, rawPath, 'Injected fault'), {
            'Content-Type': 'application/json',
          });
        } else if (fault.truncatedJson) {
          send(status, (body ?? '').slice(0, Math.floor((body ?? '').length / 2)), headers);
        }
        // `hang`: nothing is sent.
        return;
      }
      record.status = status;
      res.writeHead(status, { ...headers, 'Content-Length': String(Buffer.byteLength(body ?? '')) });
      res.end(body);
    };
    const sendJson = (status: number, value: unknown, headers: Record<string, string> = {}): void =>
      send(status, JSON.stringify(value), { 'Content-Type': 'application/json', ...headers });
    /** `sendJson` for a body that is already JSON text. */
    const sendJsonText = (status: number, json: string): void =>
      send(status, json, { 'Content-Type': 'application/json' });
    const sendServerError = (cause: string): void => {
      const message = `org.jboss.resteasy.spi.UnhandledException: ${cause}`;
      send(500, jettyJsonErrorBody(500, rawPath, message, [cause]), { 'Content-Type': 'application/json' });
    };

    if (!match) {
      send(404);
      return;
    }
    if (method === 'OPTIONS') {
      send(200, undefined, { Allow: allowedMethods(match).join(', ') });
      return;
    }
    if (!operation) {
      send(405, undefined, { Allow: allowedMethods(match).join(', ') });
      return;
    }
    if (operation === 'discovery') {
      sendJson(200, {
        issuer: origin,
        token_endpoint: `${origin}${TOKEN_PATH}`,
        jwks_uri: `${origin}${JWKS_PATH}`,
        grant_types_supported: ['client_credentials'],
        token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
      });
      return;
    }
    if (operation === 'jwks') {
      sendJson(200, { keys: [signing.publicJwk] });
      return;
    }

    const fault = faults.take(operation);
    if (fault?.afterHandling) {
      late = fault;
    } else if (fault) {
      if (fault.latencyMs !== undefined && fault.latencyMs > 0) {
        await sleep(fault.latencyMs);
        if (closed) {
          res.destroy();
          return;
        }
      }
      if (fault.hang) {
        return;
      }
      if (fault.reset) {
        req.socket.resetAndDestroy();
        return;
      }
      if (fault.status !== undefined || fault.html) {
        const status = fault.status ?? 500;
        if (fault.html) {
          send(status, jettyHtmlErrorPage(status, rawPath), {
            'Content-Type': 'text/html;charset=iso-8859-1',
          });
        } else {
          send(status, jettyJsonErrorBody(status, rawPath, 'Injected fault'), {
            'Content-Type': 'application/json',
          });
        }
        return;
      }
      if (fault.truncatedJson) {
        const full = previewBody(operation);
        send(200, full.slice(0, Math.max(1, Math.floor(full.length / 2))), {
          'Content-Type': 'application/json',
        });
        return;
      }
    }

    if (operation === 'token') {
      await handleToken(req, send, sendJson);
      return;
    }

    // @Consumes/@Produces(application/json) are checked while matching, before the auth filter (§2).
    const contentType = headerValue(req.headers, 'content-type');
    if (
      contentType !== undefined &&
      contentType.trim() !== '' &&
      !isJsonCompatible(mediaRange(contentType))
    ) {
      send(415);
      return;
    }
    const accept = headerValue(req.headers, 'accept');
    if (
      accept !== undefined &&
      accept.trim() !== '' &&
      !accept.split(',').some((value) => {
        const range = mediaRange(value);
        return range.q > 0 && isJsonCompatible(range);
      })
    ) {
      send(406);
      return;
    }

    const access: Access = operation === 'delete' || operation === 'revoke' ? 'delete' : 'read';
    const auth = authorize(
      headerValue(req.headers, 'authorization'),
      headerValue(req.headers, 'issuer'),
      access,
      tokens,
      origin,
    );
    if (!auth.ok) {
      send(401, auth.message, { 'Content-Type': 'text/plain', 'WWW-Authenticate': 'Bearer' });
      return;
    }

    let param: string | undefined;
    if (match.param !== undefined) {
      try {
        param = decodeURIComponent(match.param);
      } catch {
        send(400);
        return;
      }
    }

    try {
      switch (operation) {
        case 'list':
          // Query parameters are ignored: no @QueryParam on getAllSessions (§2.1).
          sendJsonText(200, runSearch(listQuery));
          return;
        case 'search': {
          const q = record.params;
          const limit = q.limit === undefined ? 50 : parseJavaInt(q.limit);
          const startIndex = q.startIndex === undefined ? 0 : parseJavaInt(q.startIndex);
          if (limit === null || startIndex === null) {
            // Failed @QueryParam conversion is a 404 in JAX-RS (§2.2).
            send(404);
            return;
          }
          sendJsonText(
            200,
            runSearch({
              limit,
              startIndex,
              pattern: q.pattern ?? '',
              sortBy: q.sortBy ?? 'jansId',
              sortOrder: q.sortOrder ?? 'ascending',
              fieldValuePair: q.fieldValuePair ?? '',
            }),
          );
          return;
        }
        case 'get': {
          const session = store.get(param ?? '');
          // Response.ok(null): 200 with an empty body when nothing matches (§2.3).
          if (session) {
            sendJsonText(200, store.toWireJson(session));
          } else {
            send(200);
          }
          return;
        }
        case 'delete': {
          const sid = param ?? '';
          // revokeSessionBySid does nothing for a blank sid and still answers 200 (§2.4).
          if (sid.trim() === '' || store.remove(sid)) {
            send(200);
          } else {
            send(404);
          }
          return;
        }
        case 'revoke': {
          const userDn = param ?? '';
          if (userDn.trim() === '') {
            send(200);
            return;
          }
          // Full-DN equality and authenticated state only (§2.5).
          const victims = store
            .all()
            .filter((s) => s.jansUsrDN === userDn && s.jansState === 'authenticated');
          if (victims.length === 0) {
            send(404);
            return;
          }
          victims.forEach((s) => store.removeById(s.jansId));
          send(200);
          return;
        }
      }
    } catch (error) {
      if (error instanceof SearchError && error.status === 400) {
        sendJson(400, { code: '400', message: error.message });
        return;
      }
      sendServerError(error instanceof Error ? error.message : String(error));
    }
  }

  /** A plausible full body of the route, for `truncatedJson` faults; nothing is modified. */
  function previewBody(operation: RouteName): string {
    if (operation === 'token') {
      const preview: TokenResponse = {
        access_token: randomUUID(),
        token_type: 'Bearer',
        expires_in: tokenTtlSeconds,
        scope: SCOPES.sessionReadonly,
      };
      return JSON.stringify(preview);
    }
    if (operation === 'get') {
      const first = store.all()[0];
      if (first) {
        return store.toWireJson(first);
      }
    }
    try {
      return runSearch(listQuery);
    } catch {
      return JSON.stringify({ start: 0, totalEntriesCount: store.size, entriesCount: 0 });
    }
  }

  async function handleToken(
    req: IncomingMessage,
    send: (status: number, body?: string, headers?: Record<string, string>) => void,
    sendJson: (status: number, value: unknown, headers?: Record<string, string>) => void,
  ): Promise<void> {
    const contentType = headerValue(req.headers, 'content-type');
    if (contentType !== undefined && mediaRange(contentType).subtype !== 'x-www-form-urlencoded') {
      send(415);
      return;
    }
    const body = await readBody(req);
    if (body === null) {
      send(413);
      return;
    }
    const form = new URLSearchParams(body);
    const noStore = { 'Cache-Control': 'no-store', Pragma: 'no-cache' };
    const credentials = clientCredentials(req.headers, form);
    const client = credentials ? clients.authenticate(credentials.id, credentials.secret) : undefined;
    if (!client) {
      sendJson(
        401,
        { error: 'invalid_client', error_description: 'Client authentication failed.' },
        { ...noStore, 'WWW-Authenticate': 'Basic realm="jans-auth"' },
      );
      return;
    }
    if (form.get('grant_type') !== 'client_credentials') {
      sendJson(
        400,
        {
          error: 'unsupported_grant_type',
          error_description: 'The authorization grant type is not supported by the authorization server.',
        },
        noStore,
      );
      return;
    }
    const requested = [...new Set((form.get('scope') ?? '').split(/\s+/).filter((s) => s !== ''))];
    const granted =
      requested.length === 0 ? [...client.scopes] : requested.filter((s) => client.scopes.includes(s));
    const issued = tokens.issue(granted, tokenTtlSeconds, client.id);
    const response: TokenResponse = {
      access_token: issued.token,
      token_type: 'Bearer',
      expires_in: tokenTtlSeconds,
    };
    if (granted.length > 0) {
      response.scope = granted.join(' ');
    }
    sendJson(200, response, noStore);
  }

  const listener = (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent && !res.destroyed) {
        res.writeHead(500, { 'Content-Type': 'text/plain' });
        res.end(error instanceof Error ? error.message : String(error));
      }
    });
  };
  const server: Server = options.tls
    ? createHttpsServer({ key: options.tls.key, cert: options.tls.cert }, listener)
    : createServer(listener);
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('clientError', (_error, socket) => socket.destroy());

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  origin = `${options.tls ? 'https' : 'http'}://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;

  let closing: Promise<void> | undefined;

  return {
    origin,
    configApiUrl: `${origin}/jans-config-api`,
    tokenUrl: `${origin}${TOKEN_PATH}`,
    clientId: DEMO_CLIENT_ID,
    clientSecret: DEMO_CLIENT_SECRET,
    store,
    requests,
    count: (route?: RouteName) => (route === undefined ? total : (counts.get(route) ?? 0)),
    resetCounts: () => {
      requests.length = 0;
      counts.clear();
      total = 0;
    },
    jwksUrl: `${origin}${JWKS_PATH}`,
    issueJwt: (claims: Record<string, unknown>, jwtOptions: { expiresInSeconds?: number } = {}) => {
      const issuedAt = Math.floor(now().getTime() / 1000);
      const expiresAt = issuedAt + (jwtOptions.expiresInSeconds ?? tokenTtlSeconds);
      // Standard claims first, so a test can override any of them (a wrong `iss`, a past `exp`...).
      return new SignJWT({ iss: origin, iat: issuedAt, exp: expiresAt, ...claims })
        .setProtectedHeader({ alg: 'RS256', kid: signing.publicJwk.kid, typ: 'JWT' })
        .sign(signing.privateKey);
    },
    issueToken: (scopes: string[], ttlSeconds?: number) =>
      tokens.issue(scopes, ttlSeconds ?? tokenTtlSeconds).token,
    addClient: (id: string, secret: string, scopes: string[]) => clients.add(id, secret, scopes),
    setFault: (route: RouteName | '*', fault: Fault | null) => faults.set(route, fault),
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        closed = true;
        for (const sleeper of sleepers) {
          clearTimeout(sleeper.timer);
          sleeper.wake();
        }
        sleepers.clear();
        server.close(() => resolve());
        server.closeAllConnections();
        for (const socket of sockets) {
          socket.destroy();
        }
      });
      return closing;
    },
  };
}

type SigningKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

/** The auth server's JWT signing key: RS256, as Janssen's default. */
async function createSigningKey(): Promise<{ privateKey: SigningKey; publicJwk: JWK & { kid: string } }> {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const publicJwk = {
    ...(await exportJWK(publicKey)),
    kid: `emulator-${randomUUID()}`,
    alg: 'RS256',
    use: 'sig',
  };
  return { privateKey, publicJwk };
}
