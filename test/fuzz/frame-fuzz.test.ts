/** Frame fuzzing through a tunnel, from both ends: reserved opcodes, bad and 2^63 lengths, 200,000 empty fragments, random bytes; the bad tunnel closes, the balancer and a witness tunnel carry on, memory stays bounded. */

import t from 'tap';
import crypto from 'node:crypto';
import net from 'node:net';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import WebSocket from 'ws';
import { startBackend } from '../helpers/backend.js';
import { startBalancer } from '../helpers/balancer.js';
import { waitFor } from '../helpers/wait.js';
import { echo, openWs } from '../helpers/hardening.js';
import { prng } from './mutate.js';
import { upgradeRequest, wsAccept } from '../helpers/raw-client.js';

/** One frame; client frames carry an all-zero mask so the payload bytes stay readable. */
function frame(b0: number, payload: Buffer | number, masked: boolean, lengthOverride?: Buffer): Buffer {
  const len = typeof payload === 'number' ? payload : payload.length;
  const body = typeof payload === 'number' ? Buffer.alloc(0) : payload;
  const m = masked ? 0x80 : 0;
  const ext = lengthOverride ?? (len < 126 ? Buffer.alloc(0) : len < 65536 ? Buffer.from([len >> 8, len & 255]) : (() => { const b = Buffer.alloc(8); b.writeBigUInt64BE(BigInt(len)); return b; })());
  const b1 = lengthOverride ? (lengthOverride.length === 2 ? 126 : 127) : len < 126 ? len : len < 65536 ? 126 : 127;
  return Buffer.concat([Buffer.from([b0, m | b1]), ext, masked ? Buffer.alloc(4) : Buffer.alloc(0), body]);
}
const LEN_2_63 = Buffer.from([0x80, 0, 0, 0, 0, 0, 0, 0]);

/** 200,000 empty fragments of one text message (the last one with FIN). */
function emptyFragments(masked: boolean): Buffer {
  const n = 200_000;
  const parts: Buffer[] = [frame(0x01, 0, masked)];
  const cont = frame(0x00, 0, masked);
  for (let i = 1; i < n - 1; i++) parts.push(cont);
  parts.push(frame(0x80, 0, masked));
  return Buffer.concat(parts);
}

const randomBytes = (seed: number, n: number): Buffer => { const r = prng(seed); return Buffer.from(Array.from({ length: n }, () => Math.floor(r() * 256))); };

interface RawTunnel { received: () => Buffer; closed: Promise<void>; socket: net.Socket }

/** A raw client through the balancer: handshake, then `bytes`; collects everything it receives. */
async function rawClient(port: number, bytes: Buffer, end = false): Promise<RawTunnel> {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => {});
  const chunks: Buffer[] = [];
  const closed = once(socket, 'close').then(() => {});
  await once(socket, 'connect');
  const key = crypto.randomBytes(16).toString('base64');
  socket.write(upgradeRequest('/', [], key));
  let head = Buffer.alloc(0);
  await new Promise<void>((resolve) => socket.on('data', (c: Buffer) => {
    if (head !== null && !head.includes('\r\n\r\n')) {
      head = Buffer.concat([head, c]);
      const at = head.indexOf('\r\n\r\n');
      if (at === -1) return;
      if (!head.toString('latin1').startsWith('HTTP/1.1 101') || !head.includes(wsAccept(key))) throw new Error('no 101');
      chunks.push(head.subarray(at + 4));
      resolve();
    } else chunks.push(c);
  }));
  if (end) socket.end(bytes); else socket.write(bytes);
  return { received: () => Buffer.concat(chunks), closed, socket };
}

/** The first close frame's code in `buf` (unmasked frames from the balancer or a server), or 0. */
function closeCode(buf: Buffer): number {
  let i = 0;
  while (i + 2 <= buf.length) {
    const op = buf[i]! & 0x0f;
    let len = buf[i + 1]! & 0x7f;
    let p = i + 2;
    if (len === 126) { len = buf.readUInt16BE(p); p += 2; } else if (len === 127) { len = Number(buf.readBigUInt64BE(p)); p += 8; }
    if ((buf[i + 1]! & 0x80) !== 0) p += 4;
    if (op === 8) return len >= 2 ? buf.readUInt16BE(p) : 1005;
    i = p + len;
  }
  return 0;
}

