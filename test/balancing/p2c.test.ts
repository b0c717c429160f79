import t from 'tap';
import { p2c } from '../../src/balancing/p2c.js';
import { counts, deps, picks, seeded, sv } from '../helpers/servers.js';

t.test('table: two weighted draws without replacement, fewer active / weight wins', async (t) => {
  const three = () => [sv('a', { active: 3 }), sv('b', { active: 1 }), sv('c', { active: 2 })];
  const cases: { name: string; servers: ReturnType<typeof sv>[]; random: number[]; want: string; options?: Record<string, unknown> }[] = [
    { name: 'draws a then c (0.9 x 2 over b,c): c has fewer', servers: three(), random: [0.1, 0.9], want: 'c' },
    { name: 'draws b then a', servers: three(), random: [0.5, 0], want: 'b' },
    { name: 'draws c then b', servers: three(), random: [0.9, 0.5], want: 'b' },
    { name: 'draws a then c: the least loaded (b) is not seen', servers: three(), random: [0, 0.99], want: 'c' },
    { name: 'weights: a (3/3 = 1) against b (0/1)', servers: [sv('a', { active: 3, weight: 3 }), sv('b')], random: [0.5, 0], want: 'b' },
    { name: 'weights: a drawn 3 times in 4', servers: [sv('a', { active: 2, weight: 3 }), sv('b', { active: 1 })], random: [0.7, 0], want: 'a' },
    { name: 'tie keeps the first draw', servers: [sv('a', { active: 1 }), sv('b', { active: 1 })], random: [0.7, 0.3], want: 'b' },
    { name: 'choices: 3 sees everyone', servers: three(), random: [0, 0, 0], want: 'b', options: { choices: 3 } },
    { name: 'one server: no draw', servers: [sv('a', { active: 9 })], random: [], want: 'a' },
  ];
  for (const c of cases) t.equal(p2c(c.options ?? {}, deps(c.random)).pick({ servers: c.servers, clientAddress: '' })?.name, c.want, c.name);
  t.equal(p2c({}, deps()).pick({ servers: [], clientAddress: '' }), undefined, 'empty set');
});

t.test('long run: held connections follow weights 3:1:1 within 5%', async (t) => {
  const servers = [sv('a', { weight: 3 }), sv('b'), sv('c')];
  const c = counts(picks(p2c({}, { random: seeded(9), now: () => 0 }), servers, 1000, { hold: true }));
  for (const [name, want] of [['a', 600], ['b', 200], ['c', 200]] as const) {
    t.ok(Math.abs(c[name]! - want) / want < 0.05, `${name}: ${c[name]} ~ ${want}`);
  }
});

t.test('long run without holding: the draw itself follows the weights (each pick sees equal counts)', async (t) => {
  const c = counts(picks(p2c({}, { random: seeded(13), now: () => 0 }), [sv('a', { weight: 2 }), sv('b'), sv('c')], 20_000));
  // With equal shares, ties keep the first draw, so the first draw's weights decide: 2:1:1.
  for (const [name, want] of [['a', 10_000], ['b', 5000], ['c', 5000]] as const) {
    t.ok(Math.abs(c[name]! - want) / want < 0.04, `${name}: ${c[name]} ~ ${want}`);
  }
});
