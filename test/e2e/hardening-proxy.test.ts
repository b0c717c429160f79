/** PROXY protocol v1/v2 on listeners (trusted peers only; missing or malformed -> closed), the real client driving XFF and per-IP limits, trusted X-Forwarded-For, and send_proxy to servers. */

import t from 'tap';
import http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { CidrSet, connectionEnds, type ConnectionEnds } from '../../src/edge/client-address.js';
import { installConnectionFront } from '../../src/edge/proxy-front.js';
import { startBackend } from '../helpers/backend.js';
import { startBalancer } from '../helpers/balancer.js';
import { createTestCa } from '../helpers/certs.js';
import { echo, farmWith, openWs } from '../helpers/hardening.js';
import { proxied, v2Header } from '../helpers/proxy-client.js';
import { upgradeRequest } from '../helpers/raw-client.js';
import { httpProbe, tcpProbe, websocketProbe } from '../../src/pool/probes.js';
import { Server } from '../../src/pool/server.js';
import type { HealthConfig } from '../../src/config/types.js';

t.test('PROXY v1 and v2 from a trusted peer', async (t) => {
  const backend = await startBackend({ name: 'b1' });
  t.teardown(() => backend.close());
  const b = await startBalancer(t, farmWith({ servers: [{ name: 'b1', url: backend.url }] }, { proxy_protocol: true, trusted_proxies: ['127.0.0.0/8'] }));
  const port = b.proxyPort();
  const xff = () => backend.handshakes.at(-1)?.['x-forwarded-for'];

  const cases: [string, Buffer | string, string, boolean?][] = [
    ['v1 TCP4', 'PROXY TCP4 203.0.113.7 10.0.0.1 51000 443\r\n', '203.0.113.7'],
    ['v1 TCP6', 'PROXY TCP6 2001:db8::7 2001:db8::1 51000 443\r\n', '2001:db8::7'],
    ['v1 dripped byte by byte', 'PROXY TCP4 203.0.113.8 10.0.0.1 51000 443\r\n', '203.0.113.8', true],
    ['v2 IPv4', v2Header('198.51.100.9', '10.0.0.1', 40000, 443), '198.51.100.9'],
    ['v2 IPv6', v2Header('2001:db8::9', '2001:db8::1', 40000, 443), '2001:db8::9'],
    ['v2 dripped', v2Header('198.51.100.10', '10.0.0.1', 40000, 443), '198.51.100.10', true],
    ['v1 UNKNOWN: the peer itself', 'PROXY UNKNOWN\r\n', '127.0.0.1'],
    ['v2 LOCAL: the peer itself', v2Header('198.51.100.11', '10.0.0.1', 1, 2, 0), '127.0.0.1'],
  ];
  for (const [name, header, client, drip] of cases) {
    const a = await proxied(port, header, { drip: drip ?? false });
    t.equal(a.status, 101, `${name}: upgraded`);
    t.equal(xff(), client, `${name}: X-Forwarded-For carries the real client`);
    a.socket.destroy();
  }

  const bad: [string, Buffer | string][] = [
    ['no header at all', upgradeRequest('/')],
    ['v1 bad address', 'PROXY TCP4 203.0.113.999 10.0.0.1 1 2\r\n'],
    ['v1 family mismatch', 'PROXY TCP4 2001:db8::1 10.0.0.1 1 2\r\n'],
    ['v1 port out of range', 'PROXY TCP4 203.0.113.1 10.0.0.1 70000 2\r\n'],
    ['v1 line too long', `PROXY TCP4 ${'1'.repeat(120)}\r\n`],
    ['v2 wrong version', Buffer.concat([v2Header('1.2.3.4', '5.6.7.8', 1, 2).subarray(0, 12), Buffer.from([0x31, 0x11, 0, 12]), Buffer.alloc(12)])],
    ['v2 short address block', Buffer.concat([v2Header('1.2.3.4', '5.6.7.8', 1, 2).subarray(0, 12), Buffer.from([0x21, 0x11, 0, 4]), Buffer.alloc(4)])],
    ['TLS ClientHello instead', Buffer.from('16030100c8010000c40303', 'hex')],
  ];
  const handshakesBefore = backend.handshakes.length;
  for (const [name, header] of bad) {
    const a = await proxied(port, header, { request: '' });
    t.equal(a.status, 0, `${name}: no HTTP answer`);
    t.ok(a.closed, `${name}: connection closed`);
  }
  t.equal(backend.handshakes.length, handshakesBefore, 'no server contacted for a bad header');
  t.equal(b.runtime.routeStats.get('')?.rejections.get('WSLB_ERR_PROXY_HEADER'), bad.length, 'counted');
});

