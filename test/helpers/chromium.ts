import { existsSync } from 'node:fs';

/** Debian's Chromium (`apt-get install chromium`); Playwright's own browser download is not used. */
export const CHROMIUM = '/usr/bin/chromium';
/** Set by CI (`.ci/run`): a missing browser then fails a browser test instead of skipping it. */
const REQUIRED = process.env.REQUIRE_BROWSER === '1';
/** Whether browser tests can run here. */
export const CHROMIUM_AVAILABLE = existsSync(CHROMIUM);

/** At the start of a browser test: skips it when Chromium is missing, or fails it when CI requires the browser. */
export function requireChromium(ctx: { skip(note?: string): void }): void {
  if (CHROMIUM_AVAILABLE) {
    return;
  }
  if (REQUIRED) {
    throw new Error(`REQUIRE_BROWSER=1 but ${CHROMIUM} is missing (apt-get install -y chromium)`);
  }
  ctx.skip(`${CHROMIUM} is missing: apt-get install chromium to run the browser tests`);
}
