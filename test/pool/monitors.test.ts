import t from 'tap';
import { loadConfigText } from '../../src/config/load.js';
import { Pool } from '../../src/pool/pool.js';
import { Monitors } from '../../src/pool/monitors.js';

const config = (alg: string, load = '') => loadConfigText(
  `pools:\n  p:\n    algorithm: ${alg}\n    health: { check: none }\n    servers: [{ url: "ws://127.0.0.1:9" }]\n${load}` +
  'routes:\n  - { pool: p }\n  - { pool: p, algorithm: { name: least-bandwidth, window: 2s } }\n', 'b.yaml', {});

t.test('sync starts, keeps, replaces and stops pool monitors', async (t) => {
  const m = new Monitors();
  t.teardown(() => m.close());
  const c1 = config('round-robin');
  const pool = new Pool(c1.pools['p']!);
  const routes = c1.routes.map((r) => ({ config: r, pool }));
  m.sync([pool], routes);
  t.equal(m.poller(pool), null, 'no load block and no custom-load: no poller');

  const c2 = config('custom-load', '    load: { interval: 1h }\n');
  pool.config = c2.pools['p']!;
  m.sync([pool], c2.routes.map((r) => ({ config: r, pool })));
  const poller = m.poller(pool);
  t.ok(poller, 'custom-load: a poller');
  t.equal(pool.servers[0]!.loadStale, true, 'no report yet');
  m.sync([pool], c2.routes.map((r) => ({ config: r, pool })));
  t.equal(m.poller(pool), poller, 'same settings: the same poller (a reload keeps reports)');

  const c3 = config('custom-load', '    load: { interval: 2h }\n');
  pool.config = c3.pools['p']!;
  m.sync([pool], [{ config: c3.routes[0]!, pool }]);   // the least-bandwidth route is gone: window back to 10 s
  t.not(m.poller(pool), poller, 'changed load settings: a new poller');

  m.sync([], []);
  t.equal(m.poller(pool), null, 'a pool gone: its monitors stop');
});

t.test('what an algorithm declares it reads starts the monitor, whatever its name: hash falling back to custom-load polls load', async (t) => {
  const m = new Monitors();
  t.teardown(() => m.close());
  const c = config('{ name: hash, key: "query:room", fallback: custom-load }', '    load: { interval: 1h }\n');
  const pool = new Pool(c.pools['p']!);
  m.sync([pool], []);
  t.ok(m.poller(pool), 'the pool has a load block: a poller');
  const bare = config('{ name: hash, key: "query:room", fallback: custom-load }');
  const other = new Pool(bare.pools['p']!);
  m.sync([other], []);
  t.ok(m.poller(other), 'no load block: the fallback still reads load, so it is polled with the defaults');
});
