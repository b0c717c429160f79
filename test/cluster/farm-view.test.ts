/** The farm view's parts: summing figures, how the others' sum replaces a Server's farm figures at each tick. */

import t from 'tap';
import { addFigures, farmTable, figuresTable, rttFigures, type Figures } from '../../src/cluster/farm-view.js';
import { Server } from '../../src/pool/server.js';
import type { Pool } from '../../src/pool/pool.js';

const server = (name: string, weight = 1) => new Server('p', { name, url: `ws://127.0.0.1:1/${name}`, host: '127.0.0.1', port: 1, tls: false, weight });
const poolOf = (servers: Server[]) => ({ name: 'p', servers, server: (n: string) => servers.find((s) => s.name === n) } as unknown as Pool);

t.test('Server: algorithms read local + remote bandwidth, and the mean RTT of the processes that measured', async (t) => {
  const s = server('a');
  s.localBandwidth = 1000;
  t.equal(s.bandwidth, 1000, 'alone: the local figure');
  s.farm = [0, 3000, 0, 0];
  t.equal(s.bandwidth, 4000, 'farm-wide');
  t.equal(s.rtt, 0, 'never measured');
  s.localRtt = 10;
  t.equal(s.rtt, 10);
  s.farm = [0, 3000, 50, 2];   // two other processes: 20 and 30 ms
  t.equal(s.rtt, 20, '(10 + 20 + 30) / 3');
  s.localRtt = 0;
  t.equal(s.rtt, 25, 'not measured here: the others\' mean only');
});

t.test('addFigures: sums of contributions, rounded', async (t) => {
  t.same(addFigures([[3, 100, 10, 1], [2, 50, 20, 1], [0, 0, 4, 1]]), [5, 150, 34, 3]);
  t.same(addFigures([[0, 10.4, 0.1, 1], [0, 0, 0.2, 1]]), [0, 10, 0.3, 2], 'bytes/s whole, ms to the microsecond');
});

t.test('the figures table: each process publishes its own; at each tick every Server\'s farm figures are replaced by the others\' sum', async (t) => {
  const a = server('a');
  const b = server('b');
  let pool = poolOf([a, b]);
  a.lease();
  a.lease();
  const mine = farmTable('i#1.1', () => [pool]);
  const first = mine.next()!;
  t.same(first.entries, [['p/a', [2, 0, 0, 0]], ['p/b', [0, 0, 0, 0]]], 'sampled from the Servers at each tick');
  const other = figuresTable('i#2.2', () => new Map<string, Figures>([['p/a', [5, 700, 30, 2]], ['p/b', [1, 1, 0, 0]]]));
  const prim = figuresTable('i#0', () => new Map<string, Figures>([['p/a', [0, 0, 10, 1]]]));
  mine.receive(other.next()!);
  mine.receive(prim.next()!);
  t.equal(a.active, 2, 'nothing lands between ticks');
  const before = a.farm;
  mine.next();
  t.equal(a.active, 7);
  t.equal(a.bandwidth, 700);
  t.equal(a.rtt, 40 / 3);
  t.equal(b.active, 1);
  t.not(a.farm, before, 'replaced whole, not changed in place');
  t.same(before, [0, 0, 0, 0], 'the figures replaced are left as they were');
  mine.receive(other.gone());
  mine.receive(prim.gone());
  mine.next();
  t.same([a.active, a.bandwidth, a.rtt, b.active], [2, 0, 0, 0], 'origins gone: local numbers only');
  const c = server('c');
  pool = poolOf([a, c]);   // a reload: c is new
  mine.receive(prim.fullOf('i#0')!);
  c.farm = [9, 0, 0, 0];
  mine.next();
  t.same([c.active, a.rtt], [0, 10], 'after a reload: every server from the view at the next tick');
});

t.test('rttFigures: one more measurement per server from the primary\'s health checks', async (t) => {
  const a = server('a');
  const b = server('b');
  a.localRtt = 1.23456;
  const pool = poolOf([a, b]);
  t.same([...rttFigures([pool])], [['p/a', [0, 0, 1.235, 1]]]);
});
