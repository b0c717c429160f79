/** The wait helpers: a timed-out `waitFor` records a failure (never a silent pass), sync and async conditions, the negative probe. */

import t, { type Test } from 'tap';
import { stillFalseAfter, waitFor } from './wait.js';

/** Stands in for a tap Test and records what waitFor asserts, so a timeout can be checked without failing this file. */
function recorder(): { t: Test; results: { ok: boolean; msg: string; extra?: Record<string, unknown> }[] } {
  const results: { ok: boolean; msg: string; extra?: Record<string, unknown> }[] = [];
  const fake = {
    pass: (msg: string) => { results.push({ ok: true, msg }); return true; },
    fail: (msg: string, extra?: Record<string, unknown>) => { results.push({ ok: false, msg, extra }); return false; },
  };
  return { t: fake as unknown as Test, results };
}

t.test('a condition that never holds fails the test with what and the time waited', async (t) => {
  const r = recorder();
  const t0 = Date.now();
  t.equal(await waitFor(r.t, () => false, { ms: 150, what: 'the thing' }), false, 'resolves false so the caller can stop');
  t.ok(Date.now() - t0 >= 150, 'waited the whole window');
  t.equal(r.results.length, 1);
  t.equal(r.results[0]!.ok, false, 'recorded as a failure');
  t.match(r.results[0]!.msg, /^timed out after \d+ ms waiting for: the thing$/);
  t.ok((r.results[0]!.extra!['waited_ms'] as number) >= 150);
});

t.test('an async condition that throws until the end: failure carries the last error', async (t) => {
  const r = recorder();
  await waitFor(r.t, async () => { throw new Error('ECONNREFUSED'); }, { ms: 150, what: () => 'admin up' });
  t.equal(r.results.length, 1);
  t.equal(r.results[0]!.ok, false);
  t.match(r.results[0]!.extra, { last_error: 'Error: ECONNREFUSED' });
});

t.test('a condition that comes true: one passing assertion, message built at that moment', async (t) => {
  const r = recorder();
  let n = 0;
  t.equal(await waitFor(r.t, () => ++n >= 3, { what: () => `after ${n} polls` }), true);
  t.same(r.results, [{ ok: true, msg: 'after 3 polls' }]);
  let m = 0;
  t.equal(await waitFor(r.t, async () => ++m >= 2, { what: 'async' }), true, 'async conditions are awaited');
  t.equal(r.results.length, 2);
});

t.test('stillFalseAfter: true only if the condition never held in the window', async (t) => {
  t.equal(await stillFalseAfter(() => false, 60), true);
  let flips = false;
  setTimeout(() => { flips = true; }, 20);
  t.equal(await stillFalseAfter(() => flips, 2000), false, 'false as soon as it holds');
});
