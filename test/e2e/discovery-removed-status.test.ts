/** A server DNS discovery removed while it still holds tunnels stays in /status (state draining, removed) and /metrics until its last tunnel ends, then leaves both. */

import t from 'tap';
import { once } from 'node:events';
import WebSocket, { WebSocketServer } from 'ws';
import type { Balancer } from '../../src/main.js';
import { startBalancer } from '../helpers/balancer.js';
import { startDnsServer } from '../helpers/dns-server.js';
import { parseProm } from '../metrics/prom-text.js';
import { waitFor } from '../helpers/wait.js';

interface ServerDoc { name: string; state: string; reason: string | null; active: number; removed?: boolean }
interface StatusDoc { connections: number; pools: Record<string, { servers: ServerDoc[] }> }

const STATES = ['up', 'down', 'draining', 'disabled', 'ejected'];

async function status(b: Balancer): Promise<StatusDoc> {
  return (await (await fetch(`http://127.0.0.1:${b.adminPort()}/status`)).json()) as StatusDoc;
}

async function metrics(b: Balancer): Promise<string> {
  return (await fetch(`http://127.0.0.1:${b.adminPort()}/metrics`)).text();
}

function listen(host: string, port: number): Promise<WebSocketServer> {
  return new Promise((resolve, reject) => {
    const wss = new WebSocketServer({ host, port });
    wss.once('listening', () => resolve(wss));
    wss.once('error', reject);
  });
}

/**
 * Two ws servers on 127.0.0.2 and 127.0.0.3 sharing one port (discovery gives one port for every
 * address): the first takes a free port, the second binds the same one; a port taken on the
 * second address is given up and another tried. Each greets a client with its address.
 */
async function serversOnSharedPort(): Promise<{ port: number; servers: WebSocketServer[] }> {
  for (let attempt = 0; ; attempt++) {
    const first = await listen('127.0.0.2', 0);
    const port = (first.address() as { port: number }).port;
    try {
      const second = await listen('127.0.0.3', port);
      for (const [wss, host] of [[first, '127.0.0.2'], [second, '127.0.0.3']] as const) wss.on('connection', (ws) => ws.send(host));
      return { port, servers: [first, second] };
    } catch (err) {
      await new Promise((r) => first.close(r));
      if (attempt >= 20) throw err;
    }
  }
}

t.test('a server discovery removed: listed as draining until its last tunnel ends, then gone from /status and /metrics', async (t) => {
  const dns = await startDnsServer();
  t.teardown(() => dns.close());
  const { port, servers } = await serversOnSharedPort();
  t.teardown(() => Promise.all(servers.map((s) => new Promise((r) => s.close(r)))));
  dns.records.set('chat.test.local', ['127.0.0.2', '127.0.0.3']);
  // drain 20s over the removed server's 4 tunnels: one closed with 1012 at once, the next ones
  // 5 s apart, so the checks below run while the test, not the drain, decides which tunnels end.
  const b = await startBalancer(t, [
    'listeners: [{ port: 0, host: 127.0.0.1 }]',
    'admin: { port: 0, host: 127.0.0.1 }',
    'log: { level: silent }',
    'limits: { handshakes_per_ip: 1000000/s, max_connections_per_ip: 1000000 }',
    'pools:',
    `  p: { algorithm: round-robin, health: { check: none }, drain: 20s, discover: { dns: chat.test.local, port: ${port}, refresh: 100ms, resolver: "127.0.0.1:${dns.port}" } }`,
    'routes: [{ name: r, pool: p }]',
  ].join('\n'));
  const pool = b.runtime.pools.get('p')!;
  const kept = `127.0.0.2:${port}`;
  const gone = `127.0.0.3:${port}`;
  await waitFor(t, () => pool.servers.length === 2, { ms: 10_000, what: 'both addresses discovered' });

  const clients: WebSocket[] = [];
  t.teardown(() => { for (const ws of clients) ws.terminate(); });
  const on = new Map<string, WebSocket[]>([['127.0.0.2', []], ['127.0.0.3', []]]);
  for (let i = 0; i < 8; i++) {
    const ws = new WebSocket(`ws://127.0.0.1:${b.proxyPort()}/`, { perMessageDeflate: false });
    ws.on('error', () => {});
    clients.push(ws);
    const [greeting] = await once(ws, 'message') as [Buffer];
    on.get(greeting.toString())!.push(ws);
  }
  t.same([...on.values()].map((l) => l.length), [4, 4], 'round robin put 4 tunnels on each address');
  const doomed = on.get('127.0.0.3')!;   // in the order they opened, the order the drain closes them
  const firstClosed = once(doomed[0]!, 'close') as Promise<[number]>;   // listening before the drain can start

  dns.records.set('chat.test.local', ['127.0.0.2']);
  await waitFor(t, () => pool.servers.map((s) => s.name).join() === kept, { ms: 10_000, what: 'the removal applied' });
  t.equal((await firstClosed)[0], 1012, 'the drain closed the oldest tunnel with 1012 at once');

  const doc = await status(b);
  const listed = Object.values(doc.pools).flatMap((p) => p.servers);
  t.equal(listed.reduce((n, s) => n + s.active, 0), doc.connections, 'the listed servers hold every connection /status counts');
  t.match(doc.pools['p']!.servers, [
    { name: kept, state: 'up', reason: null, active: 4 },
    { name: gone, state: 'draining', reason: 'removed by discovery', removed: true },
  ], 'the removed server stays under its pool, after the members');
  t.equal(doc.pools['p']!.servers.length, 2);
  t.notOk('removed' in doc.pools['p']!.servers[0]!, 'members carry no removed flag');
  t.ok(doc.pools['p']!.servers[1]!.active >= 1, `the removed server still holds tunnels: ${doc.pools['p']!.servers[1]!.active}`);
  let m = parseProm(await metrics(b));
  t.ok(m.get('wslb_connections_active', { route: 'r', pool: 'p', server: gone })! >= 1, 'its tunnels still in /metrics');
  for (const state of STATES) t.equal(m.get('wslb_server_state', { pool: 'p', server: gone, state }), state === 'draining' ? 1 : 0, `its server state ${state}`);

  // The clients end all but the newest of its tunnels: still listed while that one is open.
  for (const ws of doomed.slice(1, 3)) ws.close(1000);
  const retired = [...pool.retired][0]!;
  t.equal(retired.name, gone, 'the pool keeps it in its retired set');
  await waitFor(t, () => retired.active === 1, { ms: 10_000, what: () => `one tunnel left on the removed server (${retired.active})` });
  const one = await status(b);
  t.match(one.pools['p']!.servers, [{ name: kept, active: 4 }, { name: gone, state: 'draining', reason: 'removed by discovery', removed: true, active: 1 }], 'listed while its last tunnel is open');
  m = parseProm(await metrics(b));
  t.equal(m.get('wslb_connections_active', { route: 'r', pool: 'p', server: gone }), 1, 'in /metrics too');

  doomed[3]!.close(1000);
  await waitFor(t, () => pool.retired.size === 0, { ms: 30_000, what: 'the retired set empties once its last tunnel ended' });
  const after = await status(b);
  t.same(after.pools['p']!.servers.map((s) => s.name), [kept], 'the removed server left /status');
  t.equal(after.connections, 4);
  const text = await metrics(b);
  t.notMatch(text, `server="${gone}"`, 'and /metrics');
  t.match(text, `server="${kept}"`, 'the member stays in /metrics');
  t.equal(pool.discovery!.lastError, null, 'no lookup failed');
});
