/** workers: 2 as real processes: /metrics counters never go down when a worker is killed or replaced, gauges follow the live workers, process_* series are the primary's own plus per-worker ones. */

import t, { type Test } from 'tap';
import { once } from 'node:events';
import fs from 'node:fs';
import WebSocket from 'ws';
import { connectNamed, startChildServer } from '../helpers/server-process.js';
import { clusterYaml, post, startInstance, status, type Instance } from './helpers.js';
import { waitFor } from '../helpers/wait.js';

async function tree(t: Test): Promise<Instance> {
  const backs = await Promise.all(['s1', 's2', 's3'].map((n) => startChildServer(t, n)));
  return startInstance(t, clusterYaml(backs.map((b) => ({ name: b.name, url: b.url })), { workers: 2 }), 2);
}

async function scrape(admin: number): Promise<string> {
  return (await fetch(`http://127.0.0.1:${admin}/metrics`)).text();
}

/** The sum of every series of `name` whose labels contain `match` (e.g. `code="1000"`). */
function total(text: string, name: string, match = ''): number {
  let n = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (match && !line.includes(match)) continue;
    n += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return n;
}

/** `count` clients connect, each closes with 1000, and the balancer has seen every close (its count is back where it was: other clients may be held). */
async function openAndClose(t: Test, inst: Instance, count: number): Promise<void> {
  const base = (await status(inst.admin))['connections'];
  const clients = await Promise.all(Array.from({ length: count }, () => connectNamed(inst.proxy).then(([ws]) => ws)));
  await Promise.all(clients.map(async (ws) => { ws.close(1000); await once(ws, 'close'); }));
  await waitFor(t, async () => (await status(inst.admin))['connections'] === base, { what: `the tree saw all ${count} closes (connections back to ${base})` });
}

const COUNTERS: [string, string][] = [
  ['wslb_connections_total', ''],
  ['wslb_closes_total', 'code="1000"'],
  ['wslb_connection_duration_seconds_count', ''],
  ['wslb_handshake_duration_seconds_bucket', 'le="+Inf"'],
];

function counters(text: string): number[] {
  return COUNTERS.map(([name, match]) => total(text, name, match));
}

t.test('counters survive a worker killed with SIGKILL; its gauges do not', async (t) => {
  const inst = await tree(t);
  await openAndClose(t, inst, 20);
  const held = await Promise.all(Array.from({ length: 6 }, () => connectNamed(inst.proxy).then(([ws]) => ws)));
  t.teardown(() => { for (const ws of held) ws.terminate(); });
  const before = await scrape(inst.admin);
  t.same(counters(before), [26, 20, 20, 26], 'every connection counted once');
  t.equal(total(before, 'wslb_connections_active'), 6);
  const victim = ((await status(inst.admin))['workers'] as { pid: number; connections: number }[]).find((w) => w.connections > 0)!;
  process.kill(victim.pid, 'SIGKILL');
  await inst.cli.waitFor((l) => l['msg'] === 'worker died; replacing it');
  const after = await scrape(inst.admin);
  const [conns, closes, durations, handshakes] = counters(after);
  t.equal(conns, 26, 'wslb_connections_total keeps the dead worker\'s count');
  t.equal(handshakes, 26, 'histogram buckets too');
  // The dead worker's tunnels closed with it: the survivor and the new worker count no close for them.
  t.equal(closes, 20, 'wslb_closes_total{code="1000"} keeps the dead worker\'s closes');
  t.equal(durations, 20);
  t.equal(total(after, 'wslb_connections_active'), 6 - victim.connections, 'the dead worker\'s active connections are gone');
  await waitFor(t, async () => ((await status(inst.admin))['workers'] as { ready: boolean }[]).every((w) => w.ready), { ms: 10_000, what: 'replaced' });
  await openAndClose(t, inst, 4);
  t.same(counters(await scrape(inst.admin)), [30, 24, 24, 30], 'new counts add on top');
});

t.test('a rolling restart keeps every count (workers report at their planned exit)', async (t) => {
  const inst = await tree(t);
  await openAndClose(t, inst, 10);
  // No scrape before the restart: the numbers come from the workers' periodic samples and final reports.
  t.equal(await post(inst.admin, '/workers/restart'), 202);
  await waitFor(t, async () => (await status(inst.admin))['restarting'] === false, { ms: 20_000, what: 'restart finished' });
  t.same(counters(await scrape(inst.admin)), [10, 10, 10, 10]);
});

t.test('process_* and nodejs_* series are the primary\'s, plus one set per worker labelled worker="N"', async (t) => {
  const inst = await tree(t);
  const text = await scrape(inst.admin);
  const fds = /^process_max_fds (\d+)$/m.exec(text);
  t.ok(fds, 'an unlabelled process_max_fds (the primary\'s)');
  const own = Number(fds?.[1]);
  const primaryPid = inst.cli.child.pid!;
  const limit = /^Max open files\s+(\d+)/m.exec(fs.readFileSync(`/proc/${primaryPid}/limits`, 'utf8'));
  t.equal(own, Number(limit?.[1]), 'the primary\'s own limit, not a sum over the processes');
  for (const w of ['1', '2']) t.match(text, new RegExp(`^process_max_fds\\{worker="${w}"\\} ${own}$`, 'm'), `worker ${w}'s own`);
  const start = /^process_start_time_seconds (\d+)$/m.exec(text);
  t.ok(start, 'the primary\'s start time');
  t.match(text, /^nodejs_heap_size_used_bytes \d+/m, 'the primary\'s heap');
});
