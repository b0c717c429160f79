/** /metrics after known traffic through a real balancer: every documented name and label set, exact counts, per-balancer registries. */

import t from 'tap';
import { once } from 'node:events';
import net from 'node:net';
import WebSocket from 'ws';
import { startEchoBackends } from '../helpers/backend.js';
import { startBalancer } from '../helpers/balancer.js';
import { waitFor } from '../helpers/wait.js';
import { upgradeRequest } from '../helpers/raw-client.js';
import { parseProm, type Scrape } from './prom-text.js';
import type { Balancer } from '../../src/main.js';

const open = async (port: number, path = '/ws/x'): Promise<WebSocket> => {
  const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, { perMessageDeflate: false });
  await once(ws, 'open');
  return ws;
};

const scrape = async (b: Balancer): Promise<Scrape> => {
  const res = await fetch(`http://127.0.0.1:${b.adminPort()}/metrics`);
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  if (!/^text\/plain; version=0\.0\.4/.test(res.headers.get('content-type') ?? '')) throw new Error('not Prometheus text');
  return parseProm(await res.text());
};

/** A raw request line + headers, answered and closed by the balancer. */
const raw = async (port: number, request: string): Promise<string> => {
  const sock = net.connect(port, '127.0.0.1');
  sock.write(request);
  let out = '';
  sock.on('data', (d: Buffer) => { out += d.toString('latin1'); });
  await once(sock, 'close');
  return out;
};

