import { setTimeout as sleep } from 'node:timers/promises';

/** `closed`: calls flow; `open`: calls fail at once; `half-open`: the next call is a probe. */
export type CircuitState = 'closed' | 'open' | 'half-open';

export interface CircuitBreakerOptions {
  /** Consecutive failed calls that open the circuit. */
  failureThreshold: number;
  /** How long the circuit stays open before one probe call is let through. */
  openMs: number;
  now?: () => number;
  onStateChange?: (state: CircuitState) => void;
}

/** One call the breaker let through; report its outcome exactly once. */
export interface CircuitPermit {
  /** The upstream answered (any status that does not mean "down"). */
  success(): void;
  /** The upstream is down: timeout, refused or reset connection, 502/503/504. */
  failure(): void;
  /**
   * The upstream answered, but with a failure about this one request (a 500, a body that is not JSON, one too
   * large): it is up, so a probe closes the circuit; otherwise the streak of failed calls neither grows nor ends.
   */
  answered(): void;
  /** The outcome says nothing about the upstream's health (the call never left): a probe leaves it half-open. */
  release(): void;
}

/**
 * Fails fast while the upstream is down: after `failureThreshold` consecutive failed calls the circuit opens and
 * refuses calls for `openMs`; then one probe call goes through (half-open): any answer closes it, a failure
 * re-opens it, and a probe that never reached the upstream leaves it half-open for the next call to probe.
 * It counts calls, not attempts: a call's retries are inside one permit, so a flaky upstream that retries heal
 * does not open it.
 */
export class CircuitBreaker {
  private readonly now: () => number;
  private failures = 0;
  private openedAt: number | undefined;
  private probing = false;

  constructor(private readonly options: CircuitBreakerOptions) {
    this.now = options.now ?? Date.now;
  }

  state(): CircuitState {
    if (this.openedAt === undefined) {
      return 'closed';
    }
    return this.probing || this.now() - this.openedAt >= this.options.openMs ? 'half-open' : 'open';
  }

  /** A permit for one call, or undefined when the call must fail at once. */
  enter(): CircuitPermit | undefined {
    const state = this.state();
    if (state === 'open' || (state === 'half-open' && this.probing)) {
      return undefined;
    }
    const probe = state === 'half-open';
    if (probe) {
      this.probing = true;
    }
    let settled = false;
    const settle = (outcome: 'success' | 'failure' | 'answered' | 'release') => {
      if (settled) {
        return;
      }
      settled = true;
      if (probe) {
        this.probing = false;
      }
      if (outcome === 'success' || (outcome === 'answered' && probe)) {
        this.failures = 0;
        this.transition(undefined);
      } else if (outcome === 'failure') {
        this.failures += 1;
        if (probe || (this.openedAt === undefined && this.failures >= this.options.failureThreshold)) {
          this.transition(this.now());
        }
      }
    };
    return {
      success: () => settle('success'),
      failure: () => settle('failure'),
      answered: () => settle('answered'),
      release: () => settle('release'),
    };
  }

  private transition(openedAt: number | undefined): void {
    const before = this.openedAt === undefined ? 'closed' : 'open';
    this.openedAt = openedAt;
    const after = openedAt === undefined ? 'closed' : 'open';
    if (before !== after || after === 'open') {
      this.options.onStateChange?.(after);
    }
  }
}

/** Thrown by {@link ConcurrencyLimit.acquire} when the caller's signal aborts while it waits. */
export class QueueTimeoutError extends Error {
  override readonly name = 'QueueTimeoutError';
}

interface Waiter {
  grant: (release: () => void) => void;
}

/**
 * At most `max` upstream requests at once; the rest wait in arrival order, each only as long as its own signal
 * allows, so a burst of traffic neither opens unbounded sockets nor waits past its time budget.
 */
export class ConcurrencyLimit {
  private running = 0;
  private readonly waiters = new Set<Waiter>();

  constructor(readonly max: number) {}

  get active(): number {
    return this.running;
  }

