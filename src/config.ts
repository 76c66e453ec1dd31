import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

import { z } from 'zod';

import { plainDn } from './janssen/query.js';
import {
  readTrustedDocuments,
  type TrustedDocumentsConfig,
  TrustedDocumentsError,
} from './trusted-documents.js';

/** Everything the service reads from its environment, validated once at start. */
export interface Config {
  port: number;
  host: string;
  production: boolean;
  logLevel: string;
  /** Unset: start the embedded emulator with demo data (the "demo" mode). */
  upstream: {
    configApiUrl: string | undefined;
    clientId: string | undefined;
    clientSecret: string | undefined;
    tokenUrl: string | undefined;
    ca: string | undefined;
    /** Total budget of one upstream call, retries included. */
    timeoutMs: number;
    connectTimeoutMs: number;
    /** Retries of a failed GET. */
    retries: number;
    maxConcurrency: number;
    circuit: { failureThreshold: number; openMs: number };
    maxPageSize: number;
    peopleBaseDn: string;
  };
  auth: {
    /** SHA-256 digests (hex) of the accepted caller API keys. */
    apiKeyHashes: string[];
    jwksUrl: string | undefined;
    issuer: string | undefined;
    audience: string | undefined;
    mutationScope: string;
  };
  limits: {
    maxQueryDepth: number;
    maxAliases: number;
    maxRootFields: number;
    maxCost: number;
    maxTokens: number;
    maxBodyBytes: number;
  };
  redisUrl: string | undefined;
  /** Whether repeat requests skip Apollo Server's per-request pipeline (`GRAPHQL_FAST_PATH`). */
  fastPath: boolean;
  /** Whether deletions and revocations write audit lines whatever `LOG_LEVEL` says (`AUDIT_LOG`). */
  audit: boolean;
  /** OpenTelemetry tracing; undefined when off (the default). */
  tracing: TracingConfig | undefined;
  /** Origins browser apps may call `/graphql` from (`CORS_ORIGINS`): a list, `'*'`, or undefined (CORS off). */
  corsOrigins: readonly string[] | '*' | undefined;
  /** The operations callers may run (`TRUSTED_DOCUMENTS_FILE`), read at start; undefined: any operation. */
  trustedDocuments: TrustedDocumentsConfig | undefined;
}

/**
 * Tracing is on when an OTLP endpoint is set (or `OTEL_TRACES_EXPORTER=otlp`, sending to the default
 * `http://localhost:4318`), unless `OTEL_TRACES_EXPORTER=none` or `OTEL_SDK_DISABLED=true`. Every setting is read
 * here, as the OpenTelemetry specification defines it, and handed to the SDK explicitly (the SDK would otherwise
 * read some itself, and on a bad value only warn and use its default).
 */
export interface TracingConfig {
  /** Where spans are POSTed: the traces endpoint, or `<OTEL_EXPORTER_OTLP_ENDPOINT>/v1/traces`. */
  endpoint: string;
  /** OTLP over HTTP, protobuf (the specification's default) or JSON. */
  protocol: 'http/protobuf' | 'http/json';
  /** `OTEL_SERVICE_NAME`, else `service.name` of `OTEL_RESOURCE_ATTRIBUTES`, else the package's name. */
  serviceName: string;
  /** `OTEL_TRACES_SAMPLER`, lower-cased, and its ratio (`OTEL_TRACES_SAMPLER_ARG`, default 1). */
  sampler: TracesSampler;
  samplerRatio: number;
  /**
   * Sent with every export (`OTEL_EXPORTER_OTLP_HEADERS`, overridden name by name by `..._TRACES_HEADERS`), decoded;
   * often a backend's API key, so never logged.
   */
  headers: Readonly<Record<string, string>>;
  /** Time one export may take (`OTEL_EXPORTER_OTLP_[TRACES_]TIMEOUT`). */
  timeoutMs: number;
  compression: 'gzip' | 'none';
  /** The batch span processor (`OTEL_BSP_*`). */
  batch: {
    scheduledDelayMs: number;
    exportTimeoutMs: number;
    maxQueueSize: number;
    maxExportBatchSize: number;
  };
  /** `OTEL_RESOURCE_ATTRIBUTES`, decoded. */
  resourceAttributes: Readonly<Record<string, string>>;
  /** Per span (`OTEL_[SPAN_]ATTRIBUTE_VALUE_LENGTH_LIMIT`, `OTEL_[SPAN_]ATTRIBUTE_COUNT_LIMIT`). */
  attributeValueLengthLimit: number;
  attributeCountLimit: number;
}

export type TracesSampler =
  | 'parentbased_always_on'
  | 'parentbased_always_off'
  | 'parentbased_traceidratio'
  | 'always_on'
  | 'always_off'
  | 'traceidratio';

const optionalString = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value.trim() === '' ? undefined : value.trim()));

/** A DN of plain `attr=value` RDNs, written with no spaces around `,` and `=`; undefined when unset or blank. */
const baseDn = optionalString.transform((value, ctx) => {
  if (value === undefined) {
    return undefined;
  }
  const dn = plainDn(value);
  if (dn === undefined) {
    ctx.addIssue({
      code: z.ZodIssueCode.custom,
      message: 'must be a DN of attr=value parts separated by commas, e.g. ou=people,o=jans',
    });
    return z.NEVER;
  }
  return dn;
});

