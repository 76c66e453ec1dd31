/**
 * Summarizes a V8 `.cpuprofile` (from `node --cpu-prof`): self time by area (our code, each npm package, each Node
 * module, GC) and the hottest functions, as Markdown.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Where a function lives: `ours: <file>`, an npm package name, `node internals`, or a V8 pseudo-frame. */
function areaOf(url: string, functionName: string): string {
  if (url === '') {
    return functionName.startsWith('(') ? functionName : 'native';
  }
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) {
    return pkg[1]!;
  }
  if (url.startsWith('node:')) {
    // Node's own modules by name (`node:_http_client`, `node:internal/streams/readable`): which of HTTP,
    // streams, events or timers the time goes to.
    return url;
  }
  const ours = /\/dist\/(.+)$/.exec(url);
  return ours ? `ours: ${ours[1]}` : url.replace(/^file:\/\//, '');
}

export function summarizeProfile(file: string, top = 20): string {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfMs = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    selfMs.set(id, (selfMs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  });
  const areas = new Map<string, number>();
  const functions = new Map<string, { ms: number; area: string }>();
  let busy = 0;
  for (const [id, ms] of selfMs) {
    const node = byId.get(id);
    if (!node) {
      continue;
    }
    const { functionName, url, lineNumber } = node.callFrame;
    const area = areaOf(url, functionName);
    if (area === '(idle)') {
      continue;
    }
    busy += ms;
    areas.set(area, (areas.get(area) ?? 0) + ms);
    const key = `${functionName || '(anonymous)'} ${url ? `${url.replace(/^.*\/(node_modules|dist)\//, '$1/')}:${lineNumber + 1}` : ''}`;
    const entry = functions.get(key) ?? { ms: 0, area };
    entry.ms += ms;
    functions.set(key, entry);
  }
  const pct = (ms: number) => `${((100 * ms) / busy).toFixed(1)} %`;
  const areaRows = [...areas.entries()].sort((a, b) => b[1] - a[1]).slice(0, top);
  const fnRows = [...functions.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, top);
  return [
    `Busy (non-idle) CPU time sampled: ${(busy / 1000).toFixed(1)} s over the whole run. Self time by area:`,
    '',
    '| area | self time | share |',
    '| --- | ---: | ---: |',
    ...areaRows.map(([area, ms]) => `| ${area} | ${(ms / 1000).toFixed(2)} s | ${pct(ms)} |`),
    '',
    'Hottest functions (self time):',
    '',
    '| function | area | share |',
    '| --- | --- | ---: |',
    ...fnRows.map(([fn, { ms, area }]) => `| \`${fn.trim()}\` | ${area} | ${pct(ms)} |`),
  ].join('\n');
}
