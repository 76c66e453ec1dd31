import type { GraphQLResponse } from '../helpers/stack.js';

/** Upstream text that must never reach a client. */
export const LEAKS = /127\.0\.0\.1|jans-config-api|jans-db|Exception|<html|stack|at .+\.java|token scopes/i;

/** Runs `fn` and tells how long it took, in milliseconds. */
export async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await fn();
  return { value, ms: Math.round(performance.now() - started) };
}

/** The `extensions.code` of a response's first error, or `'OK'` when it has none. */
export function codeOf(response: GraphQLResponse<unknown>): string {
  const code = response.body.errors?.[0]?.extensions?.code;
  return typeof code === 'string' ? code : 'OK';
}

/** Resolves once `condition` holds, polling every 5 ms; rejects after `timeoutMs`. */
export async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs) {
      throw new Error('condition not met in time');
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
