/** Rebalancing on farm-wide counts: the overload test reads the others' tunnels (farm) + own live tunnels, each process closes only its own, at its share of the close rate. */

import t from 'tap';
import { Rebalancer } from '../../src/pool/rebalance.js';
import { Server } from '../../src/pool/server.js';
import type { Pool } from '../../src/pool/pool.js';
import type { Tunnel } from '../../src/tunnel/tunnel.js';

interface FakeTunnel { finished: boolean; closedWith: number | null; close(code: number): void }

function server(name: string, own: number, remote: number): Server {
  const s = new Server('p', { name, url: `ws://127.0.0.1:1/${name}`, host: '127.0.0.1', port: 1, tls: false, weight: 1 });
  for (let i = 0; i < own; i++) {
    const tun: FakeTunnel = { finished: false, closedWith: null, close(code) { this.closedWith = code; } };
    s.tunnels.add(tun as unknown as Tunnel);
  }
  for (let i = 0; i < own; i++) s.lease();
  s.farm = [remote, 0, 0, 0];
  return s;
}

function setup(spec: [own: number, remote: number][], rate = 20, tolerance = 1.25) {
  const servers = spec.map(([own, remote], i) => server(`s${i + 1}`, own, remote));
  const pool = { name: 'p', config: { rebalance: { tolerance, max_closes_per_second: rate } }, servers } as unknown as Pool;
  let now = 0;
  const r = new Rebalancer(pool, { now: () => now, random: () => 0.5 });
  const closedOn = () => servers.map((s) => [...s.tunnels].filter((x) => (x as unknown as FakeTunnel).closedWith !== null).length);
  return { r, servers, closedOn, at: (ms: number) => { now = ms; return r.tick(); } };
}

t.test('lone process (remote 0): as before, the local excess closed at the full rate', async (t) => {
  const { at, closedOn } = setup([[60, 0], [20, 0]], 20);
  t.equal(at(250), 5, 'a quarter second of budget at 20/s');
  t.equal(at(1250), 20, 'one second of budget, never more');
  t.equal(at(5000), 2, 'then only what the tolerance still asks for (35/20 -> 33/20)');
  t.equal(at(9000), 0, 'within tolerance');
  t.same(closedOn(), [27, 0], 'only the overloaded server');
});

t.test('a farm balanced overall: no closes even though this process alone looks lopsided', async (t) => {
  // This worker: 20 on s1, 0 on s2; the other worker: 0 on s1, 20 on s2. Farm 20/20.
  const { at, closedOn } = setup([[20, 0], [0, 20]]);
  t.equal(at(1000), 0);
  t.same(closedOn(), [0, 0]);
});

t.test('an imbalance only the farm shows: closed here, from our own tunnels on the overloaded server', async (t) => {
  // Own 10/10 (balanced locally); farm 40/20: s1 holds 40 against a share of 30.
  const { at, closedOn } = setup([[10, 30], [10, 10]], 100);
  const n = at(1000);
  t.ok(n > 0, `${n} closed`);
  t.same(closedOn(), [n, 0], 'all on s1');
  t.ok(n <= 10, 'never more than we hold');
});

t.test('the close budget is scaled by our share of the farm\'s tunnels', async (t) => {
  // Own 15 + 5 = 20 of the farm's 80: a quarter of 20/s over one second = 5 closes.
  const { at } = setup([[15, 45], [5, 15], [0, 0]], 20);
  t.equal(at(1000), 5, 'a quarter of 20/s');
  // Alone (remote 0): the full 20/s.
  const lone = setup([[15, 0], [5, 0], [0, 0]], 20);
  t.equal(lone.at(1000), 16, 'alone with the same own tunnels: 16 in that second, limited by the tolerance, not the budget');
});

t.test('a small share still reaches one close (budget bank of at least one token)', async (t) => {
  // Own 2 of a farm of 200 on s1, rate 10/s: 0.1/s here; the bank must be allowed to reach 1.
  const { at, closedOn } = setup([[2, 148], [0, 50]], 10);
  let closed = 0;
  for (let ms = 1000; ms <= 12_000; ms += 1000) closed += at(ms);
  t.ok(closed >= 1, `${closed} closed in 12 s at 0.1/s`);
  t.same(closedOn()[1], 0);
});

t.test('overloaded where we hold nothing: the next overloaded server we hold tunnels on, else nothing', async (t) => {
  const none = setup([[0, 50], [5, 5], [5, 5]], 100);
  t.equal(none.at(1000), 0, 's1 is over but every tunnel on it is another process\'s');
  const next = setup([[0, 60], [10, 45], [0, 10]], 100);
  t.ok(next.at(1000) > 0, 's2 (55 of 125, share 41.7) is over too and we hold some');
  t.same(next.closedOn()[0], 0);
});
