/** Real Socket.IO 4 clients through the balancer to 3 servers on the Redis adapter: long-polling needs the engine.io preset. */

import t from 'tap';
import { io as connectIo, type Socket } from 'socket.io-client';
import { startBalancer } from '../helpers/balancer.js';
import { redisSkip } from '../helpers/redis.js';
import { startSocketIoFarm, type SioServer } from '../http/socketio-farm.js';

interface RunResult {
  completed: number;
  failed: number;
  mismatched: number;
  disconnects: number;
  servers: Map<string, number>;
  sockets: { socket: Socket; server: string; news: unknown[] }[];
}

const ACK_MS = 5000;
/** The farm's Socket.IO servers share rooms through the Redis adapter on 127.0.0.1:6379. */
const skip = await redisSkip();

/** n clients connect at once; each joins room "all" and does `trips` acknowledged round trips. Bounded by ACK_MS per step. */
async function run(port: number, n: number, trips: number, transports?: string[]): Promise<RunResult> {
  const r: RunResult = { completed: 0, failed: 0, mismatched: 0, disconnects: 0, servers: new Map(), sockets: [] };
  const one = async (): Promise<void> => {
    const socket = connectIo(`http://127.0.0.1:${port}`, {
      forceNew: true, reconnection: false, timeout: ACK_MS, ...(transports ? { transports } : {}),
    });
    const entry = { socket, server: '', news: [] as unknown[] };
    socket.on('news', (m: unknown) => entry.news.push(m));
    socket.on('disconnect', (reason) => { if (reason !== 'io client disconnect') r.disconnects++; });
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', () => resolve());
        socket.once('connect_error', reject);
      });
      if (transports === undefined) {
        await new Promise<void>((resolve, reject) => {
          if (socket.io.engine.transport.name === 'websocket') { resolve(); return; }
          socket.io.engine.once('upgrade', () => resolve());
          setTimeout(() => reject(new Error('no upgrade')), ACK_MS);
        });
      }
      entry.server = (await socket.timeout(ACK_MS).emitWithAck('join', 'all')) as string;
      for (let k = 0; k < trips; k++) {
        const ack = (await socket.timeout(ACK_MS).emitWithAck('echo', k)) as { server: string; data: number };
        if (ack.data !== k || ack.server !== entry.server) r.mismatched++;
      }
      r.completed++;
      r.servers.set(entry.server, (r.servers.get(entry.server) ?? 0) + 1);
      r.sockets.push(entry);
    } catch {
      r.failed++;
      socket.disconnect();
    }
  };
  await Promise.all(Array.from({ length: n }, one));
  return r;
}

/** One client on each server shouts to room "all"; resolves with how many clients got every shout (bounded). */
async function broadcast(r: RunResult): Promise<number> {
  const shouters = [...new Map(r.sockets.map((e) => [e.server, e])).values()];
  for (const [i, e] of shouters.entries()) await e.socket.timeout(ACK_MS).emitWithAck('shout', 'all', `from-${i}`);
  const end = Date.now() + ACK_MS;
  while (Date.now() < end && !r.sockets.every((e) => e.news.length >= shouters.length)) await new Promise((res) => setTimeout(res, 20));
  return r.sockets.filter((e) => e.news.length === shouters.length).length;
}

function close(r: RunResult): void {
  for (const e of r.sockets) e.socket.disconnect();
}

const unknown = (farm: SioServer[]): number => farm.reduce((n, s) => n + s.sessionUnknown, 0);

