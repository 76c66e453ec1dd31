/**
 * Summaries, the issue's done-when checks and the Markdown report of a benchmark run.
 */
import type { LoadResult } from './load.js';
import type { Scenario, ScenarioName } from './scenarios.js';

export type TargetId = 'upstream' | 'proxy' | 'ours' | 'ours-info' | 'apollo-rest';

export const TARGET_LABELS: Record<TargetId, string> = {
  upstream: 'upstream (direct REST)',
  proxy: 'plain proxy',
  ours: 'ours',
  'ours-info': 'ours, LOG_LEVEL=info',
  'apollo-rest': 'Apollo + RESTDataSource',
};

/** One measured run of one target. */
export interface RunRecord extends LoadResult {
  latencyMs: number;
  scenario: ScenarioName;
  target: TargetId;
  round: number;
  /** Requests cut off when the run stopped (one per connection): their upstream calls are in the counts. */
  inFlightAtStop: number;
  upstreamCalls: number;
  upstreamByRoute: Record<string, number>;
  /** CPU use during the run, in % of one core (`foreign`: other processes, in % of the whole machine). */
  cpu: { target: number; upstream: number; loadGenerator: number; foreign: number };
}

/** A target in one scenario at one latency: medians of its rounds. */
export interface Summary {
  latencyMs: number;
  scenario: ScenarioName;
  target: TargetId;
  rounds: number;
  requests: number;
  rps: number;
  p50: number;
  p99: number;
  /** Upstream requests per operation, over all rounds (operations: completed plus cut off at the stop). */
  upstreamPerOp: number;
  upstreamByRoutePerOp: Record<string, number>;
  errors: number;
  errorSamples: string[];
  /** Median CPU use of the target's process and of the emulator, in % of one core. */
  targetCpu: number;
  upstreamCpu: number;
  /** Highest CPU use of other processes on the machine during a round, in % of the machine. */
  foreignCpuMax: number;
  /** Peak RSS of the target's process during this scenario (the emulator's for `upstream`). */
  peakRssMb: number | undefined;
}

/**
 * A target in one scenario at one latency measured alone, after the load rounds: 1 connection, one request at a
 * time, so its latency is the cost of an operation without queueing.
 */
export interface ProbeRecord {
  latencyMs: number;
  scenario: ScenarioName;
  target: TargetId;
  connections: 1;
  requests: number;
  errors: number;
  rps: number;
  p50: number;
  p99: number;
  /** Upstream requests per operation (operations: completed plus the one cut off at the stop). */
  upstreamPerOp: number;
}

export interface Check {
  name: string;
  measured: string;
  limit: string;
  pass: boolean | undefined;
}

export interface BenchSettings {
  connections: number;
  durationS: number;
  rounds: number;
  warmupS: number;
  latencies: number[];
  scenarios: ScenarioName[];
  targets: TargetId[];
  sessionCount: number;
  infoLogScenarios: ScenarioName[];
  peakRssResettable: boolean;
  /** Seconds per unloaded probe (absent in runs from before the probes). */
  probeDurationS?: number;
}

export interface Environment {
  date: string;
  cpu: string;
  cores: number;
  memoryGb: number;
  os: string;
  node: string;
  git: string;
  packages: Record<string, string>;
}

export interface ProcessInfo {
  target: TargetId | 'emulator';
  command: string;
  idleRssMb: number | undefined;
  peakRssMb: number | undefined;
}

