import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

import { z } from 'zod';

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
    timeoutMs: number;
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
    maxBodyBytes: number;
  };
  redisUrl: string | undefined;
}

const optionalString = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value.trim() === '' ? undefined : value.trim()));

const integer = (fallback: number, min: number, max: number) =>
  z
    .string()
    .optional()
    .transform((value, ctx) => {
      if (value === undefined || value.trim() === '') {
        return fallback;
      }
      const parsed = Number(value);
      if (!Number.isInteger(parsed) || parsed < min || parsed > max) {
        ctx.addIssue({
          code: z.ZodIssueCode.custom,
          message: `must be a whole number from ${min} to ${max}`,
        });
        return z.NEVER;
      }
      return parsed;
    });

const httpUrl = z
  .string()
  .optional()
  .transform((value, ctx) => {
    if (value === undefined || value.trim() === '') {
      return undefined;
    }
    try {
      const url = new URL(value.trim());
      if (url.protocol !== 'http:' && url.protocol !== 'https:') {
        throw new Error('protocol');
      }
      return url.toString().replace(/\/+$/, '');
    } catch {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'must be an http(s) URL' });
      return z.NEVER;
    }
  });

const apiKey = /^sha256:[0-9a-f]{64}$/i;

const envSchema = z
  .object({
    PORT: integer(4000, 0, 65535),
    HOST: optionalString,
    NODE_ENV: optionalString,
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    JANS_CONFIG_API_URL: httpUrl.refine((url) => url === undefined || /\/jans-config-api$/.test(url), {
      message: 'must be the config API base, ending in /jans-config-api',
    }),
    JANS_CLIENT_ID: optionalString,
    JANS_CLIENT_SECRET: optionalString,
    JANS_TOKEN_URL: httpUrl,
    JANS_CA_FILE: optionalString,
    JANS_TIMEOUT_MS: integer(5000, 100, 120_000),
    JANS_MAX_PAGE_SIZE: integer(200, 1, 10_000),
    JANS_PEOPLE_BASE_DN: optionalString,
    JANS_API_KEYS: optionalString,
    AUTH_JWKS_URL: httpUrl,
    AUTH_ISSUER: optionalString,
    AUTH_AUDIENCE: optionalString,
    AUTH_MUTATION_SCOPE: optionalString,
    MAX_QUERY_DEPTH: integer(10, 1, 100),
    MAX_BODY_BYTES: integer(1_048_576, 1024, 104_857_600),
    REDIS_URL: optionalString,
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
    if (env.AUTH_JWKS_URL && !env.AUTH_ISSUER) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['AUTH_ISSUER'],
        message: 'is required with AUTH_JWKS_URL',
      });
    }
  });

/** Thrown for a bad environment; the message names every bad variable. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

export function isLoopback(host: string): boolean {
  return LOOPBACK.test(host);
}

/** Reads and validates the environment; throws `ConfigError` listing each bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const result = envSchema.safeParse(env);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => {
      const name = String(issue.path[0] ?? 'environment');
      const raw = env[name];
      const shown = raw === undefined || /SECRET|KEYS/.test(name) ? '' : ` (got ${JSON.stringify(raw)})`;
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
    limits: { maxQueryDepth: e.MAX_QUERY_DEPTH, maxBodyBytes: e.MAX_BODY_BYTES },
    redisUrl: e.REDIS_URL,
  };
}

export function sha256Hex(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}
