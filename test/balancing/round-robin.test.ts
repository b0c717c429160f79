import t from 'tap';
import { roundRobin } from '../../src/balancing/round-robin.js';
import { defaultDeps } from '../../src/balancing/index.js';
import type { ServerView } from '../../src/balancing/balancer.js';

const sv = (name: string, weight = 1): ServerView => ({ name, url: `ws://127.0.0.1/${name}`, weight, active: 0, bandwidth: 0, rtt: 0, load: 0 });
const run = (servers: ServerView[], n: number, b = roundRobin({}, defaultDeps)) =>
  Array.from({ length: n }, () => b.pick({ servers, clientAddress: '127.0.0.1' })?.name).join(' ');

t.test('equal weights rotate in order', async (t) => {
  t.equal(run([sv('a'), sv('b'), sv('c')], 6), 'a b c a b c');
});

t.test('weights 5,1,1 interleave like nginx smooth WRR', async (t) => {
  t.equal(run([sv('a', 5), sv('b'), sv('c')], 14), 'a a b a c a a a a b a c a a');
});

t.test('weights 2,1 and a server leaving the ready set', async (t) => {
  const b = roundRobin({}, defaultDeps);
  t.equal(run([sv('a', 2), sv('b')], 3, b), 'a b a');
  t.equal(run([sv('b')], 2, b), 'b b');
});

t.test('single and empty sets', async (t) => {
  t.equal(run([sv('a')], 3), 'a a a');
  t.equal(roundRobin({}, defaultDeps).pick({ servers: [], clientAddress: '' }), undefined);
});

t.test('long run keeps the weight ratio', async (t) => {
  const counts: Record<string, number> = { a: 0, b: 0, c: 0 };
  const b = roundRobin({}, defaultDeps);
  const servers = [sv('a', 3), sv('b', 2), sv('c', 1)];
  for (let i = 0; i < 6000; i++) counts[b.pick({ servers, clientAddress: '' })!.name]!++;
  t.same(counts, { a: 3000, b: 2000, c: 1000 });
});
