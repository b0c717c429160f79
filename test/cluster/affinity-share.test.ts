/**
 * Shared engine.io affinity: Socket.IO clients on long-polling whose every request lands on
 * another instance (a round-robin TCP front) or another worker (node:cluster spreads connections;
 * the Node client opens a new connection per request) keep their sessions: zero "Session ID unknown".
 * Without sharing (Redis unreachable) the same alternation breaks sessions.
 */

import net from 'node:net';
import { once } from 'node:events';
import t, { type Test } from 'tap';
import { io as connectIo, type Socket } from 'socket.io-client';
import { startSocketIoFarm, type SioServer } from '../http/socketio-farm.js';
import { clusterYaml, startInstance, startRedis, status, type Instance } from './helpers.js';
import { redisSkip } from '../helpers/redis.js';
import { waitFor } from '../helpers/wait.js';

const ACK_MS = 3000;

/** A TCP front on 127.0.0.1:0 sending each new connection to the next of `ports` in turn (`ports` may be changed). */
async function roundRobinFront(t: Test, ports: number[]): Promise<{ port: number; counts: number[]; ports: number[] }> {
  const counts = [0, 0, 0];
  let next = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const i = next++ % self.ports.length;
    counts[i]!++;
    const upstream = net.connect(self.ports[i]!, '127.0.0.1');
    for (const s of [client, upstream]) { sockets.add(s); s.on('error', () => {}); s.on('close', () => { sockets.delete(s); client.destroy(); upstream.destroy(); }); }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  const self = { port: 0, counts, ports };
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => { for (const s of sockets) s.destroy(); server.close(); });
  self.port = (server.address() as net.AddressInfo).port;
  return self;
}

type Result = { completed: number; failed: number; mismatched: number };

/**
 * `n` polling-only clients, each doing `trips` acknowledged round trips, then `pause()` (awaited
 * once for all) and `more` round trips again; every ack must come from the client's first server.
 */
async function run(t: Test, port: number, n: number, trips: number, more = 0, pause: () => Promise<void> = async () => {}): Promise<Result> {
  const r = { completed: 0, failed: 0, mismatched: 0 };
  const sockets: Socket[] = [];
  t.teardown(() => { for (const s of sockets) s.disconnect(); });
  let arrived = 0;
  let release: () => void = () => {};
  const paused = new Promise<void>((resolve) => { release = resolve; });
  const one = async (): Promise<void> => {
    const socket = connectIo(`http://127.0.0.1:${port}`, { forceNew: true, reconnection: false, timeout: ACK_MS, transports: ['polling'] });
    sockets.push(socket);
    let server = '';
    const trip = async (k: number): Promise<void> => {
      const ack = (await socket.timeout(ACK_MS).emitWithAck('echo', k)) as { server: string; data: number };
      if (server === '') server = ack.server;
      if (ack.data !== k || ack.server !== server) r.mismatched++;
    };
    try {
      try {
        await new Promise<void>((resolve, reject) => { socket.once('connect', () => resolve()); socket.once('connect_error', reject); });
        for (let k = 0; k < trips; k++) await trip(k);
      } finally {
        if (++arrived === n) void pause().then(release);
      }
      await paused;
      for (let k = 0; k < more; k++) await trip(trips + k);
      r.completed++;
    } catch {
      r.failed++;
    }
    socket.disconnect();
  };
  await Promise.all(Array.from({ length: n }, one));
  return r;
}

const unknown = (farm: SioServer[]): number => farm.reduce((n, s) => n + s.sessionUnknown, 0);

function yaml(farm: SioServer[], extra: Record<string, unknown>): string {
  return clusterYaml(farm.map((s) => ({ name: s.name, url: s.url })), {
    routes: [{ name: 'r', match: { path: '/socket.io/' }, pool: 'p', http: true, affinity: 'engine.io' }],
    ...extra,
  }, { algorithm: 'round-robin' });
}

interface AffinityStatus { received: number; lookups: number; found: number; shared: number }
const affinityOf = async (inst: Instance): Promise<AffinityStatus> => ((await status(inst.admin))['sharing'] as { affinity: AffinityStatus }).affinity;

