import { describe, expect, it } from 'vitest';

import {
  backoffMs,
  CircuitBreaker,
  ConcurrencyLimit,
  Deadline,
  QueueTimeoutError,
} from '../../src/janssen/resilience.js';

describe('CircuitBreaker', () => {
  const breaker = (now: { t: number }, changes: string[] = []) =>
    new CircuitBreaker({
      failureThreshold: 3,
      openMs: 1000,
      now: () => now.t,
      onStateChange: (state) => changes.push(state),
    });

  it('opens after the threshold of consecutive failures, not before', () => {
    const now = { t: 0 };
    const changes: string[] = [];
    const circuit = breaker(now, changes);
    circuit.enter()!.failure();
    circuit.enter()!.failure();
    expect(circuit.state()).toBe('closed');
    circuit.enter()!.failure();
    expect(circuit.state()).toBe('open');
    expect(circuit.enter()).toBeUndefined();
    expect(changes).toEqual(['open']);
  });

  it('a success in between resets the count; a released permit changes nothing', () => {
    const now = { t: 0 };
    const circuit = breaker(now);
    circuit.enter()!.failure();
    circuit.enter()!.failure();
    circuit.enter()!.success();
    circuit.enter()!.failure();
    circuit.enter()!.release();
    circuit.enter()!.failure();
    expect(circuit.state()).toBe('closed');
  });

  it('after openMs lets exactly one probe through; its success closes the circuit', () => {
    const now = { t: 0 };
    const changes: string[] = [];
    const circuit = breaker(now, changes);
    for (let i = 0; i < 3; i += 1) {
      circuit.enter()!.failure();
    }
    now.t = 999;
    expect(circuit.enter()).toBeUndefined();
    now.t = 1000;
    expect(circuit.state()).toBe('half-open');
    const probe = circuit.enter();
    expect(probe).toBeDefined();
    expect(circuit.enter()).toBeUndefined();
    probe!.success();
    expect(circuit.state()).toBe('closed');
    expect(circuit.enter()).toBeDefined();
    expect(changes).toEqual(['open', 'closed']);
  });

  it('a failed probe re-opens it for another openMs', () => {
    const now = { t: 0 };
    const circuit = breaker(now);
    for (let i = 0; i < 3; i += 1) {
      circuit.enter()!.failure();
    }
    now.t = 1500;
    circuit.enter()!.failure();
    expect(circuit.state()).toBe('open');
    now.t = 2499;
    expect(circuit.enter()).toBeUndefined();
    now.t = 2500;
    expect(circuit.enter()).toBeDefined();
  });

  it('a probe whose outcome says nothing frees the way for the next probe', () => {
    const now = { t: 0 };
    const circuit = breaker(now);
    for (let i = 0; i < 3; i += 1) {
      circuit.enter()!.failure();
    }
    now.t = 1000;
    circuit.enter()!.release();
    expect(circuit.state()).toBe('half-open');
    expect(circuit.enter()).toBeDefined();
  });

  it('a probe answered with a failure about its own request (a 500) closes it: the upstream is up', () => {
    const now = { t: 0 };
    const changes: string[] = [];
    const circuit = breaker(now, changes);
    for (let i = 0; i < 3; i += 1) {
      circuit.enter()!.failure();
    }
    now.t = 1000;
    circuit.enter()!.answered();
    expect(circuit.state()).toBe('closed');
    expect(changes).toEqual(['open', 'closed']);
  });

  it('outside a probe such an answer neither counts as a failure nor ends the streak', () => {
    const now = { t: 0 };
    const circuit = breaker(now);
    circuit.enter()!.failure();
    circuit.enter()!.failure();
    circuit.enter()!.answered();
    expect(circuit.state()).toBe('closed');
    circuit.enter()!.failure();
    expect(circuit.state()).toBe('open');
  });

  it('a permit counts once however often it is settled', () => {
    const now = { t: 0 };
    const circuit = breaker(now);
    const permit = circuit.enter()!;
    permit.failure();
    permit.failure();
    permit.failure();
    expect(circuit.state()).toBe('closed');
  });
});