t.test('documented metric names, types and label sets', async (t) => {
  const backends = await startEchoBackends(1, 'n');
  t.teardown(() => Promise.all(backends.map((b) => b.close())));
  const b = await startBalancer(t, { servers: [{ name: 'n-1', url: backends[0]!.url }] });
  const ws = await open(b.proxyPort(), '/');
  ws.close(1000);
  await once(ws, 'close');
  await waitFor(t, () => b.runtime.tunnels.size === 0, { what: 'the tunnel is gone' });
  await raw(b.proxyPort(), 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  const m = await scrape(b);
  const expected: [string, string, string[]][] = [
    ['wslb_connections_active', 'gauge', ['pool', 'route', 'server']],
    ['wslb_connections_total', 'counter', ['pool', 'route', 'server']],
    ['wslb_handshake_failures_total', 'counter', ['reason', 'route']],
    ['wslb_handshake_duration_seconds', 'histogram', ['route']],
    ['wslb_connection_duration_seconds', 'histogram', ['route']],
    ['wslb_bytes_total', 'counter', ['direction', 'pool', 'server']],
    ['wslb_messages_total', 'counter', ['direction', 'pool', 'server']],
    ['wslb_closes_total', 'counter', ['code', 'pool']],
    ['wslb_server_up', 'gauge', ['pool', 'server']],
    ['wslb_server_rtt_seconds', 'gauge', ['pool', 'server']],
    ['wslb_server_load', 'gauge', ['pool', 'server']],
    ['wslb_config_reloads_total', 'counter', ['result']],
  ];
  for (const [name, type, labels] of expected) {
    t.equal(m.types.get(name), type, `${name} is a ${type}`);
    const series = type === 'histogram' ? m.series(`${name}_count`) : m.series(name);
    t.ok(series.length > 0, `${name} has series`);
    for (const s of series) t.same(Object.keys(s.labels).sort(), labels, `${name} labels`);
  }
  // Default process and runtime metrics come along.
  t.ok(m.get('process_cpu_user_seconds_total') !== undefined, 'process metrics');
  t.ok(m.series('nodejs_heap_size_total_bytes').length > 0, 'nodejs runtime metrics');
});

t.test('exact values after known traffic', async (t) => {
  const backends = await startEchoBackends(2, 'e');
  t.teardown(() => Promise.all(backends.map((b) => b.close())));
  const b = await startBalancer(t, {
    servers: backends.map((be) => ({ name: be.name, url: be.url })),
    route: { match: { path: '/ws' } },
  });
  const port = b.proxyPort();

  // 3 tunnels; each sends two 10-byte binary messages, gets both echoed, then closes with 1000.
  const clients = [await open(port), await open(port), await open(port)];
  for (const ws of clients) {
    for (let i = 0; i < 2; i++) {
      ws.send(Buffer.alloc(10, i));
      await once(ws, 'message');
    }
  }
  let m = await scrape(b);
  const perServer = backends.map((be) => be.connections);
  t.same(perServer.reduce((a, n) => a + n, 0), 3);
  for (const be of backends) {
    const labels = { route: 'r', pool: 'p', server: be.name };
    t.equal(m.get('wslb_connections_active', labels), be.connections, `active on ${be.name}`);
    t.equal(m.get('wslb_connections_total', labels), be.connections, `total on ${be.name}`);
  }
  for (const ws of clients) { ws.close(1000); await once(ws, 'close'); }
  await waitFor(t, () => b.runtime.tunnels.size === 0, { what: 'all tunnels gone' });

  // Refusals: no route (route ""), not a WebSocket on route r, wrong version on route r.
  t.match(await raw(port, 'GET /other HTTP/1.1\r\nHost: x\r\n\r\n'), /^HTTP\/1\.1 404/);
  t.match(await raw(port, 'GET /ws HTTP/1.1\r\nHost: x\r\n\r\n'), /^HTTP\/1\.1 426/);
  t.match(await raw(port, upgradeRequest('/ws/v').replace('Sec-WebSocket-Version: 13', 'Sec-WebSocket-Version: 8')), /^HTTP\/1\.1 426/);
  t.match(await raw(port, 'GET /other HTTP/1.1\r\nHost: x\r\n\r\n'), /^HTTP\/1\.1 404/);

  m = await scrape(b);
  for (const be of backends) {
    const labels = { route: 'r', pool: 'p', server: be.name };
    const n = be.connections;
    t.equal(m.get('wslb_connections_active', labels), 0, `no active on ${be.name}`);
    t.equal(m.get('wslb_connections_total', labels), n, `total on ${be.name}`);
    // Client frames: 2 + 4 (mask) + 10 bytes each, close 2 + 4 + 2; server frames: 2 + 10, close 2 + 2.
    t.equal(m.get('wslb_bytes_total', { pool: 'p', server: be.name, direction: 'upstream' }), n * (2 * 16 + 8), `bytes up ${be.name}`);
    t.equal(m.get('wslb_bytes_total', { pool: 'p', server: be.name, direction: 'downstream' }), n * (2 * 12 + 4), `bytes down ${be.name}`);
    t.equal(m.get('wslb_messages_total', { pool: 'p', server: be.name, direction: 'upstream' }), n * 2);
    t.equal(m.get('wslb_messages_total', { pool: 'p', server: be.name, direction: 'downstream' }), n * 2);
    t.equal(m.get('wslb_server_up', { pool: 'p', server: be.name }), 1);
    const server = b.runtime.pools.get('p')!.server(be.name)!;
    t.equal(m.get('wslb_server_rtt_seconds', { pool: 'p', server: be.name }), server.rtt / 1000, 'rtt from the server field, in seconds');
    t.equal(m.get('wslb_server_load', { pool: 'p', server: be.name }), server.load);
  }
  t.equal(m.get('wslb_closes_total', { pool: 'p', code: '1000' }), 3);
  t.same(m.series('wslb_closes_total').length, 1, 'one close code seen');
  t.equal(m.get('wslb_handshake_duration_seconds_count', { route: 'r' }), 3);
  t.equal(m.get('wslb_handshake_duration_seconds_bucket', { route: 'r', le: '+Inf' }), 3);
  t.equal(m.get('wslb_connection_duration_seconds_count', { route: 'r' }), 3);
  t.ok(m.get('wslb_connection_duration_seconds_sum', { route: 'r' })! > 0, 'durations summed');
  t.equal(m.get('wslb_handshake_failures_total', { route: '', reason: 'WSLB_ERR_NO_ROUTE' }), 2);
  t.equal(m.get('wslb_handshake_failures_total', { route: 'r', reason: 'WSLB_ERR_NOT_WEBSOCKET' }), 1);
  t.equal(m.get('wslb_handshake_failures_total', { route: 'r', reason: 'WSLB_ERR_BAD_WS_VERSION' }), 1);
  t.equal(m.series('wslb_handshake_failures_total').length, 3, 'nothing else refused');
  t.equal(m.get('wslb_config_reloads_total', { result: 'ok' }), 0);
  t.equal(m.get('wslb_config_reloads_total', { result: 'error' }), 0);
});

t.test('close codes: server-sent, balancer-sent and application codes keep bounded labels', async (t) => {
  const backends = await startEchoBackends(1, 'c');
  t.teardown(() => Promise.all(backends.map((b) => b.close())));
  const b = await startBalancer(t, { servers: [{ name: 'c-1', url: backends[0]!.url }], limits: { max_message_bytes: '1KiB' } });
  const port = b.proxyPort();

  // Two application codes from the client collapse to one label.
  for (const code of [4000, 4999]) { const ws = await open(port, '/'); ws.close(code); await once(ws, 'close'); }
  // The server closes first with an application code.
  const ws3 = await open(port, '/');
  await waitFor(t, () => backends[0]!.wss.clients.size === 1, { what: 'the server holds the connection' });
  for (const s of backends[0]!.wss.clients) s.close(3001);
  await once(ws3, 'close');
  // The balancer closes with 1009 (message too big).
  const ws4 = await open(port, '/');
  ws4.send(Buffer.alloc(4096));
  const [code4] = await once(ws4, 'close') as [number];
  t.equal(code4, 1009);
  await waitFor(t, () => b.runtime.tunnels.size === 0, { what: 'all closed' });

  const m = await scrape(b);
  t.equal(m.get('wslb_closes_total', { pool: 'p', code: '4xxx' }), 2);
  t.equal(m.get('wslb_closes_total', { pool: 'p', code: '3xxx' }), 1);
  t.equal(m.get('wslb_closes_total', { pool: 'p', code: '1009' }), 1);
  t.equal(m.series('wslb_closes_total').length, 3);
});

t.test('each balancer has its own registry', async (t) => {
  const backends = await startEchoBackends(1, 'iso');
  t.teardown(() => Promise.all(backends.map((b) => b.close())));
  const b1 = await startBalancer(t, { servers: [{ name: 'one', url: backends[0]!.url }] });
  const b2 = await startBalancer(t, { servers: [{ name: 'two', url: backends[0]!.url }] });
  const ws = await open(b1.proxyPort(), '/');
  const m1 = await scrape(b1);
  const m2 = await scrape(b2);
  t.equal(m1.get('wslb_connections_total', { route: 'r', pool: 'p', server: 'one' }), 1);
  t.equal(m2.series('wslb_connections_total').length, 0, 'nothing counted on the other balancer');
  t.equal(m2.get('wslb_server_up', { pool: 'p', server: 'two' }), 1);
  t.equal(m2.get('wslb_server_up', { pool: 'p', server: 'one' }), undefined);
  ws.terminate();
});

t.test('wslb_server_up follows admin state; reloads are counted by result', async (t) => {
  const backends = await startEchoBackends(2, 'u');
  t.teardown(() => Promise.all(backends.map((b) => b.close())));
  const b = await startBalancer(t, { servers: backends.map((be) => ({ name: be.name, url: be.url })) });
  b.runtime.pools.get('p')!.server('u-2')!.status.setEnabled(false);
  b.runtime.reloads.ok += 2;
  b.runtime.reloads.error += 1;
  const m = await scrape(b);
  t.equal(m.get('wslb_server_up', { pool: 'p', server: 'u-1' }), 1);
  t.equal(m.get('wslb_server_up', { pool: 'p', server: 'u-2' }), 0);
  t.equal(m.get('wslb_config_reloads_total', { result: 'ok' }), 2);
  t.equal(m.get('wslb_config_reloads_total', { result: 'error' }), 1);
});
