/** workers: 2 as real processes: a rolling restart closes tunnels with 1012 (service restart), a stop of the tree with 1001; /status counts crashes and planned restarts apart. */

import t from 'tap';
import { once } from 'node:events';
import WebSocket from 'ws';
import { connectNamed, startChildServer } from '../helpers/server-process.js';
import { clusterYaml, post, startInstance, status, type Instance } from './helpers.js';
import { waitFor } from '../helpers/wait.js';

interface WorkerDoc { id: number; pid: number; ready: boolean; connections: number; crashes: number; restarts: number }

async function hold(inst: Instance, n: number): Promise<{ clients: WebSocket[]; codes: Promise<number[]> }> {
  const clients = await Promise.all(Array.from({ length: n }, () => connectNamed(inst.proxy).then(([ws]) => ws)));
  const codes = Promise.all(clients.map(async (ws) => ((await once(ws, 'close')) as [number])[0]));
  return { clients, codes };
}

t.test('rolling restart: 1012 to every tunnel, counted as restarts; a kill counts as a crash; a stop sends 1001', async (t) => {
  const backs = await Promise.all(['s1', 's2', 's3'].map((n) => startChildServer(t, n)));
  const inst = await startInstance(t, clusterYaml(backs.map((b) => ({ name: b.name, url: b.url })), { workers: 2 }), 2);
  const held = await hold(inst, 8);
  t.teardown(() => { for (const ws of held.clients) ws.terminate(); });
  t.ok(((await status(inst.admin))['workers'] as WorkerDoc[]).every((w) => w.connections > 0), 'both workers hold tunnels');

  t.equal(await post(inst.admin, '/workers/restart'), 202);
  const codes = await held.codes;
  t.same([...new Set(codes)], [1012], 'every tunnel of a restarted worker closed with 1012 (service restart)');
  await waitFor(t, async () => (await status(inst.admin))['restarting'] === false, { ms: 20_000, what: 'restart finished' });
  let doc = await status(inst.admin);
  t.same((doc['workers'] as WorkerDoc[]).map((w) => [w.crashes, w.restarts]), [[0, 1], [0, 1]], 'one planned restart per worker, no crash');
  t.same([doc['worker_crashes'], doc['worker_restarts']], [0, 2], 'totals');
  const metrics = await (await fetch(`http://127.0.0.1:${inst.admin}/metrics`)).text();
  t.match(metrics, /^wslb_closes_total\{pool="p",code="1012"\} 8$/m, 'the retired workers\' closes reached the primary (their report at exit)');

  const victim = (doc['workers'] as WorkerDoc[])[0]!;
  process.kill(victim.pid, 'SIGKILL');
  await waitFor(t, async () => {
    doc = await status(inst.admin);
    const w = (doc['workers'] as WorkerDoc[])[0]!;
    return w.ready && w.pid !== victim.pid;
  }, { ms: 10_000, what: 'replaced' });
  t.same((doc['workers'] as WorkerDoc[]).map((w) => [w.crashes, w.restarts]), [[1, 1], [0, 1]], 'the kill is a crash, not a restart');
  t.same([doc['worker_crashes'], doc['worker_restarts']], [1, 2], 'totals');

  const last = await hold(inst, 4);
  t.teardown(() => { for (const ws of last.clients) ws.terminate(); });
  inst.cli.child.kill('SIGTERM');
  t.same([...new Set(await last.codes)], [1001], 'stopping the whole balancer is still 1001 (going away)');
  await inst.cli.exited;
});
