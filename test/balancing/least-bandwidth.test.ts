import t from 'tap';
import { leastBandwidth } from '../../src/balancing/least-bandwidth.js';
import { counts, deps, picks, seeded, sv } from '../helpers/servers.js';

t.test('table: lowest bandwidth per weight, ties by active per weight, then random', async (t) => {
  const cases: { name: string; servers: ReturnType<typeof sv>[]; random: number[]; want: string }[] = [
    { name: 'lowest bytes/s', servers: [sv('a', { bandwidth: 300 }), sv('b', { bandwidth: 100 }), sv('c', { bandwidth: 200 })], random: [], want: 'b' },
    { name: 'divided by weight: 300/3 < 150/1', servers: [sv('a', { bandwidth: 300, weight: 3 }), sv('b', { bandwidth: 150 })], random: [], want: 'a' },
    { name: 'equal bandwidth: fewer active wins', servers: [sv('a', { active: 2 }), sv('b', { active: 1 }), sv('c', { active: 3 })], random: [], want: 'b' },
    { name: 'full tie, r=0.7 keeps the first', servers: [sv('a', { active: 2 }), sv('b', { active: 1 }), sv('c', { active: 1 })], random: [0.7], want: 'b' },
    { name: 'full tie, r=0.2 takes the later', servers: [sv('a', { active: 2 }), sv('b', { active: 1 }), sv('c', { active: 1 })], random: [0.2], want: 'c' },
    { name: 'weight 0 is the last resort', servers: [sv('a', { weight: 0 }), sv('b', { bandwidth: 1e9 })], random: [], want: 'b' },
  ];
  for (const c of cases) t.equal(leastBandwidth({}, deps(c.random)).pick({ servers: c.servers, clientAddress: '' })?.name, c.want, c.name);
  t.equal(leastBandwidth({}, deps()).pick({ servers: [], clientAddress: '' }), undefined, 'empty set');
});

t.test('long run: clients of uneven traffic end up spread evenly by bytes/s', async (t) => {
  const rnd = seeded(11);
  const b = leastBandwidth({}, { random: rnd, now: () => 0 });
  const servers = [sv('a'), sv('b'), sv('c')];
  const names: string[] = [];
  for (let i = 0; i < 600; i++) {
    const s = b.pick({ servers, clientAddress: '' })!;
    s.bandwidth += Math.floor(rnd() * 10_000);   // a chatty or a quiet client
    s.active++;
    names.push(s.name);
  }
  const bw = servers.map((s) => s.bandwidth);
  t.ok(Math.max(...bw) / Math.min(...bw) < 1.05, `bandwidth within 5%: ${bw.join(' ')}`);
  t.same(Object.keys(counts(names)).sort(), ['a', 'b', 'c']);
});
