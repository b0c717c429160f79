import t from 'tap';
import { leastConnections } from '../../src/balancing/least-connections.js';
import type { ServerView } from '../../src/balancing/balancer.js';

const sv = (name: string, active: number, weight = 1): ServerView => ({ name, url: '', weight, active, bandwidth: 0, rtt: 0, load: 0 });
const scripted = (values: number[]) => { let i = 0; return () => values[i++ % values.length]!; };
const deps = (values: number[]) => ({ random: scripted(values), now: () => 0 });

t.test('fewest active wins', async (t) => {
  const b = leastConnections({}, deps([0]));
  t.equal(b.pick({ servers: [sv('a', 3), sv('b', 1), sv('c', 2)], clientAddress: '' })?.name, 'b');
});

t.test('active is divided by weight', async (t) => {
  const b = leastConnections({}, deps([0]));
  // a: 4/4 = 1, b: 2/1 = 2
  t.equal(b.pick({ servers: [sv('a', 4, 4), sv('b', 2, 1)], clientAddress: '' })?.name, 'a');
});

t.test('ties are broken by the random source, not by position', async (t) => {
  const servers = [sv('a', 0), sv('b', 0), sv('c', 0)];
  // Reservoir: the 2nd tie replaces when r*2 < 1, the 3rd when r*3 < 1.
  t.equal(leastConnections({}, deps([0.9, 0.9])).pick({ servers, clientAddress: '' })?.name, 'a');
  t.equal(leastConnections({}, deps([0.1, 0.9])).pick({ servers, clientAddress: '' })?.name, 'b');
  t.equal(leastConnections({}, deps([0.9, 0.1])).pick({ servers, clientAddress: '' })?.name, 'c');
});

t.test('a simulated farm stays level', async (t) => {
  let seed = 7;
  const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
  const b = leastConnections({}, { random, now: () => 0 });
  const servers = [sv('a', 0), sv('b', 0), sv('c', 0)] as { -readonly [K in keyof ServerView]: ServerView[K] }[];
  for (let i = 0; i < 300; i++) b.pick({ servers, clientAddress: '' })!.active++;
  t.same(servers.map((s) => s.active), [100, 100, 100]);
});

t.test('empty set gives undefined', async (t) => {
  t.equal(leastConnections({}, deps([0])).pick({ servers: [], clientAddress: '' }), undefined);
});
