/** workers: 2 as real processes: farm-wide least-connections, a killed worker replaced without touching the other's tunnels, a rolling restart that refuses nothing. */

import t, { type Test } from 'tap';
import { once } from 'node:events';
import WebSocket from 'ws';
import { connectNamed, startChildServer } from '../helpers/server-process.js';
import { clusterYaml, post, servers, startInstance, status } from './helpers.js';
import { waitFor } from '../helpers/wait.js';

async function farm(t: Test) {
  return Promise.all(['s1', 's2', 's3'].map((n) => startChildServer(t, n)));
}

t.test('least-connections decides on farm-wide counts whichever worker accepted the client', async (t) => {
  const backs = await farm(t);
  const inst = await startInstance(t, clusterYaml(backs.map((b) => ({ name: b.name, url: b.url })), { workers: 2 }), 2);
  const clients: WebSocket[] = [];
  t.teardown(() => { for (const c of clients) c.terminate(); });
  const per: Record<string, number> = { s1: 0, s2: 0, s3: 0 };
  const farmCounts = async (): Promise<boolean> => {
    const ws = (await status(inst.admin))['workers'] as { farm_active: Record<string, number> }[];
    return ws.every((w) => w.farm_active['p/s1'] === per['s1'] && w.farm_active['p/s2'] === per['s2'] && w.farm_active['p/s3'] === per['s3']);
  };
  for (let i = 0; i < 300; i += 10) {
    const batch = await Promise.all(Array.from({ length: 10 }, () => connectNamed(inst.proxy)));
    for (const [ws, name] of batch) { clients.push(ws); per[name]!++; }
    // The next batch once both workers know this one's counts: the spread below then measures the
    // picks, not how far the counts' propagation fell behind on a loaded machine.
    if (!await farmCounts()) await waitFor(t, farmCounts, { ms: 10_000, what: `batch ${i / 10 + 1}: every worker has the farm-wide counts` });
  }
  for (const n of ['s1', 's2', 's3']) t.ok(per[n]! >= 95 && per[n]! <= 105, `${n} holds ${per[n]} of 300 (100 +-5%)`);
  const doc = await status(inst.admin);
  const workers = doc['workers'] as { connections: number; farm_active: Record<string, number> }[];
  t.ok(workers.every((w) => w.connections > 0), 'both workers accepted clients');
  t.same(servers(doc), per, '/status sums the workers');
  // Each worker's picks read the farm's numbers, not only its own.
  await waitFor(t, farmCounts, { ms: 10_000, what: 'every worker sees the farm-wide counts' });
  const metrics = await (await fetch(`http://127.0.0.1:${inst.admin}/metrics`)).text();
  const m = /wslb_connections_active\{route="r",pool="p",server="s1"\} (\d+)/.exec(metrics);
  t.equal(Number(m?.[1]), per['s1'], '/metrics aggregates the workers');
});

t.test('a killed worker is replaced; the other worker\'s tunnels stay open', async (t) => {
  const backs = await farm(t);
  const inst = await startInstance(t, clusterYaml(backs.map((b) => ({ name: b.name, url: b.url })), { workers: 2 }), 2);
  const clients = await Promise.all(Array.from({ length: 20 }, () => connectNamed(inst.proxy).then(([ws]) => ws)));
  t.teardown(() => { for (const c of clients) c.terminate(); });
  const before = (await status(inst.admin))['workers'] as { id: number; pid: number; connections: number }[];
  const victim = before[0]!;
  const survivor = before[1]!;
  t.ok(victim.connections > 0 && survivor.connections > 0, 'both workers hold tunnels');
  process.kill(victim.pid, 'SIGKILL');
  await inst.cli.waitFor((l) => l['msg'] === 'worker died; replacing it');
  await waitFor(t, async () => {
    const w = ((await status(inst.admin))['workers'] as { id: number; pid: number; ready: boolean }[]).find((x) => x.id === victim.id)!;
    return w.ready && w.pid !== victim.pid;
  }, { ms: 10_000, what: 'the slot has a new worker' });
  await new Promise((r) => setTimeout(r, 200));
  const open = clients.filter((c) => c.readyState === WebSocket.OPEN);
  t.equal(open.length, survivor.connections, 'exactly the survivor\'s tunnels are still open');
  for (const ws of open) {
    ws.send('still here');
    const [data] = (await once(ws, 'message')) as [Buffer];
    t.equal(data.toString(), 'still here');
  }
  const [fresh] = await connectNamed(inst.proxy);
  fresh.terminate();
  t.pass('new clients are served');
});

t.test('POST /workers/restart replaces every worker one at a time without refusing a connection', async (t) => {
  const backs = await farm(t);
  const inst = await startInstance(t, clusterYaml(backs.map((b) => ({ name: b.name, url: b.url })), { workers: 2 }), 2);
  const before = ((await status(inst.admin))['workers'] as { pid: number }[]).map((w) => w.pid);
  let ok = 0;
  let refused = 0;
  const errors = new Set<string>();
  let running = true;
  const loop = async (): Promise<void> => {
    while (running) {
      try {
        const [ws] = await connectNamed(inst.proxy);
        ok++;
        ws.close();
      } catch (err) {
        errors.add((err as Error).message);
        refused++;
      }
    }
  };
  const loops = Array.from({ length: 4 }, loop);
  await new Promise((r) => setTimeout(r, 200));
  t.equal(await post(inst.admin, '/workers/restart'), 202);
  t.equal(await post(inst.admin, '/workers/restart'), 409, 'one rolling restart at a time');
  await waitFor(t, async () => {
    const doc = await status(inst.admin);
    const pids = (doc['workers'] as { pid: number; ready: boolean }[]);
    return doc['restarting'] === false && pids.every((w) => w.ready && !before.includes(w.pid));
  }, { ms: 60_000, what: 'every worker was replaced' });   // two process starts while four clients hammer the tree, on a loaded machine
  running = false;
  await Promise.all(loops);
  t.ok(ok > 20, `${ok} connections during the restart`);
  t.equal(refused, 0, `none refused ${[...errors].join('; ')}`);
});
