/** Test helper: N real Socket.IO 4 servers sharing rooms through the Redis adapter (127.0.0.1:6379), each saying who it is. */

import http from 'node:http';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import type { Test } from 'tap';
import { Server as IoServer } from 'socket.io';
import { createAdapter } from '@socket.io/redis-adapter';
import { createClient } from 'redis';

export interface SioServer {
  readonly name: string;
  readonly port: number;
  readonly url: string;      // ws://127.0.0.1:PORT, for the pool
  readonly io: IoServer;
  /** Engine.IO `connection_error`s with "Session ID unknown" (a request reached a server that does not hold its session). */
  sessionUnknown: number;
  handshakes: number;
}

/** The page the browser test loads: the farm's own socket.io client, forced to polling, echoes 10 messages. */
const PAGE = `<!doctype html><html><head><title>wslb fallback</title></head><body>
<script src="/socket.io/socket.io.js"></script>
<script>
window.result = new Promise((resolve) => {
  const s = io({ transports: ['polling'], reconnection: false });
  s.on('connect_error', (e) => resolve({ error: String(e) }));
  s.on('connect', async () => {
    const got = [];
    for (let i = 0; i < 10; i++) got.push(await s.timeout(5000).emitWithAck('echo', i));
    resolve({ transport: s.io.engine.transport.name, got });
  });
});
</script></body></html>`;

/**
 * Events: `echo(data, ack)` acks `{ server, data }`; `join(room, ack)` acks the server name;
 * `shout(room, msg, ack)` emits `news` to the room on every server (Redis adapter).
 * GET / serves PAGE, GET /whoami the name.
 */
export async function startSocketIoFarm(t: Test, n: number, prefix = 's'): Promise<SioServer[]> {
  const key = `wslb-test-${randomBytes(6).toString('hex')}`;
  const out: SioServer[] = [];
  for (let i = 1; i <= n; i++) {
    const name = `${prefix}-${i}`;
    const server = http.createServer((req, res) => {
      if (req.url === '/' || req.url?.startsWith('/?')) {
        res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'X-Server': name });
        res.end(PAGE);
      } else if (req.url === '/whoami') {
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        res.end(name);
      } else if (!res.headersSent && !req.url?.startsWith('/socket.io/')) {
        res.writeHead(404);
        res.end();
      }
    });
    const io = new IoServer(server, { pingInterval: 10_000, pingTimeout: 5000 });
    const pub = createClient({ url: 'redis://127.0.0.1:6379' });
    const sub = pub.duplicate();
    pub.on('error', () => {});
    sub.on('error', () => {});
    await Promise.all([pub.connect(), sub.connect()]);
    io.adapter(createAdapter(pub, sub, { key }));
    const self: SioServer = { name, port: 0, url: '', io, sessionUnknown: 0, handshakes: 0 };
    io.engine.on('connection_error', (err: { message: string }) => { if (err.message === 'Session ID unknown') self.sessionUnknown++; });
    io.engine.on('connection', () => { self.handshakes++; });
    io.on('connection', (socket) => {
      socket.on('echo', (data: unknown, ack: (r: unknown) => void) => ack({ server: name, data }));
      socket.on('join', (room: string, ack: (r: string) => void) => { void socket.join(room); ack(name); });
      socket.on('shout', (room: string, msg: unknown, ack: () => void) => { io.to(room).emit('news', msg); ack(); });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as { port: number }).port;
    Object.assign(self, { port, url: `ws://127.0.0.1:${port}` });
    out.push(self);
    t.teardown(async () => {
      io.disconnectSockets(true);
      await new Promise<void>((r) => { void io.close(() => r()); });
      server.closeAllConnections();
      await Promise.allSettled([pub.quit(), sub.quit()]);
    });
  }
  // Every server's Redis subscriptions in place before the first broadcast (a fixed 200 ms could be too
  // short on a loaded machine, and a broadcast published before them is lost). The adapter sends its
  // pattern subscription first, then the request channel's, on one connection: once Redis counts n
  // subscribers of the request channel, the patterns are in place too.
  const probe = createClient({ url: 'redis://127.0.0.1:6379' });
  probe.on('error', () => {});
  await probe.connect();
  try {
    const channel = `${key}-request#/#`;
    const deadline = Date.now() + 15_000;
    for (;;) {
      const counts = await probe.pubSubNumSub(channel);
      if (Number(counts[channel] ?? 0) >= n) break;
      if (Date.now() > deadline) throw new Error(`the Socket.IO servers' Redis subscriptions did not settle: ${JSON.stringify(counts)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    await probe.quit().catch(() => {});
  }
  return out;
}
