/** Test helper: the stop-signal sequence of a running wslb child (lone process or primary): grace with /healthz 503 and traffic still proxied, then the 1001 drain, exit 0. */

import type { Test } from 'tap';
import type WebSocket from 'ws';
import type { RunningCli } from './cli.js';
import { connectNamed } from './server-process.js';
import { waitFor } from './wait.js';

export interface GraceTarget { cli: RunningCli; proxy: number; admin: number }

async function get(admin: number, path: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${admin}${path}`);
  return { status: res.status, body: await res.text() };
}

/**
 * Sends SIGTERM to a target configured with `shutdown_grace: graceMs` and a short drain, and
 * checks the whole sequence: /healthz 503 at once, /status says so, old tunnels keep working
 * and `fresh` new clients are proxied during the grace; no close before the grace ends, then
 * every client gets 1001 and the process exits 0.
 */
export async function checkShutdownGrace(t: Test, x: GraceTarget, graceMs: number, fresh = 3): Promise<void> {
  const clients: WebSocket[] = [];
  t.teardown(() => { for (const c of clients) c.terminate(); });
  const closes: Promise<[number, number]>[] = [];
  const track = (ws: WebSocket): void => {
    clients.push(ws);
    closes.push(new Promise((r) => ws.on('close', (code) => r([code, Date.now()]))));
  };
  for (let i = 0; i < 3; i++) track((await connectNamed(x.proxy))[0]);
  t.equal((await get(x.admin, '/healthz')).status, 200, 'ready before the signal');

  const t0 = Date.now();
  x.cli.child.kill('SIGTERM');
  // "At once" is: well inside the grace, whatever the load on the machine (the checks below must fit in it too).
  await waitFor(t, async () => (await get(x.admin, '/healthz')).status === 503, { ms: graceMs / 2, what: '/healthz turns 503 at once' });
  const health = await get(x.admin, '/healthz');
  t.same(health, { status: 503, body: 'shutting down\n' });
  const status = JSON.parse((await get(x.admin, '/status')).body) as { draining: boolean; shutting_down: { phase: string; grace_ends_in_ms: number } | null };
  t.equal(status.draining, true, '/status says draining');
  t.equal(status.shutting_down?.phase, 'grace');
  const left = status.shutting_down?.grace_ends_in_ms ?? -1;
  t.ok(left > 0 && left <= graceMs, `grace_ends_in_ms counts down (${left} of ${graceMs})`);

  // The listeners still accept and proxy new clients, and old tunnels still carry data.
  for (let i = 0; i < fresh; i++) {
    const [ws, server] = await connectNamed(x.proxy);
    t.match(server, /^s\d$/, `new client ${i + 1} proxied during the grace`);
    track(ws);
  }
  const echoed = await new Promise<string>((resolve) => { clients[0]!.once('message', (d) => resolve(String(d))); clients[0]!.send('still here'); });
  t.equal(echoed, 'still here', 'an old tunnel still carries data');
  t.ok(Date.now() - t0 < graceMs, 'all of that happened inside the grace (the test is not too slow to mean anything)');
  t.equal(x.cli.child.exitCode, null, 'still running during the grace');

  const results = await Promise.all(closes);
  t.same(results.map(([c]) => c), Array(results.length).fill(1001), 'every client, old and new, got 1001');
  const first = Math.min(...results.map(([, at]) => at - t0));
  t.ok(first >= graceMs, `no close before the grace ended (first at ${first} ms, grace ${graceMs} ms)`);
  t.equal(await x.cli.exited, 0, 'exit 0 after the drain');
  t.ok(x.cli.lines.some((l) => l['msg'] === 'shutdown grace' && l['grace_ms'] === graceMs), 'the grace is logged');
}

/** A second SIGTERM during the grace aborts at once: exit 1. */
export async function checkSecondSignalAborts(t: Test, x: GraceTarget, graceMs: number): Promise<void> {
  const [ws] = await connectNamed(x.proxy);
  t.teardown(() => ws.terminate());
  const t0 = Date.now();
  x.cli.child.kill('SIGTERM');
  await x.cli.waitFor((l) => l['msg'] === 'shutdown grace');
  x.cli.child.kill('SIGTERM');
  t.equal(await x.cli.exited, 1, 'exit 1');
  // Ignoring the second signal would exit 0 after the whole grace and the drain.
  t.ok(Date.now() - t0 < graceMs, 'before the grace would have ended');
  t.ok(x.cli.lines.some((l) => l['msg'] === 'second signal: aborting'));
}
