/** OutlierDetector: consecutive failures eject with doubling backoff, the max_ejected_percent cap, decay, early end. */

import t from 'tap';
import type { PoolConfig } from '../../src/config/types.js';
import { OutlierDetector } from '../../src/pool/outlier.js';
import { Server } from '../../src/pool/server.js';

function servers(n: number): Server[] {
  return Array.from({ length: n }, (_, i) => new Server('p', { name: `s${i}`, url: `ws://127.0.0.1:${i + 1}`, host: '127.0.0.1', port: i + 1, tls: false, weight: 1 }));
}

function pool(list: Server[], outlier?: { failures: number; ejection: number; max_ejected_percent: number }) {
  return { servers: list, config: { outlier } as unknown as PoolConfig };
}

function fail(o: OutlierDetector, s: Server, n: number): void {
  for (let i = 0; i < n; i++) o.failure(s, 'HTTP 500');
}

t.test('failures in a row eject; a success resets the streak', async (t) => {
  const [a, b] = servers(2);
  const o = new OutlierDetector(pool([a!, b!], { failures: 3, ejection: 10_000, max_ejected_percent: 50 }), () => 0);
  t.teardown(() => o.close());
  fail(o, a!, 2);
  o.success(a!);
  fail(o, a!, 2);
  t.notOk(a!.ejected, 'the success broke the streak');
  fail(o, a!, 1);
  t.ok(a!.ejected);
  t.equal(a!.state, 'ejected');
  t.equal(a!.reason, 'ejected: 3 consecutive upgrade failures (last: HTTP 500); ejection 1 for 10s');
  fail(o, a!, 10);
  t.equal(o.ejections(a!), 1, 'failures while ejected (handshakes in flight) do not count');
});

t.test('never more than max_ejected_percent of the pool at once (Envoy: otherwise nobody)', async (t) => {
  const list = servers(3);
  const o = new OutlierDetector(pool(list, { failures: 1, ejection: 10_000, max_ejected_percent: 50 }), () => 0);
  t.teardown(() => o.close());
  for (const s of list) fail(o, s, 1);
  t.same(list.map((s) => s.ejected), [true, false, false], '2 of 3 would be 67% > 50%');
  t.equal(o.capped, 2);

  const one = servers(1);
  const o1 = new OutlierDetector(pool(one, { failures: 1, ejection: 10_000, max_ejected_percent: 50 }), () => 0);
  fail(o1, one[0]!, 5);
  t.notOk(one[0]!.ejected, 'the only server of a pool at 50% is never ejected');
  o1.close();

  const all = servers(2);
  const o100 = new OutlierDetector(pool(all, { failures: 1, ejection: 10_000, max_ejected_percent: 100 }), () => 0);
  for (const s of all) fail(o100, s, 1);
  t.same(all.map((s) => s.ejected), [true, true], '100% allows everyone out');
  o100.close();
});

t.test('no outlier config: nothing happens', async (t) => {
  const [a] = servers(1);
  const o = new OutlierDetector(pool([a!]), () => 0);
  fail(o, a!, 100);
  t.notOk(a!.ejected);
});

t.test('un-ejected by timer; the next ejection doubles; calm time decays the backoff', async (t) => {
  const list = servers(2);
  let now = 0;
  const o = new OutlierDetector(pool(list, { failures: 2, ejection: 40, max_ejected_percent: 50 }), () => now);
  t.teardown(() => o.close());
  const a = list[0]!;
  fail(o, a, 2);
  t.ok(a.ejected);
  const t0 = performance.now();
  while (a.ejected) await new Promise((r) => setTimeout(r, 5));
  t.ok(performance.now() - t0 >= 30, 'stayed out for about the ejection time');
  t.equal(a.state, 'up');
  t.equal(a.reason, null);
  fail(o, a, 2);
  t.equal(o.ejections(a), 2);
  t.match(a.reason, /ejection 2 for 80ms/);
  o.endEarly(a, 'websocket health check passed');
  t.notOk(a.ejected, 'ended early');
  now += 40 * 5;   // five calm periods
  fail(o, a, 2);
  t.equal(o.ejections(a), 1, 'back to the base ejection');
  o.endEarly(list[1]!, 'never ejected: no-op');
  t.notOk(list[1]!.ejected);
});

t.test('close stops timers and further ejections', async (t) => {
  const list = servers(2);
  const o = new OutlierDetector(pool(list, { failures: 1, ejection: 20, max_ejected_percent: 100 }), () => 0);
  fail(o, list[0]!, 1);
  o.destroy();
  fail(o, list[1]!, 1);
  await new Promise((r) => setTimeout(r, 50));
  t.ok(list[0]!.ejected, 'stays ejected: the pool is going away');
  t.notOk(list[1]!.ejected);
});
