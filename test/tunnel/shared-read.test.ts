/** Server sockets that read through the one shared buffer (src/tunnel/upstream-read.ts): bytes stay exact while many tunnels share it under backpressure, bytes with no reader are held in order, and the balancer's plain-TCP connects use it. */

import t, { type Test } from 'tap';
import net from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { Server } from '../../src/pool/server.js';
import { connectServer } from '../../src/tunnel/upstream.js';
import { BULK_BYTES, bulkStats, markSharedRead, readsShared, setReader, SHARED_BYTES, SHARED_READ } from '../../src/tunnel/upstream-read.js';
import { FrameScanner } from '../../src/tunnel/frame-scanner.js';
import { frame, rawClient, sleep, startRawBackend, startRelay } from './relay.js';
import { waitFor } from '../helpers/wait.js';

const POOL = randomBytes(1024 * 1024);

/** Frames of random bytes (30 of 256 KiB among 60 small ones: ~7.7 MiB, more than the kernel's buffers take for a client that does not read), and the SHA-1 of all their bytes. */
function randomFrames(seed: number): { frames: Buffer[]; digest: string } {
  const frames: Buffer[] = [];
  const h = createHash('sha1');
  for (let i = 0; i < 90; i++) {
    const size = i % 3 === 0 ? 256 * 1024 : 1 + ((i * 31 + seed) % 300);
    const at = (i * 7919 + seed * 104729) % (POOL.length - size);
    const f = frame(2, POOL.subarray(at, at + size));
    frames.push(f);
    h.update(f);
  }
  return { frames, digest: h.digest('hex') };
}

/** Starts `srv` on a free port and connects to it through the shared buffer (no reader yet); both closed at teardown. */
async function sharedReadClient(t: Test, srv: net.Server): Promise<net.Socket> {
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  t.teardown(() => new Promise<void>((r) => { srv.close(() => r()); }));
  const sock = net.connect({ port: (srv.address() as net.AddressInfo).port, host: '127.0.0.1', onread: SHARED_READ });
  markSharedRead(sock);
  sock.on('error', () => {});
  t.teardown(() => sock.destroy());
  return sock;
}

/** A shared-read socket whose reader collects every chunk in `parts`, and `bytes` written by its server while it was paused (given 50 ms to reach the kernel's buffers); the caller resumes it. */
async function writtenWhilePaused(t: Test, bytes: Buffer): Promise<{ sock: net.Socket; server: net.Socket; parts: Buffer[] }> {
  let server: net.Socket | null = null;
  const srv = net.createServer((s) => { s.on('error', () => {}); server = s; });
  const sock = await sharedReadClient(t, srv);
  const parts: Buffer[] = [];
  setReader(sock, { upstreamOnData(c: Buffer) { parts.push(c); } });
  await waitFor(t, () => server !== null, { what: 'the server side' });
  sock.pause();
  server!.write(bytes);
  await sleep(50);
  return { sock, server: server!, parts };
}

/** Writes `frames` as fast as the socket takes them. */
function pumpFrames(s: net.Socket, frames: Buffer[]): void {
  let i = 0;
  const pump = (): void => {
    while (i < frames.length) if (!s.write(frames[i++]!)) return void s.once('drain', pump);
  };
  pump();
}

/** Reads a raw client until `messages` whole frames came (in bites: paused for a turn after each read, when asked); resolves with the SHA-1 of every byte. */
function readDigest(client: { sock: net.Socket; rest: Buffer }, messages: number, bites = false): Promise<string> {
  const { sock, rest } = client;
  return new Promise<string>((resolve) => {
    const h = createHash('sha1');
    const count = new FrameScanner(Infinity);
    h.update(rest);
    count.scan(rest);
    sock.on('data', (d: Buffer) => {
      h.update(d);
      count.scan(d);
      if (count.messages === messages) resolve(h.digest('hex'));
      if (bites) {
        sock.pause();
        setImmediate(() => sock.resume());
      }
    });
    sock.resume();
  });
}