/** A whole number from `min` to `max`, or undefined when unset or blank. */
const optionalInteger = (min: number, max: number) =>
  z
    .string()
    .optional()
    .transform((value, ctx): number | undefined => {
      if (value === undefined || value.trim() === '') {
        return undefined;
      }
      // Digits only: `Number` would also take `1e6`, `0x10` or `1_000` and hide a typo.
      const parsed = /^\d+$/.test(value.trim()) ? Number(value.trim()) : Number.NaN;
      if (!Number.isInteger(parsed) || parsed < min || parsed > max) {
        ctx.addIssue({
          code: z.ZodIssueCode.custom,
          message: `must be a whole number from ${min} to ${max}`,
        });
        return z.NEVER;
      }
      return parsed;
    });

const integer = (fallback: number, min: number, max: number) =>
  optionalInteger(min, max).transform((value) => value ?? fallback);

/**
 * A URL with one of these schemes (and, if given, a path that `pathRule` accepts); one message per mistake. http(s)
 * URLs come back normalized without a trailing slash; others as given (a Redis password stays byte for byte).
 */
const url = (
  schemes: readonly string[],
  pathRule?: { test: RegExp; message: string },
  options: { asGiven?: boolean } = {},
) =>
  z
    .string()
    .optional()
    .transform((value, ctx) => {
      if (value === undefined || value.trim() === '') {
        return undefined;
      }
      let parsed: URL | undefined;
      try {
        parsed = new URL(value.trim());
      } catch {
        parsed = undefined;
      }
      if (parsed === undefined || !schemes.includes(parsed.protocol)) {
        ctx.addIssue({
          code: z.ZodIssueCode.custom,
          message: `must be a URL starting with ${schemes.map((scheme) => `${scheme}//`).join(' or ')}`,
        });
        return z.NEVER;
      }
      const normalized = parsed.toString().replace(/\/+$/, '');
      if (pathRule && !pathRule.test.test(normalized)) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: pathRule.message });
        return z.NEVER;
      }
      return (parsed.protocol === 'http:' || parsed.protocol === 'https:') && !options.asGiven
        ? normalized
        : value.trim();
    });

const httpUrl = url(['http:', 'https:']);

/** A choice among `values`, refused with the list rather than zod's generic enum message. */
const oneOf = <const T extends readonly [string, ...string[]], F extends T[number] | undefined = T[number]>(
  values: T,
  fallback: F,
) =>
  z
    .string()
    .optional()
    .transform((value, ctx): T[number] | F => {
      if (value === undefined || value.trim() === '') {
        return fallback;
      }
      if (!(values as readonly string[]).includes(value.trim())) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: `must be one of ${values.join(', ')}` });
        return z.NEVER;
      }
      return value.trim() as T[number];
    });

const apiKey = /^sha256:[0-9a-f]{64}$/i;

/**
 * An origin as browsers send it in `Origin` (lower-case scheme and host, no default port), or undefined when `entry`
 * is not an http(s) origin: a path, query or user information means a URL was given where an origin belongs.
 */
function originOf(entry: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(entry);
  } catch {
    return undefined;
  }
  if (
    (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') ||
    parsed.hostname.includes('*') ||
    parsed.pathname !== '/' ||
    parsed.search !== '' ||
    parsed.hash !== '' ||
    parsed.username !== '' ||
    parsed.password !== ''
  ) {
    return undefined;
  }
  return parsed.origin;
}

/** The OpenTelemetry specification reads its enumerated values case-insensitively. */
function lowerCase<T extends z.ZodTypeAny>(schema: T) {
  return z.preprocess((value) => (typeof value === 'string' ? value.toLowerCase() : value), schema);
}

/** `OTEL_EXPORTER_OTLP_*PROTOCOL`: the two HTTP encodings are shipped; gRPC is not. */
const otlpProtocol = z
  .string()
  .optional()
  .transform((value, ctx) => {
    const trimmed = value?.trim() || undefined;
    if (trimmed !== undefined && trimmed !== 'http/protobuf' && trimmed !== 'http/json') {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        message:
          trimmed === 'grpc'
            ? 'grpc is not supported: use http/protobuf (a collector listens for it on port 4318)'
            : 'must be http/protobuf or http/json',
      });
      return z.NEVER;
    }
    return trimmed as 'http/protobuf' | 'http/json' | undefined;
  });

/** The longest delay Node's timers take: a longer one fires at once. */
const MAX_TIMER_MS = 2_147_483_647;
/** Sizes and limits: the specification says integer, other SDKs read a 32-bit one. */
const MAX_INT32 = 2_147_483_647;

/** `OTEL_EXPORTER_OTLP_*COMPRESSION`, as the exporter reads it (lower case). */
const otlpCompression = z
  .string()
  .optional()
  .transform((value, ctx) => {
    const trimmed = value?.trim() || undefined;
    if (trimmed !== undefined && trimmed !== 'gzip' && trimmed !== 'none') {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'must be gzip or none' });
      return z.NEVER;
    }
    return trimmed as 'gzip' | 'none' | undefined;
  });

/** A percent-encoded key or value decoded, or undefined for a bad encoding (`%` not followed by hex, bad UTF-8). */
function percentDecoded(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}

/** An HTTP header name (RFC 9110 token). */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** What Node refuses in a header value: control characters other than tab, and anything beyond Latin-1. */
const HEADER_VALUE_REFUSED = /[^\t\x20-\x7e\x80-\xff]/;