t.test('polling only, affinity engine.io: 100 clients x 20 round trips + broadcasts across servers, no "Session ID unknown"', { timeout: 90_000, skip }, async (t) => {
  const farm = await startSocketIoFarm(t, 3);
  const b = await startBalancer(t, {
    algorithm: 'round-robin', servers: farm, route: { http: true, affinity: 'engine.io', match: { path: '/socket.io/' } },
  });
  const r = await run(b.proxyPort(), 100, 20, ['polling']);
  t.teardown(() => close(r));
  t.equal(r.completed, 100, 'every client completed its 20 round trips');
  t.equal(r.failed, 0);
  t.equal(r.mismatched, 0, 'every ack came from the server holding the session');
  t.equal(r.disconnects, 0);
  t.equal(r.servers.size, 3, `clients spread over the farm: ${JSON.stringify([...r.servers])}`);
  t.equal(await broadcast(r), 100, 'every client got the broadcast of every server (Redis adapter)');
  t.equal(unknown(farm), 0, 'zero "Session ID unknown"');
  t.ok(b.runtime.http.affinity(b.runtime.routes[0]!)!.sessions!.size >= 100, 'sessions learnt from the handshakes');
});

t.test('the same with affinity off fails: sessions land on servers that do not hold them', { timeout: 60_000, skip }, async (t) => {
  const farm = await startSocketIoFarm(t, 3);
  const b = await startBalancer(t, { algorithm: 'round-robin', servers: farm, route: { http: true } });
  const r = await run(b.proxyPort(), 30, 20, ['polling']);
  t.teardown(() => close(r));
  t.ok(r.failed > 0, `clients failed (${r.failed} of 30)`);
  t.ok(unknown(farm) > 0, `servers answered "Session ID unknown" ${unknown(farm)} times`);
});

t.test('default transports: polling, then the upgrade to WebSocket reaches the session\'s server', { timeout: 60_000, skip }, async (t) => {
  const farm = await startSocketIoFarm(t, 3);
  const b = await startBalancer(t, {
    algorithm: 'round-robin', servers: farm, route: { http: true, affinity: 'engine.io' },
  });
  const r = await run(b.proxyPort(), 30, 10);
  t.teardown(() => close(r));
  t.equal(r.completed, 30);
  t.equal(r.mismatched, 0);
  t.ok(r.sockets.every((e) => e.socket.io.engine.transport.name === 'websocket'), 'every client upgraded');
  t.equal(b.runtime.tunnels.size, 30, 'each upgraded session is a tunnel');
  t.equal(await broadcast(r), 30);
  t.equal(unknown(farm), 0);
});

t.test('affinity to a server that goes down: the session moves, the client re-handshakes elsewhere, nothing hangs', { timeout: 60_000, skip }, async (t) => {
  const farm = await startSocketIoFarm(t, 3);
  const b = await startBalancer(t, {
    algorithm: 'round-robin', servers: farm, route: { http: true, affinity: 'engine.io' },
  });
  const sockets = Array.from({ length: 9 }, () => connectIo(`http://127.0.0.1:${b.proxyPort()}`, {
    forceNew: true, transports: ['polling'], reconnectionDelay: 50, reconnectionDelayMax: 200, timeout: ACK_MS,
  }));
  t.teardown(() => { for (const s of sockets) s.disconnect(); });
  await Promise.all(sockets.map((s) => new Promise<void>((r) => s.once('connect', () => r()))));
  const before = await Promise.all(sockets.map(async (s) => ((await s.timeout(ACK_MS).emitWithAck('echo', 0)) as { server: string }).server));
  const victim = b.runtime.pools.get('p')!.servers.find((s) => s.name === before[0])!;
  victim.status.setHealthy(false);   // what the health checker does when the server stops answering
  const after = await Promise.all(sockets.map(async (s) => {
    // A client whose session moved sees the transport fail and reconnects; retry the echo until it lands.
    for (let i = 0; i < 20; i++) {
      try { return ((await s.timeout(1000).emitWithAck('echo', 1)) as { server: string }).server; } catch { /* reconnecting */ }
    }
    return 'gave up';
  }));
  t.notOk(after.includes('gave up'), 'every client is answered again');
  t.notOk(after.includes(victim.name), 'nobody is served by the down server');
  t.same(after.filter((_, i) => before[i] !== victim.name), before.filter((n) => n !== victim.name), 'the others kept their server');
});
