import { randomBytes } from 'node:crypto';
import http, { type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

import { afterEach, describe, expect, it, vi } from 'vitest';

import { ConfigError, loadConfig } from '../../src/config.js';
import { MAX_SHOWN_OPERATION_NAME } from '../../src/logger.js';
import { startStack, type Stack } from '../helpers/stack.js';

import { send, sendAndHangUp } from './raw-http.js';

/**
 * Tracing against a real OTLP/HTTP receiver (a collector's wire protocol, served here by a small HTTP server that
 * keeps what it is sent) and the emulator, which records the `traceparent` each upstream call carried. Spans are
 * batched; stopping the service exports what is left, which is what these tests read.
 */

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: { key: string; value: Record<string, unknown> }[];
  status?: { code?: number; message?: string };
}

interface Collector {
  url: string;
  /** Each export as received (`body` decompressed when it came gzipped). */
  bodies: { contentType: string; headers: IncomingHttpHeaders; body: Buffer }[];
  /** Every span of every JSON export, attributes flattened. */
  spans(): (OtlpSpan & { attrs: Record<string, unknown>; service: unknown })[];
  close(): Promise<void>;
}

async function startCollector(answer = { status: 200, body: '{}' }): Promise<Collector> {
  const bodies: Collector['bodies'] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/v1/traces') {
        const body = Buffer.concat(chunks);
        bodies.push({
          contentType: req.headers['content-type'] ?? '',
          headers: req.headers,
          body: req.headers['content-encoding'] === 'gzip' ? gunzipSync(body) : body,
        });
        res.writeHead(answer.status, { 'content-type': 'application/json' });
        res.end(answer.body);
      } else {
        res.writeHead(404);
        res.end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    bodies,
    spans() {
      return bodies
        .filter((entry) => entry.contentType.startsWith('application/json'))
        .flatMap((entry) => {
          const payload = JSON.parse(entry.body.toString('utf8')) as {
            resourceSpans: {
              resource: { attributes: OtlpSpan['attributes'] };
              scopeSpans: { spans: OtlpSpan[] }[];
            }[];
          };
          return payload.resourceSpans.flatMap((resourceSpans) => {
            const service = attributesOf(resourceSpans.resource.attributes)['service.name'];
            return resourceSpans.scopeSpans.flatMap((scope) =>
              scope.spans.map((span) => ({ ...span, attrs: attributesOf(span.attributes), service })),
            );
          });
        });
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

function attributesOf(list: OtlpSpan['attributes']): Record<string, unknown> {
  return Object.fromEntries(
    list.map(({ key, value }) => {
      const array = value.arrayValue as { values?: Record<string, unknown>[] } | undefined;
      const inner = array
        ? (array.values ?? []).map((item) => Object.values(item)[0])
        : Object.values(value)[0];
      return [key, inner];
    }),
  );
}

const hex = (bytes: number) => randomBytes(bytes).toString('hex');

const SESSIONS = /* GraphQL */ `
  query Sessions {
    sessions(page: { limit: 3 }) {
      totalCount
      nodes {
        sid
        userDn
      }
    }
  }
`;

const ONE = /* GraphQL */ `
  query One($sid: ID!) {
    session(sid: $sid) {
      sid
      state
    }
  }
`;

const SPAN_KIND = { INTERNAL: 1, SERVER: 2, CLIENT: 3 } as const;
const STATUS_ERROR = 2;

describe('OpenTelemetry tracing (OTLP/HTTP JSON to a real receiver)', () => {
  let collector: Collector | undefined;
  let stack: Stack | undefined;

  afterEach(async () => {
    await stack?.close();
    await collector?.close();
    stack = undefined;
    collector = undefined;
  });

  async function start(env: Record<string, string> = {}) {
    collector = await startCollector();
    stack = await startStack({
      env: {
        OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        ...env,
      },
    });
    return { collector, stack };
  }

  /** Stops the service, which exports the spans still batched. */
  async function stopService() {
    await stack?.close();
    stack = undefined;
  }

  it('continues the caller trace: request, operation and upstream spans, and traceparent sent to Janssen', async () => {
    const { collector, stack: service } = await start({ OTEL_SERVICE_NAME: 'sessions-test' });
    // The service's token is fetched first: its span is the subject of the tests below.
    await service.gql(SESSIONS);
    const traceId = hex(16);
    const callerSpanId = hex(8);
    service.emulator.resetCounts();
    const response = await service.gql(SESSIONS, undefined, {
      traceparent: `00-${traceId}-${callerSpanId}-01`,
      'x-request-id': 'traced-1',
    });
    expect(response.status).toBe(200);
    expect(response.body.errors).toBeUndefined();
    const upstreamCalls = service.emulator.requests.filter((request) => request.route === 'search');
    expect(upstreamCalls).toHaveLength(1);
    const sent = upstreamCalls[0]!.headers.traceparent as string;
    const logLine = service.logs.find(
      (line) => line.requestId === 'traced-1' && line.msg === 'graphql operation',
    );
    await stopService();

    const spans = collector.spans().filter((span) => span.traceId === traceId);
    const server = spans.find((span) => span.kind === SPAN_KIND.SERVER)!;
    const operation = spans.find((span) => span.kind === SPAN_KIND.INTERNAL)!;
    const client = spans.find((span) => span.kind === SPAN_KIND.CLIENT)!;
    expect(spans).toHaveLength(3);

    expect(server).toMatchObject({
      name: 'POST /graphql',
      parentSpanId: callerSpanId,
      service: 'sessions-test',
    });
    expect(server.attrs).toMatchObject({
      'http.request.method': 'POST',
      'http.route': '/graphql',
      'http.response.status_code': 200,
    });
    expect(operation).toMatchObject({ name: 'query Sessions', parentSpanId: server.spanId });
    expect(operation.attrs).toMatchObject({
      'graphql.operation.type': 'query',
      'graphql.operation.name': 'Sessions',
    });
    expect(operation.status?.code ?? 0).not.toBe(STATUS_ERROR);
    expect(client).toMatchObject({
      name: 'GET /jans-config-api/api/v1/jans-auth-server/session/search',
      parentSpanId: operation.spanId,
    });
    expect(client.attrs).toMatchObject({
      'http.request.method': 'GET',
      'http.response.status_code': 200,
      'janssen.operation': 'search-session',
      'server.address': '127.0.0.1',
      'url.template': '/jans-config-api/api/v1/jans-auth-server/session/search',
    });

    // Janssen got the upstream span's context, sampled.
    expect(sent).toBe(`00-${traceId}-${client.spanId}-01`);
    // The operation's log line names the trace and the request span.
    expect(logLine).toMatchObject({ trace_id: traceId, span_id: server.spanId });
  });

  it('starts a new trace without a traceparent, and traces repeats answered by the fast path alike', async () => {
    const { collector, stack: service } = await start();
    const sid = service.emulator.store.all()[0]!.sid;
    const answeredBefore = service.server.fastPath.answered;
    for (let i = 0; i < 3; i += 1) {
      const response = await service.gql(ONE, { sid });
      expect(response.body.errors).toBeUndefined();
    }
    expect(service.server.fastPath.answered - answeredBefore).toBeGreaterThanOrEqual(1);
    const sent = service.emulator.requests
      .filter((request) => request.route === 'get')
      .map((request) => request.headers.traceparent as string);
    await stopService();

    const spans = collector.spans();
    const servers = spans.filter((span) => span.kind === SPAN_KIND.SERVER);
    expect(servers).toHaveLength(3);
    expect(new Set(servers.map((span) => span.traceId)).size).toBe(3);
    for (const server of servers) {
      expect(server.parentSpanId ?? '').toBe('');
      const trace = spans.filter((span) => span.traceId === server.traceId);
      const operation = trace.find((span) => span.kind === SPAN_KIND.INTERNAL)!;
      const client = trace.find((span) => span.attrs['janssen.operation'] === 'get-session-by-id')!;
      expect(operation).toMatchObject({ name: 'query One', parentSpanId: server.spanId });
      expect(client).toMatchObject({
        name: 'GET /jans-config-api/api/v1/jans-auth-server/session/sid/{sid}',
        parentSpanId: operation.spanId,
      });
      expect(sent).toContain(`00-${server.traceId}-${client.spanId}-01`);
    }
    // No span names or carries the sid, a token or the API key.
    const exported = collector.bodies.map((entry) => entry.body.toString('utf8')).join('\n');
    expect(exported).not.toContain(sid);
    expect(exported).not.toContain(service.emulator.clientSecret);
    expect(exported.toLowerCase()).not.toContain('authorization');
  });

  it('marks failures: GraphQL error codes on the operation, the upstream status on the client span', async () => {
    const { collector, stack: service } = await start({ JANS_RETRIES: '1' });
    service.emulator.setFault('get', { status: 503 });
    const response = await service.gql(ONE, { sid: 'not-a-real-sid-but-well-formed' });
    expect(response.body.errors?.[0]?.extensions?.code).toBe('UPSTREAM_UNAVAILABLE');
    const invalid = await service.gql('query Bad { sessions(page: { limit: -1 }) { totalCount } }');
    expect(invalid.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    service.emulator.setFault('*', null);
    await stopService();

    const spans = collector.spans();
    const failedOperation = spans.find((span) => span.name === 'query One')!;
    expect(failedOperation.status?.code).toBe(STATUS_ERROR);
    expect(failedOperation.attrs).toMatchObject({
      'error.type': 'UPSTREAM_UNAVAILABLE',
      'graphql.error.codes': ['UPSTREAM_UNAVAILABLE'],
    });
    const client = spans.find(
      (span) =>
        span.attrs['janssen.operation'] === 'get-session-by-id' && span.traceId === failedOperation.traceId,
    )!;
    expect(client.status?.code).toBe(STATUS_ERROR);
    expect(client.attrs).toMatchObject({
      'http.response.status_code': 503,
      'error.type': '503',
      'janssen.attempts': 2,
    });
    // A 200 with GraphQL errors is not an HTTP server error.
    const server = spans.find(
      (span) => span.kind === SPAN_KIND.SERVER && span.traceId === failedOperation.traceId,
    )!;
    expect(server.status?.code ?? 0).not.toBe(STATUS_ERROR);
    const bad = spans.find((span) => span.name === 'query Bad')!;
    expect(bad.attrs['graphql.error.codes']).toEqual(['BAD_USER_INPUT']);
  });

  it('honours an unsampled caller: nothing exported for it, its trace id and flag still go upstream', async () => {
    const { collector, stack: service } = await start();
    const traceId = hex(16);
    service.emulator.resetCounts();
    await service.gql(SESSIONS, undefined, { traceparent: `00-${traceId}-${hex(8)}-00` });
    const sent = service.emulator.requests.find((request) => request.route === 'search')!.headers
      .traceparent as string;
    await stopService();
    expect(sent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-00$`));
    expect(collector.spans().filter((span) => span.traceId === traceId)).toHaveLength(0);
  });

  it('exports OTLP protobuf by default', async () => {
    const { collector, stack: service } = await start({ OTEL_EXPORTER_OTLP_PROTOCOL: '' });
    const traceId = hex(16);
    await service.gql(SESSIONS, undefined, { traceparent: `00-${traceId}-${hex(8)}-01` });
    await stopService();
    expect(collector.bodies.length).toBeGreaterThan(0);
    const body = collector.bodies[0]!;
    expect(body.contentType).toBe('application/x-protobuf');
    // Protobuf carries the trace id as its 16 raw bytes.
    expect(body.body.includes(Buffer.from(traceId, 'hex'))).toBe(true);
    expect(body.body.includes(Buffer.from('query Sessions'))).toBe(true);
  });

  it('keeps serving when the collector is down, says so once in the log, and still stops promptly', async () => {
    collector = await startCollector();
    const deadUrl = collector.url;
    await collector.close();
    collector = undefined;
    stack = await startStack({
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: deadUrl, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' },
    });
    for (let i = 0; i < 3; i += 1) {
      const response = await stack.gql(SESSIONS);
      expect(response.status).toBe(200);
      expect(response.body.errors).toBeUndefined();
    }
    const logs = stack.logs;
    const started = Date.now();
    await stack.close();
    stack = undefined;
    expect(Date.now() - started).toBeLessThan(8000);
    const complaints = logs.filter((line) => String(line.msg).startsWith('tracing:'));
    expect(complaints.length).toBeGreaterThanOrEqual(1);
    expect(complaints[0]).toMatchObject({ level: 40, component: 'opentelemetry' });
    expect(new Set(complaints.map((line) => line.msg)).size).toBe(complaints.length);
  });

  it('keeps a client-chosen operation name short in spans (a name may be one 200 KB token)', async () => {
    const { collector } = await start();
    const name = `Long${'x'.repeat(200_000)}`;
    const response = await stack!.gql(`query ${name} { sessions(page: { limit: 1 }) { totalCount } }`);
    expect(response.body.errors).toBeUndefined();
    await stopService();
    const operation = collector.spans().find((span) => span.kind === SPAN_KIND.INTERNAL)!;
    expect(operation.name).toBe(`query ${name.slice(0, MAX_SHOWN_OPERATION_NAME)}…`);
    expect(operation.attrs['graphql.operation.name']).toBe(`${name.slice(0, MAX_SHOWN_OPERATION_NAME)}…`);
    const exported = collector.bodies.reduce((sum, entry) => sum + entry.body.length, 0);
    expect(exported).toBeLessThan(20_000);
  });

  it('gives no status to a request it never answered, and traces refused methods', async () => {
    const { collector } = await start();
    await sendAndHangUp(
      stack!.url,
      'POST /graphql HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n{"query":"',
    );
    await expect.poll(() => stack!.logs.some((line) => line.msg === 'client closed the request')).toBe(true);
    const refused = await send(stack!.url, 'PUT', '/graphql');
    expect(refused.status).toBe(405);
    await stopService();
    const servers = collector.spans().filter((span) => span.kind === SPAN_KIND.SERVER);
    const gone = servers.find((span) => span.name === 'POST /graphql')!;
    expect(gone.attrs['http.response.status_code']).toBeUndefined();
    expect(gone.attrs['error.type']).toBe('response_not_sent');
    const put = servers.find((span) => span.name === 'PUT /graphql')!;
    expect(put.attrs['http.response.status_code']).toBe(405);
  });

  it('samples as configured: traceidratio 0 ignores a caller asking for sampling, ALWAYS_OFF records nothing', async () => {
    for (const env of <Record<string, string>[]>[
      { OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0' },
      { OTEL_TRACES_SAMPLER: 'ALWAYS_OFF' },
    ]) {
      const { collector, stack: service } = await start(env);
      const traceId = hex(16);
      service.emulator.resetCounts();
      await service.gql(SESSIONS, undefined, { traceparent: `00-${traceId}-${hex(8)}-01` });
      const sent = service.emulator.requests.find((request) => request.route === 'search')!.headers
        .traceparent as string;
      await stopService();
      expect(sent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-00$`));
      expect(collector.spans()).toEqual([]);
      await collector.close();
    }
  });

  it("does not pass on the SDK's own complaints about OTEL_TRACES_SAMPLER, which our config read and checked", async () => {
    // The SDK reads the process environment when the provider is built, whatever sampler it is handed.
    for (const env of <Record<string, string>[]>[
      { OTEL_TRACES_SAMPLER: 'ALWAYS_ON' },
      { OTEL_TRACES_SAMPLER: 'TraceIdRatio' },
    ]) {
      for (const [name, value] of Object.entries(env)) {
        vi.stubEnv(name, value);
      }
      try {
        const { collector, stack: service } = await start(env);
        const response = await service.gql(SESSIONS);
        expect(response.body.errors).toBeUndefined();
        const logs = service.logs;
        await stopService();
        expect(collector.spans().length).toBeGreaterThan(0);
        expect(logs.filter((line) => line.component === 'opentelemetry')).toEqual([]);
        await collector.close();
      } finally {
        vi.unstubAllEnvs();
      }
    }
  });

  it('logs a failing collector by message and code, never its response body', async () => {
    collector = await startCollector({ status: 401, body: '{"message":"BODYLEAK token=abc"}' });
    stack = await startStack({
      env: {
        OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        // Export every 20 ms instead of every 5 s.
        OTEL_BSP_SCHEDULE_DELAY: '20',
      },
    });
    for (let i = 0; i < 3; i += 1) {
      await stack.gql(SESSIONS);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await expect.poll(() => collector!.bodies.length).toBeGreaterThanOrEqual(2);
    const logs = stack.logs;
    await stopService();
    const complaints = logs.filter((line) => line.msg === 'tracing: span export failed');
    // Every batch failed the same way: one line for them all.
    expect(complaints).toHaveLength(1);
    expect(complaints[0]).toMatchObject({ level: 40, component: 'opentelemetry', code: 401 });
    expect(String(complaints[0]!.cause)).toMatch(/unauthorized/i);
    expect(JSON.stringify(logs)).not.toContain('BODYLEAK');
  });

  it('traces a token fetch as a CLIENT span of the request that needed it, with its own traceparent', async () => {
    const { collector, stack: service } = await start();
    const traceId = hex(16);
    const response = await service.gql(SESSIONS, undefined, { traceparent: `00-${traceId}-${hex(8)}-01` });
    expect(response.body.errors).toBeUndefined();
    const tokenRequests = service.emulator.requests.filter((request) => request.route === 'token');
    expect(tokenRequests).toHaveLength(1);
    const searched = service.emulator.requests.find((request) => request.route === 'search')!;
    const accessToken = String(searched.headers.authorization).replace(/^Bearer /, '');
    const basic = String(tokenRequests[0]!.headers.authorization).replace(/^Basic /, '');
    await stopService();

    const spans = collector.spans().filter((span) => span.traceId === traceId);
    expect(spans).toHaveLength(4);
    const operation = spans.find((span) => span.kind === SPAN_KIND.INTERNAL)!;
    const search = spans.find((span) => span.attrs['janssen.operation'] === 'search-session')!;
    const token = spans.find((span) => span.attrs['janssen.operation'] === 'token')!;
    expect(token).toMatchObject({
      name: 'POST /jans-auth/restv1/token',
      kind: SPAN_KIND.CLIENT,
      parentSpanId: operation.spanId,
    });
    expect(token.attrs).toEqual({
      'http.request.method': 'POST',
      'url.template': '/jans-auth/restv1/token',
      'janssen.operation': 'token',
      'server.address': '127.0.0.1',
      'server.port': Number(new URL(service.emulator.tokenUrl).port),
      'http.response.status_code': 200,
    });
    expect(token.status?.code ?? 0).not.toBe(STATUS_ERROR);
    // A sibling of the call that waited for the token.
    expect(search.parentSpanId).toBe(operation.spanId);
    // The auth server got the token span's context.
    expect(tokenRequests[0]!.headers.traceparent).toBe(`00-${traceId}-${token.spanId}-01`);
    // No span carries the client id, its secret, the Basic credentials or the token.
    const exported = collector.bodies.map((entry) => entry.body.toString('utf8')).join('\n');
    for (const secret of [service.emulator.clientId, service.emulator.clientSecret, basic, accessToken]) {
      expect(secret.length).toBeGreaterThan(8);
      expect(exported).not.toContain(secret);
    }
  });

  it('traces one token fetch for concurrent requests, in the trace of the request that started it', async () => {
    const { collector, stack: service } = await start();
    // A slow token endpoint: every request waits for the one fetch.
    service.emulator.setFault('token', { latencyMs: 200 });
    const traceIds = Array.from({ length: 5 }, () => hex(16));
    const responses = await Promise.all(
      traceIds.map((traceId) =>
        service.gql(SESSIONS, undefined, { traceparent: `00-${traceId}-${hex(8)}-01` }),
      ),
    );
    for (const response of responses) {
      expect(response.body.errors).toBeUndefined();
    }
    expect(service.emulator.count('token')).toBe(1);
    const sent = service.emulator.requests.find((request) => request.route === 'token')!.headers
      .traceparent as string;
    await stopService();

    const spans = collector.spans();
    const tokens = spans.filter((span) => span.attrs['janssen.operation'] === 'token');
    expect(tokens).toHaveLength(1);
    const token = tokens[0]!;
    expect(traceIds).toContain(token.traceId);
    const operation = spans.find(
      (span) => span.traceId === token.traceId && span.kind === SPAN_KIND.INTERNAL,
    )!;
    expect(token.parentSpanId).toBe(operation.spanId);
    expect(sent).toBe(`00-${token.traceId}-${token.spanId}-01`);
    for (const traceId of traceIds) {
      expect(spans.filter((span) => span.traceId === traceId && span.kind === SPAN_KIND.CLIENT)).toHaveLength(
        traceId === token.traceId ? 2 : 1,
      );
    }
  });

  it('traces a token fetch started by a readiness probe as a root span', async () => {
    const { collector, stack: service } = await start();
    const ready = await fetch(`${service.url}/readyz`);
    expect(ready.status).toBe(200);
    const sent = service.emulator.requests.find((request) => request.route === 'token')!.headers
      .traceparent as string;
    await stopService();

    // The probe itself is not traced: its token fetch is a trace of its own.
    const spans = collector.spans();
    expect(spans).toHaveLength(1);
    const token = spans[0]!;
    expect(token).toMatchObject({ name: 'POST /jans-auth/restv1/token', kind: SPAN_KIND.CLIENT });
    expect(token.parentSpanId ?? '').toBe('');
    expect(token.attrs).toMatchObject({ 'http.response.status_code': 200, 'janssen.operation': 'token' });
    expect(sent).toBe(`00-${token.traceId}-${token.spanId}-01`);
  });

  it('marks a failed token fetch: its error status as error.type, or the kind of failure when none came', async () => {
    const { collector, stack: service } = await start();
    service.emulator.setFault('token', { status: 503 });
    const unavailable = await service.gql(SESSIONS);
    expect(unavailable.body.errors?.[0]?.extensions?.code).toBe('UPSTREAM_UNAVAILABLE');
    service.emulator.setFault('token', { reset: true });
    const reset = await service.gql(SESSIONS);
    expect(reset.body.errors?.[0]?.extensions?.code).toBe('UPSTREAM_UNAVAILABLE');
    service.emulator.setFault('token', null);
    await stopService();

    const tokens = collector.spans().filter((span) => span.attrs['janssen.operation'] === 'token');
    expect(tokens).toHaveLength(2);
    const answered = tokens.find((span) => span.attrs['http.response.status_code'] !== undefined)!;
    expect(answered.status?.code).toBe(STATUS_ERROR);
    // Sent again once: a 503 changes nothing on the auth server.
    expect(answered.attrs).toMatchObject({
      'http.response.status_code': 503,
      'error.type': '503',
      'janssen.attempts': 2,
    });
    const unanswered = tokens.find((span) => span !== answered)!;
    expect(unanswered.status?.code).toBe(STATUS_ERROR);
    expect(unanswered.attrs).toMatchObject({ 'error.type': 'UNAVAILABLE', 'janssen.attempts': 2 });
    expect(unanswered.attrs['http.response.status_code']).toBeUndefined();
  });

  it('names the token span by the path of JANS_TOKEN_URL alone, and marks refused client credentials', async () => {
    collector = await startCollector();
    // Client-credentials mode configured from the environment (not the emulator's own client).
    stack = await startStack({
      mode: 'pass-through',
      env: {
        OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        JANS_API_KEYS: 'caller-key',
      },
      envFrom: (emulator) => ({
        JANS_CONFIG_API_URL: emulator.configApiUrl,
        JANS_TOKEN_URL: `${emulator.tokenUrl}?tenant=QUERYSECRET`,
        JANS_CLIENT_ID: 'client-id-SECRET',
        JANS_CLIENT_SECRET: 'WRONG-client-SECRET',
      }),
    });
    const traceId = hex(16);
    const response = await stack.gql(SESSIONS, undefined, {
      'x-api-key': 'caller-key',
      traceparent: `00-${traceId}-${hex(8)}-01`,
    });
    expect(response.body.errors?.[0]?.extensions?.code).toBe('UPSTREAM_ERROR');
    const tokenRequest = stack.emulator.requests.find((request) => request.route === 'token')!;
    expect(tokenRequest.query).toBe('tenant=QUERYSECRET');
    const basic = String(tokenRequest.headers.authorization).replace(/^Basic /, '');
    await stopService();

    const token = collector.spans().find((span) => span.attrs['janssen.operation'] === 'token')!;
    expect(token).toMatchObject({ name: 'POST /jans-auth/restv1/token', traceId });
    expect(token.status?.code).toBe(STATUS_ERROR);
    expect(token.attrs).toMatchObject({
      'url.template': '/jans-auth/restv1/token',
      'http.response.status_code': 401,
      'error.type': '401',
    });
    // Refused, not unreachable: sent once.
    expect(token.attrs['janssen.attempts']).toBeUndefined();
    const exported = collector.bodies.map((entry) => entry.body.toString('utf8')).join('\n');
    expect(exported).not.toMatch(/SECRET|tenant/);
    expect(exported).not.toContain(basic);
  });

  it('hands the export settings it checked to the SDK: headers, compression, resource, attribute limit', async () => {
    const { collector, stack: service } = await start({
      OTEL_EXPORTER_OTLP_HEADERS: 'x-api-key=general,x-tenant=eu',
      OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'x-api-key=k%2C%3Bey%3D%3D',
      OTEL_EXPORTER_OTLP_TRACES_COMPRESSION: 'gzip',
      OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=test,team=a%2Cb,service.name=from-resource',
      OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT: '5',
    });
    await service.gql(SESSIONS);
    await stopService();

    expect(collector.bodies.length).toBeGreaterThan(0);
    const [first] = collector.bodies;
    expect(first!.headers).toMatchObject({
      'x-api-key': 'k,;ey==',
      'x-tenant': 'eu',
      'content-encoding': 'gzip',
    });
    const resource = (
      JSON.parse(first!.body.toString('utf8')) as {
        resourceSpans: { resource: { attributes: OtlpSpan['attributes'] } }[];
      }
    ).resourceSpans[0]!.resource.attributes;
    expect(attributesOf(resource)).toMatchObject({
      'deployment.environment.name': 'test',
      team: 'a,b',
      'service.name': 'from-resource',
    });
    const operation = collector.spans().find((span) => span.kind === SPAN_KIND.INTERNAL)!;
    expect(operation.attrs['graphql.operation.name']).toBe('Sessi');
  });

  it('is off by default: no traceparent reaches Janssen, no trace ids in the log', async () => {
    stack = await startStack();
    stack.emulator.resetCounts();
    await stack.gql(SESSIONS, undefined, {
      traceparent: `00-${hex(16)}-${hex(8)}-01`,
      'x-request-id': 'untraced-1',
    });
    const call = stack.emulator.requests.find((request) => request.route === 'search')!;
    expect(call.headers.traceparent).toBeUndefined();
    const tokenRequest = stack.emulator.requests.find((request) => request.route === 'token')!;
    expect(tokenRequest.headers.traceparent).toBeUndefined();
    const line = stack.logs.find((entry) => entry.requestId === 'untraced-1')!;
    expect(line).toBeDefined();
    expect(line.trace_id).toBeUndefined();
  });
});

describe('tracing configuration', () => {
  it('is off unless an endpoint or OTEL_TRACES_EXPORTER=otlp asks for it, and off when disabled', () => {
    expect(loadConfig({}).tracing).toBeUndefined();
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' }).tracing).toEqual({
      endpoint: 'http://collector:4318/v1/traces',
      protocol: 'http/protobuf',
      serviceName: 'jans-sessions-graphql',
      sampler: 'parentbased_always_on',
      samplerRatio: 1,
      headers: {},
      timeoutMs: 10_000,
      compression: 'none',
      batch: { scheduledDelayMs: 5000, exportTimeoutMs: 30_000, maxQueueSize: 2048, maxExportBatchSize: 512 },
      resourceAttributes: {},
      attributeValueLengthLimit: 1024,
      attributeCountLimit: 128,
    });
    expect(
      loadConfig({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://traces.example/otlp/v1/traces',
        OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json',
        OTEL_SERVICE_NAME: 'sessions-eu',
      }).tracing,
    ).toMatchObject({
      endpoint: 'https://traces.example/otlp/v1/traces',
      protocol: 'http/json',
      serviceName: 'sessions-eu',
    });
    expect(
      loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'https://collector.example/otlp/?tenant=a' }).tracing
        ?.endpoint,
    ).toBe('https://collector.example/otlp/v1/traces?tenant=a');
    expect(
      loadConfig({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces/' }).tracing
        ?.endpoint,
    ).toBe('http://collector:4318/v1/traces/');
    expect(
      loadConfig({
        OTEL_TRACES_EXPORTER: 'OTLP',
        OTEL_EXPORTER_OTLP_PROTOCOL: 'HTTP/JSON',
        OTEL_TRACES_SAMPLER: 'ParentBased_TraceIdRatio',
        OTEL_TRACES_SAMPLER_ARG: '0.25',
      }).tracing,
    ).toMatchObject({ protocol: 'http/json', sampler: 'parentbased_traceidratio', samplerRatio: 0.25 });
    expect(
      loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_SDK_DISABLED: 'TRUE' }).tracing,
    ).toBeUndefined();
    expect(loadConfig({ OTEL_TRACES_EXPORTER: 'otlp' }).tracing?.endpoint).toBe(
      'http://localhost:4318/v1/traces',
    );
    expect(
      loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_TRACES_EXPORTER: 'none' })
        .tracing,
    ).toBeUndefined();
    expect(
      loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_SDK_DISABLED: 'true' }).tracing,
    ).toBeUndefined();
  });

  it.each([
    ['OTEL_EXPORTER_OTLP_PROTOCOL', 'grpc', 'grpc is not supported: use http/protobuf'],
    ['OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', 'json', 'must be http/protobuf or http/json'],
    ['OTEL_TRACES_EXPORTER', 'jaeger', 'must be otlp or none'],
    ['OTEL_EXPORTER_OTLP_ENDPOINT', 'collector:4318', 'must be a URL starting with http:// or https://'],
    ['OTEL_TRACES_SAMPLER', 'sometimes', 'must be one of parentbased_always_on'],
    ['OTEL_TRACES_SAMPLER_ARG', '1.5', 'must be a sampling ratio from 0 to 1'],
    ['OTEL_SDK_DISABLED', 'yes', 'must be one of true, false'],
  ])('refuses %s=%s at start, naming the variable', (name, value, message) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(`${name}: ${message}`);
  });
});

