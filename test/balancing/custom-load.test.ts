import t from 'tap';
import { customLoad } from '../../src/balancing/custom-load.js';
import { deps, picks, seeded, sv } from '../helpers/servers.js';

t.test('table: lowest reported load per weight; stale servers scored by connections', async (t) => {
  const cases: { name: string; servers: ReturnType<typeof sv>[]; random: number[]; want: string }[] = [
    { name: 'lowest load', servers: [sv('a', { load: 0.5 }), sv('b', { load: 0.2 }), sv('c', { load: 0.4 })], random: [], want: 'b' },
    { name: 'per weight: 0.6/3 < 0.3/1', servers: [sv('a', { load: 0.6, weight: 3 }), sv('b', { load: 0.3 })], random: [], want: 'a' },
    { name: 'equal load: fewer active', servers: [sv('a', { load: 0.3, active: 4 }), sv('b', { load: 0.3, active: 2 })], random: [], want: 'b' },
    { name: 'every report stale: least connections', servers: [sv('a', { loadStale: true, active: 2, load: 0 }), sv('b', { loadStale: true, active: 1, load: 9 })], random: [], want: 'b' },
    // mean fresh load 0.3, mean share 4/3: c = 0.3 x (0 + 1) / (4/3 + 1) = 0.129 < b's 0.2
    { name: 'stale and idle: looks lighter than average', servers: [sv('a', { load: 0.4, active: 2 }), sv('b', { load: 0.2, active: 2 }), sv('c', { loadStale: true })], random: [], want: 'c' },
    // mean share 2: c = 0.3 x 7 / 3 = 0.7 > b's 0.2
    { name: 'stale and busy: looks heavier', servers: [sv('a', { load: 0.4 }), sv('b', { load: 0.2 }), sv('c', { loadStale: true, active: 6 })], random: [], want: 'b' },
    { name: 'stale report value is ignored', servers: [sv('a', { load: 0.5 }), sv('b', { load: 0.01, loadStale: true, active: 9 })], random: [], want: 'a' },
    { name: 'weight 0 (reported) is the last resort', servers: [sv('a', { load: 0, weight: 0 }), sv('b', { load: 0.9 })], random: [], want: 'b' },
    { name: 'exact tie: r 0.3 takes the later', servers: [sv('a', { load: 0.5 }), sv('b', { load: 0.5 })], random: [0.3], want: 'b' },
  ];
  for (const c of cases) t.equal(customLoad({}, deps(c.random)).pick({ servers: c.servers, clientAddress: '' })?.name, c.want, c.name);
  t.equal(customLoad({}, deps()).pick({ servers: [], clientAddress: '' }), undefined);
});

t.test('long run: servers reporting active/capacity settle in proportion to capacity', async (t) => {
  const cap: Record<string, number> = { a: 100, b: 50, c: 50 };
  const servers = [sv('a'), sv('b'), sv('c')];
  const b = customLoad({}, { random: seeded(17), now: () => 0 });
  for (let i = 0; i < 400; i++) {
    const s = b.pick({ servers, clientAddress: '' })!;
    s.active++;
    s.load = s.active / cap[s.name]!;   // a perfectly fresh report after every connection
  }
  const [a, bb, c] = servers.map((s) => s.active);
  t.ok(Math.abs(a! - 200) <= 2 && Math.abs(bb! - 100) <= 2 && Math.abs(c! - 100) <= 2, `2:1:1, got ${a}:${bb}:${c}`);
});

t.test('long run with one server stale: it still gets about its share by connections', async (t) => {
  const servers = [sv('a'), sv('b'), sv('c', { loadStale: true })];
  const b = customLoad({}, { random: seeded(19), now: () => 0 });
  for (let i = 0; i < 300; i++) {
    const s = b.pick({ servers, clientAddress: '' })!;
    s.active++;
    if (!s.loadStale) s.load = s.active / 100;
  }
  const [a, bb, c] = servers.map((s) => s.active);
  t.ok(Math.abs(a! - 100) <= 10 && Math.abs(bb! - 100) <= 10 && Math.abs(c! - 100) <= 10, `about level, got ${a}:${bb}:${c}`);
  t.same(picks(customLoad({}, deps()), [sv('x', { loadStale: true, active: 1 }), sv('y', { loadStale: true })], 1), ['y']);
});