t.test('tunnels share the read buffer while their clients stall and read in bites: every byte arrives as sent', async (t) => {
  const TUNNELS = 4;
  const sets = Array.from({ length: TUNNELS }, (_, i) => randomFrames(i + 1));
  let next = 0;
  // Each server writes its frames as fast as its socket takes them (the relay reads them into the shared buffer).
  const backend = await startRawBackend((s) => pumpFrames(s, sets[next++]!.frames));
  const relay = await startRelay({ backendPort: backend.port, maxBufferedBytes: 64 * 1024, finTimeout: 200 });
  t.teardown(async () => { await relay.stop(); await backend.stop(); });
  const clients = [];
  for (let i = 0; i < TUNNELS; i++) clients.push(await rawClient(relay.port));
  t.ok(relay.hops.every((h) => readsShared(h.upstream)), 'the relay reads its server sockets through the shared buffer');
  // The clients read nothing until every tunnel holds writes that the kernel did not take at once
  // (pending writes of bytes that came through the shared buffer), then read in bites.
  await waitFor(t, () => relay.hops.length === TUNNELS && relay.hops.every((h) => h.tunnel.pauses > 0), { ms: 10_000, what: 'backpressure in every tunnel' })
  const results = clients.map((c, i) => readDigest(c, sets[i]!.frames.length, true));
  const handed = bulkStats.handedOver;
  const recycled = bulkStats.recycled;
  const digests = await Promise.all(results)
  for (let i = 0; i < TUNNELS; i++) t.equal(digests[i], sets[i]!.digest, `tunnel ${i}: the bytes as the server sent them`);
  // The 256 KiB frames come in bulk: reads handed over in their own buffers, given back once written and read into again.
  t.ok(bulkStats.handedOver > handed, `bulk reads handed over without a copy (${bulkStats.handedOver - handed})`);
  t.ok(bulkStats.recycled > recycled, `their buffers given back after the write and reused (${bulkStats.recycled - recycled})`);
  for (const { sock } of clients) sock.destroy();
  await relay.idle();
});

/** A server that writes `bytes` as soon as a client connects, then keeps the connection open. */
async function talker(t: Test, bytes: Buffer): Promise<number> {
  const srv = net.createServer((s) => { s.on('error', () => {}); s.write(bytes); });
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  t.teardown(() => new Promise<void>((r) => { srv.close(() => r()); }));
  return (srv.address() as net.AddressInfo).port;
}

t.test('bytes that come while the socket has no reader are held in order, and reading pauses past 64 KiB', async (t) => {
  const sent = randomBytes(300 * 1024);
  const port = await talker(t, sent);
  const sock = net.connect({ port, host: '127.0.0.1', onread: SHARED_READ });
  markSharedRead(sock);
  sock.on('error', () => {});
  t.teardown(() => sock.destroy());
  await waitFor(t, () => sock.isPaused(), { what: 'reading paused with no reader' });
  await sleep(50);
  const parts: Buffer[] = [];
  let handedOn = false;
  // The first reader takes one held chunk and hands the socket on; the second gets the rest, in order.
  setReader(sock, {
    upstreamOnData(c: Buffer) {
      parts.push(c);
      handedOn = true;
      setReader(sock, null);
    },
  });
  t.ok(handedOn, 'held bytes went to the reader at once');
  t.ok(parts[0]!.length < 300 * 1024, 'only part of the bytes had been read while paused');
  setReader(sock, { upstreamOnData(c: Buffer) { parts.push(c); } });
  sock.resume();
  await waitFor(t, () => parts.reduce((n, p) => n + p.length, 0) === sent.length, { what: 'the rest after resume' });
  t.ok(Buffer.concat(parts).equals(sent), 'every byte, in order');
  t.equal(sock.listenerCount('data'), 0);
});

t.test('the balancer connects plain-TCP servers through the shared buffer, TLS ones not', async (t) => {
  const port = await talker(t, Buffer.from('hello'));
  const server = new Server('p', { name: 's', url: `ws://127.0.0.1:${port}`, host: '127.0.0.1', port, tls: false, weight: 1 });
  const sock = await connectServer(server, 2000);
  t.teardown(() => sock.destroy());
  t.equal(readsShared(sock), true);
  const got: Buffer[] = [];
  setReader(sock, { upstreamOnData(c: Buffer) { got.push(c); } });
  await waitFor(t, () => Buffer.concat(got).toString() === 'hello', { what: 'the greeting, held for the reader' });
  const plain = net.connect({ port, host: '127.0.0.1' });
  t.teardown(() => plain.destroy());
  t.equal(readsShared(plain), false, 'a socket opened without it reads as usual');
});

t.test('a paused socket whose reading is restarted underneath (Node\'s Socket.read() does that) takes one read, then stops again', async (t) => {
  // A server that writes as fast as its socket takes it, until the client goes.
  const srv = net.createServer((s) => {
    s.on('error', () => {});
    const b = Buffer.alloc(64 * 1024, 7);
    const pump = (): void => { while (!s.destroyed && s.write(b)); if (!s.destroyed) s.once('drain', pump); };
    pump();
  });
  const sock = await sharedReadClient(t, srv);
  let got = 0;
  setReader(sock, { upstreamOnData(c: Buffer) { got += c.length; } });
  sock.resume();
  await waitFor(t, () => got > 1024 * 1024, { what: 'the first MiB' });
  sock.pause();
  await sleep(50);
  const atPause = got;
  sock.read(0);   // restarts the handle's reads although the stream is paused
  await sleep(100);
  t.ok(got - atPause <= 64 * 1024, `at most one read after the restart (${got - atPause} bytes)`);
  t.equal(sock.isPaused(), true);
  const atResume = got;
  sock.resume();
  await waitFor(t, () => got > atResume + 1024 * 1024, { what: 'reading again after resume' });
});