t.test('2 instances sharing a Redis, every request to the other instance: no "Session ID unknown"', { timeout: 90_000, skip: await redisSkip({ spawns: true }) }, async (t) => {
  const redis = await startRedis(t);
  const farm = await startSocketIoFarm(t, 2);
  const cfg = (name: string) => yaml(farm, { cluster: { redis: `redis://127.0.0.1:${redis.port}`, name } });
  const [a, b] = await Promise.all([startInstance(t, cfg('a')), startInstance(t, cfg('b'))]);
  await waitFor(t, async () => ((await status(a.admin))['sharing'] as { redis: string }).redis === 'ok'
    && ((await status(b.admin))['sharing'] as { redis: string }).redis === 'ok', { ms: 10_000, what: 'both share through Redis' });
  const front = await roundRobinFront(t, [a.proxy, b.proxy]);
  const r = await run(t, front.port, 20, 10);
  t.same(r, { completed: 20, failed: 0, mismatched: 0 }, 'every client completed its round trips on its session\'s server');
  t.equal(unknown(farm), 0, 'zero "Session ID unknown"');
  t.ok(front.counts.slice(0, 2).every((n) => n > 40), `requests alternated between the instances: ${front.counts.slice(0, 2).join(' / ')}`);
  const [x, y] = [await affinityOf(a), await affinityOf(b)];
  t.ok(x.shared > 0 && y.shared > 0, `both learnt sessions (${x.shared} / ${y.shared})`);
  t.ok(x.received + x.found > 0 && y.received + y.found > 0, `both used the other's entries (received ${x.received} / ${y.received}, found by lookup ${x.found} / ${y.found})`);
});

t.test('an instance started later learns the sessions published before it joined', { timeout: 90_000, skip: await redisSkip({ spawns: true }) }, async (t) => {
  const redis = await startRedis(t);
  const farm = await startSocketIoFarm(t, 2);
  const cfg = (name: string) => yaml(farm, { cluster: { redis: `redis://127.0.0.1:${redis.port}`, name } });
  const a = await startInstance(t, cfg('a'));
  const front = await roundRobinFront(t, [a.proxy]);
  let b: Instance | null = null;
  const r = await run(t, front.port, 10, 3, 5, async () => {
    const late = await startInstance(t, cfg('b'));
    b = late;
    await waitFor(t, async () => ((await status(late.admin))['sharing'] as { redis: string }).redis === 'ok', { ms: 10_000, what: 'the late instance shares through Redis' });
    front.ports.push(late.proxy);   // from now on every other request goes to b, which missed every session's first publish
  });
  t.same(r, { completed: 10, failed: 0, mismatched: 0 }, 'every client kept its server');
  t.equal(unknown(farm), 0, 'zero "Session ID unknown"');
  const y = await affinityOf(b!);
  t.ok(y.received >= 10, `b received the sessions learnt on a before it started (${y.received}; found by waiting ${y.found} of ${y.lookups})`);
});

t.test('the same alternation without sharing (Redis unreachable) breaks sessions', { timeout: 90_000, skip: await redisSkip() }, async (t) => {
  const dead = net.createServer().listen(0, '127.0.0.1');
  await once(dead, 'listening');
  const port = (dead.address() as net.AddressInfo).port;
  await new Promise((r) => dead.close(r));   // nothing listens there now
  const farm = await startSocketIoFarm(t, 2);
  const cfg = (name: string) => yaml(farm, { cluster: { redis: `redis://127.0.0.1:${port}`, name } });
  const [a, b] = await Promise.all([startInstance(t, cfg('a')), startInstance(t, cfg('b'))]);
  const front = await roundRobinFront(t, [a.proxy, b.proxy]);
  const r = await run(t, front.port, 10, 5);
  t.ok(r.failed > 0 || unknown(farm) > 0, `sessions broke: ${r.failed} of 10 clients failed, ${unknown(farm)} "Session ID unknown"`);
});

t.test('2 workers, a new connection per request: no "Session ID unknown"', { timeout: 90_000, skip: await redisSkip() }, async (t) => {
  const farm = await startSocketIoFarm(t, 2);
  const inst = await startInstance(t, yaml(farm, { workers: 2 }), 2);
  const r = await run(t, inst.proxy, 20, 10);
  t.same(r, { completed: 20, failed: 0, mismatched: 0 }, 'every client completed its round trips on its session\'s server');
  t.equal(unknown(farm), 0, 'zero "Session ID unknown"');
  const doc = (await status(inst.admin))['sharing'] as { affinity: { learnt: number; learnt_by_worker: Record<string, number> } };
  const by = Object.values(doc.affinity.learnt_by_worker);
  t.ok(by.length === 2 && by.every((n) => n > 0), `handshakes answered on both workers: ${JSON.stringify(doc.affinity.learnt_by_worker)}`);
});
