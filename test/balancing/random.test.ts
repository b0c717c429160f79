import t from 'tap';
import { randomAlgorithm, weightedDraw } from '../../src/balancing/random.js';
import { counts, deps, picks, seeded, sv } from '../helpers/servers.js';

t.test('table: the cumulative weight interval that holds r x total', async (t) => {
  const servers = [sv('a'), sv('b', { weight: 2 }), sv('c')];   // intervals [0,1) [1,3) [3,4)
  const r = [0, 0.24, 0.25, 0.74, 0.75, 0.99];
  t.same(picks(randomAlgorithm({}, deps(r)), servers, r.length), ['a', 'a', 'b', 'b', 'c', 'c']);
});

t.test('weight 0 is never drawn unless every weight is 0 (then uniform); skip excludes', async (t) => {
  const z = [sv('a', { weight: 0 }), sv('b'), sv('c', { weight: 0 })];
  t.same(picks(randomAlgorithm({}, deps([0, 0.5, 0.99])), z, 3), ['b', 'b', 'b']);
  const all0 = [sv('a', { weight: 0 }), sv('b', { weight: 0 })];
  t.same(picks(randomAlgorithm({}, deps([0.4, 0.6])), all0, 2), ['a', 'b']);
  const s = [sv('a'), sv('b'), sv('c')];
  t.equal(weightedDraw(s, 0, new Set([s[0]!]))?.name, 'b');
  t.equal(weightedDraw(s, 0.5, new Set(s)), undefined);
  t.equal(randomAlgorithm({}, deps()).pick({ servers: [], clientAddress: '' }), undefined);
});

t.test('long run: 40,000 picks follow weights 1:2:1 within 3%', async (t) => {
  const c = counts(picks(randomAlgorithm({}, { random: seeded(5), now: () => 0 }), [sv('a'), sv('b', { weight: 2 }), sv('c')], 40_000));
  for (const [name, want] of [['a', 10_000], ['b', 20_000], ['c', 10_000]] as const) {
    t.ok(Math.abs(c[name]! - want) / want < 0.03, `${name}: ${c[name]} ~ ${want}`);
  }
});
