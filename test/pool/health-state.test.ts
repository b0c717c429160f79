/** Pure parts of health, slow start and ejection: rise/fall counting, jitter, ramp factors, backoff, Server state bits. */

import t from 'tap';
import { nextDelay, RiseFall } from '../../src/pool/health.js';
import { ejectionMs, MAX_EJECTION_MS } from '../../src/pool/outlier.js';
import { Server, type ServerState } from '../../src/pool/server.js';
import { rampFactor, SLOW_START_FLOOR } from '../../src/pool/slow-start.js';
import { recordRtt } from '../../src/pool/rtt.js';
import { captureLog, tick } from '../helpers/log-capture.js';

const CFG = { name: 's', url: 'ws://127.0.0.1:1', host: '127.0.0.1', port: 1, tls: false, weight: 4 };

t.test('rise/fall: first pass marks a new server up, then rise and fall apply', async (t) => {
  const rf = new RiseFall(false);
  const run = (results: string): (boolean | null)[] => [...results].map((r) => rf.observe(r === '+', 2, 3));
  t.same(run('-'), [null], 'a failure keeps a never-up server down');
  t.same(run('+'), [true], 'one pass at start marks it up');
  t.same(run('--+---'), [null, null, null, null, null, false], 'fall=3 failures in a row; a pass resets the count');
  t.same(run('+-++'), [null, null, null, true], 'rise=2 passes in a row; a failure resets the count');
  t.equal(rf.up, true);
});

t.test('rise/fall: a server born up (check none turned on) needs fall failures', async (t) => {
  const rf = new RiseFall(true);
  t.same([rf.observe(false, 1, 2), rf.observe(false, 1, 2)], [null, false]);
  t.same([rf.observe(true, 1, 2)], [true], 'rise=1');
});

t.test('jitter: +-10% of the interval, first re-check at a uniform offset', async (t) => {
  t.equal(nextDelay(1000, () => 0), 900);
  t.equal(nextDelay(1000, () => 0.5), 1000);
  t.equal(nextDelay(1000, () => 0.999999), 1099.9998);
  t.equal(nextDelay(1000, () => 0.25, true), 250);
  // Long run: mean near the interval, never outside the band.
  let seed = 7;
  const random = (): number => ((seed = (seed * 48271) % 2147483647) / 2147483647);
  const ds = Array.from({ length: 2000 }, () => nextDelay(2000, random));
  t.ok(ds.every((d) => d >= 1800 && d <= 2200));
  const mean = ds.reduce((a, b) => a + b, 0) / ds.length;
  t.ok(Math.abs(mean - 2000) < 20, `mean ${mean}`);
});

t.test('slow start ramp factor: floor, linear, full', async (t) => {
  t.equal(rampFactor(0, 30_000), SLOW_START_FLOOR);
  t.equal(rampFactor(1_500, 30_000), SLOW_START_FLOOR);
  t.equal(rampFactor(15_000, 30_000), 0.5);
  t.equal(rampFactor(30_000, 30_000), 1);
  t.equal(rampFactor(5, 0), 1, 'off');
});

t.test('ejection backoff doubles and is capped', async (t) => {
  t.same([1, 2, 3, 4].map((n) => ejectionMs(10_000, n)), [10_000, 20_000, 40_000, 80_000]);
  t.equal(ejectionMs(10_000, 10), MAX_EJECTION_MS);
  t.equal(ejectionMs(10_000, 1000), MAX_EJECTION_MS, 'no overflow');
  t.equal(ejectionMs(600_000, 3), 600_000, 'a base above the cap is used as is');
});

t.test('server: state bits, reasons and the state-change listeners', async (t) => {
  const seen: [ServerState | 'unknown', ServerState, string | null, string][] = [];
  const s = new Server('p', CFG, { healthy: false, listeners: [(_s, from, to, reason, bit) => seen.push([from, to, reason, bit])] });
  const st = s.status;
  t.equal(s.state, 'down');
  t.equal(s.reason, 'waiting for the first health check');
  t.notOk(s.ready);
  st.setDownReason('health check failed: connect ECONNREFUSED');
  t.equal(s.reason, 'health check failed: connect ECONNREFUSED');
  st.setHealthy(true);
  st.setHealthy(true);   // no change, no callback
  st.setEjected(true, 'ejected: 3 consecutive upgrade failures');
  st.setEnabled(false, 'disabled by admin (maintenance)');
  st.setEnabled(true);
  st.setEjected(false, null);
  t.same(seen, [
    ['unknown', 'up', null, 'healthy'],
    ['up', 'ejected', 'ejected: 3 consecutive upgrade failures', 'ejected'],
    ['ejected', 'disabled', 'disabled by admin (maintenance)', 'enabled'],   // the reason comes with the change
    ['disabled', 'ejected', 'ejected: 3 consecutive upgrade failures', 'enabled'],
    ['ejected', 'up', null, 'ejected'],
  ]);
  t.equal(s.reason, null);
  st.setDraining(true);
  t.equal(s.reason, 'disabled by admin (maintenance)', 'the admin note shows while draining');
  st.setNote(null);
  t.equal(s.reason, 'draining');
  t.same(seen.at(-1), ['up', 'draining', 'disabled by admin (maintenance)', 'draining']);
  st.setHealthy(false, 'health check failed: timeout');
  t.equal(seen.length, 6, 'a health change under a drain is no state change');
  st.setDraining(false, null);
  t.same(seen.at(-1), ['draining', 'down', 'health check failed: timeout', 'draining']);
});

