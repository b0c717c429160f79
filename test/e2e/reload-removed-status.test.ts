/** A server or pool a reload removed stays in /status (state draining) and /metrics while its tunnels drain, then leaves both. */

import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import WebSocket from 'ws';
import { stringify } from 'yaml';
import { loadConfigFile } from '../../src/config/load.js';
import { createLogger } from '../../src/log.js';
import { Balancer } from '../../src/main.js';
import { startEchoBackends, type EchoBackend } from '../helpers/backend.js';
import { waitFor } from '../helpers/wait.js';

interface ServerDoc { name: string; state: string; reason: string | null; active: number; removed?: boolean }
interface StatusDoc { connections: number; pools: Record<string, { servers: ServerDoc[] }> }

function yaml(p: EchoBackend[], q: EchoBackend[] | null): string {
  const pool = (servers: EchoBackend[]) => ({
    // 6 s: /status and /metrics are read while the removed members still hold most of their tunnels
    // (7 spread over the window: 5 left for 1.7 s); at 1.5 s a loaded machine read them after that.
    algorithm: 'round-robin', drain: '6s', health: { check: 'none' },
    servers: servers.map((s) => ({ name: s.name, url: s.url })),
  });
  return stringify({
    listeners: [{ port: 0, host: '127.0.0.1' }],
    admin: { port: 0, host: '127.0.0.1' },
    log: { level: 'silent' },
    limits: { handshakes_per_ip: '1000000/s', max_connections_per_ip: 1000000 },
    pools: { p: pool(p), ...(q ? { q: pool(q) } : {}) },
    routes: [{ name: 'rp', match: { path: '/p' }, pool: 'p' }, ...(q ? [{ name: 'rq', match: { path: '/q' }, pool: 'q' }] : [])],
  });
}

async function status(b: Balancer): Promise<StatusDoc> {
  return (await (await fetch(`http://127.0.0.1:${b.adminPort()}/status`)).json()) as StatusDoc;
}

async function metrics(b: Balancer): Promise<string> {
  return (await fetch(`http://127.0.0.1:${b.adminPort()}/metrics`)).text();
}

async function open(port: number, p: string, n: number, into: WebSocket[]): Promise<void> {
  for (let i = 0; i < n; i++) {
    const ws = new WebSocket(`ws://127.0.0.1:${port}${p}`, { perMessageDeflate: false });
    ws.on('error', () => {});
    into.push(ws);
    await once(ws, 'open');
  }
}

t.test('removed server and removed pool: listed as draining until their last tunnel ends', async (t) => {
  const [a, b, c] = await startEchoBackends(3, 's');
  t.teardown(() => Promise.all([a, b, c].map((s) => s!.close())));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wslb-removed-'));
  const file = path.join(dir, 'balancer.yaml');
  fs.writeFileSync(file, yaml([a!, b!], [c!]));
  const bal = new Balancer(loadConfigFile(file, {}), createLogger('silent'));
  await bal.start();
  const clients: WebSocket[] = [];
  t.teardown(() => { for (const ws of clients) ws.terminate(); bal.destroy(); fs.rmSync(dir, { recursive: true, force: true }); });
  await open(bal.proxyPort(), '/p', 14, clients);   // 7 on each of s-1, s-2
  await open(bal.proxyPort(), '/q', 5, clients);

  fs.writeFileSync(file, yaml([a!], null));
  t.ok((await bal.reload({})).ok);
  const doc = await status(bal);
  const listed = Object.values(doc.pools).flatMap((p) => p.servers);
  t.equal(listed.reduce((n, s) => n + s.active, 0), doc.connections, 'the listed servers hold every connection /status counts');
  t.match(doc.pools['p']!.servers, [
    { name: a!.name, state: 'up', active: 7 },
    { name: b!.name, state: 'draining', reason: 'removed by reload', removed: true },
  ], 'the removed server stays under its pool');
  t.notOk('removed' in doc.pools['p']!.servers[0]!, 'members carry no removed flag');
  t.ok(doc.pools['p']!.servers[1]!.active >= 5, `the removed server still holds tunnels: ${doc.pools['p']!.servers[1]!.active}`);
  t.match(doc.pools['q'], { servers: [{ name: c!.name, state: 'draining', reason: 'removed by reload', removed: true }] }, 'the removed pool stays listed');
  t.ok(doc.pools['q']!.servers[0]!.active >= 3);
  t.match(await metrics(bal), new RegExp(`wslb_connections_active\\{route="rq",pool="q",server="${c!.name}"\\} [1-9]`), 'its tunnels still in /metrics');
  t.match(await metrics(bal), new RegExp(`wslb_bytes_total\\{pool="q",server="${c!.name}",direction="upstream"\\}`), 'with its server series');

  await waitFor(t, () => bal.runtime.tunnels.size === 7, { ms: 15_000, what: 'the drains end' });
  await waitFor(t, () => bal.runtime.retired.pools.size === 0 && bal.runtime.pools.get('p')!.retired.size === 0, { ms: 10_000, what: 'retired sets empty' });
  const after = await status(bal);
  t.same(Object.keys(after.pools), ['p'], 'the removed pool left /status');
  t.same(after.pools['p']!.servers.map((s) => s.name), [a!.name], 'so did the removed server');
  t.equal(after.connections, 7);
  const text = await metrics(bal);
  t.notMatch(text, `server="${b!.name}"`, 'and /metrics');
  t.notMatch(text, `server="${c!.name}"`);
});