export interface BenchData {
  settings: BenchSettings;
  environment: Environment;
  scenarios: Record<ScenarioName, Scenario>;
  processes: ProcessInfo[];
  runs: RunRecord[];
  summaries: Summary[];
  /** Unloaded latency probes (empty when re-rendering a run from before the probes). */
  probes: ProbeRecord[];
  checks: Check[];
  profile?: string;
  durationS: number;
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

export function summarize(runs: RunRecord[], peakRss: Map<string, number | undefined>): Summary[] {
  const groups = new Map<string, RunRecord[]>();
  for (const run of runs) {
    const key = `${run.latencyMs}|${run.scenario}|${run.target}`;
    groups.set(key, [...(groups.get(key) ?? []), run]);
  }
  return [...groups.entries()].map(([key, group]) => {
    const first = group[0]!;
    const requests = group.reduce((sum, r) => sum + r.requests, 0);
    const operations = group.reduce((sum, r) => sum + r.requests + r.inFlightAtStop, 0);
    const calls = group.reduce((sum, r) => sum + r.upstreamCalls, 0);
    const byRoute: Record<string, number> = {};
    for (const run of group) {
      for (const [route, n] of Object.entries(run.upstreamByRoute)) {
        byRoute[route] = (byRoute[route] ?? 0) + n;
      }
    }
    for (const route of Object.keys(byRoute)) {
      byRoute[route] = byRoute[route]! / Math.max(1, operations);
    }
    return {
      latencyMs: first.latencyMs,
      scenario: first.scenario,
      target: first.target,
      rounds: group.length,
      requests,
      rps: median(group.map((r) => r.rps)),
      p50: median(group.map((r) => r.p50)),
      p99: median(group.map((r) => r.p99)),
      upstreamPerOp: calls / Math.max(1, operations),
      upstreamByRoutePerOp: byRoute,
      errors: group.reduce((sum, r) => sum + r.errors, 0),
      errorSamples: [...new Set(group.flatMap((r) => r.errorSamples))].slice(0, 3),
      targetCpu: median(group.map((r) => r.cpu.target)),
      upstreamCpu: median(group.map((r) => r.cpu.upstream)),
      foreignCpuMax: Math.max(...group.map((r) => r.cpu.foreign)),
      peakRssMb: peakRss.get(key),
    };
  });
}

const fmt = (value: number | undefined, digits = 0): string =>
  value === undefined || !Number.isFinite(value) ? 'n/a' : value.toFixed(digits);
const ratio = (a: number | undefined, b: number | undefined): string =>
  a === undefined || b === undefined || b === 0 ? 'n/a' : `${(a / b).toFixed(2)}x`;

function find<T extends Summary | ProbeRecord>(
  items: T[],
  latencyMs: number,
  scenario: ScenarioName,
  target: TargetId,
): T | undefined {
  return items.find((s) => s.latencyMs === latencyMs && s.scenario === scenario && s.target === target);
}

/** More than 1 % failed responses: the figures are not of the service doing its work. */
const failing = (...measured: (Summary | ProbeRecord | undefined)[]): Summary | ProbeRecord | undefined =>
  measured.find((s) => s !== undefined && s.errors > 0.01 * Math.max(1, s.requests));

/**
 * A target whose run kept the emulator (one process) at ≥ 85 % of a core: its speed is the upstream's, so a
 * comparison of speeds says nothing about the target. The direct upstream calls are exempt: that is their point.
 */
export const UPSTREAM_BOUND_CPU = 85;
const upstreamBound = (...measured: (Summary | ProbeRecord | undefined)[]): Summary | undefined =>
  measured.find(
    (s): s is Summary =>
      s !== undefined && 'upstreamCpu' in s && s.target !== 'upstream' && s.upstreamCpu >= UPSTREAM_BOUND_CPU,
  );

/**
 * The done-when figures of issue 7, per latency setting where they apply. `probes` (unloaded, 1 connection) are
 * used for the `_entities` latency check when present; without them (older runs) it reads the loaded summaries.
 */
export function evaluateChecks(
  summaries: Summary[],
  settings: BenchSettings,
  probes: ProbeRecord[],
): Check[] {
  /**
   * `over`: the figures a check reads; `timed`: it compares speed or latency under load (meaningless when
   * upstream-bound).
   */
  type Pending = Check & { over: (Summary | ProbeRecord | undefined)[]; timed: boolean };
  const raw: Pending[] = [];
  const checks = { push: (check: Pending) => raw.push(check) };
  const at = settings.connections === 50 ? '' : ` (at ${settings.connections} connections, not 50)`;
  for (const latency of settings.latencies) {
    const l = `${latency} ms upstream latency`;
    const ours20 = find(summaries, latency, 'sessions20', 'ours');
    const apollo20 = find(summaries, latency, 'sessions20', 'apollo-rest');
    const proxy20 = find(summaries, latency, 'sessions20', 'proxy');
    if (ours20 && apollo20) {
      const r = ours20.rps / apollo20.rps;
      checks.push({
        name: `20-session page, ${l}: ours ≥ 2.0x Apollo + RESTDataSource req/s${at}`,
        measured: `${fmt(ours20.rps)} / ${fmt(apollo20.rps)} = ${r.toFixed(2)}x`,
        limit: '≥ 2.00x',
        pass: r >= 2,
        over: [ours20, apollo20],
        timed: true,
      });
    }
    if (ours20 && proxy20) {
      const r = ours20.rps / proxy20.rps;
      checks.push({
        name: `20-session page, ${l}: ours ≥ 0.35x plain proxy req/s${at}`,
        measured: `${fmt(ours20.rps)} / ${fmt(proxy20.rps)} = ${r.toFixed(2)}x`,
        limit: '≥ 0.35x',
        pass: r >= 0.35,
        over: [ours20, proxy20],
        timed: true,
      });
    }
    const oursSession = find(summaries, latency, 'session', 'ours');
    const upstreamSession = find(summaries, latency, 'session', 'upstream');
    if (latency === 20 && oursSession && upstreamSession) {
      checks.push({
        name: `session(sid), ${l}: ours p50 ≤ upstream p50 + 2 ms${at}`,
        measured: `${fmt(oursSession.p50, 1)} ms vs ${fmt(upstreamSession.p50, 1)} ms (+${fmt(oursSession.p50 - upstreamSession.p50, 1)} ms)`,
        limit: `≤ ${fmt(upstreamSession.p50 + 2, 1)} ms`,
        pass: oursSession.p50 <= upstreamSession.p50 + 2,
        over: [oursSession, upstreamSession],
        timed: true,
      });
    }
    const oursEntities = find(summaries, latency, 'entities100', 'ours');
    if (oursEntities) {
      checks.push({
        name: `_entities × 100, ${l}: ≤ 2 upstream calls per operation`,
        measured: fmt(oursEntities.upstreamPerOp, 2),
        limit: '≤ 2',
        pass: oursEntities.upstreamPerOp <= 2,
        over: [oursEntities],
        timed: false,
      });
    }
    // Latency of one batched `_entities` of 100 next to one upstream call, both unloaded: at the load runs'
    // connections a p50 is mostly queueing (connections / req/s), a measure of throughput instead.
    const probeEntities = find(probes, latency, 'entities100', 'ours');
    const probeSession = find(probes, latency, 'session', 'upstream');
    if (probeEntities && probeSession) {
      checks.push({
        name: `_entities × 100, ${l}: p50 ≤ 3x a single upstream call (upstream \`GET /session/sid\` p50; both unloaded, 1 connection)`,
        measured: `${fmt(probeEntities.p50, 1)} ms vs ${fmt(probeSession.p50, 1)} ms (${ratio(probeEntities.p50, probeSession.p50)})`,
        limit: `≤ ${fmt(3 * probeSession.p50, 1)} ms`,
        pass: probeEntities.p50 <= 3 * probeSession.p50,
        over: [probeEntities, probeSession],
        timed: false,
      });
    } else if (oursEntities && upstreamSession) {
      checks.push({
        name: `_entities × 100, ${l}: p50 ≤ 3x a single upstream call (upstream \`GET /session/sid\` p50)${at}`,
        measured: `${fmt(oursEntities.p50, 1)} ms vs ${fmt(upstreamSession.p50, 1)} ms (${ratio(oursEntities.p50, upstreamSession.p50)})`,
        limit: `≤ ${fmt(3 * upstreamSession.p50, 1)} ms`,
        pass: oursEntities.p50 <= 3 * upstreamSession.p50,
        over: [oursEntities, upstreamSession],
        timed: true,
      });
    }
    const ours200 = find(summaries, latency, 'sessions200', 'ours');
    if (ours20 && ours200) {
      const r = ours20.rps / ours200.rps;
      checks.push({
        name: `page of 200 costs ≤ 10x a page of 20 (req/s ratio), ${l}`,
        measured: `${fmt(ours20.rps)} / ${fmt(ours200.rps)} = ${r.toFixed(2)}x (p50 ${ratio(ours200.p50, ours20.p50)})`,
        limit: '≤ 10x',
        pass: r <= 10,
        over: [ours20, ours200],
        timed: true,
      });
    }
  }
  const rss = summaries.filter((s) => s.target === 'ours' && s.peakRssMb !== undefined);
  if (rss.length > 0) {
    const peak = Math.max(...rss.map((s) => s.peakRssMb!));
    checks.push({
      name: `peak RSS of ours under load (all scenarios and latencies)${settings.peakRssResettable ? '' : ' (since start)'}`,
      measured: `${fmt(peak)} MB`,
      limit: '≤ 150 MB',
      pass: peak <= 150,
      over: [],
      timed: false,
    });
  }
  return raw.map(({ over, timed, ...check }) => {
    const bad = failing(...over);
    if (bad) {
      return {
        ...check,
        measured: `${check.measured}; but ${TARGET_LABELS[bad.target]} failed ${((100 * bad.errors) / Math.max(1, bad.requests)).toFixed(0)} % of its responses`,
        pass: false,
      };
    }
    const bound = timed ? upstreamBound(...over) : undefined;
    return bound
      ? {
          ...check,
          measured: `${check.measured}; upstream-bound (the emulator at ${bound.upstreamCpu.toFixed(0)} % CPU under ${TARGET_LABELS[bound.target]})`,
          pass: undefined,
        }
      : check;
  });
}

/** Other processes' share of the machine above which a round's figures are marked as disturbed. */
export const FOREIGN_LIMIT = 10;

function resultTable(data: BenchData, latency: number): string[] {
  const lines = [
    '| scenario | target | req/s | p50 ms | p99 ms | upstream calls/op | peak RSS MB | CPU % target / upstream | errors |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const scenario of data.settings.scenarios) {
    for (const target of Object.keys(TARGET_LABELS) as TargetId[]) {
      const s = find(data.summaries, latency, scenario, target);
      if (!s) {
        continue;
      }
      const routes = Object.entries(s.upstreamByRoutePerOp)
        .filter(([, n]) => n >= 0.005)
        .map(([route, n]) => `${route} ${n.toFixed(2)}`)
        .join(', ');
      const calls =
        target === 'upstream' ? '(1)' : `${fmt(s.upstreamPerOp, 2)}${routes ? ` (${routes})` : ''}`;
      lines.push(
        `| ${data.scenarios[scenario].title} | ${TARGET_LABELS[target]} | ${fmt(s.rps)}${s.foreignCpuMax > FOREIGN_LIMIT ? ' †' : ''} | ${fmt(s.p50, 1)} | ${fmt(s.p99, 1)} | ${calls} | ${fmt(s.peakRssMb)} | ${target === 'upstream' ? '' : `${fmt(s.targetCpu)} / `}${fmt(s.upstreamCpu)} | ${s.errors}${s.requests > 0 && s.errors > 0 ? ` (${((100 * s.errors) / s.requests).toFixed(1)} %)` : ''} |`,
      );
    }
  }
  return lines;
}

function probeTable(data: BenchData, latency: number): string[] {
  const lines = [
    '| scenario | target | req/s | p50 ms | p99 ms | upstream calls/op | errors |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const scenario of data.settings.scenarios) {
    for (const target of Object.keys(TARGET_LABELS) as TargetId[]) {
      const p = find(data.probes, latency, scenario, target);
      if (!p) {
        continue;
      }
      lines.push(
        `| ${data.scenarios[scenario].title} | ${TARGET_LABELS[target]} | ${fmt(p.rps)} | ${fmt(p.p50, 1)} | ${fmt(p.p99, 1)} | ${target === 'upstream' ? '(1)' : fmt(p.upstreamPerOp, 2)} | ${p.errors} |`,
      );
    }
  }
  return lines.length > 2 ? lines : [];
}

function ratioTable(data: BenchData, latency: number): string[] {
  const lines = [
    '| scenario | ours / proxy req/s | ours / Apollo + REST req/s | ours p50 − upstream p50 | ours / upstream p50 | ours / upstream req/s |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const scenario of data.settings.scenarios) {
    const ours = find(data.summaries, latency, scenario, 'ours');
    if (!ours) {
      continue;
    }
    const proxy = find(data.summaries, latency, scenario, 'proxy');
    const apollo = find(data.summaries, latency, scenario, 'apollo-rest');
    const upstream = find(data.summaries, latency, scenario, 'upstream');
    lines.push(
      `| ${data.scenarios[scenario].title} | ${ratio(ours.rps, proxy?.rps)} | ${ratio(ours.rps, apollo?.rps)} | ${upstream ? `${(ours.p50 - upstream.p50).toFixed(1)} ms` : 'n/a'} | ${ratio(ours.p50, upstream?.p50)} | ${ratio(ours.rps, upstream?.rps)} |`,
    );
  }
  return lines;
}

export function renderMarkdown(data: BenchData, notes: string[]): string {
  const { settings, environment: env } = data;
  const passed = data.checks.filter((c) => c.pass === true).length;
  const failed = data.checks.filter((c) => c.pass === false).length;
  const unmeasured = data.checks.length - passed - failed;
  const out = [
    '# Benchmark: the facade vs the upstream, a plain proxy and a peer',
    '',
    `Generated by \`npm run bench\` (\`bench/run.ts\`) on ${env.date} in ${Math.round(data.durationS)} s. Do not edit by hand.`,
    '',
    '## Machine and versions',
    '',
    `- ${env.cpu}, ${env.cores} cores, ${env.memoryGb} GB; ${env.os}; Node ${env.node}; source ${env.git}`,
    `- ${Object.entries(env.packages)
      .map(([name, version]) => `${name} ${version}`)
      .join(', ')}`,
    `- Load generator (autocannon, in the harness process), emulator and target share the ${env.cores} cores; each target and the emulator run in a process of their own.`,
    '',
    '## Settings',
    '',
    `${settings.connections} connections, ${settings.rounds} round(s) × ${settings.durationS} s per target and scenario after a ${settings.warmupS} s warm-up (${Math.max(0.5, settings.warmupS / 2)} s at later latency settings), targets alternating (A B C D A B C D); figures are the median of the rounds. Upstream: the Janssen emulator with ${settings.sessionCount} sessions, simulated latency ${settings.latencies.map((l) => `${l} ms`).join(' and ')} on every upstream request. Latency is measured per response in 0.1 ms steps; "errors" counts non-2xx answers (404 expected for the upstream DELETE) and GraphQL responses with \`errors\`.${data.probes.length > 0 ? ` After the load rounds of each latency setting, ${[...new Set(data.probes.map((p) => data.scenarios[p.scenario].title))].map((t) => `\`${t}\``).join(' and ')} are also measured unloaded: 1 connection (one request at a time) for ${fmt(settings.probeDurationS)} s per target.` : ''}`,
    '',
    'Targets:',
    '',
    ...data.processes.map(
      (p) =>
        `- **${p.target === 'emulator' ? 'emulator' : TARGET_LABELS[p.target]}**: \`${p.command}\`; RSS idle ${fmt(p.idleRssMb)} MB, peak ${fmt(p.peakRssMb)} MB`,
    ),
    '',
    'Scenarios:',
    '',
    ...settings.scenarios.map((s) => `- **${data.scenarios[s].title}**: ${data.scenarios[s].describe}`),
    '',
    `## Done-when checks (issue 7): ${passed} pass, ${failed} fail${unmeasured > 0 ? `, ${unmeasured} not measurable here (upstream-bound)` : ''}`,
    '',
    '| check | measured | limit | result |',
    '| --- | --- | --- | --- |',
    ...data.checks.map(
      (c) =>
        `| ${c.name} | ${c.measured} | ${c.limit} | ${c.pass === undefined ? 'n/a' : c.pass ? 'PASS' : 'FAIL'} |`,
    ),
    '',
  ];
  for (const latency of settings.latencies) {
    out.push(`## Results at ${latency} ms upstream latency`, '', ...resultTable(data, latency), '');
    if (data.summaries.some((s) => s.latencyMs === latency && s.foreignCpuMax > FOREIGN_LIMIT)) {
      out.push(
        `† other processes used more than ${FOREIGN_LIMIT} % of the machine during a round of this row: treat it with care.`,
        '',
      );
    }
    out.push('Ratios:', '', ...ratioTable(data, latency), '');
    const probes = probeTable(data, latency);
    if (probes.length > 0) {
      out.push(
        `Unloaded latency (1 connection, ${fmt(settings.probeDurationS)} s per row, after the load rounds):`,
        '',
        ...probes,
        '',
      );
    }
  }
  const errored = data.summaries.filter((s) => s.errors > 0 && s.errorSamples.length > 0);
  if (errored.length > 0) {
    out.push('## Error samples', '');
    for (const s of errored) {
      out.push(
        `- ${s.latencyMs} ms, ${data.scenarios[s.scenario].title}, ${TARGET_LABELS[s.target]}: ${s.errorSamples.map((e) => `\`${e.replace(/`/g, "'")}\``).join('; ')}`,
      );
    }
    out.push('');
  }
  if (data.profile) {
    out.push('## Where ours spends its CPU (`--cpu-prof`)', '', data.profile, '');
  }
  out.push('## Notes', '', ...notes.map((n) => `- ${n}`), '');
  return out.join('\n');
}
