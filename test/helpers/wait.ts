/** Test helper: the one way tests wait for a condition: `waitFor` fails the test on timeout; `stillFalseAfter` is the explicit "did not happen" probe; `sleep` a plain settle delay. */

import type { Test } from 'tap';

export interface WaitOptions {
  /** What the test waits for, in words: the assertion's message. A function is called when the
   *  result is recorded, so the message can show the state at that moment. */
  what: string | (() => string);
  /** How long to wait. Generous by default: the CI machine has 2 shared cores. */
  ms?: number;
}

export const DEFAULT_WAIT_MS = 5000;

type Cond = () => boolean | Promise<boolean>;

const describe = (what: WaitOptions['what']): string => (typeof what === 'function' ? what() : what);

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Polls `cond` (sync, or async such as an HTTP call) until it is true, then records a passing
 * assertion `what` and resolves true. If `ms` pass first, the test FAILS ("timed out after N ms
 * waiting for: what", with the last error `cond` threw, if any) and it resolves false, so a
 * caller can stop early. A throwing `cond` counts as "not yet" (a server not listening yet).
 * Sync conditions are polled every 10 ms; async ones every 50 ms (each is a round trip).
 */
export async function waitFor(t: Test, cond: Cond, opts: WaitOptions): Promise<boolean> {
  const ms = opts.ms ?? DEFAULT_WAIT_MS;
  const start = Date.now();
  let lastError: unknown;
  let every = 10;
  for (;;) {
    try {
      const r = cond();
      if (typeof r !== 'boolean') every = 50;
      if (await r) {
        t.pass(describe(opts.what));
        return true;
      }
    } catch (err) {
      lastError = err;
    }
    if (Date.now() - start >= ms) break;
    await sleep(every);
  }
  const waited = Date.now() - start;
  t.fail(`timed out after ${waited} ms waiting for: ${describe(opts.what)}`, {
    waited_ms: waited,
    ...(lastError === undefined ? {} : { last_error: String(lastError) }),
  });
  return false;
}

/**
 * The negative probe, for "this must NOT happen within `ms`": polls `cond` for the whole window
 * and resolves true if it never held (false at its first true). Records no assertion: the
 * caller asserts on the result, so what is being ruled out stays visible at the call site.
 */
export async function stillFalseAfter(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return false;
    await sleep(10);
  }
  return !cond();
}
