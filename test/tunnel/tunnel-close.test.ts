/** Tunnel close semantics on real sockets: server failure (1014), message too big (1009), half-close, graceful close at a frame boundary, resets, held handshake bytes. */

import t from 'tap';
import type net from 'node:net';
import { WebSocket } from 'ws';
import { findCloseCode, frame, rawClient, sleep, startBackend, startRawBackend, startRelay } from './relay.js';
import { waitFor } from '../helpers/wait.js';

const open = (url: string): Promise<WebSocket> =>
  new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });

const closed = (ws: WebSocket): Promise<number> => new Promise((resolve) => ws.once('close', (code: number) => resolve(code)));

/** Collects everything a raw socket receives. */
function collect(sock: net.Socket, first: Buffer): { data: () => Buffer; ended: Promise<void> } {
  const parts = [first];
  sock.on('data', (d: Buffer) => parts.push(d));
  // 'end' (the balancer's FIN or reset) rather than 'close': these raw sockets are half-open.
  const ended = new Promise<void>((r) => { sock.once('end', r); sock.once('close', () => r()); });
  sock.resume();
  return { data: () => Buffer.concat(parts), ended };
}

/** Unmasks the first (masked, client-to-server) close frame in data and returns its code. */
function maskedCloseCode(data: Buffer): number | undefined {
  for (let i = 0; i + 8 <= data.length; i++) {
    if (data[i] === 0x88 && (data[i + 1] & 0x80) !== 0 && (data[i + 1] & 0x7f) >= 2) {
      return ((data[i + 6] ^ data[i + 2]) << 8) | (data[i + 7] ^ data[i + 3]);
    }
  }
  return undefined;
}

for (const how of ['terminate', 'reset'] as const) {
  t.test(`server killed mid-stream (${how}) -> client gets 1014 at once`, async (t) => {
    const backend = await startBackend();
    const relay = await startRelay({ backendPort: backend.port });
    t.teardown(async () => { await relay.stop(); await backend.stop(); });
    const ws = await open(relay.url);
    let got = 0;
    ws.on('message', () => { got++; });
    for (let i = 0; i < 20; i++) backend.conns[0].send(`stream ${i}`);
    await waitFor(t, () => got === 20, { what: 'all 20 messages reached the client' });
    const c = closed(ws);
    const t0 = Date.now();
    if (how === 'terminate') backend.conns[0].terminate();
    else backend.sockets[0].resetAndDestroy();
    t.equal(await c, 1014);
    // Caused by the server's death, not by the 10 s finTimeout (the bound leaves room for a loaded machine).
    t.ok(Date.now() - t0 < 5000, 'long before finTimeout');
    await relay.idle();
    t.same(relay.hops[0].tunnel.lastClose, { code: 1014, by: 'balancer' });
    t.equal(relay.server.active, 0);
  });
}

t.test('server dies mid-frame -> client connection aborted (no boundary for a close frame)', async (t) => {
  const backend = await startRawBackend((s) => {
    const f = frame(0x2, Buffer.alloc(1000));
    s.write(f.subarray(0, 500), () => setTimeout(() => s.resetAndDestroy(), 50));
  });
  const relay = await startRelay({ backendPort: backend.port });
  t.teardown(async () => { await relay.stop(); await backend.stop(); });
  const ws = new WebSocket(relay.url, { perMessageDeflate: false });
  ws.on('error', () => {});
  t.equal(await closed(ws), 1006);
  await relay.idle();
  t.equal(relay.server.active, 0);
});

t.test('message too big -> 1009 both ways, whichever side sends it', async (t) => {
  const backend = await startBackend();
  const relay = await startRelay({ backendPort: backend.port, maxMessageBytes: 64 * 1024 });
  t.teardown(async () => { await relay.stop(); await backend.stop(); });

  const a = await open(relay.url);
  const srvA = new Promise<number>((r) => backend.conns[0].once('close', (code: number) => r(code)));
  const ca = closed(a);
  a.send(Buffer.alloc(64 * 1024), () => a.send(Buffer.alloc(64 * 1024 + 1)));
  t.equal(await ca, 1009, 'client told 1009');
  t.equal(await srvA, 1009, 'server told 1009');
  await relay.idle();
  t.equal(relay.server.messagesIn, 1, 'the message at the limit passed');
  t.same(relay.hops[0].tunnel.lastClose, { code: 1009, by: 'balancer' });

  const b = await open(relay.url);
  const srvB = new Promise<number>((r) => backend.conns[1].once('close', (code: number) => r(code)));
  const cb = closed(b);
  b.send('cmd:send:70000');
  t.equal(await cb, 1009, 'client told 1009');
  t.equal(await srvB, 1009, 'server told 1009');
  await relay.idle();
  t.equal(relay.server.active, 0);
});