/**
 * A comma-separated list of percent-encoded pairs (`OTEL_EXPORTER_OTLP_*HEADERS`, `OTEL_RESOURCE_ATTRIBUTES`):
 * `read` takes one non-blank entry and returns its decoded name and value, or why it is refused. A refusal names
 * the pair by position, never by its text.
 */
const pairList = (rule: string, read: (entry: string) => { name: string; value: string } | string) =>
  z
    .string()
    .optional()
    .transform((value, ctx): Record<string, string> => {
      const pairs: Record<string, string> = {};
      for (const [index, entry] of (value ?? '').split(',').entries()) {
        if (entry.trim() === '') {
          continue;
        }
        const pair = read(entry);
        if (typeof pair === 'string') {
          ctx.addIssue({ code: z.ZodIssueCode.custom, message: `${rule}; pair ${index + 1} ${pair}` });
          return z.NEVER;
        }
        pairs[pair.name] = pair.value;
      }
      return pairs;
    });

const BAD_ESCAPE = 'has a % not followed by two hex digits (write a % as %25)';

/**
 * `OTEL_EXPORTER_OTLP_*HEADERS`: `name=value` pairs (W3C baggage without properties). Refused: what the SDK would
 * silently drop or cut (no `=`, an empty value, a bad `%` escape, a `;`, after which it reads "properties") and what
 * Node would refuse to send. The value is usually an API key.
 */
const otlpHeaders = pairList(
  'must be comma-separated name=value pairs, values percent-encoded (%2C for a comma)',
  (entry) => {
    const at = entry.indexOf('=');
    if (at < 0 || entry.slice(0, at).trim() === '') {
      return 'is not name=value';
    }
    if (entry.includes(';')) {
      return 'holds a ; (write it %3B)';
    }
    const name = percentDecoded(entry.slice(0, at).trim());
    const value = percentDecoded(entry.slice(at + 1).trim());
    if (name === undefined || value === undefined) {
      return BAD_ESCAPE;
    }
    if (value === '') {
      return 'has an empty value';
    }
    if (!HEADER_NAME.test(name)) {
      return 'has a name that is not an HTTP header name';
    }
    if (HEADER_VALUE_REFUSED.test(value)) {
      return 'has a value with a control character or one beyond Latin-1';
    }
    return { name, value };
  },
);

/**
 * `OTEL_RESOURCE_ATTRIBUTES`: `key=value` pairs, with `,` `=` and `%` inside a key or value percent-encoded. Refused
 * as the SDK's detector would discard the whole list (silently): a pair without exactly one `=`, an empty key, a bad
 * `%` escape, a key or value over 255 characters.
 */
const resourceAttributes = pairList(
  'must be comma-separated key=value pairs, with , = and % in keys and values percent-encoded (%2C %3D %25)',
  (entry) => {
    const parts = entry.split('=');
    if (parts.length !== 2) {
      return 'has no = or more than one (write a = inside a key or value as %3D)';
    }
    if (parts[0]!.trim() === '') {
      return 'has an empty key';
    }
    const name = percentDecoded(parts[0]!.trim());
    const value = percentDecoded(parts[1]!.trim());
    if (name === undefined || value === undefined) {
      return BAD_ESCAPE;
    }
    if (name.length > 255 || value.length > 255) {
      return 'has a key or value over 255 characters';
    }
    return { name, value };
  },
);

/**
 * The OpenTelemetry SDK's standard settings for the export, batching, resource and limits. Read and checked only
 * while tracing is on (`tracingRequested`): with tracing off nothing reads them, and a variable set for other
 * programs (a platform-wide `OTEL_RESOURCE_ATTRIBUTES`, say) must not stop a service it does not affect.
 */
const otlpSchema = z
  .object({
    OTEL_EXPORTER_OTLP_HEADERS: otlpHeaders,
    OTEL_EXPORTER_OTLP_TRACES_HEADERS: otlpHeaders,
    OTEL_EXPORTER_OTLP_TIMEOUT: optionalInteger(1, MAX_TIMER_MS),
    OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: optionalInteger(1, MAX_TIMER_MS),
    OTEL_EXPORTER_OTLP_COMPRESSION: otlpCompression,
    OTEL_EXPORTER_OTLP_TRACES_COMPRESSION: otlpCompression,
    OTEL_BSP_SCHEDULE_DELAY: integer(5000, 0, MAX_TIMER_MS),
    OTEL_BSP_EXPORT_TIMEOUT: integer(30_000, 1, MAX_TIMER_MS),
    OTEL_BSP_MAX_QUEUE_SIZE: integer(2048, 1, MAX_INT32),
    OTEL_BSP_MAX_EXPORT_BATCH_SIZE: integer(512, 1, MAX_INT32),
    OTEL_RESOURCE_ATTRIBUTES: resourceAttributes,
    OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT: optionalInteger(0, MAX_INT32),
    OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT: optionalInteger(0, MAX_INT32),
    OTEL_ATTRIBUTE_COUNT_LIMIT: optionalInteger(0, MAX_INT32),
    OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT: optionalInteger(0, MAX_INT32),
  })
  .superRefine((env, ctx) => {
    const batch = env.OTEL_BSP_MAX_EXPORT_BATCH_SIZE;
    const queue = env.OTEL_BSP_MAX_QUEUE_SIZE;
    // Numbers only: a refused queue size has been reported already.
    if (typeof batch === 'number' && typeof queue === 'number' && batch > queue) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['OTEL_BSP_MAX_EXPORT_BATCH_SIZE'],
        message: `must be at most OTEL_BSP_MAX_QUEUE_SIZE (${queue})`,
      });
    }
  });

