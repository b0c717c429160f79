/** workers: 2 as real processes: every worker runs the config the primary runs, never the file on disk (broken, edited or not reloaded yet), and a worker that cannot apply a reload is replaced. */

import t, { type Test } from 'tap';
import fs from 'node:fs';
import { parse, stringify } from 'yaml';
import type WebSocket from 'ws';
import { connectNamed, startChildServer, type ChildServer } from '../helpers/server-process.js';
import { clusterYaml, post, startInstance, status, type Instance } from './helpers.js';
import { waitFor } from '../helpers/wait.js';

/** Enough sequential clients that the primary's round-robin hands some to every worker. */
const CLIENTS = 12;

type WorkerRow = { id: number; pid: number; ready: boolean; connections: number | null };

async function workers(inst: Instance): Promise<WorkerRow[]> {
  return (await status(inst.admin))['workers'] as WorkerRow[];
}

/** s1 and s2 run; the config names only s1. */
async function setup(t: Test): Promise<{ inst: Instance; s2: ChildServer; yaml: string }> {
  const [s1, s2] = await Promise.all(['s1', 's2'].map((n) => startChildServer(t, n)));
  const yaml = clusterYaml([{ name: 's1', url: s1!.url }], { workers: 2 });
  return { inst: await startInstance(t, yaml, 2), s2: s2!, yaml };
}

/** The same config with s2 as the only server (and `extra` keys on top). */
function edited(yaml: string, s2: ChildServer, extra: Record<string, unknown> = {}): string {
  const doc = parse(yaml) as { pools: { p: { servers: unknown[] } } } & Record<string, unknown>;
  doc.pools.p.servers = [{ name: 's2', url: s2.url }];
  return stringify({ ...doc, ...extra });
}

/** Connects CLIENTS clients (held open until the test ends); the servers that greeted them, and how many each worker holds. */
async function route(t: Test, inst: Instance): Promise<{ names: Set<string>; perWorker: (number | null)[] }> {
  const held: WebSocket[] = [];
  t.teardown(() => { for (const ws of held) ws.terminate(); });
  const names = new Set<string>();
  for (let i = 0; i < CLIENTS; i++) {
    const [ws, name] = await connectNamed(inst.proxy);
    held.push(ws);
    names.add(name);
  }
  let perWorker: (number | null)[] = [];
  await waitFor(t, async () => {
    perWorker = (await workers(inst)).map((w) => w.connections);
    return perWorker.reduce<number>((n, c) => n + (c ?? 0), 0) === CLIENTS;
  }, { ms: 5000, what: `/status counts the ${CLIENTS} clients` });
  return { names, perWorker };
}

async function killAndAwaitReplacement(t: Test, inst: Instance): Promise<void> {
  const victim = (await workers(inst))[0]!;
  process.kill(victim.pid, 'SIGKILL');
  await waitFor(t, async () => {
    const now = await workers(inst);
    return now.length === 2 && now.every((w) => w.ready) && now[0]!.pid !== victim.pid;
  }, { ms: 15_000, what: 'the killed worker was replaced and is ready' });
}

t.test('a worker replaced while the file is invalid (never reloaded) starts with the running config', async (t) => {
  const { inst } = await setup(t);
  fs.writeFileSync(inst.file, 'pools: [not: a mapping\n');
  await killAndAwaitReplacement(t, inst);
  const { names, perWorker } = await route(t, inst);
  t.same([...names], ['s1'], 'every client reaches s1');
  t.ok(perWorker.every((c) => (c ?? 0) > 0), `both workers serve (${perWorker.join(', ')})`);
});

t.test('a worker replaced after the file was edited but not reloaded routes like the others', async (t) => {
  const { inst, s2, yaml } = await setup(t);
  fs.writeFileSync(inst.file, edited(yaml, s2));
  await killAndAwaitReplacement(t, inst);
  const { names, perWorker } = await route(t, inst);
  t.same([...names], ['s1'], 'no client reaches s2, which only the unreloaded file names');
  t.ok(perWorker.every((c) => (c ?? 0) > 0), `both workers serve (${perWorker.join(', ')})`);
});

t.test('a rolling restart after an edit saying `workers: 1` (not reloaded) keeps the running config and the tree', async (t) => {
  const { inst, s2, yaml } = await setup(t);
  const before = (await workers(inst)).map((w) => w.pid);
  fs.writeFileSync(inst.file, edited(yaml, s2, { workers: 1 }));
  t.equal(await post(inst.admin, '/workers/restart'), 202);
  await waitFor(t, async () => {
    const doc = await status(inst.admin);
    const now = doc['workers'] as WorkerRow[];
    return doc['restarting'] === false && now.length === 2 && now.every((w) => w.ready && !before.includes(w.pid));
  }, { ms: 20_000, what: 'both workers replaced and ready' });
  const { names, perWorker } = await route(t, inst);
  t.same([...names], ['s1'], 'the new workers route with the running config');
  t.ok(perWorker.every((c) => (c ?? 0) > 0), `both new workers serve (${perWorker.join(', ')})`);
  t.notOk(inst.cli.lines.some((l) => l['msg'] === 'listening' && l['kind'] === 'admin' && l['worker'] !== undefined), 'no worker opened an admin listener');
});

t.test('a reload one worker does not answer: the result says so and that worker is replaced by one running the new config', async (t) => {
  const { inst, s2, yaml } = await setup(t);
  const stuck = (await workers(inst))[1]!;
  t.teardown(() => { try { process.kill(stuck.pid, 'SIGCONT'); } catch { /* gone already */ } });
  fs.writeFileSync(inst.file, edited(yaml, s2));
  process.kill(stuck.pid, 'SIGSTOP');
  const res = await fetch(`http://127.0.0.1:${inst.admin}/reload`, { method: 'POST' });
  const body = (await res.json()) as { error: { errors?: string[] } };
  t.equal(res.status, 400);
  t.match(body.error.errors ?? [], [/^worker 2: "no answer"/, /new config is in force: worker\(s\) 1 applied it; worker\(s\) 2 are being replaced/]);
  await waitFor(t, async () => {
    const now = await workers(inst);
    return now.length === 2 && now.every((w) => w.ready) && now[1]!.pid !== stuck.pid;
  }, { ms: 20_000, what: 'the stuck worker was replaced' });
  // A stopped worker cannot drain: it is killed `timeouts.drain` + 5 s after its replacement listens; until then the primary may still hand it clients.
  await waitFor(t, () => inst.cli.lines.some((l) => l['msg'] === 'worker replaced: old worker draining' && l['old_pid'] === stuck.pid), { ms: 5000, what: 'the replacement logged' });
  await waitFor(t, () => { try { process.kill(stuck.pid, 0); return false; } catch { return true; } }, { ms: 10_000, what: 'the stuck worker is gone' });
  const { names, perWorker } = await route(t, inst);
  t.same([...names], ['s2'], 'every worker runs the reloaded config');
  t.ok(perWorker.every((c) => (c ?? 0) > 0), `both workers serve (${perWorker.join(', ')})`);
});
