import t from 'tap';
import { ALGORITHMS, needsOf } from '../../src/balancing/index.js';

t.test('each algorithm declares what it reads: a key, a bandwidth window, load reports', async (t) => {
  t.same(needsOf({ name: 'least-bandwidth', options: { window: 2000 } }), { bandwidthWindowMs: 2000 });
  t.same(needsOf({ name: 'least-bandwidth', options: {} }), {}, 'no window: the sampler keeps its default');
  t.same(needsOf({ name: 'custom-load', options: {} }), { loadReports: true });
  t.same(needsOf({ name: 'hash', options: { key: 'header:x-user' } }), { key: { kind: 'header', name: 'x-user' } });
  t.same(needsOf({ name: 'hash', options: { fallback: 'custom-load' } }), { loadReports: true, key: { kind: 'ip' } }, 'plus what its fallback reads');
  for (const name of ['round-robin', 'least-connections', 'least-response-time', 'p2c', 'random']) {
    t.same(needsOf({ name, options: {} }), {}, `${name}: nothing beyond the server counters`);
  }
  t.throws(() => needsOf({ name: 'robin', options: {} }), /unknown algorithm "robin"; available: round-robin, /);
  t.ok(Object.values(ALGORITHMS).every((e) => typeof e.create === 'function'));
});
