/** The sampler: per-server active and bytes/s, rates by reason and code, a bounded ring of samples, subscribers. */

import t from 'tap';
import { pino } from 'pino';
import { loadConfigText } from '../../src/config/load.js';
import { Runtime } from '../../src/runtime.js';
import { Sampler, type Tick } from '../../src/metrics/sampler.js';
import { farmYaml } from '../helpers/balancer.js';
import { RejectionLog } from '../../src/metrics/rejection-log.js';
import { waitFor } from '../helpers/wait.js';

t.test('rates and samples from plain counters', async (t) => {
  const log = pino({ level: 'silent' });
  const rt = new Runtime(loadConfigText(farmYaml({ servers: [{ name: 'a', url: 'ws://127.0.0.1:1' }, { name: 'b', url: 'ws://127.0.0.1:2' }] }), 'test.yaml', {}), log);
  t.teardown(() => rt.telemetry.stop());
  let now = 10_000;
  const s = new Sampler(rt, rt.telemetry.metrics, new RejectionLog(log), { points: 3, now: () => now });
  const ticks: Tick[] = [];
  const unsubscribe = s.subscribe((tick) => ticks.push(tick));
  const first = s.tick();
  t.same(first.rates, { handshakes: 0, rejections: {}, closes: {} }, 'no rate before two samples');
  t.same(first.sample.servers, { p: { a: [0, 0, 0], b: [0, 0, 0] } });

  const a = rt.pools.get('p')!.server('a')!;
  a.bytesIn += 4000;
  a.bytesOut += 1000;
  for (let i = 0; i < 3; i++) a.lease();
  rt.routeStats.set('r', { upgrades: 6, rejections: new Map([['WSLB_ERR_RATE', 4]]) });
  rt.telemetry.metrics.closes.set('p', new Map([['1000', 2]]));
  now += 2000;
  const second = s.tick();
  t.same(second.sample.servers.p, { a: [3, 2000, 500], b: [0, 0, 0] });
  t.same(second.rates, { handshakes: 3, rejections: { WSLB_ERR_RATE: 2 }, closes: { '1000': 1 } });
  t.same(second.totals, { handshakes: 6, rejections: { WSLB_ERR_RATE: 4 }, closes: { '1000': 2 } });
  t.equal(second.sample.handshakes, 3);
  t.equal(second.sample.rejections, 2);

  now += 1000;
  const third = s.tick();
  t.same(third.rates, { handshakes: 0, rejections: {}, closes: {} }, 'quiet second: zero rates, empty maps');
  now += 1000;
  s.tick();
  t.equal(s.history.length, 3, 'ring bounded');
  t.equal(s.history[0], second.sample, 'oldest dropped first');
  t.equal(ticks.length, 4, 'subscriber saw every tick');
  t.equal(s.last, ticks[3]);
  unsubscribe();
  s.tick();
  t.equal(ticks.length, 4);
});

t.test('start runs a tick at once and then on the interval; stop ends it', async (t) => {
  const log = pino({ level: 'silent' });
  const rt = new Runtime(loadConfigText(farmYaml({ servers: [{ name: 'a', url: 'ws://127.0.0.1:1' }] }), 'test.yaml', {}), log);
  const s = new Sampler(rt, rt.telemetry.metrics, new RejectionLog(log), { intervalMs: 20 });
  s.start();
  s.start();
  t.equal(s.history.length, 1);
  // Waited for, not counted after a 70 ms sleep: after a stall an interval timer fires once, not once per period missed.
  await waitFor(t, () => s.history.length >= 3, { what: 'ticked on the interval' });
  s.stop();
  const n = s.history.length;
  await new Promise((r) => setTimeout(r, 50));
  t.equal(s.history.length, n, 'stopped');
});