/** A raw WebSocket server: answers any upgrade with a correct 101, then sends what `script(path)` returns. */
async function rawServer(script: (path: string) => Buffer): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    let head = '';
    const onData = (c: Buffer): void => {
      head += c.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      s.off('data', onData);
      s.on('data', () => {});
      s.on('end', () => s.end());
      const key = /sec-websocket-key: *(\S+)/i.exec(head)![1]!;
      const path = head.split(' ')[1]!;
      s.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${wsAccept(key)}\r\n\r\n`);
      s.write(script(path));
    };
    s.on('data', onData);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => { for (const s of sockets) s.destroy(); await new Promise((r) => server.close(r)); },
  };
}

t.test('malformed frames from the client', async (t) => {
  const backend = await startBackend({ name: 'echo' });
  t.teardown(() => backend.close());
  const b = await startBalancer(t, { servers: [{ name: 'echo', url: backend.url }] });
  const port = b.proxyPort();
  const witness = await openWs(`ws://127.0.0.1:${port}/`);
  const rssBefore = process.memoryUsage().rss;

  const bad: [string, Buffer, number | null, boolean?][] = [
    ['reserved data opcode 3', frame(0x83, Buffer.from('x'), true), 1002],
    ['reserved control opcode 0xB', frame(0x8b, 0, true), 1002],
    ['2^63 length', frame(0x82, 0, true, LEN_2_63), 1009],
    ['2^63 length on a ping', frame(0x89, 0, true, LEN_2_63), 1009],
    ['control frame of 126 bytes', frame(0x89, Buffer.alloc(126), true), 1002],
    ['unmasked client frame', frame(0x81, Buffer.from('hi'), false), 1002],
    ['RSV bits without an extension', frame(0xf1, Buffer.from('hi'), true), 1002],
    ['declared length longer than the data, then FIN', frame(0x82, 1000, true).subarray(0, 30), null, true],
    ['64 KiB of random bytes', randomBytes(1, 65536), null],
  ];
  for (const [name, bytes, code, end] of bad) {
    const c = await rawClient(port, bytes, end ?? false);
    const closedInTime = await Promise.race([c.closed.then(() => true), new Promise<boolean>((r) => setTimeout(r, 5000, false).unref())]);
    t.ok(closedInTime, `${name}: the bad tunnel is closed`);
    if (code !== null) t.equal(closeCode(c.received()), code, `${name}: close ${code}`);
    c.socket.destroy();
    t.equal(await echo(witness, name), name, `${name}: the witness tunnel is unaffected`);
  }

  // Legal but hostile: 200,000 empty fragments of one message. The balancer only scans headers (nothing piles
  // up in it); the server either answers the one empty message or refuses the fragment flood (ws does), and
  // then its tunnel is closed like any other.
  const frags = await rawClient(port, emptyFragments(true));
  await waitFor(t, () => frags.received().length >= 2, { ms: 10_000, what: '200,000 empty fragments: an answer came back' });
  const first = frags.received().subarray(0, 2).toString('hex');
  t.ok(first === '8100' || closeCode(frags.received()) !== 0, `an empty text message or a close (got ${frags.received().subarray(0, 8).toString('hex')})`);
  frags.socket.end(frame(0x88, Buffer.from([0x03, 0xe8]), true));
  await frags.closed;
  t.equal(await echo(witness, 'after fragments'), 'after fragments');
  const grew = (process.memoryUsage().rss - rssBefore) / 2 ** 20;
  t.ok(grew < 256, `memory bounded: RSS grew ${grew.toFixed(0)} MiB`);
  await waitFor(t, () => b.runtime.tunnels.size === 1, { ms: 5000, what: 'only the witness tunnel is left' });
  witness.close();
});

t.test('malformed frames from the server', async (t) => {
  const scripts: Record<string, Buffer> = {
    '/reserved': frame(0x83, Buffer.from('x'), false),
    '/len63': frame(0x82, 0, false, LEN_2_63),
    '/masked': frame(0x81, Buffer.from('hi'), true),
    '/random': randomBytes(2, 65536),
    '/fragments': emptyFragments(false),
  };
  const server = await rawServer((path) => scripts[path] ?? Buffer.alloc(0));
  t.teardown(() => server.close());
  const backend = await startBackend({ name: 'echo' });
  t.teardown(() => backend.close());
  const b = await startBalancer(t, farm(server.url, backend.url));
  const port = b.proxyPort();
  const witness = await openWs(`ws://127.0.0.1:${port}/echo`);
  t.equal(await echo(witness, 'w'), 'w');

  for (const path of ['/reserved', '/len63', '/masked', '/random']) {
    const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, { perMessageDeflate: false });
    ws.on('error', () => {});
    const code = await Promise.race([new Promise<number>((r) => ws.once('close', r)), new Promise<number>((r) => setTimeout(r, 5000, -1).unref())]);
    t.not(code, -1, `${path}: the client's tunnel closed`);
    if (path === '/len63') t.equal(code, 1009, '2^63 length: the balancer closes with 1009');
    t.equal(await echo(witness, path), path, `${path}: the witness tunnel is unaffected`);
  }
  const ws = new WebSocket(`ws://127.0.0.1:${port}/fragments`, { perMessageDeflate: false });
  ws.on('error', () => {});
  const outcome = await Promise.race([
    new Promise<string>((r) => ws.once('message', (m: Buffer) => r(`message of ${m.length} bytes`))),
    new Promise<string>((r) => ws.once('close', (code) => r(`close ${code}`))),
    new Promise<string>((r) => setTimeout(r, 10_000, 'nothing').unref()),
  ]);
  t.match(outcome, /^(message of 0 bytes|close \d+)$/, `200,000 empty fragments from the server: ${outcome}`);
  ws.terminate();
  t.equal(await echo(witness, 'after fragments'), 'after fragments');
  await waitFor(t, () => b.runtime.tunnels.size === 1, { ms: 5000, what: 'only the witness tunnel is left' });
  witness.close();
});

function farm(rawUrl: string, echoUrl: string): string {
  return [
    'listeners: [{ port: 0, host: 127.0.0.1 }]',
    'admin: { port: 0, host: 127.0.0.1 }',
    `log: { level: ${process.env.WSLB_TEST_LOG ?? 'silent'} }`,
    'pools:',
    `  raw: { health: { check: none }, servers: [{ name: raw, url: "${rawUrl}" }] }`,
    `  echo: { health: { check: none }, servers: [{ name: echo, url: "${echoUrl}" }] }`,
    'routes:',
    '  - { match: { path: /echo }, pool: echo }',
    '  - { match: { path: / }, pool: raw }',
  ].join('\n');
}
