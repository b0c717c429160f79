/** workers: 2 as real processes: load polls run once per tree (the primary's), also after a reload, and their reports (load, staleness, drain) reach every worker. */

import t from 'tap';
import fs from 'node:fs';
import WebSocket from 'ws';
import { startLoadBackend } from '../helpers/load-backend.js';
import { clusterYaml, post, servers, startInstance, status } from './helpers.js';
import { waitFor } from '../helpers/wait.js';

interface WorkerDoc { connections: number; farm_view: Record<string, { bandwidth_bps: number; load: number; load_stale: boolean }> | null }
const workersOf = async (admin: number) => (await status(admin))['workers'] as WorkerDoc[];

t.test('load polls: once per tree at the single-process rate, before and after a reload; every worker sees the reports', async (t) => {
  const l1 = await startLoadBackend('l1', { load: { kind: 'json', body: 20 } });
  const l2 = await startLoadBackend('l2', { load: { kind: 'json', body: 80 } });
  t.teardown(() => Promise.all([l1.close(), l2.close()]));
  const cfg = (interval: string) => clusterYaml([l1, l2].map((b) => ({ name: b.name, url: b.url })), { workers: 2 },
    { algorithm: 'custom-load', load: { source: 'http', path: '/load', interval, stale_after: '5s' } });
  const inst = await startInstance(t, cfg('200ms'), 2);

  const seen = async (want: Record<string, number>) => {
    const ws = await workersOf(inst.admin);
    return ws.length === 2 && ws.every((w) => Object.entries(want).every(([n, load]) => w.farm_view?.[`p/${n}`]?.load === load && w.farm_view[`p/${n}`]!.load_stale === false));
  };
  await waitFor(t, () => seen({ l1: 0.2, l2: 0.8 }), { ms: 10_000, what: 'every worker has both reports' });
  t.same(servers(await status(inst.admin), 'load'), { l1: 0.2, l2: 0.8 }, '/status shows them');

  // Polls per backend over ~3 s: one poller (every 200 ms) makes ~15; one per process would make 45.
  const rate = async (intervalMs: number) => {
    const p0 = l1.loadPolls + l2.loadPolls;
    const t0 = Date.now();
    await new Promise((r) => setTimeout(r, 3000));
    const polls = (l1.loadPolls + l2.loadPolls - p0) / 2;
    return { polls, expected: (Date.now() - t0) / intervalMs };
  };
  const first = await rate(200);
  t.ok(first.polls >= 1 && first.polls <= first.expected * 1.4 + 2, `${first.polls} polls per server in ${Math.round(first.expected)} intervals`);

  // A reload that changes the load settings (a worker that polled for itself would start a new poller now).
  fs.writeFileSync(inst.file, cfg('250ms'));
  t.equal(await post(inst.admin, '/reload'), 200);
  l1.load = { kind: 'json', body: 50 };
  await waitFor(t, () => seen({ l1: 0.5, l2: 0.8 }), { ms: 10_000, what: 'reports still reach every worker after the reload' });
  const second = await rate(250);
  t.ok(second.polls >= 1 && second.polls <= second.expected * 1.4 + 2, `after reload: ${second.polls} polls per server in ${Math.round(second.expected)} intervals`);

  // An agent-style drain in a report drains the server in every worker: new clients all go to l1.
  l2.load = { kind: 'json', body: { cpu: 10, drain: true } };
  await waitFor(t, async () => servers(await status(inst.admin), 'state')['l2'] === 'draining', { ms: 10_000, what: 'the report\'s drain reaches the workers' });
  const h0 = l2.handshakes;
  const clients = await Promise.all(Array.from({ length: 10 }, async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${inst.proxy}/`, { perMessageDeflate: false });
    await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
    return ws;
  }));
  for (const ws of clients) ws.terminate();
  t.equal(l2.handshakes, h0, 'no new client reached the drained server');
});
