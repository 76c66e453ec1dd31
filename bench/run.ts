/**
 * Side-by-side benchmark (issue 7): the Janssen emulator in its own process, and in front of it, each in a process
 * of its own, the upstream called directly, a plain keep-alive proxy, this service (the production build in
 * `dist/`) and a hand-written Apollo Server + RESTDataSource subgraph. For each latency setting and scenario the
 * targets take turns (A B C D A B C D) under the same autocannon load, so machine drift hits them alike. Writes
 * `bench/results/latest.md` (committed) and `latest.json` (raw, git-ignored). Loopback only; every run is bounded.
 * After the load rounds of each latency setting, `session` (every target) and `_entities` × 100 (the GraphQL
 * targets and the upstream) are probed unloaded, at 1 connection: the `_entities` latency check reads those.
 *
 *   npm run bench                               # full run (~10 min); builds dist/ first
 *   npm run bench -- --quick                    # smoke: 1 round × 2 s, two scenarios → bench/results/quick.md
 *   options: --duration 4 --rounds 2 --warmup 2 (halved after the first latency) --connections 50
 *            --latency 0,20 --sessions 300   --probe-duration 3 (1 with --quick; the unloaded probes)
 *            --scenarios session,sessions20,sessions200,filtered,entities100,mixed
 *            --targets upstream,proxy,ours,apollo-rest   --info-logs sessions20 (or none)
 *            --ours-env JANS_MAX_CONCURRENCY=64 (repeatable)   --cpu-prof (profile ours; summary in the report)
 *            --out bench/results/latest.md
 *            --from-json bench/results/latest.json  (no run: re-render the report from raw figures)
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { cpus, release, totalmem, type } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';

import type { EmulatorInfo, UpstreamCounts } from './emulator-process.js';
import { type LoadResult, runLoad } from './lib/load.js';
import {
  answers,
  type Child,
  compilePeer,
  cpuTicks,
  freePort,
  peakRssMb,
  resetPeakRss,
  rssMb,
  sleep,
  startChild,
  stopAll,
  stopChild,
  systemTicks,
} from './lib/processes.js';
import { summarizeProfile } from './lib/profile.js';
import {
  type BenchData,
  type BenchSettings,
  evaluateChecks,
  FOREIGN_LIMIT,
  type ProbeRecord,
  type ProcessInfo,
  renderMarkdown,
  type RunRecord,
  summarize,
  TARGET_LABELS,
  type TargetId,
  UPSTREAM_BOUND_CPU,
} from './lib/report.js';
import { buildScenarios, type RequestSpec, SCENARIOS, type ScenarioName } from './lib/scenarios.js';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    duration: { type: 'string' },
    rounds: { type: 'string' },
    warmup: { type: 'string' },
    connections: { type: 'string', default: '50' },
    latency: { type: 'string', default: '0,20' },
    scenarios: { type: 'string' },
    targets: { type: 'string', default: 'upstream,proxy,ours,apollo-rest' },
    sessions: { type: 'string', default: '300' },
    'info-logs': { type: 'string' },
    'ours-env': { type: 'string', multiple: true, default: [] },
    'cpu-prof': { type: 'boolean', default: false },
    'probe-duration': { type: 'string' },
    out: { type: 'string' },
    'from-json': { type: 'string' },
  },
});

const list = (value: string) => [
  ...new Set(
    value
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '' && s !== 'none'),
  ),
];

function positive(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) {
    throw new Error(`--${name} must be a positive number (got ${JSON.stringify(value)})`);
  }
  return n;
}

function oneOf<T extends string>(name: string, values: string[], allowed: readonly T[]): T[] {
  for (const value of values) {
    if (!allowed.includes(value as T)) {
      throw new Error(`--${name}: unknown ${JSON.stringify(value)} (one of ${allowed.join(', ')})`);
    }
  }
  return values as T[];
}

const quick = args.quick;
const BASE_TARGETS: readonly TargetId[] = ['upstream', 'proxy', 'ours', 'apollo-rest'];
const probeDurationS = positive('probe-duration', args['probe-duration'] ?? (quick ? '1' : '3'));
const settings: BenchSettings = {
  connections: positive('connections', args.connections),
  durationS: positive('duration', args.duration ?? (quick ? '2' : '4')),
  rounds: positive('rounds', args.rounds ?? (quick ? '1' : '2')),
  warmupS: positive('warmup', args.warmup ?? (quick ? '1' : '2')),
  latencies: list(args.latency).map((l) => {
    const n = Number(l);
    if (!Number.isInteger(n) || n < 0) {
      throw new Error(`--latency: ${JSON.stringify(l)} is not a whole number of ms`);
    }
    return n;
  }),
  scenarios: oneOf(
    'scenarios',
    list(args.scenarios ?? (quick ? 'session,sessions20' : SCENARIOS.join(','))),
    SCENARIOS,
  ),
  targets: oneOf('targets', list(args.targets), BASE_TARGETS),
  sessionCount: positive('sessions', args.sessions),
  infoLogScenarios: oneOf('info-logs', list(args['info-logs'] ?? (quick ? 'none' : 'sessions20')), SCENARIOS),
  peakRssResettable: true,
  probeDurationS,
};
const outMd = args.out ?? (quick ? 'bench/results/quick.md' : 'bench/results/latest.md');
const outJson = outMd.replace(/\.md$/, '.json');
const oursEnv = Object.fromEntries(
  (args['ours-env'] ?? []).map((pair) => {
    const eq = pair.indexOf('=');
    if (eq <= 0) {
      throw new Error(`--ours-env takes NAME=value (got ${JSON.stringify(pair)})`);
    }
    return [pair.slice(0, eq), pair.slice(eq + 1)];
  }),
);
const API_KEY = 'bench-api-key-0123456789';
const PROFILE_DIR = 'bench/results/profiles';

interface Target {
  id: TargetId;
  origin: string;
  graphql: boolean;
  headers: Record<string, string>;
  /** Whose memory the target's RSS is: its own process, or the emulator's for direct upstream calls. */
  pid: number;
  command: string;
  idleRssMb: number | undefined;
}

