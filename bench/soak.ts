/**
 * Soak: mixed GraphQL load against the real server and the emulator (loopback only, one process) while upstream
 * faults switch on and off, then compares memory before and after with a forced GC. Exits 1 when the heap grew
 * beyond the threshold, a request took longer than the time budget allows, or the service stopped answering.
 *
 *   npm run bench:soak                              # 180 s
 *   npx tsx bench/soak.ts --seconds 600
 *   npx tsx bench/soak.ts --short                   # 20 s quick check
 *   options: --workers 8  --max-heap-growth-mb 16  --out bench/results/soak.md
 */
import 'reflect-metadata';

import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

import { loadConfig } from '../src/config.js';
import { startDemoUpstream } from '../src/demo.js';
import type { Fault, RouteName } from '../src/emulator/emulator.js';
import type { SessionRecord } from '../src/emulator/session-store.js';
import { createLogger } from '../src/logger.js';
import { createServer } from '../src/server.js';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string' },
    short: { type: 'boolean', default: false },
    workers: { type: 'string', default: '8' },
    'max-heap-growth-mb': { type: 'string', default: '16' },
    out: { type: 'string', default: 'bench/results/soak.md' },
  },
});
const seconds = Number(args.seconds ?? (args.short ? 20 : 180));
const workers = Number(args.workers);
const maxHeapGrowthMb = Number(args['max-heap-growth-mb']);
const TIMEOUT_MS = 1000;
/** A mutation may spend two budgets (the DELETE, then the check GET); the rest is our own work on a busy core. */
const MAX_REQUEST_MS = 2 * TIMEOUT_MS + 1500;

/** `global.gc` without requiring `node --expose-gc`. */
function forceGc(): () => void {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (exposed) {
    return exposed;
  }
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}
const gc = forceGc();

async function settledMemory(): Promise<NodeJS.MemoryUsage> {
  for (let i = 0; i < 4; i += 1) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return process.memoryUsage();
}

/** Phases of the fault schedule, cycled; each lasts `PHASE_MS`. */
const SCHEDULE: { name: string; faults: [RouteName | '*', Fault][] }[] = [
  { name: 'healthy', faults: [] },
  { name: '30% 503 on reads', faults: [['get', { status: 503, failureRate: 0.3 }]] },
  { name: 'search +300 ms', faults: [['search', { latencyMs: 300 }]] },
  { name: '20% resets everywhere', faults: [['*', { reset: true, failureRate: 0.2 }]] },
  { name: '10% of reads hang', faults: [['get', { hang: true, failureRate: 0.1 }]] },
  {
    name: 'DELETE answers lost',
    faults: [['delete', { reset: true, afterHandling: true, failureRate: 0.5 }]],
  },
  { name: 'Jetty HTML 500 on search', faults: [['search', { status: 500, html: true, failureRate: 0.5 }]] },
  { name: 'truncated JSON on reads', faults: [['get', { truncatedJson: true, failureRate: 0.3 }]] },
  { name: 'outage (503 everywhere)', faults: [['*', { status: 503 }]] },
  { name: 'healthy', faults: [] },
];
const PHASE_MS = args.short ? 1000 : 3000;

/** Fixed-size latency histogram (10 ms buckets up to 10 s), so the measurement itself does not grow. */
class Histogram {
  private readonly buckets = new Uint32Array(1001);
  count = 0;
  max = 0;
  record(ms: number): void {
    this.buckets[Math.min(1000, Math.floor(ms / 10))]! += 1;
    this.count += 1;
    this.max = Math.max(this.max, ms);
  }
  percentile(p: number): number {
    let seen = 0;
    for (let i = 0; i < this.buckets.length; i += 1) {
      seen += this.buckets[i]!;
      if (seen >= this.count * p) {
        return (i + 1) * 10;
      }
    }
    return this.max;
  }
}

