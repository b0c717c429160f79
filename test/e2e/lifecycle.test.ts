/** Tunnels over time through a real balancer: a server dying, idle and half-close timeouts, slow readers, big messages. */

import t from 'tap';
import { once } from 'node:events';
import net from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { startEchoBackends } from '../helpers/backend.js';
import { startBalancer } from '../helpers/balancer.js';
import { waitFor } from '../helpers/wait.js';
import { upgradeRequest } from '../helpers/raw-client.js';

const client = async (port: number, path = '/') => {
  const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, { perMessageDeflate: false });
  await once(ws, 'open');
  return ws;
};

t.test('server killed mid-stream: clients closed with 1014 at once, counters back to 0', async (t) => {
  const [backend] = await startEchoBackends(1, 'k');
  const b = await startBalancer(t, { servers: [{ name: 'k-1', url: backend!.url }] });
  const clients = await Promise.all(Array.from({ length: 5 }, () => client(b.proxyPort())));
  const server = b.runtime.pools.get('p')!.servers[0]!;
  t.equal(server.active, 5);
  const codes = clients.map((ws) => new Promise<number>((r) => ws.on('close', r)));
  const t0 = Date.now();
  await backend!.close();   // terminates every server-side socket
  const got = await Promise.all(codes);
  // Caused by the server's death, not by timeouts.fin (10 s); the bound leaves room for a loaded machine.
  t.ok(Date.now() - t0 < 5000, 'closed long before timeouts.fin');
  t.same(got, Array(5).fill(1014));
  await waitFor(t, () => server.active === 0 && b.runtime.tunnels.size === 0, { what: 'active 0, no tunnel left' });
});

t.test('idle tunnels are closed with 1001 after timeouts.idle', async (t) => {
  const [backend] = await startEchoBackends(1, 'i');
  t.teardown(() => backend!.close());
  const b = await startBalancer(t, { servers: [{ name: 'i-1', url: backend!.url }], timeouts: { idle: '300ms' } });
  // Before the connect: the tunnel's last byte (the 101) comes after this, so 'not before' is exact under load.
  const t0 = Date.now();
  const ws = await client(b.proxyPort());
  const [code] = await once(ws, 'close') as [number];
  t.equal(code, 1001);
  t.ok(Date.now() - t0 >= 280, 'not before the idle timeout');
});

t.test('half-close: a client FIN reaches the server, the tunnel is gone within timeouts.fin', async (t) => {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await once(wss, 'listening');
  t.teardown(() => new Promise((r) => wss.close(r)));
  // A server that neither closes nor answers after the client's FIN.
  let serverSocket: net.Socket | undefined;
  wss.on('connection', (_ws, req) => { serverSocket = req.socket; });
  const b = await startBalancer(t, {
    servers: [{ name: 'h', url: `ws://127.0.0.1:${(wss.address() as net.AddressInfo).port}` }],
    timeouts: { fin: '300ms' },
  });
  const sock = net.connect(b.proxyPort(), '127.0.0.1');
  sock.write(upgradeRequest('/'));
  await once(sock, 'data');
  await waitFor(t, () => serverSocket !== undefined, { what: 'the server accepted the connection' });
  const serverEnded = once(serverSocket!, 'end');
  sock.end();
  await serverEnded;
  t.pass('the server saw the FIN');
  // timeouts.fin is 300 ms; nothing else would close it (idle is 1 h): the wait leaves room for a loaded machine.
  await waitFor(t, () => b.runtime.tunnels.size === 0, { ms: 5000, what: 'tunnel closed after timeouts.fin' });
  sock.destroy();
});

t.test('a client that never reads: balancer buffering stays bounded', async (t) => {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await once(wss, 'listening');
  t.teardown(() => new Promise((r) => wss.close(r)));
  const b = await startBalancer(t, {
    servers: [{ name: 'f', url: `ws://127.0.0.1:${(wss.address() as net.AddressInfo).port}` }],
    limits: { max_buffered_bytes: '64KiB' },
  });
  let serverWs: WebSocket | undefined;
  wss.on('connection', (ws) => { serverWs = ws; });
  const sock = net.connect(b.proxyPort(), '127.0.0.1');
  sock.write(upgradeRequest('/'));
  await once(sock, 'data');
  sock.pause();   // never reads again
  await waitFor(t, () => serverWs !== undefined, { what: 'the server accepted the connection' });
  const chunk = Buffer.alloc(64 * 1024);
  // Flood until the server's own queue shows the backpressure (4 MiB), bounded in time and bytes; a fixed
  // 1.5 s could end, on a loaded machine, before that much was sent.
  const end = Date.now() + 15_000;
  for (let sent = 0; Date.now() < end && sent < 256 * 1024 * 1024 && serverWs!.bufferedAmount < 4 * 1024 * 1024; sent += chunk.length) {
    serverWs!.send(chunk);
    await new Promise((r) => setImmediate(r));
  }
  const tunnel = [...b.runtime.tunnels][0]!;
  const queued = tunnel.buffered.toClient;
  t.ok(queued > 0 && queued < 64 * 1024 + 64 * 1024, `balancer->client buffer bounded (${queued} bytes)`);
  t.ok(serverWs!.bufferedAmount > 1024 * 1024, 'the flood backed up at the server, not in the balancer');
  sock.destroy();
});

t.test('a server that never reads: balancer buffering stays bounded', async (t) => {
  // A raw upstream that completes the handshake and then never reads.
  const { wsAccept } = await import('../helpers/raw-client.js');
  const upstream = net.createServer((s) => {
    s.once('data', (d) => {
      const key = /sec-websocket-key: (.*)\r\n/i.exec(d.toString())![1]!;
      s.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${wsAccept(key)}\r\n\r\n`);
      s.pause();
    });
  });
  upstream.listen(0, '127.0.0.1');
  await once(upstream, 'listening');
  t.teardown(() => upstream.close());
  const b = await startBalancer(t, {
    servers: [{ name: 'stall', url: `ws://127.0.0.1:${(upstream.address() as net.AddressInfo).port}` }],
    limits: { max_buffered_bytes: '64KiB' },
  });
  const ws = await client(b.proxyPort());
  const chunk = Buffer.alloc(64 * 1024);
  // Until the client's own queue shows the backpressure (4 MiB), bounded in time and bytes.
  const end = Date.now() + 15_000;
  for (let sent = 0; Date.now() < end && sent < 256 * 1024 * 1024 && ws.bufferedAmount < 4 * 1024 * 1024; sent += chunk.length) {
    ws.send(chunk);
    await new Promise((r) => setImmediate(r));
  }
  const queued = [...b.runtime.tunnels][0]!.buffered.toServer;
  t.ok(queued > 0 && queued < 64 * 1024 + 64 * 1024, `balancer->server buffer bounded (${queued} bytes)`);
  t.ok(ws.bufferedAmount > 1024 * 1024, 'the flood backed up in the client, not in the balancer');
  ws.terminate();
});

t.test('a message over limits.max_message_bytes closes both sides with 1009', async (t) => {
  const [backend] = await startEchoBackends(1, 'm');
  t.teardown(() => backend!.close());
  const b = await startBalancer(t, { servers: [{ name: 'm-1', url: backend!.url }], limits: { max_message_bytes: '1KiB' } });
  const ws = await client(b.proxyPort());
  ws.send(Buffer.alloc(512));
  await once(ws, 'message');
  ws.send(Buffer.alloc(4096));
  const [code] = await once(ws, 'close') as [number];
  t.equal(code, 1009);
  await waitFor(t, () => b.runtime.tunnels.size === 0, { what: 'the tunnel is gone after the 1009' });
});
