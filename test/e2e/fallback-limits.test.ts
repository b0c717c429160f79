/** Plain-HTTP exchanges in the accounting: held polls and SSE streams count against max_connections and in wslb_connections_*; idle keep-alive sockets do not. */

import t, { type Test } from 'tap';
import http, { type ClientRequest, type ServerResponse } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { startBalancer } from '../helpers/balancer.js';
import { waitFor } from '../helpers/wait.js';
import { echo, openWs } from '../helpers/hardening.js';
import { openSse, request } from '../http/sse-client.js';
import { parseProm, type Scrape } from '../metrics/prom-text.js';
import type { Balancer } from '../../src/main.js';

interface ComboBackend { readonly name: string; readonly url: string; readonly held: Set<ServerResponse>; requests: number }

/** One server for both kinds: `/hold` and `/sse` stay open until the client leaves, anything else answers `ok`; upgrades echo. */
async function startCombo(t: Test, name: string): Promise<ComboBackend> {
  const held = new Set<ServerResponse>();
  const server = http.createServer((req, res) => {
    b.requests++;
    if (req.url === '/sse') { res.writeHead(200, { 'Content-Type': 'text/event-stream' }); res.flushHeaders(); }
    if (req.url !== '/hold' && req.url !== '/sse') { res.end('ok'); return; }
    held.add(res);
    res.on('close', () => held.delete(res));
  });
  new WebSocketServer({ server }).on('connection', (ws) => ws.on('message', (d, binary) => ws.send(d, { binary })));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => { server.closeAllConnections(); server.close(); });
  const b: ComboBackend = { name, url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}`, held, requests: 0 };
  return b;
}

const scrape = async (b: Balancer): Promise<Scrape> => parseProm(await (await fetch(`http://127.0.0.1:${b.adminPort()}/metrics`)).text());

/** Polls the metrics until `cond` holds (or 5 s pass). */
async function untilScrape(b: Balancer, cond: (m: Scrape) => boolean): Promise<Scrape> {
  const end = Date.now() + 5000;
  let m = await scrape(b);
  while (!cond(m) && Date.now() < end) { await new Promise((r) => setTimeout(r, 20)); m = await scrape(b); }
  return m;
}

const hold = (port: number): ClientRequest => {
  const req = http.get({ host: '127.0.0.1', port, path: '/hold', agent: false });
  req.on('error', () => {});
  return req;
};

const series = { route: 'r', pool: 'p', server: 's1' };

t.test('max_connections: held polls and SSE streams take slots; a 4th request and a 4th upgrade get 503 OVER_CAPACITY', async (t) => {
  const s = await startCombo(t, 's1');
  const b = await startBalancer(t, { servers: [s], route: { http: true }, limits: { max_connections: 3 } });
  const port = b.proxyPort();
  const polls = [hold(port), hold(port)];
  const sse = await openSse(port, '/sse');
  await waitFor(t, () => s.held.size === 3, { what: 'three exchanges open on the server' });
  t.equal(b.runtime.connections, 3, '/status connections counts them');

  const m = await untilScrape(b, (x) => x.get('wslb_connections_active', series) === 3);
  t.equal(m.get('wslb_connections_active', series), 3, 'the gauge shows the open exchanges');
  t.equal(m.get('wslb_connections_total', series), 3);

  const before = s.requests;
  const r = await request(port, '/who');
  t.equal(r.status, 503, 'plain HTTP refused at the cap');
  t.equal(r.headers['x-wslb-error'], 'WSLB_ERR_OVER_CAPACITY');
  t.ok(Number(r.headers['retry-after']) >= 1, 'Retry-After');
  const up = await openWs(`ws://127.0.0.1:${port}/`).then(() => null, (e: { status: number; headers: Record<string, string> }) => e);
  t.equal(up?.status, r.status, 'the upgrade gets the same status');
  t.equal(up?.headers['x-wslb-error'], r.headers['x-wslb-error'], 'and the same code');
  t.equal(s.requests, before, 'no server contacted for either');

  polls[0]!.destroy();
  await waitFor(t, () => b.runtime.connections === 2 && s.held.size === 2, { what: 'a closed poll frees its slot' });
  const ws = await openWs(`ws://127.0.0.1:${port}/`);
  t.equal(await echo(ws, 'x'), 'x', 'an upgrade takes the freed slot');
  t.equal((await request(port, '/who')).status, 503, 'full again with the tunnel');
  ws.close();
  await waitFor(t, () => b.runtime.connections === 2, { what: 'the closed tunnel freed its slot' });
  t.equal((await request(port, '/who')).status, 200, 'a short request fits in the freed slot');

  polls[1]!.destroy();
  sse.req.destroy();
  await waitFor(t, () => b.runtime.connections === 0, { what: 'every slot released' });
  const after = await untilScrape(b, (x) => x.get('wslb_connections_active', series) === 0);
  t.equal(after.get('wslb_connections_active', series), 0, 'the gauge is back to 0');
  t.equal(after.get('wslb_connections_total', series), 5, 'total: 3 exchanges, 1 tunnel, 1 short request');
  t.equal(b.runtime.pools.get('p')!.servers[0]!.active, 0);
});

t.test('an idle keep-alive client connection holds no slot', async (t) => {
  const s = await startCombo(t, 's1');
  const b = await startBalancer(t, { servers: [s], route: { http: true }, limits: { max_connections: 2 } });
  const port = b.proxyPort();
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  t.teardown(() => agent.destroy());
  const got = await new Promise<number>((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: '/who', agent }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode ?? 0)); }).on('error', reject);
  });
  t.equal(got, 200);
  await waitFor(t, () => b.runtime.connections === 0, { what: 'the finished exchange released its slot' });
  t.equal(Object.values(agent.freeSockets).flat().length, 1, 'while its client connection stays open');
  const polls = [hold(port), hold(port)];
  await waitFor(t, () => s.held.size === 2, { what: 'both slots still free for held polls' });
  t.equal((await request(port, '/who')).status, 503);
  for (const p of polls) p.destroy();
  await waitFor(t, () => b.runtime.connections === 0, { what: 'every slot released' });
});

t.test('SSE streams in wslb_connections_* while open, per server, and out of the tunnel-only histogram', async (t) => {
  const s1 = await startCombo(t, 's1');
  const s2 = await startCombo(t, 's2');
  const b = await startBalancer(t, { algorithm: 'least-connections', servers: [s1, s2], route: { http: true } });
  const streams = [];
  for (let i = 0; i < 4; i++) streams.push(await openSse(b.proxyPort(), '/sse'));
  const two = { ...series, server: 's2' };
  const m = await untilScrape(b, (x) => x.get('wslb_connections_active', series) === 2 && x.get('wslb_connections_active', two) === 2);
  t.equal(m.get('wslb_connections_active', series), 2);
  t.equal(m.get('wslb_connections_active', two), 2);
  for (const c of streams) c.req.destroy();
  const after = await untilScrape(b, (x) => x.get('wslb_connections_active', series) === 0 && x.get('wslb_connections_active', two) === 0);
  t.equal(after.get('wslb_connections_active', series), 0);
  t.equal(after.get('wslb_connections_active', two), 0);
  t.equal(after.get('wslb_connections_total', series)! + after.get('wslb_connections_total', two)!, 4);
  t.equal(after.get('wslb_connection_duration_seconds_count', { route: 'r' }) ?? 0, 0, 'the duration histogram stays tunnel-only');
});
