import type { PersistedQueryOptions } from '@apollo/server';
import type { Logger } from 'pino';

type KeyValueCache = NonNullable<PersistedQueryOptions['cache']>;

/** Automatic persisted queries: where their documents are kept, and how to let go of it. */
export interface PersistedQueries {
  /** For `ApolloServer`'s `persistedQueries`; undefined keeps Apollo's in-memory (per replica) default. */
  options: PersistedQueryOptions | undefined;
  close(): Promise<void>;
}

/** A registered query lives this long in Redis; a client that gets PERSISTED_QUERY_NOT_FOUND just re-sends it. */
const REDIS_TTL_SECONDS = 24 * 60 * 60;
/** A Redis that does not answer within this is treated as a cache miss, not allowed to hold up the operation. */
const REDIS_OP_TIMEOUT_MS = 500;
/**
 * Query texts longer than this are not written to Redis: a text is the client's, and each would stay there for a
 * day (200 registered 1 MB texts took 200 MB of Redis). Such a client sends its query whole each time, as APQ
 * clients do after a miss. A real operation is a few KB.
 */
export const MAX_PERSISTED_QUERY_LENGTH = 64 * 1024;

/**
 * In-memory APQ without `redisUrl`; with it, a Redis cache shared by every replica, so a hash registered through one
 * is found through the others. The Redis client is imported only then, so a deployment without Redis never loads it.
 */
export async function createPersistedQueries(
  redisUrl: string | undefined,
  log: Logger,
): Promise<PersistedQueries> {
  if (redisUrl === undefined) {
    return { options: undefined, close: async () => {} };
  }
  const [{ KeyvAdapter }, { createKeyv }] = await Promise.all([
    import('@apollo/utils.keyvadapter'),
    import('@keyv/redis'),
  ]);
  const keyv = createKeyv(redisUrl, { namespace: 'jans-sessions-graphql', connectionTimeout: 2000 });
  const warn = throttledWarning(log);
  keyv.on('error', (error: unknown) => warn(error));
  return {
    options: {
      // The cast bridges keyv's CommonJS typings (seen by the adapter) and its ESM ones (seen here): one class.
      cache: new FailOpenCache(new KeyvAdapter<string>(keyv as never), REDIS_OP_TIMEOUT_MS, warn),
      ttl: REDIS_TTL_SECONDS,
    },
    close: async () => {
      // Forced: a graceful QUIT waits for a connection that, with Redis away, never comes.
      const store = keyv.store as { disconnect(force?: boolean): Promise<void> };
      await store.disconnect(true).catch(() => undefined);
    },
  };
}

/**
 * A cache whose failures (errors or slowness) read as misses and dropped writes: APQ then costs clients a
 * re-send of the full query, instead of failing their operations while Redis is away. Texts over
 * MAX_PERSISTED_QUERY_LENGTH are dropped writes too.
 */
class FailOpenCache implements KeyValueCache {
  constructor(
    private readonly inner: KeyValueCache,
    private readonly timeoutMs: number,
    private readonly onError: (error: unknown) => void,
  ) {}

  get(key: string): Promise<string | undefined> {
    return this.guard(() => this.inner.get(key), undefined);
  }

  set(key: string, value: string, options?: { ttl?: number | null }): Promise<void> {
    if (value.length > MAX_PERSISTED_QUERY_LENGTH) {
      return Promise.resolve();
    }
    return this.guard(() => this.inner.set(key, value, options), undefined);
  }

  delete(key: string): Promise<boolean | void> {
    return this.guard(() => this.inner.delete(key), false);
  }

  private async guard<T>(operation: () => Promise<T>, fallback: T): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(
        () => reject(new Error(`cache did not answer within ${this.timeoutMs} ms`)),
        this.timeoutMs,
      );
    });
    try {
      return await Promise.race([operation(), timeout]);
    } catch (error) {
      this.onError(error);
      return fallback;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Logs the first cache error and then at most one a minute: a Redis outage must not flood the log. */
function throttledWarning(log: Logger): (error: unknown) => void {
  let last = Number.NEGATIVE_INFINITY;
  let suppressed = 0;
  return (error) => {
    const now = Date.now();
    if (now - last < 60_000) {
      suppressed += 1;
      return;
    }
    last = now;
    log.warn({ err: error, suppressed }, 'persisted-query cache (Redis) failed: serving without it');
    suppressed = 0;
  };
}