t.test('server: a failing state listener is logged and the others still run', async (t) => {
  const { log, lines } = captureLog();
  const after: string[] = [];
  const s = new Server('p', CFG, { log, listeners: [() => { throw new Error('metrics hook broke'); }, (_s, _f, to) => after.push(to)] });
  s.status.setEnabled(false, 'maintenance');
  await tick();
  t.same(after, ['disabled'], 'the next listener ran');
  t.equal(s.state, 'disabled', 'the change itself happened');
  t.match(lines, [{ level: 50, msg: 'server state listener failed', from: 'up', to: 'disabled', bit: 'enabled', err: { message: 'metrics hook broke' } }]);
});

t.test('server: slow start ramps the weight algorithms see after it becomes ready', async (t) => {
  let now = 1000;
  let serving = false;
  const ramp = { now: () => now, window: () => 10_000, serving: () => serving };
  const s = new Server('p', CFG, { healthy: false, ramp });
  s.status.setHealthy(true);
  t.equal(s.weight, 4, 'ready before the listeners open: full weight');
  serving = true;
  s.status.setHealthy(false);
  now += 5000;
  s.status.setHealthy(true);
  t.equal(s.weight, 4 * SLOW_START_FLOOR, 'recovered: starts at the floor');
  t.equal(s.configuredWeight, 4);
  now += 5000;
  t.equal(s.weight, 2, 'half way');
  now += 5000;
  t.equal(s.weight, 4, 'full after the window');
  s.status.setEjected(true, 'ejected');
  s.status.setEjected(false, null);
  t.equal(s.weight, 0.4, 'un-ejected: ramps again');
  s.configure({ ...CFG, weight: 8 });   // a reload
  t.same([s.configuredWeight, s.baseWeight, s.weight], [8, 8, 0.8], 'configured 8, effective ramped');

  const added = new Server('p', CFG, { healthy: true, ramp });
  t.equal(added.weight, 0.4, 'added after start with check none: ramps from creation');
  const late = new Server('p', CFG, { healthy: false, ramp });
  late.status.setHealthy(false);
  t.equal(late.state, 'down', 'down at its first check');
  now += 20_000;
  late.status.setHealthy(true);
  t.equal(late.weight, 0.4, 'its first readiness after the listeners opened ramps too');
  const plain = new Server('p', CFG);
  t.equal(plain.weight, 4, 'no ramp source: no ramp');
});

t.test('rtt: first sample as is, then an EWMA', async (t) => {
  const s = new Server('p', CFG);
  recordRtt(s, 10);
  t.equal(s.rtt, 10);
  recordRtt(s, 20);
  t.equal(s.rtt, 13);
  recordRtt(s, NaN);
  recordRtt(s, -1);
  t.equal(s.rtt, 13, 'nonsense ignored');
});

t.test('server weight: configured, reported by a load report, effective', async (t) => {
  const s = new Server('p', CFG);
  t.same([s.configuredWeight, s.baseWeight, s.weight], [4, 4, 4]);
  s.reportWeight(10);
  t.same([s.configuredWeight, s.baseWeight, s.weight], [4, 10, 10], 'a reported weight replaces the configured one');
  s.configure({ ...CFG, weight: 6 });
  t.same([s.configuredWeight, s.baseWeight], [6, 10], 'a reload changes the configured weight; the report still stands');
  s.reportWeight(null);
  t.same([s.configuredWeight, s.baseWeight, s.weight], [6, 6, 6], 'the report gone: the configured weight');
});

t.test('server lease: active from acquire to release, released once; opened and connect failures counted once', async (t) => {
  const s = new Server('p', CFG);
  const a = s.lease();
  const b = s.lease();
  t.same([s.localActive, s.active], [2, 2]);
  a.opened();
  a.opened();
  t.equal(s.total, 1, 'one tunnel per lease');
  a.release();
  a.release();
  t.same([s.localActive, a.released], [1, true], 'a second release does nothing');
  a.opened();
  t.equal(s.total, 1, 'nothing counted after the release');
  b.connectFailed();
  b.connectFailed();
  b.release();
  t.same([s.localActive, s.connectFailures, s.total], [0, 1, 1]);
  s.farm = [3, 0, 0, 0];
  t.same([s.localActive, s.active], [0, 3], 'algorithms read the farm-wide count');
});
