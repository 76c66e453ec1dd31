/**
 * The Janssen emulator as a process of its own for `bench/run.ts`, so the upstream shares no event loop with the
 * load generator or the target under test. Serves the emulator on `BENCH_EMULATOR_PORT` and a control API on
 * `BENCH_CONTROL_PORT` (both loopback):
 *
 *   GET  /__bench/info            origins, credentials, a long-lived token and the data the scenarios need
 *   GET  /__bench/counts          upstream requests by route since the last reset; `?reset=1` also resets
 *   POST /__bench/latency?ms=20   simulated latency on every upstream route (0 removes it)
 *
 * The harness compiles it to plain JavaScript (`compilePeer`, with `src/emulator` imported from the `dist/` build)
 * and runs that on plain Node; not meant to be started by hand (`npx tsx bench/emulator-process.ts` works too).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

import { SCOPES } from '../src/emulator/auth.js';
import { type RouteName, startEmulator } from '../src/emulator/emulator.js';

/** What `GET /__bench/info` answers. */
export interface EmulatorInfo {
  origin: string;
  configApiUrl: string;
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  /** Bearer token with the read and delete scopes, for requests sent to the upstream directly. */
  token: string;
  /** Every session's public sid, in store order. */
  sids: string[];
  /** The client id with the most authenticated sessions: the filtered-search scenario's `clientId`. */
  busiestClientId: string;
  /** How many sessions the filtered search matches. */
  filteredMatches: number;
  /** ISO instant used as `expiresAfter` in the filtered search. */
  expiresAfter: string;
  sessionCount: number;
}

/** What `GET /__bench/counts` answers. */
export interface UpstreamCounts {
  total: number;
  byRoute: Partial<Record<RouteName | 'other', number>>;
}

const ROUTES: RouteName[] = ['list', 'search', 'get', 'delete', 'revoke', 'token'];

async function main(): Promise<void> {
  const port = Number(process.env.BENCH_EMULATOR_PORT ?? 0);
  const controlPort = Number(process.env.BENCH_CONTROL_PORT ?? 0);
  const sessionCount = Number(process.env.BENCH_SESSIONS ?? 300);
  const emulator = await startEmulator({ port, sessionCount, seed: 42, maxRecordedRequests: 1000 });

  const records = emulator.store.all();
  const now = Date.now();
  // Sessions that expire in the past hour or later: most of them, so the filter narrows by client and state.
  const expiresAfter = new Date(Math.floor((now - 3600_000) / 1000) * 1000);
  const live = records.filter(
    (r) => r.jansState === 'authenticated' && r.exp.getTime() >= expiresAfter.getTime(),
  );
  const perClient = new Map<string, number>();
  for (const record of live) {
    const clientId = record.jansSessAttr.client_id;
    if (clientId) {
      perClient.set(clientId, (perClient.get(clientId) ?? 0) + 1);
    }
  }
  const [busiestClientId = '', filteredMatches = 0] =
    [...perClient.entries()].sort((a, b) => b[1] - a[1])[0] ?? [];

  const info: EmulatorInfo = {
    origin: emulator.origin,
    configApiUrl: emulator.configApiUrl,
    tokenUrl: emulator.tokenUrl,
    clientId: emulator.clientId,
    clientSecret: emulator.clientSecret,
    token: emulator.issueToken([SCOPES.sessionReadonly, SCOPES.sessionDelete, SCOPES.revokeSession], 86_400),
    sids: records.map((r) => r.sid),
    busiestClientId,
    filteredMatches,
    expiresAfter: expiresAfter.toISOString(),
    sessionCount: records.length,
  };

  const counts = (): UpstreamCounts => {
    const byRoute: UpstreamCounts['byRoute'] = {};
    for (const route of ROUTES) {
      const n = emulator.count(route);
      if (n > 0) {
        byRoute[route] = n;
      }
    }
    const total = emulator.count();
    const routed = Object.values(byRoute).reduce((sum, n) => sum + n, 0);
    if (total > routed) {
      byRoute.other = total - routed;
    }
    return { total, byRoute };
  };

  const control = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method === 'GET' && url.pathname === '/__bench/info') {
      json(200, info);
    } else if (req.method === 'GET' && url.pathname === '/__bench/counts') {
      const body = counts();
      if (url.searchParams.get('reset') === '1') {
        emulator.resetCounts();
      }
      json(200, body);
    } else if (req.method === 'POST' && url.pathname === '/__bench/latency') {
      const ms = Number(url.searchParams.get('ms') ?? '0');
      emulator.setFault('*', ms > 0 ? { latencyMs: ms } : null);
      json(200, { latencyMs: ms });
    } else {
      json(404, { error: 'not found' });
    }
  });
  // The harness polls while the emulator may be busy for seconds: never close its idle connections.
  control.keepAliveTimeout = 0;
  await new Promise<void>((resolve) => control.listen(controlPort, '127.0.0.1', resolve));

  const stop = () => {
    control.close();
    void emulator.close().then(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