async function main(): Promise<void> {
  const config = loadConfig({
    JANS_TIMEOUT_MS: String(TIMEOUT_MS),
    JANS_CIRCUIT_OPEN_MS: '500',
    LOG_LEVEL: 'info',
  });
  const { emulator, config: serverConfig } = await startDemoUpstream(config, {
    sessionCount: 500,
    tokenTtlSeconds: 5,
  });
  const logger = createLogger({ level: 'info', production: true }, { write: () => undefined });
  const server = await createServer(serverConfig, logger);
  const url = `${await server.listen(0, '127.0.0.1')}/graphql`;

  const records = emulator.store.all();
  const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)]!;
  const codes = new Map<string, number>();
  const latency = new Histogram();
  const failures: string[] = [];
  let running = false;

  async function gql(query: string, variables: Record<string, unknown>): Promise<void> {
    const started = performance.now();
    let code = 'OK';
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query, variables }),
        signal: AbortSignal.timeout(10_000),
      });
      const body = (await response.json()) as { errors?: { extensions?: { code?: string } }[] };
      code = body.errors?.[0]?.extensions?.code ?? 'OK';
    } catch (error) {
      code = `CLIENT_${(error as Error).name}`;
    }
    const ms = performance.now() - started;
    latency.record(ms);
    codes.set(code, (codes.get(code) ?? 0) + 1);
    if (ms > MAX_REQUEST_MS && failures.length < 20) {
      failures.push(`a request took ${Math.round(ms)} ms (limit ${MAX_REQUEST_MS})`);
    }
  }

  /** Deletes a real session, then puts it back so the data set stays the same size. */
  async function deleteAndRestore(record: SessionRecord): Promise<void> {
    await gql('mutation ($sid: ID!) { deleteSession(sid: $sid) { deleted } }', { sid: record.sid });
    if (!emulator.store.getById(record.jansId)) {
      emulator.store.add(record);
    }
  }

  async function worker(): Promise<void> {
    while (running) {
      const roll = Math.random();
      if (roll < 0.45) {
        await gql('query ($sid: ID!) { session(sid: $sid) { sid state expirationDate } }', {
          sid: pick(records).sid,
        });
      } else if (roll < 0.75) {
        await gql(
          'query ($offset: Int) { sessions(filter: {state: AUTHENTICATED}, page: {limit: 20, offset: $offset}) { totalCount nodes { sid clientId } } }',
          { offset: Math.floor(Math.random() * 100) },
        );
      } else if (roll < 0.85) {
        await deleteAndRestore(pick(records));
      } else if (roll < 0.9) {
        await gql('mutation ($sid: ID!) { deleteSession(sid: $sid) { deleted } }', {
          sid: '00000000-0000-4000-8000-000000000000',
        });
      } else {
        const response = await fetch(url.replace('/graphql', '/healthz')).catch(() => undefined);
        if (response?.status !== 200 && failures.length < 20) {
          failures.push('/healthz did not answer 200');
        }
      }
    }
  }

  let phase = 0;
  const toggler = setInterval(() => {
    phase = (phase + 1) % SCHEDULE.length;
    emulator.setFault('*', null);
    for (const [route, fault] of SCHEDULE[phase]!.faults) {
      emulator.setFault(route, fault);
    }
  }, PHASE_MS);
  // The emulator records every request; forget them so only the service's memory is measured.
  const janitor = setInterval(() => emulator.resetCounts(), 1000);

  /** Load with faults switching for `ms`; returns once every client has stopped and the faults are off. */
  async function load(ms: number): Promise<void> {
    running = true;
    const loops = Array.from({ length: workers }, () => worker());
    await new Promise((resolve) => setTimeout(resolve, ms));
    running = false;
    await Promise.all(loops);
    emulator.setFault('*', null);
    emulator.resetCounts();
  }

  console.log(`soak: ${seconds} s, ${workers} workers, faults switching every ${PHASE_MS} ms`);
  // Warm up (JIT, pools, caches), then measure both ends in the same idle state.
  await load(Math.min(5000, (seconds * 1000) / 4));
  const before = await settledMemory();
  const warmupRequests = latency.count;
  await load(seconds * 1000);
  clearInterval(toggler);
  clearInterval(janitor);

  // Recovery: with the faults gone the service answers again by itself (the circuit closes after a probe).
  await new Promise((resolve) => setTimeout(resolve, 600));
  const recovery = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: '{ sessions(page: {limit: 1}) { totalCount } }' }),
  }).then((r) => r.json() as Promise<{ data?: { sessions: { totalCount: number } } }>);
  if (typeof recovery.data?.sessions.totalCount !== 'number') {
    failures.push('no recovery: the service did not answer a query after the faults were removed');
  }
  if (server.upstream.circuit.state() !== 'closed') {
    failures.push(`the circuit is ${server.upstream.circuit.state()} after recovery`);
  }
  const after = await settledMemory();

  const mb = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;
  const heapGrowth = mb(after.heapUsed - before.heapUsed);
  if (heapGrowth > maxHeapGrowthMb) {
    failures.push(`heap grew by ${heapGrowth} MB (limit ${maxHeapGrowthMb} MB)`);
  }
  const total = latency.count;
  const measured = total - warmupRequests;
  const rows = [...codes.entries()].sort((a, b) => b[1] - a[1]);
  const report = [
    '# Soak benchmark',
    '',
    `Generated by \`bench/soak.ts\` on ${new Date().toISOString()} (Node ${process.version}, ${process.platform}/${process.arch}).`,
    `Duration ${seconds} s after warm-up, ${workers} concurrent clients, JANS_TIMEOUT_MS=${TIMEOUT_MS}, faults switched every ${PHASE_MS} ms.`,
    '',
    `Result: **${failures.length === 0 ? 'PASS' : 'FAIL'}**`,
    ...failures.map((failure) => `- ${failure}`),
    '',
    '## Memory (after a forced GC)',
    '',
    '| | before | after | growth |',
    '| --- | ---: | ---: | ---: |',
    `| heap used (MB) | ${mb(before.heapUsed)} | ${mb(after.heapUsed)} | ${heapGrowth} (limit ${maxHeapGrowthMb}) |`,
    `| RSS (MB) | ${mb(before.rss)} | ${mb(after.rss)} | ${mb(after.rss - before.rss)} |`,
    '',
    '## Requests',
    '',
    `${total} requests (${measured} after warm-up, ${Math.round(measured / seconds)}/s); latency p50 ${latency.percentile(0.5)} ms, p99 ${latency.percentile(0.99)} ms, max ${Math.round(latency.max)} ms (limit ${MAX_REQUEST_MS} ms).`,
    '',
    '| outcome | count |',
    '| --- | ---: |',
    ...rows.map(([code, count]) => `| ${code} | ${count} |`),
    '',
    '## Fault phases (cycled)',
    '',
    ...SCHEDULE.map((s) => `- ${s.name}`),
    '',
  ].join('\n');
  mkdirSync(dirname(args.out), { recursive: true });
  writeFileSync(args.out, report);
  console.log(report);

  await server.stop();
  await emulator.close();
  process.exit(failures.length === 0 ? 0 : 1);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
