/** Scale-out: rebalancing long-lived tunnels onto a new server at a bounded rate; DNS discovery adding and removing servers. */

import t from 'tap';
import { once } from 'node:events';
import WebSocket from 'ws';
import { startEchoBackends } from '../helpers/backend.js';
import { startBalancer, startBalancerFromFile } from '../helpers/balancer.js';
import { waitFor } from '../helpers/wait.js';
import { startDnsServer } from '../helpers/dns-server.js';

t.test('600 clients on 2 servers, a third added: rebalanced within tolerance, never above the close rate', async (t) => {
  const [a, b1, c] = await startEchoBackends(3, 'x');
  t.teardown(() => Promise.all([a!.close(), b1!.close(), c!.close()]));
  const poolExtra = { rebalance: { tolerance: 1.25, max_closes_per_second: 40 } };
  const farm = (list: typeof a[]) => ({ algorithm: 'least-connections', servers: list.map((s) => ({ name: s!.name, url: s!.url })), pool: poolExtra });
  const { b, write } = await startBalancerFromFile(t, farm([a, b1]));
  const url = `ws://127.0.0.1:${b.proxyPort()}/`;
  const closes1012: number[] = [];
  let open = 0;
  let stopped = false;
  // A client that reconnects when the balancer asks it to (1012), like real apps do.
  const client = async (): Promise<void> => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    ws.on('error', () => {});
    ws.on('close', (code) => {
      open--;
      if (code === 1012) closes1012.push(Date.now());
      if (code === 1012 && !stopped) setTimeout(() => { if (!stopped) void client(); }, 10);
    });
    clients.push(ws);   // listed before it opens: the end of the test terminates reconnects still in flight too
    // A reconnect terminated by the end of the test never opens: not an error.
    if (await once(ws, 'open').then(() => true, () => stopped ? false : Promise.reject(new Error('a client failed to open')))) open++;
  };
  const clients: WebSocket[] = [];
  for (let i = 0; i < 600; i += 60) await Promise.all(Array.from({ length: 60 }, client));
  const pool = b.runtime.pools.get('p')!;
  t.same(pool.servers.map((s) => s.active), [300, 300]);

  write(farm([a, b1, c]));
  t.ok((await b.reload({})).ok, "third server added");
  const t0 = Date.now();
  const balanced = () => {
    const act = pool.servers.map((s) => s.active);
    const avg = act.reduce((x, y) => x + y, 0) / act.length;
    return act.every((n) => n <= 1.25 * avg) && act.reduce((x, y) => x + y, 0) === 600;
  };
  await waitFor(t, balanced, { ms: 15_000, what: () => `within tolerance after ${Date.now() - t0} ms: ${pool.servers.map((s) => s.active)}` });
  // ~100 closes needed at 40/s: a few seconds, and never a burst above the rate.
  const perSecond = new Map<number, number>();
  for (const at of closes1012) perSecond.set(Math.floor((at - t0) / 1000), (perSecond.get(Math.floor((at - t0) / 1000)) ?? 0) + 1);
  t.ok(Math.max(...perSecond.values()) <= 40 + 10, `largest 1 s bucket of rebalance closes: ${Math.max(...perSecond.values())} (rate 40/s, +1 tick of jitter)`);
  t.ok(closes1012.length >= 90 && closes1012.length <= 200, `${closes1012.length} tunnels moved`);
  t.equal(pool.rebalancer!.closes, closes1012.length, 'rebalance closes are counted');
  stopped = true;
  for (const ws of clients) ws.terminate();
  await waitFor(t, () => b.runtime.tunnels.size === 0, { what: () => `every tunnel gone after the clients left (${b.runtime.tunnels.size} open)` });
});

t.test('DNS discovery: servers join and leave with the records', async (t) => {
  const backends = await startEchoBackends(2, 'n');
  t.teardown(() => Promise.all(backends.map((s) => s.close())));
  // Both backends listen on 127.0.0.1 on different ports; discovery gives one port for all
  // addresses, so each backend is reached through its own loopback address on a shared port.
  const dns = await startDnsServer();
  t.teardown(() => dns.close());
  const { WebSocketServer } = await import('ws');
  const port = 40000 + Math.floor(Math.random() * 20000);
  const servers = await Promise.all(['127.0.0.2', '127.0.0.3'].map(async (host) => {
    const wss = new WebSocketServer({ host, port });
    await once(wss, 'listening');
    let n = 0;
    wss.on('connection', (ws) => { n++; ws.send(host); });
    return { host, wss, count: () => n };
  }));
  t.teardown(() => Promise.all(servers.map((s) => new Promise((r) => s.wss.close(r)))));
  dns.records.set('chat.test.local', ['127.0.0.2']);
  const b = await startBalancer(t, [
    'listeners: [{ port: 0, host: 127.0.0.1 }]',
    'admin: { port: 0 }',
    'log: { level: silent }',
    'pools:',
    `  p: { health: { check: none }, drain: 200ms, discover: { dns: chat.test.local, port: ${port}, refresh: 100ms, resolver: "127.0.0.1:${dns.port}" } }`,
    'routes: [{ pool: p }]',
  ].join('\n'));
  const pool = b.runtime.pools.get('p')!;
  await waitFor(t, () => pool.servers.length === 1, { what: 'first lookup applied' });
  const hello = async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${b.proxyPort()}/`, { perMessageDeflate: false });
    const [m] = await once(ws, 'message') as [Buffer];
    return { ws, host: m.toString() };
  };
  const first = await hello();
  t.equal(first.host, '127.0.0.2');

  const firstClosed = once(first.ws, 'close') as Promise<[number]>;   // listening before the drain can start
  dns.records.set('chat.test.local', ['127.0.0.3']);
  await waitFor(t, () => pool.servers.map((s) => s.name).join() === `127.0.0.3:${port}`, { what: 'record change applied' });
  const [code] = await firstClosed;
  t.equal(code, 1012, 'the tunnel to the vanished server was drained with 1012');
  const second = await hello();
  t.equal(second.host, '127.0.0.3', 'new clients reach the new address');
  second.ws.close();

  dns.records.delete('chat.test.local');
  await waitFor(t, () => pool.servers.length === 0, { what: 'an NXDOMAIN (the service has no members) empties the pool' });
  t.equal(pool.discovery!.lastError, null, 'not counted as a lookup failure');
});
