/** Each key is let through at most once per this long. */
const INTERVAL_MS = 60_000;
/**
 * And at most this many keys per interval in all: a source of ever-new keys (a client sending a new document per
 * request, an SDK complaint with a new text each time) would otherwise get a line each. Also bounds the keys kept.
 */
const MAX_PER_INTERVAL = 100;

/**
 * When to log something that may repeat (an unlisted document, an SDK complaint): each key once a minute, within
 * a budget of lines per minute.
 */
export class RepeatLimiter {
  /** Keys let through within the last interval, oldest first. */
  private readonly passedAt = new Map<string, number>();
  private windowStart = Number.NEGATIVE_INFINITY;
  private inWindow = 0;
  private suppressed = 0;

  /**
   * Undefined when this key is not to be logged now; otherwise the number of other keys left unlogged since the
   * last line (over the budget), for that line to report.
   */
  take(key: string, now = Date.now()): number | undefined {
    const last = this.passedAt.get(key);
    if (last !== undefined && now - last < INTERVAL_MS) {
      return undefined;
    }
    if (now - this.windowStart >= INTERVAL_MS) {
      this.windowStart = now;
      this.inWindow = 0;
    }
    if (this.inWindow >= MAX_PER_INTERVAL) {
      this.suppressed += 1;
      return undefined;
    }
    this.inWindow += 1;
    for (const [oldest, at] of this.passedAt) {
      if (now - at < INTERVAL_MS) {
        break;
      }
      this.passedAt.delete(oldest);
    }
    this.passedAt.delete(key);
    this.passedAt.set(key, now);
    const suppressed = this.suppressed;
    this.suppressed = 0;
    return suppressed;
  }
}