describe('tracing export settings (the SDK standard variables)', () => {
  const ON = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' };

  /** The lines of the refusal, or none. */
  function refusal(env: Record<string, string>): string[] {
    try {
      loadConfig(env);
      return [];
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      return (error as Error).message.split('\n').slice(1);
    }
  }

  it('reads them, a ..._TRACES_... variable over its general one (headers name by name)', () => {
    expect(
      loadConfig({
        ...ON,
        OTEL_EXPORTER_OTLP_HEADERS: 'api-key=abc%3D%3D , x-tenant = eu,',
        OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'x-tenant=us,Authorization=Bearer t0ken%2C',
        OTEL_EXPORTER_OTLP_TIMEOUT: '2000',
        OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: '3000',
        OTEL_EXPORTER_OTLP_COMPRESSION: 'none',
        OTEL_EXPORTER_OTLP_TRACES_COMPRESSION: ' gzip ',
        OTEL_BSP_SCHEDULE_DELAY: '0',
        OTEL_BSP_EXPORT_TIMEOUT: '1000',
        OTEL_BSP_MAX_QUEUE_SIZE: '100',
        OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '100',
        OTEL_RESOURCE_ATTRIBUTES:
          'deployment.environment.name=prod, team = a%2Cb%3Dc ,empty=,caf%C3%A9=%E2%82%AC',
        OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT: '0',
        OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT: '256',
        OTEL_ATTRIBUTE_COUNT_LIMIT: '10',
        OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT: ' ',
      }).tracing,
    ).toMatchObject({
      headers: { 'api-key': 'abc==', 'x-tenant': 'us', Authorization: 'Bearer t0ken,' },
      timeoutMs: 3000,
      compression: 'gzip',
      batch: { scheduledDelayMs: 0, exportTimeoutMs: 1000, maxQueueSize: 100, maxExportBatchSize: 100 },
      resourceAttributes: { 'deployment.environment.name': 'prod', team: 'a,b=c', empty: '', café: '€' },
      attributeValueLengthLimit: 256,
      attributeCountLimit: 10,
    });
    expect(
      loadConfig({
        ...ON,
        OTEL_EXPORTER_OTLP_TIMEOUT: '2000',
        OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip',
        OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT: '64',
        OTEL_ATTRIBUTE_COUNT_LIMIT: '0',
      }).tracing,
    ).toMatchObject({
      timeoutMs: 2000,
      compression: 'gzip',
      attributeValueLengthLimit: 64,
      attributeCountLimit: 0,
    });
    // service.name: OTEL_SERVICE_NAME, else the resource attribute, else the package's name.
    expect(
      loadConfig({ ...ON, OTEL_RESOURCE_ATTRIBUTES: 'service.name=eu-sessions' }).tracing?.serviceName,
    ).toBe('eu-sessions');
    expect(
      loadConfig({ ...ON, OTEL_RESOURCE_ATTRIBUTES: 'service.name=eu-sessions', OTEL_SERVICE_NAME: 'named' })
        .tracing?.serviceName,
    ).toBe('named');
  });

  it.each([
    ['OTEL_EXPORTER_OTLP_TIMEOUT', '0', 'must be a whole number from 1 to 2147483647'],
    ['OTEL_EXPORTER_OTLP_TRACES_TIMEOUT', '10s', 'must be a whole number from 1 to 2147483647'],
    ['OTEL_EXPORTER_OTLP_COMPRESSION', 'deflate', 'must be gzip or none'],
    ['OTEL_EXPORTER_OTLP_TRACES_COMPRESSION', 'GZIP', 'must be gzip or none'],
    ['OTEL_BSP_SCHEDULE_DELAY', '-1', 'must be a whole number from 0 to 2147483647'],
    ['OTEL_BSP_SCHEDULE_DELAY', '2147483648', 'must be a whole number from 0 to 2147483647'],
    ['OTEL_BSP_EXPORT_TIMEOUT', '0', 'must be a whole number from 1 to 2147483647'],
    ['OTEL_BSP_MAX_QUEUE_SIZE', '0', 'must be a whole number from 1 to 2147483647'],
    ['OTEL_BSP_MAX_EXPORT_BATCH_SIZE', '1.5', 'must be a whole number from 1 to 2147483647'],
    ['OTEL_BSP_MAX_EXPORT_BATCH_SIZE', '4096', 'must be at most OTEL_BSP_MAX_QUEUE_SIZE (2048)'],
    [
      'OTEL_RESOURCE_ATTRIBUTES',
      'prod',
      'pair 1 has no = or more than one (write a = inside a key or value as %3D)',
    ],
    ['OTEL_RESOURCE_ATTRIBUTES', 'a=1,team=a=b', 'pair 2 has no = or more than one'],
    ['OTEL_RESOURCE_ATTRIBUTES', 'a=1, =2', 'pair 2 has an empty key'],
    ['OTEL_RESOURCE_ATTRIBUTES', 'load=100%', 'pair 1 has a % not followed by two hex digits'],
    ['OTEL_RESOURCE_ATTRIBUTES', `a=${'x'.repeat(256)}`, 'pair 1 has a key or value over 255 characters'],
    ['OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT', 'none', 'must be a whole number from 0 to 2147483647'],
    ['OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT', '-1', 'must be a whole number from 0 to 2147483647'],
    ['OTEL_ATTRIBUTE_COUNT_LIMIT', '1e3', 'must be a whole number from 0 to 2147483647'],
    ['OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT', '12.0', 'must be a whole number from 0 to 2147483647'],
    ['OTEL_EXPORTER_OTLP_HEADERS', 'api-key', 'pair 1 is not name=value'],
    ['OTEL_EXPORTER_OTLP_HEADERS', 'a=1,=2', 'pair 2 is not name=value'],
    ['OTEL_EXPORTER_OTLP_HEADERS', 'api-key=', 'pair 1 has an empty value'],
    ['OTEL_EXPORTER_OTLP_HEADERS', 'api-key=k;v=1', 'pair 1 holds a ; (write it %3B)'],
    ['OTEL_EXPORTER_OTLP_HEADERS', 'api-key=50%', 'pair 1 has a % not followed by two hex digits'],
    ['OTEL_EXPORTER_OTLP_HEADERS', 'api key=k', 'pair 1 has a name that is not an HTTP header name'],
    ['OTEL_EXPORTER_OTLP_TRACES_HEADERS', 'x=a%0D%0Ab', 'pair 1 has a value with a control character'],
    ['OTEL_EXPORTER_OTLP_TRACES_HEADERS', 'x=%E2%82%AC', 'pair 1 has a value with a control character'],
  ])('refuses %s=%j at start (tracing on), in one line naming the variable', (name, value, message) => {
    const lines = refusal({ ...ON, [name]: value });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`  ${name}: `);
    expect(lines[0]).toContain(message);
  });

  it('says what a header or resource attribute list must look like', () => {
    expect(refusal({ ...ON, OTEL_EXPORTER_OTLP_HEADERS: 'k' })).toEqual([
      '  OTEL_EXPORTER_OTLP_HEADERS: must be comma-separated name=value pairs, values percent-encoded (%2C for a comma); pair 1 is not name=value',
    ]);
    expect(refusal({ ...ON, OTEL_RESOURCE_ATTRIBUTES: 'team=a,b' })).toEqual([
      '  OTEL_RESOURCE_ATTRIBUTES: must be comma-separated key=value pairs, with , = and % in keys and values percent-encoded (%2C %3D %25); pair 2 has no = or more than one (write a = inside a key or value as %3D) (got "team=a,b")',
    ]);
    expect(refusal({ ...ON, OTEL_BSP_MAX_QUEUE_SIZE: '100', OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '200' })).toEqual(
      ['  OTEL_BSP_MAX_EXPORT_BATCH_SIZE: must be at most OTEL_BSP_MAX_QUEUE_SIZE (100) (got "200")'],
    );
  });

  it.each([
    'authorization=Bearer SECRET-TOKEN;v=1',
    'api-key=SECRET-KEY%G0',
    'SECRET-KEY-WITHOUT-NAME',
    'x-api-key=SECRET%0A',
    'x-api-key=ok,SECRET KEY=x',
  ])('never shows a header value it refuses (%j)', (value) => {
    for (const name of ['OTEL_EXPORTER_OTLP_HEADERS', 'OTEL_EXPORTER_OTLP_TRACES_HEADERS']) {
      const lines = refusal({ ...ON, [name]: value });
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(new RegExp(`^  ${name}: must be comma-separated name=value pairs`));
      expect(lines[0]).not.toMatch(/SECRET|got/);
    }
  });

  const BAD = {
    OTEL_EXPORTER_OTLP_HEADERS: 'api-key',
    OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'x=',
    OTEL_EXPORTER_OTLP_TIMEOUT: '0',
    OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: 'soon',
    OTEL_EXPORTER_OTLP_COMPRESSION: 'zstd',
    OTEL_EXPORTER_OTLP_TRACES_COMPRESSION: 'br',
    OTEL_BSP_SCHEDULE_DELAY: '-5',
    OTEL_BSP_EXPORT_TIMEOUT: '0',
    OTEL_BSP_MAX_QUEUE_SIZE: 'lots',
    OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '0',
    OTEL_RESOURCE_ATTRIBUTES: 'a=b=c',
    OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT: 'x',
    OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT: 'x',
    OTEL_ATTRIBUTE_COUNT_LIMIT: 'x',
    OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT: 'x',
  };

  it('neither reads nor checks them while tracing is off', () => {
    expect(loadConfig(BAD).tracing).toBeUndefined();
    expect(loadConfig({ ...BAD, ...ON, OTEL_SDK_DISABLED: 'true' }).tracing).toBeUndefined();
    expect(loadConfig({ ...BAD, ...ON, OTEL_TRACES_EXPORTER: 'none' }).tracing).toBeUndefined();
  });

  it('names each bad one, with any other bad variable, in one message while tracing is on', () => {
    const lines = refusal({ ...BAD, ...ON, PORT: 'eighty' });
    expect(lines.map((line) => line.split(':')[0]!.trim()).sort()).toEqual(
      ['PORT', ...Object.keys(BAD)].sort(),
    );
    // Turned on by OTEL_TRACES_EXPORTER alone (default endpoint) as well.
    expect(refusal({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_BSP_MAX_QUEUE_SIZE: 'lots' })).toHaveLength(1);
  });
});

describe('secrets in refused URLs', () => {
  it.each([
    ['OTEL_EXPORTER_OTLP_ENDPOINT', 'ftp://u:pw@collector/x?token=SECRETQ', '"ftp://***@collector/x?***"'],
    ['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'http//u:SECRETPW@collector', '"http//***@collector"'],
  ])('masks user information and query strings of %s', (name, value, shown) => {
    expect(() => loadConfig({ [name]: value })).toThrow(`(got ${shown})`);
    expect(() => loadConfig({ [name]: value })).not.toThrow(/SECRET|pw@/);
  });
});
