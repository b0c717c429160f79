/** workers: 2 as real processes: connections arriving while a worker is killed get a 101 or a fast close, never a hang, and the primary keeps no descriptor for them. */

import t from 'tap';
import fs from 'node:fs';
import WebSocket from 'ws';
import { startChildServer } from '../helpers/server-process.js';
import { clusterYaml, startInstance, status, type Instance } from './helpers.js';
import { waitFor } from '../helpers/wait.js';

const BURSTS = 8;
const PER_BURST = 40;
/** Beyond this a client counts as hanging: well below the client's own handshake timeout, well above
 *  what a loaded machine makes of an upgrade or a fast close while a worker is replaced. */
const FAST_MS = 5000;
const CLIENT_TIMEOUT_MS = 10_000;

type Outcome = { kind: 'open' | 'closed' | 'hang'; ms: number };

function attempt(port: number): Promise<{ outcome: Outcome; ws: WebSocket }> {
  const started = Date.now();
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { handshakeTimeout: CLIENT_TIMEOUT_MS, perMessageDeflate: false });
  return new Promise((resolve) => {
    let done = false;
    const end = (kind: Outcome['kind']): void => {
      if (done) return;
      done = true;
      const ms = Date.now() - started;
      resolve({ outcome: { kind: ms > FAST_MS ? 'hang' : kind, ms }, ws });
    };
    ws.on('open', () => end('open'));
    ws.on('unexpected-response', (_req, res) => { res.resume(); end('closed'); });
    ws.on('error', () => end('closed'));
    ws.on('close', () => end('closed'));
  });
}

function fds(pid: number): number {
  return fs.readdirSync(`/proc/${pid}/fd`).length;
}

async function workers(inst: Instance): Promise<{ id: number; pid: number; ready: boolean }[]> {
  return (await status(inst.admin))['workers'] as { id: number; pid: number; ready: boolean }[];
}

t.test('connections handed to a worker as it is killed: a 101 or a fast close, no descriptor left in the primary', async (t) => {
  const backs = await Promise.all(['s1', 's2', 's3'].map((n) => startChildServer(t, n)));
  const inst = await startInstance(t, clusterYaml(backs.map((b) => ({ name: b.name, url: b.url })), { workers: 2 }), 2);
  const primary = inst.cli.child.pid!;
  const sockets: WebSocket[] = [];
  t.teardown(() => { for (const ws of sockets) ws.terminate(); });
  // Warm up both workers' paths, then read the primary's resting descriptor count.
  for (const { ws } of await Promise.all(Array.from({ length: 4 }, () => attempt(inst.proxy)))) ws.terminate();
  await new Promise((r) => setTimeout(r, 300));
  const baseline = fds(primary);

  const slow: Outcome[] = [];
  let opened = 0;
  let closed = 0;
  let slowestClose = 0;
  for (let burst = 0; burst < BURSTS; burst++) {
    const before = await workers(inst);
    const victim = before[burst % 2]!;
    const pending: Promise<{ outcome: Outcome; ws: WebSocket }>[] = [];
    for (let i = 0; i < PER_BURST; i++) {
      if (i === PER_BURST / 4) process.kill(victim.pid, 'SIGKILL');
      pending.push(attempt(inst.proxy));
      if (i % 4 === 3) await new Promise((r) => setTimeout(r, 1));
    }
    for (const { outcome, ws } of await Promise.all(pending)) {
      sockets.push(ws);
      if (outcome.kind === 'hang') slow.push(outcome);
      else if (outcome.kind === 'open') opened++;
      else { closed++; slowestClose = Math.max(slowestClose, outcome.ms); }
    }
    await waitFor(t, async () => {
      const now = await workers(inst);
      return now.every((w) => w.ready) && now.find((w) => w.id === victim.id)!.pid !== victim.pid;
    }, { ms: 15_000, what: `burst ${burst}: worker ${victim.id} replaced` });
  }
  t.comment(`${opened} upgraded, ${closed} closed fast (slowest ${slowestClose} ms), ${slow.length} hung (${slow.map((o) => o.ms).join(', ')} ms)`);
  t.comment(`primary: ${inst.cli.lines.filter((l) => l['msg'] === 'connection handed to a worker that died; closed').length} hand-offs to a dead worker closed`);
  t.same(slow, [], 'no client waits for its own timeout');
  for (const ws of sockets) ws.terminate();
  await waitFor(t, () => fds(primary) <= baseline, { ms: 5000, what: () => `the primary's descriptors return to ${baseline} (now ${fds(primary)})` });
});
