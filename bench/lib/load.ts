/**
 * One bounded load run with autocannon: a fixed number of keep-alive connections for a fixed duration, cycling
 * through a scenario's requests. Latency is recorded per response in 0.1 ms buckets (autocannon's own histogram
 * keeps whole milliseconds, too coarse for "p50 within 2 ms"), and every response is checked: a status outside
 * the request's `ok` list or a GraphQL body with `errors` counts as an error.
 */
import autocannon from 'autocannon';

import type { RequestSpec } from './scenarios.js';

export interface LoadResult {
  requests: number;
  errors: number;
  /** A few distinct error samples (status and the start of the body). */
  errorSamples: string[];
  durationS: number;
  rps: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** Fixed-size latency histogram: 0.1 ms buckets up to 30 s, so recording never allocates. */
class Histogram {
  private readonly buckets = new Uint32Array(300_001);
  count = 0;
  max = 0;
  record(ms: number): void {
    this.buckets[Math.min(this.buckets.length - 1, Math.round(ms * 10))]! += 1;
    this.count += 1;
    this.max = Math.max(this.max, ms);
  }
  percentile(p: number): number {
    const rank = Math.ceil(this.count * p);
    let seen = 0;
    for (let i = 0; i < this.buckets.length; i += 1) {
      seen += this.buckets[i]!;
      if (seen >= rank && seen > 0) {
        return i / 10;
      }
    }
    return this.max;
  }
}

export interface LoadOptions {
  /** e.g. `http://127.0.0.1:4000` */
  origin: string;
  requests: readonly RequestSpec[];
  headers: Record<string, string>;
  connections: number;
  durationS: number;
  /** Check GraphQL bodies for `errors`. */
  graphql: boolean;
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const histogram = new Histogram();
  const pool = options.requests;
  let next = 0;
  let errors = 0;
  const errorSamples = new Set<string>();
  const headers = options.headers;
  const jsonHeaders = { ...headers, 'content-type': 'application/json' };

  const onResponse = (status: number, body: string, context: Record<string, unknown>) => {
    const spec = context.spec as RequestSpec | undefined;
    const okStatuses = spec?.ok ?? [200];
    const failed = !okStatuses.includes(status) || (options.graphql && body.includes('"errors"'));
    if (failed) {
      errors += 1;
      if (errorSamples.size < 5) {
        errorSamples.add(`${status} ${body.slice(0, 160)}`);
      }
    }
  };

  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: options.origin,
        connections: options.connections,
        duration: options.durationS,
        pipelining: 1,
        timeout: 30,
        requests: [
          {
            setupRequest: (request, context) => {
              const spec = pool[next % pool.length]!;
              next += 1;
              (context as Record<string, unknown>).spec = spec;
              return {
                ...request,
                method: spec.method,
                path: spec.path,
                headers: spec.body === undefined ? headers : jsonHeaders,
                ...(spec.body === undefined ? {} : { body: spec.body }),
              };
            },
            onResponse: (status, body, context) =>
              onResponse(status, body, context as Record<string, unknown>),
          },
        ],
      },
      (error: unknown, done: autocannon.Result) => (error ? reject(error as Error) : resolve(done)),
    );
    instance.on('response', (_client, _status, _bytes, responseTime) => histogram.record(responseTime));
  });
  const durationS = (result.finish.getTime() - result.start.getTime()) / 1000;
  const completed = histogram.count;
  if (completed === 0) {
    // Nothing came back: a hung target. Count every connection's request as failed.
    errors += options.connections;
    errorSamples.add('no response during the whole run');
  }
  return {
    requests: completed,
    errors: errors + result.errors + result.timeouts,
    errorSamples: [
      ...errorSamples,
      ...(result.errors > 0 ? [`${result.errors} connection errors`] : []),
      ...(result.timeouts > 0 ? [`${result.timeouts} timeouts`] : []),
    ],
    durationS,
    rps: completed / durationS,
    p50: histogram.percentile(0.5),
    p90: histogram.percentile(0.9),
    p99: histogram.percentile(0.99),
    max: Math.round(histogram.max * 10) / 10,
  };
}