const envSchema = z
  .object({
    PORT: integer(4000, 0, 65535),
    HOST: optionalString,
    NODE_ENV: optionalString,
    LOG_LEVEL: oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], 'info'),
    JANS_CONFIG_API_URL: url(['http:', 'https:'], {
      test: /\/jans-config-api$/,
      message: 'must be the config API base, ending in /jans-config-api',
    }),
    JANS_CLIENT_ID: optionalString,
    JANS_CLIENT_SECRET: optionalString,
    JANS_TOKEN_URL: httpUrl,
    JANS_CA_FILE: optionalString,
    JANS_TIMEOUT_MS: integer(5000, 100, 120_000),
    JANS_CONNECT_TIMEOUT_MS: integer(2000, 10, 120_000),
    JANS_RETRIES: integer(4, 0, 10),
    JANS_MAX_CONCURRENCY: integer(32, 1, 1024),
    JANS_CIRCUIT_THRESHOLD: integer(5, 1, 1000),
    JANS_CIRCUIT_OPEN_MS: integer(5000, 100, 600_000),
    JANS_MAX_PAGE_SIZE: integer(200, 1, 10_000),
    JANS_PEOPLE_BASE_DN: baseDn,
    JANS_API_KEYS: optionalString,
    AUTH_JWKS_URL: httpUrl,
    AUTH_ISSUER: optionalString,
    AUTH_AUDIENCE: optionalString,
    AUTH_MUTATION_SCOPE: optionalString,
    MAX_QUERY_DEPTH: integer(10, 1, 100),
    MAX_ALIASES: integer(30, 0, 10_000),
    MAX_ROOT_FIELDS: integer(10, 1, 1000),
    MAX_COST: integer(20_000, 1, 100_000_000),
    MAX_TOKENS: integer(5000, 100, 1_000_000),
    MAX_BODY_BYTES: integer(1_048_576, 1024, 104_857_600),
    REDIS_URL: url(['redis:', 'rediss:']).superRefine((value, ctx) => {
      // What node-redis accepts: a host, and as path at most a database number (`/2`).
      let parsed: URL;
      try {
        // Also reached after the scheme check failed (zod still runs refinements): nothing more to say then.
        parsed = new URL(value ?? '');
      } catch {
        return;
      }
      if (!['redis:', 'rediss:'].includes(parsed.protocol)) {
        return;
      }
      if (parsed.hostname === '' || !/^(\/\d*)?$/.test(parsed.pathname)) {
        ctx.addIssue({
          code: z.ZodIssueCode.custom,
          message: 'must be redis://[user:password@]host[:port][/database number] (or rediss://)',
        });
      }
    }),
    GRAPHQL_FAST_PATH: oneOf(['on', 'off'], 'on'),
    TRUSTED_DOCUMENTS_FILE: optionalString,
    TRUSTED_DOCUMENTS_MODE: oneOf(['enforce', 'log'], undefined),
    AUDIT_LOG: oneOf(['on', 'off'], 'on'),
    CORS_ORIGINS: z
      .string()
      .optional()
      .transform((value, ctx): readonly string[] | '*' | undefined => {
        if (value === undefined || value.trim() === '') {
          return undefined;
        }
        if (value.trim() === '*') {
          return '*';
        }
        const origins: string[] = [];
        for (const entry of value.split(',').map((item) => item.trim())) {
          const origin = originOf(entry);
          if (origin === undefined) {
            ctx.addIssue({
              code: z.ZodIssueCode.custom,
              message: `must be comma-separated origins like https://admin.example.org (scheme, host and port only; no wildcard subdomains), or * alone; ${JSON.stringify(entry)} is not one`,
            });
            return z.NEVER;
          }
          origins.push(origin);
        }
        return origins;
      }),
    OTEL_SDK_DISABLED: lowerCase(oneOf(['true', 'false'], 'false')),
    OTEL_TRACES_EXPORTER: z
      .string()
      .optional()
      .transform((value, ctx) => {
        const trimmed = value?.trim().toLowerCase() || undefined;
        if (trimmed !== undefined && trimmed !== 'otlp' && trimmed !== 'none') {
          ctx.addIssue({
            code: z.ZodIssueCode.custom,
            message: 'must be otlp or none (the only exporter this service ships is OTLP over HTTP)',
          });
          return z.NEVER;
        }
        return trimmed as 'otlp' | 'none' | undefined;
      }),
    OTEL_EXPORTER_OTLP_ENDPOINT: httpUrl,
    // Used as given, as the specification says (a trailing slash is the operator's to keep).
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: url(['http:', 'https:'], undefined, { asGiven: true }),
    OTEL_EXPORTER_OTLP_PROTOCOL: lowerCase(otlpProtocol),
    OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: lowerCase(otlpProtocol),
    OTEL_SERVICE_NAME: optionalString,
    OTEL_TRACES_SAMPLER: lowerCase(
      oneOf(
        [
          'parentbased_always_on',
          'parentbased_always_off',
          'parentbased_traceidratio',
          'always_on',
          'always_off',
          'traceidratio',
        ],
        'parentbased_always_on',
      ),
    ),
    OTEL_TRACES_SAMPLER_ARG: z
      .string()
      .optional()
      .refine(
        (value) =>
          value === undefined ||
          value.trim() === '' ||
          (/^(0|1|0?\.\d+|1\.0*)$/.test(value.trim()) && Number(value) <= 1),
        { message: 'must be a sampling ratio from 0 to 1 (e.g. 0.25)' },
      ),
  })
  .superRefine((env, ctx) => {
    if ((env.JANS_CLIENT_ID === undefined) !== (env.JANS_CLIENT_SECRET === undefined)) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: [env.JANS_CLIENT_ID === undefined ? 'JANS_CLIENT_ID' : 'JANS_CLIENT_SECRET'],
        message: 'JANS_CLIENT_ID and JANS_CLIENT_SECRET go together',
      });
    }
    if ((env.JANS_CLIENT_ID || env.JANS_TOKEN_URL) && !env.JANS_CONFIG_API_URL) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['JANS_CONFIG_API_URL'],
        message:
          'is required when JANS_CLIENT_ID or JANS_TOKEN_URL is set (the demo configures its own client)',
      });
    }
    const keys = env.JANS_API_KEYS?.split(',').map((key) => key.trim()) ?? [];
    if (keys.some((key) => key.length === 0 || (key.startsWith('sha256:') && !apiKey.test(key)))) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['JANS_API_KEYS'],
        message: 'must be comma-separated keys, each plaintext or sha256:<64 hex digits>',
      });
    }
    if (env.TRUSTED_DOCUMENTS_FILE === undefined && env.TRUSTED_DOCUMENTS_MODE !== undefined) {
      // Fails closed: a mode set for a manifest that is not there must not leave every operation open unnoticed.
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['TRUSTED_DOCUMENTS_MODE'],
        message: 'needs TRUSTED_DOCUMENTS_FILE (the manifest of the operations to allow)',
      });
    }
    if (env.AUTH_JWKS_URL && !env.AUTH_ISSUER) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['AUTH_ISSUER'],
        message: 'is required with AUTH_JWKS_URL',
      });
    }
    // Fails closed, as above: settings of caller JWTs without AUTH_JWKS_URL would be silently ignored (no JWT is
    // accepted, and API keys may mutate whatever AUTH_MUTATION_SCOPE says).
    for (const name of ['AUTH_ISSUER', 'AUTH_AUDIENCE', 'AUTH_MUTATION_SCOPE'] as const) {
      if (!env.AUTH_JWKS_URL && env[name] !== undefined) {
        ctx.addIssue({
          code: z.ZodIssueCode.custom,
          path: [name],
          message: 'needs AUTH_JWKS_URL (it applies to caller JWTs, which are only accepted with it)',
        });
      }
    }
  });