describe('ConcurrencyLimit', () => {
  it('runs at most max at once and grants slots in arrival order', async () => {
    const limit = new ConcurrencyLimit(2);
    const order: number[] = [];
    const first = await limit.acquire();
    const second = await limit.acquire();
    const waiting = [3, 4].map((n) => limit.acquire().then((release) => (order.push(n), release)));
    expect(limit.active).toBe(2);
    expect(limit.queued).toBe(2);
    first();
    first();
    second();
    const [third, fourth] = await Promise.all(waiting);
    expect(order).toEqual([3, 4]);
    expect(limit.active).toBe(2);
    third!();
    fourth!();
    expect(limit.active).toBe(0);
  });

  it('a waiter whose signal aborts leaves the queue with QueueTimeoutError', async () => {
    const limit = new ConcurrencyLimit(1);
    const held = await limit.acquire();
    const controller = new AbortController();
    const waiting = limit.acquire(controller.signal);
    controller.abort();
    await expect(waiting).rejects.toBeInstanceOf(QueueTimeoutError);
    expect(limit.queued).toBe(0);
    held();
    expect(limit.active).toBe(0);
  });
});

describe('Deadline', () => {
  it('aborts its signal with a TimeoutError when the budget ends', async () => {
    const deadline = new Deadline(30);
    expect(deadline.remaining()).toBeGreaterThan(0);
    await new Promise((resolve) => deadline.signal.addEventListener('abort', resolve));
    expect((deadline.signal.reason as Error).name).toBe('TimeoutError');
    expect(deadline.remaining()).toBe(0);
  });

  it('dispose stops the timer', async () => {
    const deadline = new Deadline(20);
    deadline.dispose();
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(deadline.signal.aborted).toBe(false);
    expect(deadline.aborted).toBe(false);
  });

  it('is a budget signal itself: each listener still registered runs once when the budget ends', async () => {
    const deadline = new Deadline(30);
    const calls: string[] = [];
    const removed = () => calls.push('removed');
    deadline.addEventListener('abort', () => calls.push('first'));
    deadline.addEventListener('abort', removed);
    deadline.addEventListener('abort', () => calls.push('second'), { once: true });
    deadline.removeEventListener('abort', removed);
    expect(deadline.aborted).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(deadline.aborted).toBe(true);
    expect(calls).toEqual(['first', 'second']);
    // Like an AbortSignal's: a listener added after the end never runs.
    deadline.addEventListener('abort', () => calls.push('late'));
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(calls).toEqual(['first', 'second']);
  });

  it('makes its AbortSignal only when asked, aborted already if the budget has ended', async () => {
    const deadline = new Deadline(10);
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(deadline.aborted).toBe(true);
    expect(deadline.signal.aborted).toBe(true);
    expect((deadline.signal.reason as Error).name).toBe('TimeoutError');
  });

  it('lets the queue give up on a wait when the budget ends', async () => {
    const limit = new ConcurrencyLimit(1);
    const held = await limit.acquire();
    const deadline = new Deadline(20);
    await expect(limit.acquire(deadline)).rejects.toBeInstanceOf(QueueTimeoutError);
    expect(limit.queued).toBe(0);
    held();
    expect(limit.active).toBe(0);
  });

  it('sleep ends early when the budget ends first', async () => {
    const deadline = new Deadline(20);
    const started = performance.now();
    await expect(deadline.sleep(1000)).rejects.toMatchObject({
      name: 'AbortError',
      cause: { name: 'TimeoutError' },
    });
    expect(performance.now() - started).toBeLessThan(500);
  });
});

describe('backoffMs', () => {
  it('doubles from 25 ms with a jitter of +-50%, capped at 1 s', () => {
    expect([0, 1, 2, 3].map((retry) => backoffMs(retry, () => 0))).toEqual([13, 25, 50, 100]);
    expect([0, 1, 2, 3].map((retry) => backoffMs(retry, () => 0.999))).toEqual([37, 75, 150, 300]);
    expect(backoffMs(10, () => 0.5)).toBe(1000);
  });
});
