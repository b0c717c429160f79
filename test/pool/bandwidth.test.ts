import t from 'tap';
import { BandwidthSampler, samplePeriod } from '../../src/pool/bandwidth.js';
import { recordRtt, RTT_ALPHA } from '../../src/pool/rtt.js';
import { Server } from '../../src/pool/server.js';

const server = (name: string) => new Server('p', { name, url: `ws://127.0.0.1:1`, host: '127.0.0.1', port: 1, tls: false, weight: 1 });
const near = (a: number, b: number, eps = 1e-6) => Math.abs(a - b) < eps;

t.test('time-based EWMA of bytes/s in both directions', async (t) => {
  let now = 0;
  const a = server('a');
  const b = server('b');
  const s = new BandwidthSampler(() => [a, b], 1000, () => now);
  a.bytesIn += 600; a.bytesOut += 400;       // 1000 bytes in the first second
  now = 1000;
  s.tick();
  const alpha = 1 - Math.exp(-1);
  t.ok(near(a.bandwidth, 1000 * alpha), `a: ${a.bandwidth}`);
  t.equal(b.bandwidth, 0, 'no bytes, no bandwidth');
  now = 2000;
  s.tick();                                    // silent second: decays by e^-1
  t.ok(near(a.bandwidth, 1000 * alpha * Math.exp(-1)), `decays: ${a.bandwidth}`);
  now = 2500;
  b.bytesOut += 500;                           // 1000 B/s over half a second
  s.tick();
  t.ok(near(b.bandwidth, 1000 * (1 - Math.exp(-0.5))), `a short tick weighs less: ${b.bandwidth}`);
  s.tick();                                    // no time passed: nothing changes
  t.ok(near(b.bandwidth, 1000 * (1 - Math.exp(-0.5))));
});

t.test('a steady rate converges to itself; a server added later starts at its next tick', async (t) => {
  let now = 0;
  const a = server('a');
  const list = [a];
  const s = new BandwidthSampler(() => list, 10_000, () => now);
  for (let i = 1; i <= 100; i++) { a.bytesIn += 2000; now = i * 1000; s.tick(); }
  t.ok(Math.abs(a.bandwidth - 2000) < 1, `~2000 B/s after 10 windows: ${a.bandwidth}`);
  const late = server('late');
  late.bytesIn = 1e6;                          // bytes from before it joined do not count
  list.push(late);
  now += 1000; s.tick();
  t.equal(late.bandwidth, 0);
  late.bytesIn += 1000;
  now += 1000; s.tick();
  t.ok(late.bandwidth > 0 && late.bandwidth < 1000);
});

t.test('the timer: period a tenth of the window within [100 ms, 1 s], started once, closed', async (t) => {
  t.equal(samplePeriod(10_000), 1000);
  t.equal(samplePeriod(500), 100);
  t.equal(samplePeriod(60_000), 1000);
  t.equal(samplePeriod(3000), 300);
  const a = server('a');
  const s = new BandwidthSampler(() => [a], 1000);
  s.start();
  s.start();
  a.bytesIn += 10_000;
  await new Promise((r) => setTimeout(r, 250));
  t.ok(a.bandwidth > 0, 'the real timer ticked');
  s.close();
  const frozen = a.bandwidth;
  a.bytesIn += 10_000;
  await new Promise((r) => setTimeout(r, 250));
  t.equal(a.bandwidth, frozen, 'no tick after close');
  s.close();
});

t.test('recordRtt: first sample as is, then EWMA; junk ignored', async (t) => {
  const s = { localRtt: 0 };
  recordRtt(s, 10);
  t.equal(s.localRtt, 10);
  recordRtt(s, 20);
  t.equal(s.localRtt, 10 + RTT_ALPHA * 10);
  for (const junk of [-1, NaN, Infinity]) recordRtt(s, junk);
  t.equal(s.localRtt, 13);
});
