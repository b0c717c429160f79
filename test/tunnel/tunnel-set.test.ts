/** TunnelSet on real tunnels: membership, the idle sweeper (1001), drain spreading closes over a window, destroyAll. */

import t from 'tap';
import net from 'node:net';
import { WebSocket } from 'ws';
import { Server } from '../../src/pool/server.js';
import { Tunnel } from '../../src/tunnel/tunnel.js';
import { TunnelSet } from '../../src/tunnel/tunnel-set.js';
import { rawClient, sleep, startBackend, startRelay } from './relay.js';
import { waitFor } from '../helpers/wait.js';

const open = (url: string): Promise<WebSocket> =>
  new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });

t.test('idle sweep closes quiet tunnels with 1001, leaves busy ones', async (t) => {
  // 1.5 s: the busy tunnel's 40 ms sends keep it active unless the process stalls for longer than that.
  const IDLE_MS = 1500;
  const backend = await startBackend();
  const relay = await startRelay({ backendPort: backend.port, idleMs: IDLE_MS });
  t.teardown(async () => { await relay.stop(); await backend.stop(); });
  t.equal(relay.set.sweepPeriod, IDLE_MS / 4);
  // Before the quiet tunnel opens: its last byte (the 101) comes after this.
  const t0 = Date.now();
  const quiet = await open(relay.url);
  const busy = await open(relay.url);
  t.equal(relay.set.size, 2);
  const quietClosed = new Promise<{ code: number; at: number }>((r) =>
    quiet.once('close', (code: number) => r({ code, at: Date.now() })));
  let busyClosed = false;
  busy.on('close', () => { busyClosed = true; });
  busy.on('message', () => {});
  const keep = setInterval(() => busy.send('tick'), 40);
  const q = await quietClosed;
  t.equal(q.code, 1001);
  const after = q.at - t0;
  // Never before idleMs after the last byte; at most two sweep periods late, plus room for a loaded machine.
  t.ok(after >= IDLE_MS - 10 && after < IDLE_MS * 3, `quiet tunnel closed after ${after} ms`);
  await sleep(300);
  t.notOk(busyClosed, 'busy tunnel still open');
  clearInterval(keep);
  await waitFor(t, () => busyClosed, { ms: IDLE_MS * 6, what: 'closed once it goes quiet' });
  await relay.idle();
  t.equal(relay.set.size, 0);
  t.equal(relay.server.active, 0);
});

t.test('sweep() with an injected clock: exact idle accounting', async (t) => {
  let now = 1000;
  const set = new TunnelSet({ idleMs: 400, now: () => now });
  t.equal(set.sweepPeriod, 100);
  const closes: number[] = [];
  const fake = { activity: false, finished: false, owner: null, close: (c: number) => closes.push(c), destroy: () => {} };
  set.add(fake as unknown as Tunnel);
  set.stop();                       // drive sweeps by hand
  now = 1300; set.sweep();
  t.same(closes, [], '300 ms quiet: kept');
  fake.activity = true;
  now = 1399; set.sweep();
  t.notOk(fake.activity, 'flag cleared');
  now = 1700; set.sweep();
  t.same(closes, [], 'active at the 1399 sweep: idle counts from there');
  now = 1799; set.sweep();
  t.same(closes, [1001], 'idle for >= idleMs: 1001');
  set.tunnelClosed(fake as unknown as Tunnel);
  t.equal(set.size, 0);
  set.setIdle(800);
  t.equal(set.sweepPeriod, 200, 'reload: new idle timeout, new period');
  set.setIdle(100);
  t.equal(set.sweepPeriod, 50, 'period never below 50 ms');
  const off = new TunnelSet({ idleMs: 0 });
  off.add(fake as unknown as Tunnel);
  off.sweep();
  t.equal(closes.length, 1, 'idleMs 0: no sweeping');
});

