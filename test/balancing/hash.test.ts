import t from 'tap';
import { hash } from '../../src/balancing/hash.js';
import { createBalancer } from '../../src/balancing/index.js';
import { hashString, rendezvousScore } from '../../src/balancing/rendezvous.js';
import { counts, deps, picks, sv, type MutableView } from '../helpers/servers.js';

const farm = (n: number, weights: number[] = []) => Array.from({ length: n }, (_, i) => sv(`s${i + 1}`, { weight: weights[i] ?? 1 }));
const keys = (n: number) => Array.from({ length: n }, (_, i) => `room-${i}`);
const map = (servers: MutableView[], ks: string[], b = hash({}, deps())) =>
  new Map(ks.map((k) => [k, b.pick({ servers, key: k, clientAddress: '' })!.name]));

t.test('exact picks for fixed keys (pinned: any change here breaks every running deployment)', async (t) => {
  t.equal(hashString('room-1'), 1953490794, 'FNV-1a + fmix32, pinned');
  const servers = farm(4);
  t.same(['room-1', 'room-2', 'room-3', 'alice', 'bob', '10.0.0.1'].map((k) => hash({}, deps()).pick({ servers, key: k, clientAddress: '' })!.name),
    ['s4', 's3', 's4', 's3', 's2', 's3']);
});

t.test('two instances (two processes, two replicas) agree on every key; server order does not matter', async (t) => {
  const ks = keys(2000);
  const a = map(farm(5), ks, hash({}, deps()));
  const b = map(farm(5).reverse(), ks, hash({}, deps()));
  t.same([...a.entries()].filter(([k, v]) => b.get(k) !== v), []);
});

t.test('weights hold: 1:2:1 over 40,000 keys within 2%', async (t) => {
  const c = counts([...map(farm(3, [1, 2, 1]), keys(40_000)).values()]);
  for (const [name, want] of [['s1', 10_000], ['s2', 20_000], ['s3', 10_000]] as const) {
    t.ok(Math.abs(c[name]! - want) / want < 0.02, `${name}: ${c[name]} ~ ${want}`);
  }
});

t.test('removing one of N moves exactly its keys, each to its next choice; adding one moves ~1/(N+1), all to the new one', async (t) => {
  const ks = keys(20_000);
  const four = farm(4);
  const before = map(four, ks);
  const after = map(four.filter((s) => s.name !== 's3'), ks);
  const moved = ks.filter((k) => before.get(k) !== after.get(k));
  t.ok(moved.every((k) => before.get(k) === 's3'), 'only keys of the removed server move');
  t.equal(moved.length, ks.filter((k) => before.get(k) === 's3').length, 'all of them move');
  t.ok(Math.abs(moved.length / ks.length - 1 / 4) < 0.02, `moved ${moved.length} of ${ks.length} ~ 1/4`);

  const five = map(farm(5), ks);
  const gained = ks.filter((k) => before.get(k) !== five.get(k));
  t.ok(gained.every((k) => five.get(k) === 's5'), 'keys move only to the new server');
  t.ok(Math.abs(gained.length / ks.length - 1 / 5) < 0.02, `moved ${gained.length} ~ 1/5`);
});

t.test('a server that is down (not in the ready list) loses its keys to their next choice, and gets them back', async (t) => {
  const ks = keys(3000);
  const servers = farm(4);
  const b = hash({}, deps());
  const up = map(servers, ks, b);
  const down = map(servers.filter((s) => s.name !== 's2'), ks, b);
  t.ok(ks.every((k) => up.get(k) === 's2' ? down.get(k) !== 's2' : down.get(k) === up.get(k)), 'only s2 keys moved');
  t.same(map(servers, ks, b), up, 'back up: the same mapping as before');
});

t.test('balance_factor: one hot key spreads once its server holds ceil(c x (total + 1) x w / W)', async (t) => {
  const servers = farm(4);
  const top = hash({}, deps()).pick({ servers, key: 'hot', clientAddress: '' })!.name;
  const seq = picks(hash({ balance_factor: 1.25 }, deps()), servers, 12, { hold: true, key: 'hot' });
  t.equal(seq[0], top, 'the first connection goes where plain hashing sends it');
  // Caps at 1.25 x (m + 1) / 4 for m held: 1, 1, 1, 2, 2, 2, 3, ...: the top three choices take turns; s1 (fourth) is never needed.
  t.same(seq, ['s3', 's2', 's4', 's3', 's2', 's4', 's3', 's2', 's4', 's3', 's2', 's4']);
  t.ok(servers.every((s) => s.active <= Math.ceil(1.25 * 12 / 4)), `no server above 1.25 x average: ${servers.map((s) => s.active)}`);
  const plain = farm(4);
  picks(hash({}, deps()), plain, 12, { hold: true, key: 'hot' });
  t.same(plain.map((s) => s.active).sort(), [0, 0, 0, 12], 'without it, every connection of the key lands on one server');
});

t.test('balance_factor respects weights', async (t) => {
  const servers = farm(2, [3, 1]);
  picks(hash({ balance_factor: 1.1 }, deps()), servers, 40, { hold: true, key: 'k' });
  // s1 is the key's top choice and fills to its cap, ceil(1.1 x 40 x 3/4) = 33; the rest spill to s2.
  t.same(servers.map((s) => s.active), [33, 7]);
});

t.test('missing key: the fallback (default round-robin; or the one named)', async (t) => {
  t.same(picks(hash({}, deps()), farm(3), 4), ['s1', 's2', 's3', 's1'], 'round-robin');
  const servers = [sv('s1', { active: 2 }), sv('s2', { active: 0 }), sv('s3', { active: 1 })];
  t.same(picks(createBalancer({ name: 'hash', options: { fallback: 'least-connections' } }, deps()), servers, 1), ['s2']);
  t.same(picks(createBalancer({ name: 'hash', options: { fallback: 'random' } }, deps([0.9])), servers, 1), ['s3'], 'fallback uses the same injected random');
});

t.test('weight 0 never wins while another server has weight; score is finite and ordered', async (t) => {
  const servers = [sv('a', { weight: 0 }), sv('b')];
  t.same([...new Set([...map(servers, keys(200)).values()])], ['b']);
  t.equal(rendezvousScore(1, 2, 0), -Infinity);
  t.ok(rendezvousScore(1, 2, 2) > rendezvousScore(1, 2, 1), 'more weight, higher score for the same hash');
  t.equal(hash({}, deps()).pick({ servers: [], key: 'x', clientAddress: '' }), undefined);
});