t.test('a PROXY header is believed only from trusted_proxies', async (t) => {
  const backend = await startBackend({ name: 'b1' });
  t.teardown(() => backend.close());
  const b = await startBalancer(t, farmWith({ servers: [{ name: 'b1', url: backend.url }] }, { proxy_protocol: true, trusted_proxies: ['127.0.0.2/32'] }));
  const trusted = await proxied(b.proxyPort(), 'PROXY TCP4 203.0.113.1 10.0.0.1 1 2\r\n', { localAddress: '127.0.0.2' });
  t.equal(trusted.status, 101);
  trusted.socket.destroy();
  const other = await proxied(b.proxyPort(), 'PROXY TCP4 203.0.113.1 10.0.0.1 1 2\r\n', { localAddress: '127.0.0.3' });
  t.equal(other.status, 0, 'an untrusted peer is closed, its header unread');
  t.ok(other.closed);
});

t.test('the PROXY address drives per-IP limits', async (t) => {
  const backend = await startBackend({ name: 'b1' });
  t.teardown(() => backend.close());
  const b = await startBalancer(t, farmWith({ servers: [{ name: 'b1', url: backend.url }], limits: { max_connections_per_ip: 1 } }, { proxy_protocol: true }));
  const port = b.proxyPort();
  const a1 = await proxied(port, 'PROXY TCP4 203.0.113.1 10.0.0.1 1000 443\r\n');
  const a2 = await proxied(port, 'PROXY TCP4 203.0.113.2 10.0.0.1 1000 443\r\n');
  const a3 = await proxied(port, 'PROXY TCP4 203.0.113.1 10.0.0.1 1001 443\r\n');
  t.same([a1.status, a2.status, a3.status], [101, 101, 429], 'all three come from 127.0.0.1; only the real client 203.0.113.1 is over its cap');
  for (const a of [a1, a2, a3]) a.socket.destroy();
});

t.test('TLS behind a PROXY header', async (t) => {
  const ca = createTestCa();
  t.teardown(() => ca.remove());
  const cert = ca.issue('pp', ['localhost', '127.0.0.1']);
  const backend = await startBackend({ name: 'b1' });
  t.teardown(() => backend.close());
  const b = await startBalancer(t, farmWith({ servers: [{ name: 'b1', url: backend.url }] }, { proxy_protocol: true, tls: { cert: cert.cert, key: cert.key } }));
  const a = await proxied(b.proxyPort(), v2Header('192.0.2.44', '10.0.0.1', 5000, 443), { tlsCa: ca.caPem });
  t.equal(a.status, 101);
  t.equal(backend.handshakes.at(-1)?.['x-forwarded-for'], '192.0.2.44');
  t.equal(backend.handshakes.at(-1)?.['x-forwarded-proto'], 'wss');
  a.socket.destroy();
});

t.test('X-Forwarded-For is believed only from trusted_proxies', async (t) => {
  const backend = await startBackend({ name: 'b1' });
  t.teardown(() => backend.close());
  const limits = { max_connections_per_ip: 1 };
  const trusted = await startBalancer(t, farmWith({ servers: [{ name: 'b1', url: backend.url }], limits }, { trusted_proxies: ['127.0.0.1/32', '10.0.0.0/8'] }));
  const url = `ws://127.0.0.1:${trusted.proxyPort()}/`;
  // Right to left, trusted hops skipped: the client is 198.51.100.1 in both.
  const w1 = await openWs(url, { headers: { 'X-Forwarded-For': '198.51.100.1' } });
  const w2 = await openWs(url, { headers: { 'X-Forwarded-For': '198.51.100.2' } });
  const e3 = await openWs(url, { headers: { 'X-Forwarded-For': '6.6.6.6, 198.51.100.1, 10.1.1.1' } }).then(() => 0, (e: { status: number }) => e.status);
  t.equal(e3, 429, 'the believed client 198.51.100.1 is at its cap');
  t.equal(backend.handshakes.at(-1)?.['x-forwarded-for'], '198.51.100.2, 127.0.0.1', 'the chain is appended to with the peer');
  t.equal(trusted.runtime.admission.connections('198.51.100.1'), 1);

  const untrusted = await startBalancer(t, farmWith({ servers: [{ name: 'b1', url: backend.url }], limits }, { trusted_proxies: ['10.0.0.0/8'] }));
  const u1 = await openWs(`ws://127.0.0.1:${untrusted.proxyPort()}/`, { headers: { 'X-Forwarded-For': '198.51.100.3' } });
  const e2 = await openWs(`ws://127.0.0.1:${untrusted.proxyPort()}/`, { headers: { 'X-Forwarded-For': '198.51.100.4' } }).then(() => 0, (e: { status: number }) => e.status);
  t.equal(e2, 429, 'a forged X-Forwarded-For from an untrusted peer does not escape the cap of 127.0.0.1');
  for (const w of [w1, w2, u1]) w.close();
});