t.test('half-close: client FIN reaches the server, tunnel closes well within finTimeout', async (t) => {
  const backend = await startBackend();
  // 10 s: the server's answering FIN must be what closes the tunnel, even when a loaded machine takes a while.
  const relay = await startRelay({ backendPort: backend.port, finTimeout: 10_000 });
  t.teardown(async () => { await relay.stop(); await backend.stop(); });
  const { sock, rest } = await rawClient(relay.port);
  const got = collect(sock, rest);
  await waitFor(t, () => backend.sockets.length === 1, { what: 'the server holds the connection' });
  const serverSawFin = new Promise<void>((r) => backend.sockets[0].once('end', () => r()));
  const t0 = Date.now();
  sock.end();
  await serverSawFin;
  t.pass('server got FIN');
  await relay.idle();
  t.ok(Date.now() - t0 < 5000, 'closed well before finTimeout');
  await got.ended;
  t.equal(findCloseCode(got.data()), undefined, 'no 1014 in answer to the client\'s own FIN');
  const h = relay.hops[0];
  t.ok(h.client.destroyed && h.upstream.destroyed, 'no socket left open (no CLOSE_WAIT)');
  t.equal(relay.server.active, 0);
});

t.test('half-close: a server that never answers the FIN is cut at finTimeout', async (t) => {
  const ends: number[] = [];
  const backend = await startRawBackend((s) => {
    s.on('data', () => {});
    s.on('end', () => ends.push(Date.now()));   // allowHalfOpen: it never ends its side
  });
  const relay = await startRelay({ backendPort: backend.port, finTimeout: 300 });
  t.teardown(async () => { await relay.stop(); await backend.stop(); });
  const { sock, rest } = await rawClient(relay.port);
  collect(sock, rest);
  await relay.hop(0);
  const t0 = Date.now();
  sock.end();
  await relay.idle();
  const took = Date.now() - t0;
  t.equal(ends.length, 1, 'FIN propagated');
  // Never before finTimeout; the upper bound leaves room for a loaded machine (nothing else would end it).
  t.ok(took >= 250 && took < 3000, `destroyed at finTimeout (${took} ms)`);
  t.equal(relay.server.active, 0);
});

t.test('close(1001) mid-frame waits for the frame boundary', async (t) => {
  const backend = await startBackend();
  const relay = await startRelay({ backendPort: backend.port, finTimeout: 5000 });
  t.teardown(async () => { await relay.stop(); await backend.stop(); });
  const { sock, rest } = await rawClient(relay.port);
  const got = collect(sock, rest);
  await waitFor(t, () => backend.conns.length === 1, { what: 'the server holds the connection' });
  const srv = backend.conns[0];
  let received = -1;
  srv.on('message', (d: Buffer) => { received = d.length; });
  const srvClose = new Promise<number>((r) => srv.once('close', (code: number) => r(code)));
  const hop = await relay.hop(0);
  const f = frame(0x2, Buffer.alloc(200 * 1024, 7), { mask: true });
  const piece = Math.ceil(f.length / 10);
  for (let i = 0; i < 10; i++) {
    sock.write(f.subarray(i * piece, (i + 1) * piece));
    if (i === 2) hop.tunnel.close(1001, 'going away');
    await sleep(30);
  }
  t.equal(await srvClose, 1001, 'server got 1001');
  t.equal(received, 200 * 1024, 'after the whole frame');
  await waitFor(t, () => findCloseCode(got.data()) !== undefined, { what: 'a close frame reached the client' });
  t.equal(findCloseCode(got.data()), 1001, 'client got 1001 at once (its direction was at a boundary)');
  sock.end();
  await relay.idle();
  t.equal(relay.server.active, 0);
});

t.test('bytes held during the handshake go through first, both ways', async (t) => {
  const hello = frame(0x1, Buffer.from('hello from the server'));
  let serverGot: Buffer = Buffer.alloc(0);
  const backend = await startRawBackend((s, rest) => {
    serverGot = rest;
    s.on('data', (d: Buffer) => { serverGot = Buffer.concat([serverGot, d]); });
    s.on('end', () => s.end());
  }, hello);
  const relay = await startRelay({ backendPort: backend.port });
  t.teardown(async () => { await relay.stop(); await backend.stop(); });
  const early = frame(0x1, Buffer.from('early'), { mask: true });
  const { sock, rest } = await rawClient(relay.port, { extra: early });
  const got = collect(sock, rest);
  await waitFor(t, () => got.data().includes(hello), { what: 'server bytes sent with the 101 reach the client' });
  await waitFor(t, () => serverGot.equals(early), { what: 'client bytes sent with the request reach the server' });
  t.equal(relay.server.messagesIn, 1);
  t.equal(relay.server.messagesOut, 1);
  sock.destroy();
  await relay.idle();
  t.equal(relay.server.active, 0);
});