function targetsOf(scenario: ScenarioName, all: Target[]): Target[] {
  return all.filter((t) => t.id !== 'ours-info' || settings.infoLogScenarios.includes(scenario));
}

/** Probed unloaded (when selected): a single upstream call, and one `_entities` batch of 100. */
const PROBED: readonly ScenarioName[] = ['session', 'entities100'];

/** The targets probed in a scenario: `session` on every target, `_entities` on the GraphQL ones and the upstream. */
function probeTargetsOf(scenario: ScenarioName, all: Target[]): Target[] {
  return targetsOf(scenario, all).filter(
    (t) => scenario !== 'entities100' || (t.id !== 'ours-info' && (t.graphql || t.id === 'upstream')),
  );
}

async function control<T>(base: string, path: string, method: 'GET' | 'POST' = 'GET'): Promise<T> {
  // One retry: a kept-alive socket may have been closed by the emulator meanwhile.
  const response = await fetch(`${base}${path}`, { method }).catch(() => fetch(`${base}${path}`, { method }));
  if (!response.ok) {
    throw new Error(`emulator control ${path}: ${response.status}`);
  }
  return (await response.json()) as T;
}

/** One request outside the load, to fail early and clearly when a target does not answer a scenario right. */
async function probe(target: Target, spec: RequestSpec): Promise<string | undefined> {
  const response = await fetch(`${target.origin}${spec.path}`, {
    method: spec.method,
    headers:
      spec.body === undefined ? target.headers : { ...target.headers, 'content-type': 'application/json' },
    ...(spec.body === undefined ? {} : { body: spec.body }),
  });
  const body = await response.text();
  if (!(spec.ok ?? [200]).includes(response.status) || (target.graphql && body.includes('"errors"'))) {
    return `${response.status} ${body.slice(0, 300)}`;
  }
  return undefined;
}

function packageVersion(name: string): string {
  try {
    return (
      JSON.parse(readFileSync(join('node_modules', name, 'package.json'), 'utf8')) as { version: string }
    ).version;
  } catch {
    return 'n/a';
  }
}

function gitDescription(): string {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { encoding: 'utf8' }).trim();
    return `commit ${commit}${dirty ? ' with uncommitted changes in src/' : ''}`;
  } catch {
    return 'unknown commit';
  }
}

const fmt = (n: number, digits = 0) => n.toFixed(digits);

/** Warm-up at the second and later latency settings: the processes have run every scenario by then. */
const laterWarmupS = () => Math.max(0.5, settings.warmupS / 2);

