/** What the client sees when a server fails or misbehaves during the handshake: relays, 502, 504, retries. */

import t from 'tap';
import { once } from 'node:events';
import net from 'node:net';
import WebSocket from 'ws';
import { SECRET_BODY, startBackend, type RawMode } from '../helpers/backend.js';
import { startBalancer } from '../helpers/balancer.js';
import { rawRequest, upgradeRequest } from '../helpers/raw-client.js';

const bad101: [RawMode, string][] = [
  ['bad-accept', 'wrong accept'],
  ['h2c', 'Upgrade: h2c'],
  ['unoffered-protocol', 'unoffered subprotocol'],
  ['bare-101', '101 without upgrade headers'],
];

for (const [mode, what] of bad101) {
  t.test(`server 101 with ${what} -> 502, never a tunnel`, async (t) => {
    const backend = await startBackend({ mode });
    t.teardown(() => backend.close());
    const b = await startBalancer(t, { servers: [{ name: 'x', url: backend.url }], retries: 0 });
    const res = await rawRequest(b.proxyPort(), upgradeRequest('/', ['Sec-WebSocket-Protocol: chat']) + 'client-bytes');
    t.equal(res.status, 502);
    t.equal(res.headers['x-wslb-error'], 'WSLB_ERR_BAD_101');
    t.notOk(res.timedOut);
    t.notOk(backend.received.some((c) => c.includes('client-bytes')), 'held client bytes never reach the server');
  });
}

t.test('426 keep-alive then a pipelined GET /internal: the second response never leaks', async (t) => {
  const backend = await startBackend({ mode: 'status-426-keepalive' });
  t.teardown(() => backend.close());
  const b = await startBalancer(t, { servers: [{ name: 'x', url: backend.url }] });
  const res = await rawRequest(b.proxyPort(), upgradeRequest('/') + 'GET /internal HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
  t.equal(res.status, 426, 'the server answer is relayed');
  t.match(res.headers.connection, /close/i);
  t.notOk(res.raw.includes(SECRET_BODY), 'the pipelined request was never forwarded');
  t.notOk(res.timedOut, 'the client connection is closed after the relay');
  t.equal(backend.requests.length, 1, 'the server saw one request only');
});

t.test('a server 500 is relayed with its body, then closed', async (t) => {
  const backend = await startBackend({ mode: 'status-500' });
  t.teardown(() => backend.close());
  const b = await startBalancer(t, { servers: [{ name: 'x', url: backend.url }] });
  const res = await rawRequest(b.proxyPort(), upgradeRequest('/'));
  t.equal(res.status, 500);
  t.match(res.body, /boom/);
  t.notOk(res.timedOut);
});

t.test('a server that never answers -> 504 and its socket closed', async (t) => {
  const backend = await startBackend({ mode: 'silent' });
  t.teardown(() => backend.close());
  const b = await startBalancer(t, { servers: [{ name: 'x', url: backend.url }], timeouts: { handshake: '300ms' } });
  // The 504 comes at the 300 ms timeout; the client's own bound leaves room for a loaded machine.
  const res = await rawRequest(b.proxyPort(), upgradeRequest('/'), { timeoutMs: 10_000 });
  t.equal(res.status, 504);
  t.equal(res.headers['x-wslb-error'], 'WSLB_ERR_UPSTREAM_TIMEOUT');
  t.equal(b.runtime.pools.get('p')!.servers[0]!.active, 0);
});

t.test('connect refused: retried on another server', async (t) => {
  const dead = await startBackend({ mode: 'refuse' });
  const live = await startBackend({ name: 'live' });
  t.teardown(() => live.close());
  const b = await startBalancer(t, { servers: [{ name: 'dead', url: dead.url }, { name: 'live', url: live.url }], algorithm: 'round-robin' });
  for (let i = 0; i < 4; i++) {
    const ws = new WebSocket(`ws://127.0.0.1:${b.proxyPort()}/`, { perMessageDeflate: false });
    await once(ws, 'open');
    ws.close();
    await once(ws, 'close');
  }
  t.equal(live.connections, 4, 'every client reached the live server');
  t.ok(b.runtime.pools.get('p')!.servers[0]!.connectFailures >= 1, 'the refusal was counted');
});

t.test('every server refuses -> 502 with Retry-After', async (t) => {
  const d1 = await startBackend({ mode: 'refuse' });
  const d2 = await startBackend({ mode: 'refuse' });
  const b = await startBalancer(t, { servers: [{ name: 'd1', url: d1.url }, { name: 'd2', url: d2.url }] });
  const res = await rawRequest(b.proxyPort(), upgradeRequest('/'));
  t.equal(res.status, 502);
  t.equal(res.headers['x-wslb-error'], 'WSLB_ERR_CONNECT');
  t.ok(res.headers['retry-after']);
});

t.test('bytes the server sends with its 101 reach the client right after it', async (t) => {
  const backend = await startBackend({ mode: 'hello-with-101' });
  t.teardown(() => backend.close());
  const b = await startBalancer(t, { servers: [{ name: 'x', url: backend.url }] });
  const ws = new WebSocket(`ws://127.0.0.1:${b.proxyPort()}/`, { perMessageDeflate: false });
  const [msg] = await once(ws, 'message') as [Buffer];
  t.equal(msg.toString(), 'hi');
  ws.terminate();
});

t.test('client bytes sent with the head are held until the 101, then forwarded in order', async (t) => {
  const backend = await startBackend({ name: 'b' });
  t.teardown(() => backend.close());
  const b = await startBalancer(t, { servers: [{ name: 'b', url: backend.url }] });
  const sock = net.connect(b.proxyPort(), '127.0.0.1');
  // Two masked text frames "one", "two" in the same write as the request head.
  const frame = (s: string) => { const p = Buffer.from(s); const f = Buffer.alloc(6 + p.length); f[0] = 0x81; f[1] = 0x80 | p.length; for (let i = 0; i < p.length; i++) f[6 + i] = p[i]!; return f; };
  sock.write(Buffer.concat([Buffer.from(upgradeRequest('/')), frame('one'), frame('two')]));
  let got = '';
  sock.on('data', (d) => { got += d.toString('latin1'); });
  const deadline = Date.now() + 2000;
  while (!(got.includes('one') && got.includes('two')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  t.match(got, /^HTTP\/1.1 101/);
  t.ok(got.indexOf('one') < got.indexOf('two') && got.indexOf('one') > 0, 'echoed in order after the 101');
  sock.destroy();
});