/** Name of an environment variable the service reads. */
export type EnvName = keyof z.input<typeof envSchema> | keyof z.input<typeof otlpSchema>;

/**
 * What each variable means and its default: the one list `--help` prints and a test holds README.md and
 * `.env.example` to. Typed against the schema above, so a variable cannot be added there and forgotten here.
 */
export const ENVIRONMENT = {
  PORT: { meaning: 'HTTP port', default: '4000' },
  HOST: { meaning: 'bind address', default: '0.0.0.0 (demo: 127.0.0.1)' },
  NODE_ENV: {
    meaning: 'production: introspection and field suggestions off, unexpected errors masked',
    default: '',
  },
  LOG_LEVEL: { meaning: 'pino level (fatal, error, warn, info, debug, trace, silent)', default: 'info' },
  JANS_CONFIG_API_URL: {
    meaning: 'upstream base, ending in /jans-config-api',
    default: 'unset = embedded demo',
  },
  JANS_CLIENT_ID: {
    meaning: "client-credentials mode: the service's own Janssen client",
    default: 'unset = pass-through',
  },
  JANS_CLIENT_SECRET: { meaning: 'secret of JANS_CLIENT_ID (the two go together)', default: '' },
  JANS_TOKEN_URL: { meaning: 'token endpoint', default: '<origin>/jans-auth/restv1/token' },
  JANS_CA_FILE: { meaning: "extra CA bundle (PEM) for the upstream's TLS", default: '' },
  JANS_TIMEOUT_MS: {
    meaning: 'total time budget of one upstream call (queueing, retries, token included)',
    default: '5000',
  },
  JANS_CONNECT_TIMEOUT_MS: {
    meaning: 'time to open a connection to the upstream (capped by JANS_TIMEOUT_MS)',
    default: '2000',
  },
  JANS_RETRIES: { meaning: 'retries of a failed upstream read (reset, refused, 502/503/504)', default: '4' },
  JANS_MAX_CONCURRENCY: { meaning: 'upstream requests in flight at most; more wait', default: '32' },
  JANS_CIRCUIT_THRESHOLD: {
    meaning: 'consecutive failed upstream calls that open the circuit',
    default: '5',
  },
  JANS_CIRCUIT_OPEN_MS: { meaning: 'how long the open circuit fails fast before a probe', default: '5000' },
  JANS_MAX_PAGE_SIZE: { meaning: "upstream maximum limit (Janssen's maxCount)", default: '200' },
  JANS_PEOPLE_BASE_DN: {
    meaning: 'people base DN: a bare inum is placed under it; a user DN must be under it',
    default: 'ou=people,o=jans',
  },
  JANS_API_KEYS: {
    meaning: 'caller API keys (x-api-key), comma-separated, plaintext or sha256:<hex>',
    default: '',
  },
  AUTH_JWKS_URL: { meaning: 'JWKS that caller bearer JWTs are checked against', default: '' },
  AUTH_ISSUER: { meaning: 'required issuer of caller JWTs (with AUTH_JWKS_URL)', default: '' },
  AUTH_AUDIENCE: { meaning: 'required audience of caller JWTs', default: '' },
  AUTH_MUTATION_SCOPE: {
    meaning: 'scope a caller JWT needs for mutations',
    default: 'https://jans.io/oauth/jans-auth-server/session.delete',
  },
  MAX_QUERY_DEPTH: { meaning: 'GraphQL depth limit (introspection not counted)', default: '10' },
  MAX_ALIASES: { meaning: 'aliased fields per operation', default: '30' },
  MAX_ROOT_FIELDS: { meaning: 'root fields per operation', default: '10' },
  MAX_COST: {
    meaning: 'operation cost limit: 1 per field, lists counted once per item their page size allows',
    default: '20000',
  },
  MAX_TOKENS: { meaning: 'lexical tokens per GraphQL document', default: '5000' },
  MAX_BODY_BYTES: { meaning: 'request body limit (over it: HTTP 413)', default: '1048576' },
  REDIS_URL: {
    meaning: 'Redis shared by replicas for automatic persisted queries',
    default: 'unset = in-memory',
  },
  GRAPHQL_FAST_PATH: {
    meaning: 'repeat requests skip Apollo Server pipeline (`off`: every request through Apollo)',
    default: 'on',
  },
  TRUSTED_DOCUMENTS_FILE: {
    meaning:
      "manifest of the operations callers may run (graphql-codegen's persisted-documents.json or Apollo's manifest)",
    default: 'unset = any operation',
  },
  TRUSTED_DOCUMENTS_MODE: {
    meaning: 'enforce (other operations refused, HTTP 403) or log (run, one warning a minute per document)',
    default: 'enforce (with a file)',
  },
  AUDIT_LOG: {
    meaning: 'one log line per deletion or revocation, at info whatever LOG_LEVEL says (`off`: none)',
    default: 'on',
  },
  CORS_ORIGINS: {
    meaning: 'origins browser apps may call /graphql from, comma-separated (https://admin.example.org), or *',
    default: 'unset = no CORS',
  },
  OTEL_EXPORTER_OTLP_ENDPOINT: {
    meaning:
      'OpenTelemetry collector (OTLP/HTTP) base URL; setting it turns tracing on (spans to <url>/v1/traces)',
    default: 'unset = tracing off',
  },
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: {
    meaning: 'full OTLP/HTTP traces URL, instead of the one above',
    default: '',
  },
  OTEL_EXPORTER_OTLP_PROTOCOL: { meaning: 'http/protobuf or http/json', default: 'http/protobuf' },
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: { meaning: 'the same, for traces only', default: '' },
  OTEL_TRACES_EXPORTER: {
    meaning: 'otlp (tracing on, default endpoint http://localhost:4318) or none (off)',
    default: 'otlp when an endpoint is set',
  },
  OTEL_SDK_DISABLED: { meaning: 'true turns tracing off whatever else is set', default: 'false' },
  OTEL_SERVICE_NAME: { meaning: 'service.name of the spans', default: 'jans-sessions-graphql' },
  OTEL_TRACES_SAMPLER: {
    meaning: "sampler; parent-based ones follow the caller's traceparent flag",
    default: 'parentbased_always_on',
  },
  OTEL_TRACES_SAMPLER_ARG: { meaning: 'ratio for the traceidratio samplers (0 to 1)', default: '1' },
  OTEL_EXPORTER_OTLP_HEADERS: {
    meaning: 'headers sent with each export (an API key), name=value pairs, comma-separated, percent-encoded',
    default: '',
  },
  OTEL_EXPORTER_OTLP_TRACES_HEADERS: {
    meaning: 'the same, for traces only (wins name by name)',
    default: '',
  },
  OTEL_EXPORTER_OTLP_TIMEOUT: { meaning: 'milliseconds one export may take (1 or more)', default: '10000' },
  OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: { meaning: 'the same, for traces only', default: '' },
  OTEL_EXPORTER_OTLP_COMPRESSION: { meaning: 'gzip or none', default: 'none' },
  OTEL_EXPORTER_OTLP_TRACES_COMPRESSION: { meaning: 'the same, for traces only', default: '' },
  OTEL_BSP_SCHEDULE_DELAY: { meaning: 'milliseconds between two batch exports (0 or more)', default: '5000' },
  OTEL_BSP_EXPORT_TIMEOUT: {
    meaning: 'milliseconds one batch export may take (1 or more)',
    default: '30000',
  },
  OTEL_BSP_MAX_QUEUE_SIZE: { meaning: 'spans waiting for export at most; more are dropped', default: '2048' },
  OTEL_BSP_MAX_EXPORT_BATCH_SIZE: {
    meaning: 'spans per export at most (no more than OTEL_BSP_MAX_QUEUE_SIZE)',
    default: '512',
  },
  OTEL_RESOURCE_ATTRIBUTES: {
    meaning: 'resource attributes of the spans, key=value pairs, comma-separated, percent-encoded',
    default: '',
  },
  OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT: {
    meaning: 'span attribute values are cut at this length',
    default: '1024',
  },
  OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT: { meaning: 'the same, wins over the one above', default: '' },
  OTEL_ATTRIBUTE_COUNT_LIMIT: { meaning: 'attributes per span at most', default: '128' },
  OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT: { meaning: 'the same, wins over the one above', default: '' },
} satisfies Record<EnvName, { meaning: string; default: string }>;

