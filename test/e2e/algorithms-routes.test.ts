/** Two routes on one pool with different algorithms at once: they share the pool's server counters. */

import t from 'tap';
import { stringify } from 'yaml';
import type WebSocket from 'ws';
import { startEchoBackends } from '../helpers/backend.js';
import { startBalancer } from '../helpers/balancer.js';
import { waitFor } from '../helpers/wait.js';
import { closeAll, connectWho } from '../helpers/who.js';

t.test('round-robin on /rr and least-connections on /lc read the same active counts', async (t) => {
  const backends = await startEchoBackends(3, 's');
  t.teardown(() => Promise.all(backends.map((b) => b.close())));
  const b = await startBalancer(t, stringify({
    listeners: [{ port: 0, host: '127.0.0.1' }],
    admin: { port: 0, host: '127.0.0.1' },
    log: { level: 'silent' },
    limits: { handshakes_per_ip: '10000/s' },   // every test client is 127.0.0.1
    pools: { p: { algorithm: 'random', health: { check: 'none' }, servers: backends.map((s) => ({ name: s.name, url: s.url })) } },
    routes: [
      { name: 'rr', match: { path: '/rr' }, pool: 'p', algorithm: 'round-robin' },
      { name: 'lc', match: { path: '/lc' }, pool: 'p', algorithm: 'least-connections' },
    ],
  }));
  const pool = b.runtime.pools.get('p')!;
  const open: WebSocket[] = [];
  const via = async (path: string) => { const [ws, name] = await connectWho(b.proxyPort(), path, backends); open.push(ws); return name; };

  const rr1: string[] = [];
  for (let i = 0; i < 4; i++) rr1.push(await via('/rr'));
  t.same(rr1, ['s-1', 's-2', 's-3', 's-1'], 'round robin: its own rotation');
  t.same(pool.servers.map((s) => s.active), [2, 1, 1]);

  // least-connections sees the tunnels round-robin opened: s-1 holds 2, so the next two go to s-2 and s-3.
  const lc = [await via('/lc'), await via('/lc')].sort();
  t.same(lc, ['s-2', 's-3']);
  t.same(pool.servers.map((s) => s.active), [2, 2, 2]);
  t.equal(await via('/rr'), 's-2', 'round robin carries on where it was, whatever least-connections did');
  t.not(await via('/lc'), 's-2', 'least-connections avoids the one round robin just loaded');

  const st = await (await fetch(`http://127.0.0.1:${b.adminPort()}/status`)).json() as { routes: { name: string; algorithm: string }[]; pools: { p: { algorithm: string } } };
  t.same(st.routes.map((r) => [r.name, r.algorithm]), [['rr', 'round-robin'], ['lc', 'least-connections']]);
  t.equal(st.pools.p.algorithm, 'random', 'the pool keeps its own default');
  await closeAll(open);
  await waitFor(t, () => pool.servers.every((s) => s.active === 0), { what: 'every counter back to 0' });
});