t.test('a server pushing in bulk reads into buffers of its own, handed over without a copy; back to the shared buffer on its first small read', async (t) => {
  const bulk = randomBytes(2 * 1024 * 1024);
  // Paused while the whole bulk is written: the kernel then holds far more than one read takes.
  const { sock, server, parts } = await writtenWhilePaused(t, bulk);
  const count = (): number => parts.reduce((n, p) => n + p.length, 0);
  const handed = bulkStats.handedOver;
  const left = bulkStats.leftBulk;
  sock.resume();
  await waitFor(t, () => count() === bulk.length, { what: 'the bulk' });
  t.ok(Buffer.concat(parts).equals(bulk), 'every bulk byte, in order');
  t.ok(bulkStats.handedOver > handed, `bulk reads went to the socket's own buffers, handed over (${bulkStats.handedOver - handed} reads)`);
  // Reads handed over whole are kept by their reader: a later read must not overwrite them.
  const kept = Buffer.concat(parts);
  const before = parts.length;
  server.write('small');
  await waitFor(t, () => parts.length > before, { what: 'the small write' });
  t.equal(parts.at(-1)!.toString(), 'small');
  t.ok(bulkStats.leftBulk > left, 'once its reads got small (the bulk\'s tail, or this one) the socket went back to the shared buffer');
  t.ok(Buffer.concat(parts.slice(0, before)).equals(kept) && kept.equals(bulk), 'the chunks handed over earlier are unchanged');
});

t.test('a message bigger than the shared buffer that arrives at once: one full shared read, the rest read on into the socket\'s own buffer; exact', async (t) => {
  const msg = randomBytes(SHARED_BYTES + BULK_BYTES / 2);   // 32 KiB here: more than the shared buffer, less than a bulk read
  const { sock, server, parts } = await writtenWhilePaused(t, msg);   // the whole message waits in the kernel
  const left = bulkStats.leftBulk;
  const handed = bulkStats.handedOver;
  sock.resume();
  await waitFor(t, () => parts.reduce((k, p) => k + p.length, 0) === msg.length, { what: 'the message' });
  t.same(parts.map((p) => p.length), [SHARED_BYTES, msg.length - SHARED_BYTES], 'the first read filled the shared buffer; the second took the rest');
  t.ok(Buffer.concat(parts).equals(msg), 'every byte, in order');
  t.equal(bulkStats.handedOver, handed, 'the rest was under a bulk read: copied out, not handed over');
  t.equal(bulkStats.leftBulk, left + 1, 'and the socket went back to the shared buffer');
  // The shared buffer is overwritten by the next read: the chunks given out before must not change.
  server.write(Buffer.alloc(SHARED_BYTES, 0x55));
  await waitFor(t, () => parts.length >= 3, { what: 'the next write' });
  t.ok(Buffer.concat(parts.slice(0, 2)).equals(msg), 'the earlier chunks are unchanged');
});

t.test('a tunnel closed while its server pushes in bulk discards the rest and gives the buffers back; another tunnel reading them again stays exact', async (t) => {
  const big = frame(2, POOL.subarray(0, 64 * 1024));
  const { frames, digest } = randomFrames(7);
  let n = 0;
  const backend = await startRawBackend((s) => {
    if (n++ === 0) {
      // Flat out until the balancer gives up on it.
      const push = (): void => { while (!s.destroyed && s.write(big)); };
      s.on('drain', push);
      s.on('error', () => {});
      push();
      return;
    }
    pumpFrames(s, frames);
  });
  const relay = await startRelay({ backendPort: backend.port, maxBufferedBytes: 64 * 1024, finTimeout: 1500 });
  t.teardown(async () => { await relay.stop(); await backend.stop(); });
  const stalled = await rawClient(relay.port);                 // never reads
  const first = await relay.hop(0);
  await waitFor(t, () => first.tunnel.backpressured, { ms: 10_000, what: 'the stalled reader at its bound' });
  const recycled = bulkStats.recycled;
  first.tunnel.close(1008, 'reader stalled');                   // its server's bytes are now read and discarded
  const reader = await rawClient(relay.port);
  t.equal(await readDigest(reader, frames.length), digest, 'the second tunnel: every byte as its server sent it');
  t.ok(bulkStats.recycled > recycled, `buffers given back meanwhile (${bulkStats.recycled - recycled})`);
  await waitFor(t, () => first.tunnel.finished, { ms: 5000, what: 'the closed tunnel to finish' });
  stalled.sock.destroy();
  reader.sock.destroy();
  await relay.idle();
});
