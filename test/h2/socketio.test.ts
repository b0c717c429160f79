// socket.io-client over HTTP/2: Engine.IO long-polling (its fetch transport, on a fetch made of node:http2) through an http: true route with engine.io affinity to two Socket.IO servers.
import t, { type Test } from 'tap';
import http from 'node:http';
import http2, { type ClientHttp2Session, type IncomingHttpHeaders } from 'node:http2';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { Server as IoServer } from 'socket.io';
import { io as ioClient } from 'socket.io-client';
import { Fetch } from 'engine.io-client';
import { startBalancer } from '../helpers/balancer.js';
import { h2Yaml, testCa } from './farm.js';

interface Sio { name: string; url: string; handshakes: number; unknown: number }

async function sioServers(t: Test, n: number): Promise<Sio[]> {
  const out: Sio[] = [];
  for (let i = 1; i <= n; i++) {
    const name = `sio-${i}`;
    const server = http.createServer();
    const io = new IoServer(server, { pingInterval: 10_000, pingTimeout: 5000 });
    const self: Sio = { name, url: '', handshakes: 0, unknown: 0 };
    io.engine.on('connection', () => { self.handshakes++; });
    io.engine.on('connection_error', (e: { message: string }) => { if (e.message === 'Session ID unknown') self.unknown++; });
    io.on('connection', (socket) => socket.on('echo', (data: unknown, ack: (r: unknown) => void) => ack({ server: name, data })));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    self.url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
    out.push(self);
    t.teardown(() => new Promise<void>((r) => { io.disconnectSockets(true); void io.close(() => r()); }));
  }
  return out;
}

/** A fetch over one HTTP/2 session: what the Engine.IO fetch transport calls (method, headers, string body; status, text). */
function h2Fetch(session: ClientHttp2Session): typeof fetch {
  return (async (input: string | URL, init: RequestInit = {}) => {
    const url = new URL(String(input));
    const headers: Record<string, string> = {};
    new Headers(init.headers).forEach((v, k) => { headers[k] = v; });
    const body = init.body === undefined || init.body === null ? undefined : String(init.body);
    const stream = session.request({ ':method': init.method ?? 'GET', ':path': url.pathname + url.search, ':authority': 'localhost', ...headers }, { endStream: body === undefined });
    if (body !== undefined) stream.end(body);
    const [h] = await once(stream, 'response') as [IncomingHttpHeaders];
    const chunks: Buffer[] = [];
    for await (const c of stream) chunks.push(c as Buffer);
    const out = new Headers();
    for (const [k, v] of Object.entries(h)) if (!k.startsWith(':') && v !== undefined) out.set(k, String(v));
    return new Response(Buffer.concat(chunks), { status: Number(h[':status']), headers: out });
  }) as typeof fetch;
}

t.test('20 clients x 5 acks over one h2 connection, polling only: every ack from the session\'s server', async (t) => {
  const farm = await sioServers(t, 2);
  const b = await startBalancer(t, h2Yaml(t, {
    algorithm: 'round-robin', servers: farm.map((s) => ({ name: s.name, url: s.url })),
    route: { http: true, affinity: 'engine.io', match: { path: '/socket.io/' } },
  }));
  const session = http2.connect(`https://127.0.0.1:${b.proxyPort()}`, { ca: testCa(t).ca.caPem, servername: 'localhost' });
  session.on('error', () => {});
  t.teardown(() => session.destroy());
  const realFetch = globalThis.fetch;
  globalThis.fetch = h2Fetch(session);
  t.teardown(() => { globalThis.fetch = realFetch; });

  const clients = Array.from({ length: 20 }, () => ioClient(`https://localhost:${b.proxyPort()}`, { transports: [Fetch], reconnection: false, forceNew: true }));
  const results = await Promise.all(clients.map(async (c) => {
    await new Promise<void>((r) => { c.once('connect', () => r()); });
    const servers = new Set<string>();
    for (let i = 0; i < 5; i++) servers.add(((await c.timeout(5000).emitWithAck('echo', i)) as { server: string }).server);
    return { transport: c.io.engine.transport.name, servers: [...servers] };
  }));
  t.ok(results.every((r) => r.transport === 'polling'), 'polling throughout');
  t.ok(results.every((r) => r.servers.length === 1), 'each client\'s acks came from one server');
  t.same(farm.map((s) => s.handshakes), [10, 10], 'round-robin spread the handshakes');
  t.same(farm.map((s) => s.unknown), [0, 0], 'no "Session ID unknown"');
  t.equal(b.runtime.http2.sessions, 1, 'all of it over one HTTP/2 connection');
  t.ok(b.runtime.http2.exchangesTotal >= 20 * 7, `every poll and post went over h2 (${b.runtime.http2.exchangesTotal})`);
  // Disconnected while the h2 fetch is still in place: their close packets go the same way, and their timers end.
  await Promise.all(clients.map((c) => { const closed = new Promise<void>((r) => { c.io.engine.once('close', () => r()); }); c.disconnect(); return closed; }));
});
