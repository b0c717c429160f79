/** workers: 2: a server a reload removed stays in the primary's merged /status while it drains, and its state change is logged once. */

import t from 'tap';
import fs from 'node:fs';
import type WebSocket from 'ws';
import { connectNamed, startChildServer } from '../helpers/server-process.js';
import { clusterYaml, post, startInstance, status } from './helpers.js';
import { waitFor } from '../helpers/wait.js';

interface ServerDoc { name: string; state: string; reason: string | null; active: number; removed?: boolean }

t.test('workers: 2: the removed server is listed as draining until empty; one log line for its change', async (t) => {
  const backs = await Promise.all(['s1', 's2'].map((n) => startChildServer(t, n)));
  const list = backs.map((b) => ({ name: b.name, url: b.url }));
  const pool = { drain: '3s' };
  const inst = await startInstance(t, clusterYaml(list, { workers: 2 }, pool), 2);
  const clients: WebSocket[] = [];
  t.teardown(() => { for (const c of clients) c.terminate(); });
  for (let i = 0; i < 12; i++) clients.push((await connectNamed(inst.proxy))[0]);

  fs.writeFileSync(inst.file, clusterYaml(list.slice(0, 1), { workers: 2 }, pool));
  t.equal(await post(inst.admin, '/reload'), 200);
  const doc = (await status(inst.admin)) as { connections: number; pools: Record<string, { servers: ServerDoc[] }> };
  const servers = doc.pools['p']!.servers;
  t.match(servers, [{ name: 's1', state: 'up' }, { name: 's2', state: 'draining', reason: 'removed by reload', removed: true }]);
  t.ok(servers[1]!.active > 0, `s2 still holds ${servers[1]!.active} tunnels`);
  t.equal(servers.reduce((n, s) => n + s.active, 0), doc.connections, 'the merged listing adds up to the connections');

  await waitFor(t, async () => {
    const d = (await status(inst.admin)) as { pools: Record<string, { servers: ServerDoc[] }> };
    return d.pools['p']!.servers.length === 1;
  }, { ms: 8000, what: 'it leaves once drained in every worker' });
  const lines = inst.cli.lines.filter((l) => l['msg'] === 'server state changed' && l['server'] === 's2' && l['to'] === 'draining');
  t.match(lines, [{ from: 'up', reason: 'removed by reload' }], 'one line for the tree, not one per worker');
  t.equal(lines.length, 1);
});