/** A ws echo server that requires a PROXY header on every connection and records what it said. */
async function proxyAwareBackend(): Promise<{ url: string; seen: ConnectionEnds[]; close(): Promise<void> }> {
  const server = http.createServer((req, res) => { seen.push(connectionEnds(req.socket)); res.end('ok'); });
  const seen: ConnectionEnds[] = [];
  installConnectionFront(server, { trusted: new CidrSet([]), proxyProtocol: true, timeoutMs: () => 2000, onRefused: () => {} });
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  server.on('upgrade', (req, socket, head) => {
    seen.push(connectionEnds(req.socket));
    wss.handleUpgrade(req, socket, head, (ws) => ws.on('message', (d) => ws.send(d)));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: async () => { for (const c of wss.clients) c.terminate(); server.closeAllConnections(); await new Promise((r) => server.close(r)); },
  };
}

t.test('send_proxy v1 and v2 tell the server who the client is', async (t) => {
  const server = await proxyAwareBackend();
  t.teardown(() => server.close());
  for (const version of ['v1', 'v2']) {
    const b = await startBalancer(t, farmWith({ servers: [{ name: 's', url: server.url }], pool: { send_proxy: version } }, { proxy_protocol: true }));
    const port = b.proxyPort();
    const a = await proxied(port, 'PROXY TCP4 203.0.113.50 192.0.2.1 40123 443\r\n');
    t.equal(a.status, 101, `${version}: upgraded through a PROXY-requiring server`);
    t.same(server.seen.at(-1), { source: { address: '203.0.113.50', port: 40123 }, destination: { address: '192.0.2.1', port: 443 } }, `${version}: the original ends`);
    a.socket.destroy();
    const six = await proxied(port, 'PROXY TCP6 2001:db8::50 2001:db8::1 40124 443\r\n');
    t.equal(six.status, 101, `${version}: IPv6 client`);
    six.socket.destroy();
    t.same(server.seen.at(-1)?.source, { address: '2001:db8::50', port: 40124 });
    b.destroy();
  }
  // Without a PROXY listener, the balancer's own view of the client is sent.
  const b = await startBalancer(t, { servers: [{ name: 's', url: server.url }], pool: { send_proxy: 'v2' } });
  const ws = await openWs(`ws://127.0.0.1:${b.proxyPort()}/`);
  t.equal(await echo(ws, 'x'), 'x');
  t.equal(server.seen.at(-1)?.source.address, '127.0.0.1');
  t.equal(server.seen.at(-1)?.destination.port, b.proxyPort());
  ws.close();
});

t.test('health probes of a send_proxy pool start with a PROXY header too (LOCAL: no client behind them)', async (t) => {
  const backend = await proxyAwareBackend();
  t.teardown(() => backend.close());
  const port = Number(new URL(backend.url).port);
  const server = new Server('p', { name: 's', url: backend.url, host: '127.0.0.1', port, tls: false, weight: 1 });
  const signal = new AbortController().signal;
  const cfg = (check: 'http' | 'websocket'): HealthConfig => ({ check, path: '/', timeout: 1000 } as unknown as HealthConfig);
  for (const sendProxy of ['v1', 'v2'] as const) {
    const before = backend.seen.length;
    t.same(await httpProbe(server, cfg('http'), signal, { sendProxy }), { ok: true }, `${sendProxy}: http probe passes`);
    t.match(await websocketProbe(server, cfg('websocket'), signal, { sendProxy }), { ok: true }, `${sendProxy}: websocket probe passes`);
    t.same(await tcpProbe(server, 1000, signal, { sendProxy }), { ok: true }, `${sendProxy}: tcp probe passes`);
    t.equal(backend.seen.length, before + 2);
    t.equal(backend.seen.at(-1)?.source.address, '127.0.0.1', `${sendProxy}: LOCAL, the server sees the probe's own address`);
  }
  // Without the header such a server refuses: the pool's probes would have marked it down.
  t.match(await httpProbe(server, cfg('http'), signal), { ok: false });
  t.match(await websocketProbe(server, cfg('websocket'), signal), { ok: false });
});

t.test('a send_proxy pool with websocket health checks comes up behind a PROXY-requiring server', async (t) => {
  const backend = await proxyAwareBackend();
  t.teardown(() => backend.close());
  const b = await startBalancer(t, { servers: [{ name: 's', url: backend.url }], pool: { send_proxy: 'v1', health: { check: 'websocket', interval: '200ms', timeout: '1s', rise: 1, fall: 1 } } });
  const ws = await openWs(`ws://127.0.0.1:${b.proxyPort()}/`);
  t.equal(await echo(ws, 'y'), 'y');
  ws.close();
});
