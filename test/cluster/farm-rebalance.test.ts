/** Scale-out with workers: 2: rebalancing reads farm-wide counts; the farm closes about what a lone process closes, at about one process's rate. */

import t, { type Test } from 'tap';
import { once } from 'node:events';
import WebSocket from 'ws';
import { startChildServer } from '../helpers/server-process.js';
import { clusterYaml, post, servers, startInstance, status } from './helpers.js';
import { waitFor } from '../helpers/wait.js';

const CLIENTS = 120;
const RATE = 5;   // max_closes_per_second: low, so the farm-wide rate is measurable on a busy machine
const TOLERANCE = 1.25;

interface Outcome { closes: number; spanMs: number; final: Record<string, unknown> }

/** 120 reconnecting clients on s1 and s2 (s3 disabled), then s3 enabled: how many 1012 closes until the farm is within tolerance and quiet. */
async function scaleOut(t: Test, workers: number): Promise<Outcome> {
  const backs = await Promise.all(['s1', 's2', 's3'].map((n) => startChildServer(t, n)));
  const yaml = clusterYaml(backs.map((b) => ({ name: b.name, url: b.url })), workers > 1 ? { workers } : {},
    { rebalance: { tolerance: TOLERANCE, max_closes_per_second: RATE } });
  const inst = await startInstance(t, yaml, workers);
  t.equal(await post(inst.admin, '/pools/p/servers/s3/disable'), 204);
  const closes: number[] = [];
  const clients = new Set<WebSocket>();
  let stopped = false;
  t.teardown(() => { stopped = true; for (const c of clients) c.terminate(); });
  // A client that reconnects when the balancer asks it to (1012), as real apps do.
  const client = async (): Promise<void> => {
    const ws = new WebSocket(`ws://127.0.0.1:${inst.proxy}/`, { perMessageDeflate: false });
    ws.on('error', () => {});
    ws.on('close', (code) => {
      clients.delete(ws);
      if (code === 1012) closes.push(Date.now());
      if (code === 1012 && !stopped) setTimeout(() => void client(), 10);
    });
    await once(ws, 'open');
    clients.add(ws);
  };
  for (let i = 0; i < CLIENTS; i += 20) await Promise.all(Array.from({ length: 20 }, client));
  const active = async () => servers(await status(inst.admin)) as Record<string, number>;
  await waitFor(t, async () => { const a = await active(); return a['s1']! + a['s2']! === CLIENTS; }, { ms: 10_000, what: 'all on s1 and s2' });

  t.equal(await post(inst.admin, '/pools/p/servers/s3/enable'), 204);
  const within = async () => {
    const a = await active();
    const n = Object.values(a);
    const sum = n.reduce((x, y) => x + y, 0);
    return sum === CLIENTS && n.every((x) => x <= (TOLERANCE * sum) / n.length);
  };
  await waitFor(t, within, { ms: 60_000, what: `every server within ${TOLERANCE} x the average of ${CLIENTS} clients` });
  // Quiet: no close for 2 s (a process acting on a slightly old view of the others may close a few more).
  await waitFor(t, () => closes.length > 0 && Date.now() - closes[closes.length - 1]! > 2000, { ms: 20_000, what: 'quiet: no 1012 close for 2 s' });
  const final = await active();
  stopped = true;
  return { closes: closes.length, spanMs: closes.length ? closes[closes.length - 1]! - closes[0]! : 0, final };
}

/** Closes at no more than RATE/s, after at most one second of banked budget: n closes need (n - RATE) / RATE s at least (one more RATE of slack). */
const minSpanMs = (n: number) => Math.max(0, ((n - 2 * RATE) / RATE) * 1000);

t.test('2 workers close about what one process closes, at one process\'s rate', async (t) => {
  let lone: Outcome | null = null;
  await t.test('baseline: one process', async (t) => {
    const o = await scaleOut(t, 1);
    t.comment(`final: ${JSON.stringify(o.final)}`);
    t.ok(o.spanMs >= minSpanMs(o.closes), `${o.closes} closes over ${o.spanMs} ms`);
    lone = o;
  });
  await t.test('workers: 2', async (t) => {
    const o = await scaleOut(t, 2);
    t.comment(`final: ${JSON.stringify(o.final)}`);
    const base = (lone as Outcome | null)?.closes ?? 20;   // 60/60/0 -> 50/50/20 takes 20
    t.ok(o.closes >= 10 && o.closes <= base * 1.5 + 5, `${o.closes} closes farm-wide; one process: ${base}`);
    t.ok(o.spanMs >= minSpanMs(o.closes), `${o.closes} closes over ${o.spanMs} ms: the farm closes at about ${RATE}/s, not ${RATE}/s per worker`);
  });
});
