/** RouteHistogram (plain increments per observation) exports exactly what a prom-client Histogram given the same observations exports. */

import t from 'tap';
import { Histogram, Registry } from 'prom-client';
import { RouteHistogram } from '../../src/metrics/route-histogram.js';
import { prng } from '../fuzz/mutate.js';

const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

function pair(): { ref: Histogram<'route'>; mine: RouteHistogram; a: Registry; b: Registry } {
  const a = new Registry();
  const b = new Registry();
  const ref = new Histogram({ name: 'h_seconds', help: 'h.', labelNames: ['route'] as const, buckets: BUCKETS, registers: [a] });
  const mine = new RouteHistogram({ name: 'h_seconds', help: 'h.', buckets: BUCKETS, registers: [b] });
  return { ref, mine, a, b };
}

t.test('same text and JSON as prom-client for the same observations, bounds, zero and past the last bucket included', async (t) => {
  const { ref, mine, a, b } = pair();
  t.equal(await b.metrics(), await a.metrics(), 'identical before any observation');
  const rnd = prng(7);
  const routes = ['r1', 'r2', 'a "quoted"\\route'];
  const values = [0, 0.001, 10, 11, 1e6, ...BUCKETS];
  for (let i = 0; i < 5000; i++) values.push(rnd() < 0.1 ? rnd() * 100 : rnd() * rnd());
  for (const [i, v] of values.entries()) {
    const route = routes[i % routes.length]!;
    ref.observe({ route }, v);
    mine.record(route, v);
  }
  t.equal(await b.metrics(), await a.metrics(), 'identical text exposition');
  t.same(await b.getMetricsAsJSON(), await a.getMetricsAsJSON(), 'identical JSON (the cluster merges this)');
  ref.reset();
  mine.reset();
  t.equal(await b.metrics(), await a.metrics(), 'identical after reset');
});

t.test('a value that is not a number is refused as prom-client refuses it, and records nothing', async (t) => {
  const { ref, mine, a, b } = pair();
  t.throws(() => ref.observe({ route: 'r' }, Number.NaN), TypeError);
  t.throws(() => mine.record('r', Number.NaN), TypeError);
  t.throws(() => mine.record('r', Infinity), TypeError);
  t.equal(await b.metrics(), await a.metrics());
});
