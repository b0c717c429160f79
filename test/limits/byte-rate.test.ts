/** limits.bytes_per_second through a real balancer: a client writing flat out reaches the server at about the limit (never above one second's bucket plus the rate plus one read), nothing is closed; 0 is off; a route's own value. */

import t, { type Test } from 'tap';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type RawData } from 'ws';
import { startBalancer } from '../helpers/balancer.js';
import { frame, OP, RawWs } from '../helpers/ws-frames.js';
import { sleep, waitFor } from '../helpers/wait.js';

/** A WebSocket server that counts the payload bytes it receives, with the time of each message; it sends nothing. */
async function sink(t: Test): Promise<{ url: string; arrivals: [number, number][]; open: () => number }> {
  const arrivals: [number, number][] = [];
  const server = http.createServer();
  const wss = new WebSocketServer({ server, perMessageDeflate: false });
  wss.on('connection', (ws) => {
    ws.on('error', () => {});
    ws.on('message', (data: RawData) => arrivals.push([performance.now(), (data as Buffer).length]));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => { for (const c of wss.clients) c.terminate(); server.close(); });
  return { url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}`, arrivals, open: () => wss.clients.size };
}

/** Writes `size`-byte binary messages flat out for `ms` (never more than 256 KiB queued in the socket). */
async function flood(ws: RawWs, size: number, ms: number): Promise<void> {
  const msg = frame(OP.BINARY, Buffer.alloc(size, 1));
  const end = performance.now() + ms;
  while (performance.now() < end && !ws.closed) {
    while (ws.socket.writableLength < 256 * 1024) ws.write(msg);
    await sleep(5);
  }
}

const KIB = 1024;

t.test('a client writing flat out gets the rate, and stays open', async (t) => {
  const rate = 64 * KIB;
  const s = await sink(t);
  const b = await startBalancer(t, { servers: [{ name: 's', url: s.url }], limits: { bytes_per_second: '64KiB/s' } });
  const started = performance.now();   // before the tunnel exists: its bucket has refilled for less than the time since
  const ws = await RawWs.open(b.proxyPort(0));
  t.teardown(() => ws.socket.destroy());
  const windowMs = 2500;
  await flood(ws, 8 * KIB, windowMs);
  const elapsed = performance.now() - started;
  const total = s.arrivals.reduce((n, [, len]) => n + len, 0);
  // The bucket starts full (one second), refills at the rate, and may be overdrawn by one read. Over the
  // time that actually passed: a loaded machine stretches the run, and the bucket refills meanwhile.
  const most = rate + (rate * elapsed) / 1000 + 64 * KIB;
  t.ok(total <= most, `at most ${Math.round(most)} bytes in ${Math.round(elapsed)} ms, got ${total}`);
  const first = s.arrivals[0]?.[0] ?? 0;
  const inWindow = s.arrivals.filter(([at]) => at - first <= windowMs).reduce((n, [, len]) => n + len, 0);
  t.ok(inWindow >= 0.6 * (rate * windowMs) / 1000, `near the rate: at least 60% of it, got ${inWindow}`);
  const steady = s.arrivals.filter(([at]) => at - first > 1000 && at - first <= windowMs).reduce((n, [, len]) => n + len, 0);
  t.comment(`server received ${inWindow} B in ${windowMs} ms; after the first second ${Math.round(steady / ((windowMs - 1000) / 1000))} B/s (limit ${rate})`);
  t.ok(ws.sent > 4 * (rate + (rate * windowMs) / 1000 + 64 * KIB), `the client wanted to send far more (${ws.sent} bytes)`);
  t.notOk(ws.closed, 'the client is not closed');
  t.equal(ws.close, undefined, 'no close frame');
  t.equal(s.open(), 1, 'the server connection is open');
});

t.test('0 is off: a megabyte arrives whole', async (t) => {
  const s = await sink(t);
  const b = await startBalancer(t, { servers: [{ name: 's', url: s.url }], limits: { bytes_per_second: 0 } });
  const ws = await RawWs.open(b.proxyPort(0));
  t.teardown(() => ws.socket.destroy());
  for (let i = 0; i < 16; i++) ws.write(frame(OP.BINARY, Buffer.alloc(64 * KIB)));
  await waitFor(t, () => s.arrivals.length === 16, { what: '16 x 64 KiB through' });
});

t.test("a route's own bytes_per_second replaces the global one", async (t) => {
  const s = await sink(t);
  const b = await startBalancer(t, {
    servers: [{ name: 's', url: s.url }],
    limits: { bytes_per_second: '100MiB/s' },
    route: { limits: { bytes_per_second: '16KiB/s' } },
  });
  const started = performance.now();
  const ws = await RawWs.open(b.proxyPort(0));
  t.teardown(() => ws.socket.destroy());
  await flood(ws, 4 * KIB, 1000);
  const got = s.arrivals.reduce((n, [, len]) => n + len, 0);
  // The bucket + the rate over the time that actually passed (a loaded machine stretches it) + one read.
  const most = 16 * KIB + (16 * KIB * (performance.now() - started)) / 1000 + 64 * KIB;
  t.ok(got <= most, `the route's 16 KiB/s holds: ${got} <= ${most}`);
  t.notOk(ws.closed);
});
