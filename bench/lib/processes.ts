/**
 * Child processes of the benchmark: each target (and the emulator) runs in its own process, so its memory is its
 * own (`VmHWM` from /proc) and it shares no event loop with the load generator. Only processes started here are
 * ever signalled, by their pid.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';

import ts from 'typescript';

export interface Child {
  name: string;
  proc: ChildProcess;
  pid: number;
  logFile: string;
}

const children = new Set<Child>();

/** A free loopback port (the kernel's pick, released again for the child to bind). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/** Options of {@link compilePeer}. */
export interface CompileOptions {
  /**
   * Directory holding the compiled project (`dist`, as `npm run build` writes it): relative imports of files under
   * `src/` are pointed at their compiled counterparts there, so a peer may use the project's own modules and still
   * run on plain Node.
   */
  compiledSrc?: string;
}

/**
 * Compiles a bench peer to an `.mjs` file under `node_modules/.cache`, so it runs on plain Node (a TypeScript
 * loader would add its own worker thread and ~50 MB to the peer's RSS, and its helpers' CPU to every request).
 * Bare imports resolve from the project's `node_modules`; any other relative import must be into `src/` and
 * needs `compiledSrc`.
 */
export function compilePeer(file: string, options: CompileOptions = {}): string {
  const dir = join('node_modules', '.cache', 'jans-sessions-bench');
  const target = join(dir, basename(file).replace(/\.ts$/, '.mjs'));
  const src = resolve('src');
  const rewrite = (specifier: string): string => {
    if (!specifier.startsWith('.')) {
      return specifier;
    }
    const imported = resolve(dirname(file), specifier);
    const inSrc = relative(src, imported);
    if (options.compiledSrc === undefined || inSrc.startsWith('..') || isAbsolute(inSrc)) {
      throw new Error(`${file}: cannot compile the relative import ${specifier} into ${target}`);
    }
    const compiled = join(resolve(options.compiledSrc), inSrc);
    if (!existsSync(compiled)) {
      throw new Error(
        `${compiled} is missing: run \`npm run build\` (or \`npm run bench\`, which builds first)`,
      );
    }
    const path = relative(resolve(dir), compiled).split(sep).join('/');
    return path.startsWith('.') ? path : `./${path}`;
  };
  const rewriteImports: ts.TransformerFactory<ts.SourceFile> = (context) => (sourceFile) => {
    const visit = (node: ts.Node): ts.Node => {
      if (
        (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) &&
        node.moduleSpecifier !== undefined &&
        ts.isStringLiteral(node.moduleSpecifier)
      ) {
        const specifier = node.moduleSpecifier.text;
        const rewritten = rewrite(specifier);
        if (rewritten !== specifier) {
          const literal = context.factory.createStringLiteral(rewritten, true);
          return ts.isImportDeclaration(node)
            ? context.factory.updateImportDeclaration(
                node,
                node.modifiers,
                node.importClause,
                literal,
                node.attributes,
              )
            : context.factory.updateExportDeclaration(
                node,
                node.modifiers,
                node.isTypeOnly,
                node.exportClause,
                literal,
                node.attributes,
              );
        }
      }
      return ts.visitEachChild(node, visit, context);
    };
    return ts.visitNode(sourceFile, visit) as ts.SourceFile;
  };
  const output = ts.transpileModule(readFileSync(file, 'utf8'), {
    fileName: file,
    compilerOptions: {
      module: ts.ModuleKind.ESNext,
      target: ts.ScriptTarget.ES2022,
      useDefineForClassFields: false,
      verbatimModuleSyntax: true,
    },
    transformers: { after: [rewriteImports] },
  });
  mkdirSync(dir, { recursive: true });
  writeFileSync(target, output.outputText);
  return target;
}

/**
 * Starts `node <args>` with `env` added to the environment, output to a log file, and waits until `ready()`
 * resolves true (polled every 100 ms, for at most `timeoutMs`).
 */
export async function startChild(
  name: string,
  args: string[],
  env: Record<string, string>,
  ready: () => Promise<boolean>,
  timeoutMs = 60_000,
): Promise<Child> {
  const logFile = join(tmpdir(), `jans-bench-${name.replace(/[^a-z0-9-]/gi, '_')}.log`);
  const fd = openSync(logFile, 'w');
  const proc = spawn(process.execPath, args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  if (proc.pid === undefined) {
    throw new Error(`${name}: could not start`);
  }
  const child: Child = { name, proc, pid: proc.pid, logFile };
  children.add(child);
  let exited: number | null | undefined;
  proc.once('exit', (code) => {
    exited = code;
    children.delete(child);
  });
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited !== undefined) {
      throw new Error(`${name} exited with ${exited} during start:\n${tail(logFile)}`);
    }
    if (await ready().catch(() => false)) {
      return child;
    }
    await sleep(100);
  }
  await stopChild(child);
  throw new Error(`${name} was not ready after ${timeoutMs} ms:\n${tail(logFile)}`);
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
export async function stopChild(child: Child, graceMs = 10_000): Promise<void> {
  if (child.proc.exitCode !== null || child.proc.signalCode !== null) {
    return;
  }
  const gone = new Promise<void>((resolve) => child.proc.once('exit', () => resolve()));
  child.proc.kill('SIGTERM');
  const timer = setTimeout(() => child.proc.kill('SIGKILL'), graceMs);
  await gone;
  clearTimeout(timer);
}

export async function stopAll(): Promise<void> {
  await Promise.all([...children].map((child) => stopChild(child)));
}

/** Peak resident set size in MB since the start or the last `resetPeakRss`. */
export function peakRssMb(pid: number): number | undefined {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Current resident set size in MB. */
export function rssMb(pid: number): number | undefined {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Resets the peak RSS to the current RSS (Linux 4.0+, `clear_refs` 5); false where not permitted. */
export function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/** CPU time a process has used so far, in clock ticks (user + system), from /proc/<pid>/stat. */
export function cpuTicks(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}

/** Machine-wide CPU ticks from /proc/stat, summed over all cores: busy (not idle or iowait) and total. */
export function systemTicks(): { busy: number; total: number } {
  try {
    const [, ...values] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/);
    const n = values.map(Number);
    const total = n.slice(0, 8).reduce((sum, v) => sum + v, 0);
    return { busy: total - (n[3] ?? 0) - (n[4] ?? 0), total };
  } catch {
    return { busy: 0, total: 0 };
  }
}

/** True when `url` answers with `status` (any status when omitted). */
export async function answers(url: string, init: RequestInit = {}, status?: number): Promise<boolean> {
  const response = await fetch(url, { ...init, signal: AbortSignal.timeout(2000) });
  await response.arrayBuffer();
  return status === undefined || response.status === status;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-20).join('\n');
  } catch {
    return '';
  }
}
