/** StallWatch and the TunnelSet sweep: continuous backpressure for `ms` is a stall; any resume in between restarts the count. */

import t from 'tap';
import { StallWatch } from '../../src/tunnel/stall.js';
import { TunnelSet } from '../../src/tunnel/tunnel-set.js';
import type { Tunnel } from '../../src/tunnel/tunnel.js';

interface Fake { backpressured: boolean; pauses: number; closed: number[]; activity: boolean; finished: boolean; owner: unknown; close(code: number): void }
const fake = (): Fake => ({
  backpressured: false, pauses: 0, closed: [], activity: false, finished: false, owner: null,
  close(code: number) { this.closed.push(code); },
});

t.test('StallWatch', async (t) => {
  const w = new StallWatch(1000);
  const f = fake();
  const tun = f as unknown as Tunnel;
  t.notOk(w.check(tun, 0), 'not backpressured');
  f.backpressured = true;
  f.pauses = 1;
  t.notOk(w.check(tun, 100), 'first seen: stamped');
  t.notOk(w.check(tun, 1099));
  t.ok(w.check(tun, 1100), 'held for 1 s since the stamp');
  f.pauses = 2;   // drained and paused again in between
  t.notOk(w.check(tun, 1200), 'a resume restarts the count');
  t.notOk(w.check(tun, 2199));
  t.ok(w.check(tun, 2200));
  f.backpressured = false;
  t.notOk(w.check(tun, 2300));
  f.backpressured = true;
  t.notOk(w.check(tun, 2400), 'restamped after it drained');
  t.notOk(new StallWatch(0).check(tun, 1e9), 'ms 0: off');
});

t.test('the TunnelSet sweep closes stalled tunnels with 1008 and idle ones with 1001', async (t) => {
  let now = 0;
  const set = new TunnelSet({ idleMs: 10_000, stallMs: 1000, now: () => now });
  t.teardown(() => set.stop());
  t.equal(set.sweepPeriod, 250, 'period follows the shorter of idle and stall');
  const stalled = fake();
  const busy = fake();
  set.add(stalled as unknown as Tunnel);
  set.add(busy as unknown as Tunnel);
  stalled.backpressured = true;
  stalled.pauses = 1;
  for (now = 0; now <= 1500; now += 250) { busy.activity = true; set.sweep(now); }
  t.equal(stalled.closed[0], 1008, 'stalled: closed with 1008 (a real tunnel ignores the repeats until it is gone)');
  t.ok(stalled.closed.every((c) => c === 1008));
  t.same(busy.closed, []);
  set.setStall(0);
  t.equal(set.sweepPeriod, 2500, 'stall off: idle alone sets the period');
  now = 20_000;
  set.sweep(now);
  t.same(busy.closed, [1001], 'no activity: idle close');
  set.setStall(4000);
  t.equal(set.sweepPeriod, 1000);
});