  get queued(): number {
    return this.waiters.size;
  }

  /** Resolves with a release function once a slot is free; rejects with `QueueTimeoutError` if `signal` aborts first. */
  acquire(signal?: BudgetSignal): Promise<() => void> {
    if (signal?.aborted) {
      return Promise.reject(new QueueTimeoutError('aborted before a slot was free'));
    }
    if (this.running < this.max) {
      this.running += 1;
      return Promise.resolve(this.releaser());
    }
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        this.waiters.delete(waiter);
        reject(new QueueTimeoutError('aborted while waiting for a slot'));
      };
      const waiter: Waiter = {
        grant: (release) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(release);
        },
      };
      this.waiters.add(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) {
        return;
      }
      released = true;
      const next = this.waiters.values().next();
      if (next.done) {
        this.running -= 1;
      } else {
        this.waiters.delete(next.value);
        next.value.grant(this.releaser());
      }
    };
  }
}

/**
 * What the queue, the transport and the token cache read of a call's time budget: the `aborted` flag and the
 * `'abort'` listeners of an `AbortSignal`, which fits here too. A {@link Deadline} is its own, cheaper than an
 * AbortSignal: in Node 20 each AbortSignal is an EventTarget whose prototype is swapped after construction, and the
 * service's CPU profile showed ~4 % of a `session(sid)` request in `createAbortSignal` alone, with adding and
 * removing its listener on top.
 */
export interface BudgetSignal {
  readonly aborted: boolean;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

/**
 * A time budget shared by every step of one upstream call: the time left, and a {@link BudgetSignal} that aborts
 * when it runs out. A real `AbortSignal` ({@link signal}) is made only for the APIs that need one (timers' sleep
 * between retries, got for the token endpoint).
 */
export class Deadline implements BudgetSignal {
  private readonly timer: NodeJS.Timeout;
  private readonly endsAt: number;
  private expired = false;
  private listeners: (() => void)[] = [];
  private controller: AbortController | undefined;

  constructor(readonly budgetMs: number) {
    this.endsAt = performance.now() + budgetMs;
    this.timer = setTimeout(() => this.expire(), budgetMs);
    this.timer.unref();
  }

  /** True once the budget has run out. */
  get aborted(): boolean {
    return this.expired;
  }

  /** `listener` runs once, when the budget runs out; not at all if it already has (like an AbortSignal's). */
  addEventListener(_type: 'abort', listener: () => void, _options?: { once?: boolean }): void {
    if (!this.expired) {
      this.listeners.push(listener);
    }
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    const index = this.listeners.indexOf(listener);
    if (index !== -1) {
      this.listeners.splice(index, 1);
    }
  }

  /** An `AbortSignal` that aborts with the budget (reason: a `TimeoutError`), made on first use. */
  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.expired) {
        this.controller.abort(budgetExhausted());
      }
    }
    return this.controller.signal;
  }

  remaining(): number {
    return Math.max(0, this.endsAt - performance.now());
  }

  /** Waits `ms`, or less if the budget ends first (then rejects: an `AbortError` caused by the `TimeoutError`). */
  async sleep(ms: number): Promise<void> {
    await sleep(ms, undefined, { signal: this.signal });
  }

  /** Stops the timer; call when the call is over. */
  dispose(): void {
    clearTimeout(this.timer);
  }

  private expire(): void {
    this.expired = true;
    const listeners = this.listeners;
    this.listeners = [];
    this.controller?.abort(budgetExhausted());
    for (const listener of listeners) {
      listener();
    }
  }
}

/** got turns an abort whose reason is named TimeoutError into its own TimeoutError. */
function budgetExhausted(): DOMException {
  return new DOMException('upstream time budget exhausted', 'TimeoutError');
}

/** Backoff before retry number `retry` (0-based): 25 ms doubling, capped at 1 s, times a jitter in [0.5, 1.5). */
export function backoffMs(retry: number, random: () => number = Math.random): number {
  return Math.round(Math.min(1000, 25 * 2 ** retry) * (0.5 + random()));
}
