/** workers: 2 as real processes: least-bandwidth reads farm-wide bandwidth (each worker's own plus the others'). */

import t from 'tap';
import WebSocket from 'ws';
import { connectNamed, startChildServer } from '../helpers/server-process.js';
import { clusterYaml, servers, startInstance, status } from './helpers.js';
import { waitFor } from '../helpers/wait.js';

interface WorkerDoc { connections: number; farm_view: Record<string, { bandwidth_bps: number; load: number; load_stale: boolean }> | null }
const workersOf = async (admin: number) => (await status(admin))['workers'] as WorkerDoc[];

t.test('least-bandwidth: traffic through one worker\'s tunnel makes both workers avoid that server', async (t) => {
  const backs = await Promise.all(['s1', 's2', 's3'].map((n) => startChildServer(t, n)));
  const yaml = clusterYaml(backs.map((b) => ({ name: b.name, url: b.url })), { workers: 2 }, { algorithm: { name: 'least-bandwidth', window: '500ms' } });
  const inst = await startInstance(t, yaml, 2);
  const clients: WebSocket[] = [];
  t.teardown(() => { for (const c of clients) c.terminate(); });

  const [pumped, busy] = await connectNamed(inst.proxy);
  clients.push(pumped);
  const chunk = Buffer.alloc(8192, 1);
  const pump = setInterval(() => { if (pumped.bufferedAmount < 1 << 20) pumped.send(chunk); }, 10);
  t.teardown(() => clearInterval(pump));
  const key = `p/${busy}`;
  await waitFor(t, async () => (await workersOf(inst.admin)).every((w) => (w.farm_view?.[key]?.bandwidth_bps ?? 0) > 100_000), { ms: 15_000, what: `every worker sees ${busy}'s bandwidth` });
  const doc = await status(inst.admin);
  t.ok((servers(doc, 'bandwidth_bps')[busy] as number) > 100_000, '/status: the tree\'s bandwidth (each worker\'s own, summed once)');

  const before = (await workersOf(inst.admin)).map((w) => w.connections);
  const landed: string[] = [];
  for (let i = 0; i < 30; i++) {
    const [ws, name] = await connectNamed(inst.proxy);
    clients.push(ws);
    landed.push(name);
  }
  const after = (await workersOf(inst.admin)).map((w) => w.connections);
  t.ok(after.every((n, i) => n - before[i]! >= 5), `both workers took new clients (${before} -> ${after})`);
  t.equal(landed.filter((n) => n === busy).length, 0, `none of 30 new clients went to the busy ${busy}: ${landed.join(' ')}`);
});