t.test('client reset -> upstream destroyed', async (t) => {
  const backend = await startBackend();
  const relay = await startRelay({ backendPort: backend.port });
  t.teardown(async () => { await relay.stop(); await backend.stop(); });
  const { sock } = await rawClient(relay.port);
  await waitFor(t, () => backend.conns.length === 1, { what: 'the server holds the connection' });
  const srvClose = new Promise<number>((r) => backend.conns[0].once('close', (code: number) => r(code)));
  sock.resetAndDestroy();
  t.equal(await srvClose, 1006, 'server connection aborted');
  await relay.idle();
  t.equal(relay.server.active, 0);
});

t.test('balancer close to a server: masked close frame, then FIN', async (t) => {
  let serverGot: Buffer = Buffer.alloc(0);
  const backend = await startRawBackend((s) => {
    s.on('data', (d: Buffer) => { serverGot = Buffer.concat([serverGot, d]); });
    s.on('end', () => s.end());
  });
  const relay = await startRelay({ backendPort: backend.port });
  t.teardown(async () => { await relay.stop(); await backend.stop(); });
  const ws = await open(relay.url);
  const hop = await relay.hop(0);
  const c = closed(ws);
  hop.tunnel.close(1012, 'rebalanced');
  t.equal(await c, 1012, 'client got 1012');
  t.equal(maskedCloseCode(serverGot), 1012, 'server got a masked 1012');
  await relay.idle();
  t.equal(relay.server.active, 0);
});

t.test('too-big header split across reads: no boundary to close at, both connections aborted', async (t) => {
  const backend = await startBackend();
  const relay = await startRelay({ backendPort: backend.port, maxMessageBytes: 1000 });
  t.teardown(async () => { await relay.stop(); await backend.stop(); });
  const { sock, rest } = await rawClient(relay.port);
  const got = collect(sock, rest);
  await waitFor(t, () => backend.conns.length === 1, { what: 'the server holds the connection' });
  const srvClose = new Promise<number>((r) => backend.conns[0].once('close', (code: number) => r(code)));
  const hop = await relay.hop(0);
  const f = frame(0x2, Buffer.alloc(5000), { mask: true });
  // The rest goes once the relay has read the first byte: after a sleep alone, a stalled process could
  // read both writes at once, and the header would not be split across reads.
  const read = hop.client.bytesRead;
  sock.write(f.subarray(0, 1));
  await waitFor(t, () => hop.client.bytesRead > read, { what: 'the first header byte read alone' });
  sock.write(f.subarray(1, 200));
  t.equal(await srvClose, 1006, 'server aborted');
  await got.ended;
  t.equal(findCloseCode(got.data()), undefined, 'client aborted without a close frame');
  await relay.idle();
  t.equal(relay.server.active, 0);
});

t.test('close() while a header is half-read, and that frame is too big: abort', async (t) => {
  const backend = await startBackend();
  const relay = await startRelay({ backendPort: backend.port, maxMessageBytes: 1000 });
  t.teardown(async () => { await relay.stop(); await backend.stop(); });
  const { sock, rest } = await rawClient(relay.port);
  const got = collect(sock, rest);
  const hop = await relay.hop(0);
  const f = frame(0x2, Buffer.alloc(5000), { mask: true });
  const read = hop.client.bytesRead;
  sock.write(f.subarray(0, 1));
  await waitFor(t, () => hop.client.bytesRead > read, { what: 'the first header byte read: close() finds a header half-read' });
  hop.tunnel.close(1001);
  await waitFor(t, () => findCloseCode(got.data()) === 1001, { what: 'the client got 1001' });
  sock.write(f.subarray(1, 200));
  await got.ended;
  await relay.idle();
  t.equal(relay.server.active, 0);
});

t.test('start() with a socket already destroyed: counted, then finished', async (t) => {
  const { Server } = await import('../../src/pool/server.js');
  const { Tunnel } = await import('../../src/tunnel/tunnel.js');
  const { default: netm } = await import('node:net');
  const server = new Server('p', { name: 'x', url: 'ws://127.0.0.1:1', host: '127.0.0.1', port: 1, tls: false, weight: 1 });
  const a = new netm.Socket();
  const b = new netm.Socket();
  a.destroy();
  let closes = 0;
  const tun = new Tunnel({ client: a, upstream: b, server, maxMessageBytes: 10, maxBufferedBytes: 10, finTimeout: 100, onClose: () => closes++ });
  tun.start(null, null);
  t.equal(server.total, 1);
  await waitFor(t, () => closes === 1, { what: 'onClose ran once' });
  t.ok(b.destroyed);
  t.equal(server.active, 0);
  tun.destroy();
  await sleep(20);
  t.equal(closes, 1, 'onClose exactly once');
});
