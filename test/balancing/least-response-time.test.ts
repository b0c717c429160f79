import t from 'tap';
import { leastResponseTime } from '../../src/balancing/least-response-time.js';
import { deps, picks, sv } from '../helpers/servers.js';

t.test('table: lowest rtt x (active + 1) / weight', async (t) => {
  const cases: { name: string; servers: ReturnType<typeof sv>[]; random: number[]; want: string }[] = [
    { name: '10x1 < 4x3 = 6x2', servers: [sv('a', { rtt: 10 }), sv('b', { rtt: 4, active: 2 }), sv('c', { rtt: 6, active: 1 })], random: [], want: 'a' },
    { name: 'weight: 10x2/4 = 5 < 3x2 = 6', servers: [sv('a', { rtt: 10, active: 1, weight: 4 }), sv('b', { rtt: 3, active: 1 })], random: [], want: 'a' },
    { name: 'never measured (rtt 0) is tried first', servers: [sv('a', { rtt: 1 }), sv('b', { rtt: 0, active: 5 })], random: [], want: 'b' },
    { name: 'both unmeasured: fewer active', servers: [sv('a', { active: 1 }), sv('b')], random: [], want: 'b' },
    { name: 'exact tie: random 0.4 < 1/2 takes b', servers: [sv('a', { rtt: 2 }), sv('b', { rtt: 2 })], random: [0.4], want: 'b' },
    { name: 'exact tie: random 0.6 keeps a', servers: [sv('a', { rtt: 2 }), sv('b', { rtt: 2 })], random: [0.6], want: 'a' },
  ];
  for (const c of cases) t.equal(leastResponseTime({}, deps(c.random)).pick({ servers: c.servers, clientAddress: '' })?.name, c.want, c.name);
});

t.test('a held sequence: the slow server gets its first client when the fast one is 2 deep', async (t) => {
  // a: 1 ms, b: 3 ms. Third pick: a 1x3 = b 3x1, and the tie goes to fewer active (b); then a 3 < b 6, a 4 < 6.
  const servers = [sv('a', { rtt: 1 }), sv('b', { rtt: 3 })];
  t.same(picks(leastResponseTime({}, deps()), servers, 5, { hold: true }), ['a', 'a', 'b', 'a', 'a']);
});

t.test('long run: held connections settle in inverse proportion to rtt', async (t) => {
  const servers = [sv('a', { rtt: 1 }), sv('b', { rtt: 2 }), sv('c', { rtt: 4 })];
  let seed = 3;
  const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
  picks(leastResponseTime({}, { random, now: () => 0 }), servers, 700, { hold: true });
  const [a, b, c] = servers.map((s) => s.active);
  t.ok(Math.abs(a! - 400) <= 2 && Math.abs(b! - 200) <= 2 && Math.abs(c! - 100) <= 2, `4:2:1, got ${a}:${b}:${c}`);
});
