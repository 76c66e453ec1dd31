import { createRequire } from 'node:module';

import { destination as pinoDestination, type DestinationStream, pino, type Logger } from 'pino';

/** Paths redacted from every log line: credentials of callers, of the service and of Janssen. */
const REDACT = [
  'authorization',
  '*.authorization',
  '*.headers.authorization',
  '*.headers["x-api-key"]',
  'req.headers.cookie',
  '*.clientSecret',
  '*.access_token',
  '*.token',
  '*.options.headers.authorization',
];

/**
 * Resolves `pino-pretty`, a dev dependency: absent from a production install (`npm ci --omit=dev`), where a TTY
 * then gets JSON lines instead of a start-up crash.
 */
function resolvePrettyTransport(): string | undefined {
  try {
    return createRequire(import.meta.url).resolve('pino-pretty');
  } catch {
    return undefined;
  }
}

/**
 * JSON lines on stdout (or `destination`); pretty-printed on a terminal outside production when possible.
 * Stdout is written asynchronously: a line per operation written synchronously cost ~25 % of throughput at
 * `LOG_LEVEL=info` (bench/results/levers.md). Lines queued while a write is in flight go out together, and pino
 * flushes what is left when the process exits.
 */
export function createLogger(
  options: { level: string; production: boolean; pretty?: boolean },
  destination?: DestinationStream,
): Logger {
  const pretty = !destination && (options.pretty ?? (!options.production && process.stdout.isTTY === true));
  const prettyTarget = pretty ? resolvePrettyTransport() : undefined;
  return pino(
    {
      level: options.level,
      redact: { paths: REDACT, censor: '[redacted]' },
      base: { service: 'jans-sessions-graphql' },
      ...(prettyTarget
        ? { transport: { target: prettyTarget, options: { translateTime: 'SYS:HH:MM:ss.l' } } }
        : {}),
    },
    destination ?? (prettyTarget ? undefined : pinoDestination({ dest: 1, sync: false })),
  );
}

/** Characters of an operation name that log lines and spans carry. */
export const MAX_SHOWN_OPERATION_NAME = 100;

/**
 * An operation name as log lines and trace spans carry it: a name is one token, so a client may send one of 1 MB
 * within MAX_TOKENS and MAX_BODY_BYTES, and it would be in every line and span of its operations. Longer than
 * MAX_SHOWN_OPERATION_NAME characters, its first ones and `…`.
 */
export function shownOperationName(name: string | null | undefined): string | null {
  if (name === null || name === undefined) {
    return null;
  }
  return shownText(name, MAX_SHOWN_OPERATION_NAME);
}

/** A caller-chosen text as logs carry it: its first `max` characters and `…` when longer. */
export function shownText(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
