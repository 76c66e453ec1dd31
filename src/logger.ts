import { type DestinationStream, pino, type Logger } from 'pino';

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

export function createLogger(
  options: { level: string; production: boolean; pretty?: boolean },
  destination?: DestinationStream,
): Logger {
  const pretty = !destination && (options.pretty ?? (!options.production && process.stdout.isTTY === true));
  return pino(
    {
      level: options.level,
      redact: { paths: REDACT, censor: '[redacted]' },
      base: { service: 'jans-sessions-graphql' },
      ...(pretty
        ? { transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l' } } }
        : {}),
    },
    destination,
  );
}