/** `--help`'s table of every variable, its meaning and its default. */
export function formatEnvironmentHelp(): string {
  const rows = Object.entries(ENVIRONMENT).map(([name, doc]) => [name, doc.meaning, doc.default || '-']);
  const widths = [0, 1].map((column) => Math.max(...rows.map((row) => row[column]!.length)));
  const line = (row: string[]) =>
    row
      .map((cell, column) => (column < 2 ? cell.padEnd(widths[column]!) : cell))
      .join('  ')
      .trimEnd();
  return [line(['VARIABLE', 'MEANING', 'DEFAULT']), ...rows.map(line)].join('\n');
}

/** Thrown for a bad environment; the message names every bad variable. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

export function isLoopback(host: string): boolean {
  return LOOPBACK.test(host);
}

/**
 * A value as it may be shown in an error: whatever precedes an `@` in its segment (the user information of
 * anything URL-like, `scheme://user:pass@host`, `user:pass@host`, a mistyped `http//user:pass@host`) is masked,
 * and so is a query string (`?token=...`), so a password or token in a mistyped URL is never printed.
 */
export function withoutPassword(value: string): string {
  return value.replace(/[^/?#@\s]*@/g, '***@').replace(/\?.*$/s, '?***');
}

/**
 * Whether the environment turns tracing on, read from the raw values (so it is known even when some are refused):
 * an endpoint or `OTEL_TRACES_EXPORTER=otlp`, and neither `OTEL_TRACES_EXPORTER=none` nor `OTEL_SDK_DISABLED=true`.
 */
function tracingRequested(env: NodeJS.ProcessEnv): boolean {
  const set = (name: string) => env[name]?.trim().toLowerCase() || undefined;
  const endpoint = set('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT') ?? set('OTEL_EXPORTER_OTLP_ENDPOINT');
  const exporter = set('OTEL_TRACES_EXPORTER') ?? (endpoint === undefined ? 'none' : 'otlp');
  return set('OTEL_SDK_DISABLED') !== 'true' && exporter !== 'none';
}

/** Reads and validates the environment; throws `ConfigError` listing each bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const result = envSchema.safeParse(env);
  const otlp = tracingRequested(env) ? otlpSchema.safeParse(env) : undefined;
  if (!result.success || otlp?.success === false) {
    const issues = [...(result.error?.issues ?? []), ...(otlp?.error?.issues ?? [])];
    const lines = issues.map((issue) => {
      const name = String(issue.path[0] ?? 'environment');
      const raw = env[name];
      // Secrets, keys and export headers (where an API key lives) are never shown.
      const shown =
        raw === undefined || /SECRET|KEYS|HEADERS/.test(name)
          ? ''
          : ` (got ${JSON.stringify(withoutPassword(raw))})`;
      return `  ${name}: ${issue.message}${shown}`;
    });
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const e = result.data;
  const demo = e.JANS_CONFIG_API_URL === undefined;
  const apiKeyHashes = (e.JANS_API_KEYS?.split(',') ?? [])
    .map((key) => key.trim())
    .map((key) => (apiKey.test(key) ? key.slice('sha256:'.length).toLowerCase() : sha256Hex(key)));
  const host = e.HOST ?? (demo ? '127.0.0.1' : '0.0.0.0');
  const callerAuthConfigured = apiKeyHashes.length > 0 || e.AUTH_JWKS_URL !== undefined;
  if (!demo && e.JANS_CLIENT_ID && !callerAuthConfigured) {
    throw new ConfigError(
      'Invalid configuration:\n  JANS_API_KEYS: client-credentials mode (JANS_CLIENT_ID) gives every caller the ' +
        "service's own token; set JANS_API_KEYS or AUTH_JWKS_URL so callers must authenticate",
    );
  }
  if (demo && !isLoopback(host) && !callerAuthConfigured) {
    throw new ConfigError(
      `Invalid configuration:\n  HOST: the embedded demo binds to loopback only (got ${JSON.stringify(host)}); ` +
        'set JANS_API_KEYS or AUTH_JWKS_URL to expose it',
    );
  }
  let ca: string | undefined;
  if (e.JANS_CA_FILE) {
    try {
      ca = readFileSync(e.JANS_CA_FILE, 'utf8');
    } catch (error) {
      throw new ConfigError(
        `Invalid configuration:\n  JANS_CA_FILE: cannot read ${JSON.stringify(e.JANS_CA_FILE)} (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
      );
    }
    if (!ca.includes('-----BEGIN CERTIFICATE-----')) {
      throw new ConfigError(
        `Invalid configuration:\n  JANS_CA_FILE: ${JSON.stringify(e.JANS_CA_FILE)} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`,
      );
    }
  }
  let trustedDocuments: TrustedDocumentsConfig | undefined;
  if (e.TRUSTED_DOCUMENTS_FILE) {
    try {
      trustedDocuments = {
        file: e.TRUSTED_DOCUMENTS_FILE,
        mode: e.TRUSTED_DOCUMENTS_MODE ?? 'enforce',
        documents: readTrustedDocuments(e.TRUSTED_DOCUMENTS_FILE),
      };
    } catch (error) {
      if (!(error instanceof TrustedDocumentsError)) {
        throw error;
      }
      throw new ConfigError(`Invalid configuration:\n  TRUSTED_DOCUMENTS_FILE: ${error.message}`);
    }
  }
  return {
    port: e.PORT,
    host,
    production: e.NODE_ENV === 'production',
    logLevel: e.LOG_LEVEL,
    upstream: {
      configApiUrl: e.JANS_CONFIG_API_URL,
      clientId: e.JANS_CLIENT_ID,
      clientSecret: e.JANS_CLIENT_SECRET,
      tokenUrl:
        e.JANS_TOKEN_URL ??
        (e.JANS_CONFIG_API_URL
          ? `${new URL(e.JANS_CONFIG_API_URL).origin}/jans-auth/restv1/token`
          : undefined),
      ca,
      timeoutMs: e.JANS_TIMEOUT_MS,
      connectTimeoutMs: Math.min(e.JANS_CONNECT_TIMEOUT_MS, e.JANS_TIMEOUT_MS),
      retries: e.JANS_RETRIES,
      maxConcurrency: e.JANS_MAX_CONCURRENCY,
      circuit: { failureThreshold: e.JANS_CIRCUIT_THRESHOLD, openMs: e.JANS_CIRCUIT_OPEN_MS },
      maxPageSize: e.JANS_MAX_PAGE_SIZE,
      peopleBaseDn: e.JANS_PEOPLE_BASE_DN ?? 'ou=people,o=jans',
    },
    auth: {
      apiKeyHashes,
      jwksUrl: e.AUTH_JWKS_URL,
      issuer: e.AUTH_ISSUER,
      audience: e.AUTH_AUDIENCE,
      mutationScope: e.AUTH_MUTATION_SCOPE ?? 'https://jans.io/oauth/jans-auth-server/session.delete',
    },
    limits: {
      maxQueryDepth: e.MAX_QUERY_DEPTH,
      maxAliases: e.MAX_ALIASES,
      maxRootFields: e.MAX_ROOT_FIELDS,
      maxCost: e.MAX_COST,
      maxTokens: e.MAX_TOKENS,
      maxBodyBytes: e.MAX_BODY_BYTES,
    },
    redisUrl: e.REDIS_URL,
    fastPath: e.GRAPHQL_FAST_PATH === 'on',
    audit: e.AUDIT_LOG === 'on',
    tracing: otlp?.success ? tracingConfig(e, otlp.data) : undefined,
    corsOrigins: e.CORS_ORIGINS,
    trustedDocuments,
  };
}

/** `<base>/v1/traces`: the signal's path appended to the base's path (a query string stays a query string). */
function tracesUrl(base = 'http://localhost:4318'): string {
  const parsed = new URL(base);
  parsed.pathname = `${parsed.pathname.replace(/\/+$/, '')}/v1/traces`;
  return parsed.toString();
}

/** Tracing's settings (tracing on); the signal-specific `..._TRACES_...` variables win over the general ones. */
function tracingConfig(e: z.output<typeof envSchema>, o: z.output<typeof otlpSchema>): TracingConfig {
  return {
    endpoint: e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? tracesUrl(e.OTEL_EXPORTER_OTLP_ENDPOINT),
    protocol: e.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? e.OTEL_EXPORTER_OTLP_PROTOCOL ?? 'http/protobuf',
    serviceName: e.OTEL_SERVICE_NAME ?? o.OTEL_RESOURCE_ATTRIBUTES['service.name'] ?? 'jans-sessions-graphql',
    sampler: e.OTEL_TRACES_SAMPLER,
    samplerRatio:
      e.OTEL_TRACES_SAMPLER_ARG === undefined || e.OTEL_TRACES_SAMPLER_ARG.trim() === ''
        ? 1
        : Number(e.OTEL_TRACES_SAMPLER_ARG),
    headers: { ...o.OTEL_EXPORTER_OTLP_HEADERS, ...o.OTEL_EXPORTER_OTLP_TRACES_HEADERS },
    timeoutMs: o.OTEL_EXPORTER_OTLP_TRACES_TIMEOUT ?? o.OTEL_EXPORTER_OTLP_TIMEOUT ?? 10_000,
    compression: o.OTEL_EXPORTER_OTLP_TRACES_COMPRESSION ?? o.OTEL_EXPORTER_OTLP_COMPRESSION ?? 'none',
    batch: {
      scheduledDelayMs: o.OTEL_BSP_SCHEDULE_DELAY,
      exportTimeoutMs: o.OTEL_BSP_EXPORT_TIMEOUT,
      maxQueueSize: o.OTEL_BSP_MAX_QUEUE_SIZE,
      maxExportBatchSize: o.OTEL_BSP_MAX_EXPORT_BATCH_SIZE,
    },
    resourceAttributes: o.OTEL_RESOURCE_ATTRIBUTES,
    // The specification's default is no limit; 1024 keeps one span small whatever a value holds.
    attributeValueLengthLimit:
      o.OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT ?? o.OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT ?? 1024,
    attributeCountLimit: o.OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT ?? o.OTEL_ATTRIBUTE_COUNT_LIMIT ?? 128,
  };
}

export function sha256Hex(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}