t.test('drain spreads 1001 closes over the window, then resolves empty', async (t) => {
  const backend = await startBackend();
  const relay = await startRelay({ backendPort: backend.port });
  t.teardown(async () => { await relay.stop(); await backend.stop(); });
  const N = 10;
  const clients = await Promise.all(Array.from({ length: N }, () => open(relay.url)));
  await waitFor(t, () => relay.set.size === N, { what: `all ${N} tunnels in the set` });
  const WINDOW = 2000;
  const closes: Array<{ code: number; at: number }> = [];
  for (const c of clients) c.once('close', (code: number) => closes.push({ code, at: Date.now() }));
  const t0 = Date.now();
  await relay.set.drain(WINDOW);
  const took = Date.now() - t0;
  await waitFor(t, () => closes.length === N, { what: `all ${N} clients closed` });
  t.equal(relay.set.size, 0);
  t.ok(closes.every((c) => c.code === 1001), 'all 1001');
  const times = closes.map((c) => c.at - t0).sort((a, b) => a - b);
  // Spaced out: the i-th close is due i x WINDOW/N into the window and never comes earlier (a loaded
  // machine only delays closes, so this holds under load and fails for closes sent all at once).
  t.ok(times.every((at, i) => at >= (i * WINDOW) / N - 20), `none ahead of its turn (${times.join(',')} ms)`);
  t.ok(times[0] < WINDOW / 2, `first close right away, not at the end of the window (${times[0]} ms)`);
  // Resolved when the set emptied: at the window's end, not at the 10 s finTimeout.
  t.ok(took < WINDOW + 3000, `drain resolved when the set emptied (${took} ms)`);
  t.equal(relay.server.active, 0);
});

t.test('drain destroys what is left at the end of the window', async (t) => {
  const backend = await startBackend();
  const relay = await startRelay({ backendPort: backend.port, finTimeout: 30_000 });
  t.teardown(async () => { await relay.stop(); await backend.stop(); });
  // A raw client that never reads and never answers: its close handshake cannot finish.
  const { sock } = await rawClient(relay.port);
  sock.on('error', () => {});
  const ws = await open(relay.url);
  await waitFor(t, () => relay.set.size === 2, { what: 'both tunnels in the set' });
  const t0 = Date.now();
  await relay.set.drain(400);
  const took = Date.now() - t0;
  // At the end of the 400 ms window, not at the 30 s finTimeout (the upper bound leaves room for a loaded machine).
  t.ok(took >= 350 && took < 5000, `resolved at the end of the window (${took} ms)`);
  t.equal(relay.set.size, 0);
  t.equal(relay.server.active, 0);
  ws.terminate();
  sock.destroy();
});

t.test('destroyAll, unstarted tunnels, and drain of an empty set', async (t) => {
  const backend = await startBackend();
  const relay = await startRelay({ backendPort: backend.port });
  t.teardown(async () => { await relay.stop(); await backend.stop(); });
  await Promise.all([open(relay.url), open(relay.url)]);
  await waitFor(t, () => relay.set.size === 2, { what: 'both tunnels in the set' });
  relay.set.destroyAll();
  await relay.idle();
  t.equal(relay.set.size, 0);
  t.equal(relay.server.active, 0);
  t.equal(relay.server.total, 2);
  await relay.set.drain(1000);
  t.pass('empty drain resolves at once');

  // A tunnel added but never started leaves the set when destroyed, without touching counters.
  const server = new Server('p', { name: 'x', url: 'ws://127.0.0.1:1', host: '127.0.0.1', port: 1, tls: false, weight: 1 });
  const a = new net.Socket();
  const b = new net.Socket();
  let closed = 0;
  const tun = new Tunnel({ client: a, upstream: b, server, maxMessageBytes: 1, maxBufferedBytes: 1, finTimeout: 1, onClose: () => closed++ });
  relay.set.add(tun);
  t.equal(relay.set.size, 1);
  tun.close(1001);
  t.equal(relay.set.size, 1, 'close() before start does nothing');
  const d = relay.set.drain(50);
  await d;
  t.equal(relay.set.size, 0);
  t.equal(closed, 1);
  t.ok(tun.finished);
  t.equal(server.active, 0);
  tun.start(null, null);
  t.equal(server.active, 0, 'start after destroy is a no-op');
  t.throws(() => relay.hops[0].tunnel.start(null, null), 'a tunnel runs once');
});
