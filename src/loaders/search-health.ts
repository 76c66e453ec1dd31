/** How long search is avoided after it failed with a 5xx. */
const BROKEN_FOR_MS = 5 * 60_000;

/**
 * Whether Janssen's session search can serve batched reads. Process-wide (it describes the upstream, not a
 * caller), so one failure spares every following request the failing call.
 */
export class SearchHealth {
  private brokenUntil = 0;

  constructor(private readonly now: () => number = Date.now) {}

  usable(): boolean {
    return this.now() >= this.brokenUntil;
  }

  markBroken(): void {
    this.brokenUntil = this.now() + BROKEN_FOR_MS;
  }
}