/**
 * Waits until the upstream and the target are idle: no upstream request and at most 3 clock ticks (~30 ms) of CPU
 * in either process during 250 ms. A run that stops leaves requests in flight, which a slow target or upstream may
 * work through for seconds; the next run must not pay for them.
 */
async function waitIdle(base: string, pids: number[], maxMs = 120_000): Promise<void> {
  const deadline = Date.now() + maxMs;
  let last = -1;
  let ticks = pids.map(cpuTicks);
  while (Date.now() < deadline) {
    await sleep(250);
    const { total } = await control<UpstreamCounts>(base, '/__bench/counts');
    const now = pids.map(cpuTicks);
    if (total === last && now.every((t, i) => t - ticks[i]! <= 3)) {
      return;
    }
    last = total;
    ticks = now;
  }
  console.warn(`bench: still busy after ${maxMs / 1000} s; going on`);
}

async function main(): Promise<void> {
  const started = Date.now();
  if (!existsSync('dist/index.js')) {
    throw new Error(
      'dist/index.js is missing: run `npm run build` (or use `npm run bench`, which builds first)',
    );
  }
  const perLatency = settings.scenarios.reduce(
    (sum, s) =>
      sum +
      (settings.targets.length + (settings.infoLogScenarios.includes(s) ? 1 : 0)) *
        (laterWarmupS() + settings.rounds * settings.durationS + 0.6 * (settings.rounds + 1)),
    0,
  );
  const probesPerLatency = PROBED.filter((s) => settings.scenarios.includes(s)).reduce(
    (sum, s) => sum + settings.targets.filter((t) => s !== 'entities100' || t !== 'proxy').length,
    0,
  );
  console.log(
    `bench: ${settings.scenarios.join(', ')} × ${settings.targets.join(', ')} at ${settings.latencies.join(', ')} ms; ` +
      `${settings.connections} connections, ${settings.rounds} × ${settings.durationS} s (+${settings.warmupS} s warm-up); ` +
      `at least ${Math.ceil(((perLatency + probesPerLatency * (probeDurationS + 0.6)) * settings.latencies.length) / 60)} min`,
  );

  const emulatorPort = await freePort();
  const controlPort = await freePort();
  const controlBase = `http://127.0.0.1:${controlPort}`;
  // Plain Node, like the peers: under a TypeScript loader the emulator spent ~20 % of its CPU in the loader's
  // helpers, and it shares the cores with the targets. Its src/emulator modules come from the dist/ build.
  const emulatorFile = compilePeer('bench/emulator-process.ts', { compiledSrc: 'dist' });
  const emulator = await startChild(
    'emulator',
    [emulatorFile],
    {
      BENCH_EMULATOR_PORT: String(emulatorPort),
      BENCH_CONTROL_PORT: String(controlPort),
      BENCH_SESSIONS: String(settings.sessionCount),
      NODE_ENV: 'production',
    },
    () => answers(`${controlBase}/__bench/info`, {}, 200),
  );
  const info = await control<EmulatorInfo>(controlBase, '/__bench/info');
  const scenarios = buildScenarios(info);

  const graphqlHeaders = { 'x-api-key': API_KEY };
  const graphqlReady = (origin: string) => () =>
    answers(
      `${origin}/graphql`,
      {
        method: 'POST',
        headers: { ...graphqlHeaders, 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ __typename }' }),
      },
      200,
    );
  const targets: Target[] = [];
  const children = new Map<TargetId, Child>();
  const proxyFile = compilePeer('bench/peers/proxy.ts');
  const apolloFile = compilePeer('bench/peers/apollo-rest.ts');
  const oursCommonEnv = {
    HOST: '127.0.0.1',
    NODE_ENV: 'production',
    JANS_CONFIG_API_URL: info.configApiUrl,
    JANS_TOKEN_URL: info.tokenUrl,
    JANS_CLIENT_ID: info.clientId,
    JANS_CLIENT_SECRET: info.clientSecret,
    JANS_API_KEYS: API_KEY,
    ...oursEnv,
  };
  // Node flags exactly as `npm start` passes them (`node <flags> dist/index.js`).
  const startFlags = (
    JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: { start: string } }
  ).scripts.start
    .split(' ')
    .filter((word) => word.startsWith('--'));
  const oursArgs = [
    ...startFlags,
    ...(args['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`] : []),
    'dist/index.js',
  ];
  const wanted = [...settings.targets];
  if (settings.infoLogScenarios.length > 0 && settings.targets.includes('ours')) {
    wanted.splice(wanted.indexOf('ours') + 1, 0, 'ours-info');
  }
  await Promise.all(
    wanted.map(async (id) => {
      if (id === 'upstream') {
        targets.push({
          id,
          origin: info.origin,
          graphql: false,
          headers: { authorization: `Bearer ${info.token}` },
          pid: emulator.pid,
          command: `node ${emulatorFile} (the emulator itself: bench/emulator-process.ts compiled, src/emulator from dist/)`,
          idleRssMb: rssMb(emulator.pid),
        });
        return;
      }
      const port = await freePort();
      const origin = `http://127.0.0.1:${port}`;
      let child: Child;
      let command: string;
      if (id === 'proxy') {
        command = `node ${proxyFile}`;
        child = await startChild(
          id,
          [proxyFile],
          { BENCH_UPSTREAM: info.origin, PORT: String(port), NODE_ENV: 'production' },
          () => answers(`${origin}/__bench-proxy-ready`),
        );
      } else if (id === 'apollo-rest') {
        command = `node ${apolloFile}`;
        child = await startChild(
          id,
          [apolloFile],
          {
            BENCH_UPSTREAM: info.configApiUrl,
            BENCH_TOKEN_URL: info.tokenUrl,
            BENCH_CLIENT_ID: info.clientId,
            BENCH_CLIENT_SECRET: info.clientSecret,
            BENCH_API_KEY: API_KEY,
            PORT: String(port),
            NODE_ENV: 'production',
          },
          graphqlReady(origin),
        );
      } else {
        const logLevel = id === 'ours-info' ? 'info' : 'warn';
        const childArgs = id === 'ours' ? oursArgs : [...startFlags, 'dist/index.js'];
        command = `node ${childArgs.join(' ')} (NODE_ENV=production, LOG_LEVEL=${logLevel}, client credentials + API key${
          Object.keys(oursEnv).length > 0
            ? `, ${Object.entries(oursEnv)
                .map(([k, v]) => `${k}=${v}`)
                .join(', ')}`
            : ''
        })`;
        child = await startChild(
          id,
          childArgs,
          { ...oursCommonEnv, PORT: String(port), LOG_LEVEL: logLevel },
          () => answers(`${origin}/readyz`, {}, 200),
        );
      }
      children.set(id, child);
      targets.push({
        id,
        origin,
        graphql: id !== 'proxy',
        headers: id === 'proxy' ? { authorization: `Bearer ${info.token}` } : graphqlHeaders,
        pid: child.pid,
        command,
        idleRssMb: rssMb(child.pid),
      });
    }),
  );
  targets.sort((a, b) => wanted.indexOf(a.id) - wanted.indexOf(b.id));
  if (!resetPeakRss(emulator.pid)) {
    settings.peakRssResettable = false;
    console.warn(
      'bench: cannot reset peak RSS (/proc/<pid>/clear_refs); peaks are since each process started',
    );
  }

  for (const target of targets) {
    for (const name of settings.scenarios) {
      if (!targetsOf(name, targets).includes(target)) {
        continue;
      }
      const pool = target.graphql ? scenarios[name].graphql : scenarios[name].rest;
      for (const spec of [pool[0]!, ...pool.filter((s) => s.method !== pool[0]!.method).slice(0, 1)]) {
        const problem = await probe(target, spec);
        if (problem) {
          console.warn(`bench: ${TARGET_LABELS[target.id]} does not answer ${name} right: ${problem}`);
        }
      }
    }
  }

  const runs: RunRecord[] = [];
  const probes: ProbeRecord[] = [];
  const peakRss = new Map<string, number | undefined>();
  const overallPeak = new Map<number, number>();
  await control(controlBase, '/__bench/counts?reset=1');
  for (const latency of settings.latencies) {
    await control(controlBase, `/__bench/latency?ms=${latency}`, 'POST');
    for (const name of settings.scenarios) {
      const scenarioTargets = targetsOf(name, targets);
      for (const target of scenarioTargets) {
        resetPeakRss(target.pid);
      }
      const load = (target: Target, durationS: number): Promise<LoadResult> =>
        runLoad({
          origin: target.origin,
          requests: target.graphql ? scenarios[name].graphql : scenarios[name].rest,
          headers: target.headers,
          connections: settings.connections,
          durationS,
          graphql: target.graphql,
        });
      for (const target of scenarioTargets) {
        await load(target, latency === settings.latencies[0] ? settings.warmupS : laterWarmupS());
        await waitIdle(controlBase, [emulator.pid, target.pid]);
      }
      for (let round = 1; round <= settings.rounds; round += 1) {
        for (const target of scenarioTargets) {
          await control(controlBase, '/__bench/counts?reset=1');
          const ourPids = [process.pid, emulator.pid, ...[...children.values()].map((c) => c.pid)];
          const before = { system: systemTicks(), pids: ourPids.map(cpuTicks) };
          const targetBefore = cpuTicks(target.pid);
          const emulatorBefore = cpuTicks(emulator.pid);
          const harnessBefore = cpuTicks(process.pid);
          const result = await load(target, settings.durationS);
          const system = systemTicks();
          const perCore = (system.total - before.system.total) / cpus().length || 1;
          const ours = ourPids.map(cpuTicks).reduce((sum, t, i) => sum + t - before.pids[i]!, 0);
          const cpu = {
            target: (100 * (cpuTicks(target.pid) - targetBefore)) / perCore,
            upstream: (100 * (cpuTicks(emulator.pid) - emulatorBefore)) / perCore,
            loadGenerator: (100 * (cpuTicks(process.pid) - harnessBefore)) / perCore,
            foreign: Math.max(
              0,
              (100 * (system.busy - before.system.busy - ours)) / (system.total - before.system.total || 1),
            ),
          };
          // Requests cut off at the stop may still be running upstream: count their calls, and start the next run
          // on an idle upstream.
          await waitIdle(controlBase, [emulator.pid, target.pid]);
          const counts = await control<UpstreamCounts>(controlBase, '/__bench/counts?reset=1');
          const byRoute = Object.fromEntries(
            Object.entries(counts.byRoute).filter(
              (entry): entry is [string, number] => entry[1] !== undefined,
            ),
          );
          runs.push({
            ...result,
            latencyMs: latency,
            scenario: name,
            target: target.id,
            round,
            inFlightAtStop: settings.connections,
            upstreamCalls: counts.total,
            upstreamByRoute: byRoute,
            cpu,
          });
          const perOp = counts.total / (result.requests + settings.connections);
          console.log(
            `${String(latency).padStart(3)} ms  ${name.padEnd(12)} ${target.id.padEnd(12)} r${round}: ` +
              `${fmt(result.rps).padStart(6)} req/s  p50 ${fmt(result.p50, 1).padStart(6)}  p99 ${fmt(result.p99, 1).padStart(6)} ms  ` +
              `upstream/op ${fmt(perOp, 2)}  CPU target ${fmt(cpu.target)} % upstream ${fmt(cpu.upstream)} % ` +
              `loadgen ${fmt(cpu.loadGenerator)} % other ${fmt(cpu.foreign)} %  errors ${result.errors}`,
          );
          if (result.errors > 0) {
            console.log(`    e.g. ${result.errorSamples[0] ?? ''}`);
          }
        }
      }
      for (const target of scenarioTargets) {
        const peak = peakRssMb(target.pid);
        peakRss.set(`${latency}|${name}|${target.id}`, peak);
        if (peak !== undefined) {
          overallPeak.set(target.pid, Math.max(overallPeak.get(target.pid) ?? 0, peak));
        }
      }
    }
    // Unloaded probes: one request at a time, so p50 is the cost of an operation, not a queue (at the load runs'
    // connections, p50 ≈ connections / req/s). The upstream is idle here: the last run ended with waitIdle.
    for (const name of PROBED.filter((s) => settings.scenarios.includes(s))) {
      for (const target of probeTargetsOf(name, targets)) {
        await control(controlBase, '/__bench/counts?reset=1');
        const result = await runLoad({
          origin: target.origin,
          requests: target.graphql ? scenarios[name].graphql : scenarios[name].rest,
          headers: target.headers,
          connections: 1,
          durationS: probeDurationS,
          graphql: target.graphql,
        });
        await waitIdle(controlBase, [emulator.pid, target.pid]);
        const counts = await control<UpstreamCounts>(controlBase, '/__bench/counts?reset=1');
        const upstreamPerOp = counts.total / (result.requests + 1);
        probes.push({
          latencyMs: latency,
          scenario: name,
          target: target.id,
          connections: 1,
          requests: result.requests,
          errors: result.errors,
          rps: result.rps,
          p50: result.p50,
          p99: result.p99,
          upstreamPerOp,
        });
        console.log(
          `${String(latency).padStart(3)} ms  ${name.padEnd(12)} ${target.id.padEnd(12)} 1 conn: ` +
            `${fmt(result.rps).padStart(6)} req/s  p50 ${fmt(result.p50, 1).padStart(6)}  p99 ${fmt(result.p99, 1).padStart(6)} ms  ` +
            `upstream/op ${fmt(upstreamPerOp, 2)}  errors ${result.errors}`,
        );
        if (result.errors > 0) {
          console.log(`    e.g. ${result.errorSamples[0] ?? ''}`);
        }
      }
    }
  }
  await control(controlBase, '/__bench/latency?ms=0', 'POST');

  const processes: ProcessInfo[] = [
    ...targets.map((t) => ({
      target: t.id,
      command: t.command,
      idleRssMb: t.idleRssMb,
      peakRssMb: overallPeak.get(t.pid),
    })),
  ];
  const oursChild = children.get('ours');
  for (const child of children.values()) {
    await stopChild(child);
  }
  await stopChild(emulator);

  let profile: string | undefined;
  if (args['cpu-prof'] && oursChild && existsSync(PROFILE_DIR)) {
    const newest = readdirSync(PROFILE_DIR)
      .filter((f) => f.endsWith('.cpuprofile'))
      .map((f) => join(PROFILE_DIR, f))
      .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
    if (newest) {
      profile = `Profile \`${newest}\` (git-ignored; open it in Chrome DevTools or speedscope).\n\n${summarizeProfile(newest)}`;
    }
  }

  const summaries = summarize(runs, peakRss);
  const data: BenchData = {
    settings,
    environment: {
      date: new Date().toISOString(),
      cpu: cpus()[0]?.model ?? 'unknown CPU',
      cores: cpus().length,
      memoryGb: Math.round(totalmem() / 1024 ** 3),
      os: `${type()} ${release()}`,
      node: process.version,
      git: gitDescription(),
      packages: Object.fromEntries(
        [
          'graphql',
          '@apollo/server',
          '@apollo/subgraph',
          'type-graphql',
          'got',
          'dataloader',
          'pino',
          '@apollo/datasource-rest',
          'autocannon',
        ].map((name) => [name, packageVersion(name)]),
      ),
    },
    scenarios,
    processes,
    runs,
    summaries,
    probes,
    checks: evaluateChecks(summaries, settings, probes),
    ...(profile ? { profile } : {}),
    durationS: (Date.now() - started) / 1000,
  };
  const markdown = renderMarkdown(data, notes(data));
  mkdirSync(dirname(outMd), { recursive: true });
  writeFileSync(outMd, markdown);
  writeFileSync(outJson, `${JSON.stringify(data, null, 2)}\n`);
  console.log(`\n${markdown}\nbench: wrote ${outMd} and ${outJson}`);
}

/** Fixed caveats plus a few read off the results. */
function notes(data: BenchData): string[] {
  const find = (latency: number, scenario: ScenarioName, target: TargetId) =>
    data.summaries.find((s) => s.latencyMs === latency && s.scenario === scenario && s.target === target);
  // From the run itself, so re-rendering an older run's JSON still describes how its emulator ran.
  const upstreamCommand = data.processes.find((p) => p.target === 'upstream')?.command ?? '';
  const out: string[] = [];
  const foreign = Math.max(0, ...data.summaries.map((s) => s.foreignCpuMax));
  out.push(
    `Other processes on the machine used at most ${fmt(foreign)} % of its CPU during a round${foreign > FOREIGN_LIMIT ? ' (rows marked †)' : ''}.`,
  );
  for (const latency of data.settings.latencies) {
    const bound = data.summaries.filter(
      (s) => s.latencyMs === latency && s.target !== 'upstream' && s.upstreamCpu >= UPSTREAM_BOUND_CPU,
    );
    if (bound.length > 0) {
      out.push(
        `Upstream-bound at ${latency} ms (the emulator, one process, used ≥ ${UPSTREAM_BOUND_CPU} % of a core during the run, so it limits the figure, not the target): ${bound
          .map(
            (s) =>
              `${data.scenarios[s.scenario].title} via ${TARGET_LABELS[s.target]} (${fmt(s.upstreamCpu)} %)`,
          )
          .join(', ')}.`,
      );
    }
  }
  for (const latency of data.settings.latencies) {
    const ours = find(latency, 'sessions20', 'ours');
    const info = find(latency, 'sessions20', 'ours-info');
    if (ours && info) {
      out.push(
        `Logging: at ${latency} ms, the 20-session page with \`LOG_LEVEL=info\` (one JSON line per operation, to a file) runs at ${fmt(info.rps)} req/s, ${fmt((100 * info.rps) / ours.rps)} % of \`LOG_LEVEL=warn\` (p50 ${fmt(info.p50, 1)} vs ${fmt(ours.p50, 1)} ms).`,
      );
    }
  }
  if (data.probes.some((p) => p.scenario === 'entities100' && p.target === 'ours')) {
    out.push(
      `The \`_entities × 100\` latency check reads the unloaded probes (1 connection, one request at a time): at ${data.settings.connections} connections a p50 is mostly queueing (≈ connections ÷ req/s), which measures throughput, not whether one batched \`_entities\` of 100 costs about one upstream call rather than 100 sequential GETs.`,
    );
  }
  out.push(
    'GraphQL Mesh (`@omnigraph/openapi` composed with `@graphql-mesh/compose-cli`) served by Hive Gateway is not measured: `@graphql-hive/gateway` 2.15.1 declares Node ≥ 20, but its runtime (`@graphql-tools/executor` 2.1, `@whatwg-node/promise-helpers` 2, `@whatwg-node/disposablestack`, `@whatwg-node/fetch` 0.12) requires Node ≥ 22.15, and the install adds 792 packages with engine warnings. Revisit when the project moves to Node 22.',
    `The "upstream" rows call the emulator directly with a bearer token: they show what the upstream itself sustains on this machine while sharing it with the load generator, and its RSS column is the emulator process (${upstreamCommand.includes('tsx') ? 'run under `tsx`, whose loader adds ~50 MB' : 'compiled JavaScript on plain Node, like the peers'}). For \`_entities\` the upstream row is one \`pattern\` search for the 100 sids, the cheapest REST equivalent; the done-when check compares with a single \`GET /session/sid/{sid}\` instead.`,
    "The plain proxy is `bench/peers/proxy.ts` (node:http, keep-alive agent, no parsing); the Apollo peer is `bench/peers/apollo-rest.ts` (Apollo Server 5 standalone, `buildSubgraphSchema`, a `RESTDataSource` per request as Apollo's docs show, one client-credentials token fetched at start). Its `_entities` does one GET per representation: its upstream calls per operation show it. Both are compiled to plain JavaScript and run on plain Node.",
    `Ours runs the production build (\`node dist/index.js\`) in client-credentials mode with an API key, with its defaults otherwise (\`JANS_MAX_CONCURRENCY\` ${data.processes.find((p) => p.target === 'ours')?.command.includes('JANS_MAX_CONCURRENCY') ? 'as set above' : '32'}, persisted queries in memory, metrics on). Logs go to a file in the temp directory.`,
    'Peak RSS per scenario is `VmHWM` of the process, reset (`/proc/<pid>/clear_refs`) at the start of the scenario; the process table gives the overall peak.',
  );
  return out;
}

/** Re-renders a report (checks and notes included) from the raw JSON of an earlier run. */
function renderFromJson(file: string): void {
  // Runs from before the unloaded probes have no `probes`: the checks fall back to the loaded figures.
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as Omit<BenchData, 'probes'> & {
    probes?: ProbeRecord[];
  };
  const data: BenchData = { ...parsed, probes: parsed.probes ?? [] };
  data.checks = evaluateChecks(data.summaries, data.settings, data.probes);
  const out = args.out ?? file.replace(/\.json$/, '.md');
  writeFileSync(out, renderMarkdown(data, notes(data)));
  console.log(`bench: wrote ${out} from ${file}`);
}

process.on('SIGINT', () => {
  void stopAll().then(() => process.exit(130));
});

(args['from-json'] ? Promise.resolve(renderFromJson(args['from-json'])) : main()).catch(
  async (error: unknown) => {
    console.error(error);
    await stopAll();
    process.exit(1);
  },
);
