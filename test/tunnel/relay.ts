/** Test-only helpers for tunnel tests: a bare handshake relay that hands each upgrade to a Tunnel, small backends, raw WebSocket clients and a frame builder. */

// The real handshake (validation, routing, retries) lives in src/edge; this relay does just
// enough HTTP to get two sockets past the 101, so the tunnel is tested on real sockets alone.

import net from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import { Server } from '../../src/pool/server.js';
import { Tunnel } from '../../src/tunnel/tunnel.js';
import { TunnelSet } from '../../src/tunnel/tunnel-set.js';
import { markSharedRead, setReader, SHARED_READ } from '../../src/tunnel/upstream-read.js';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const noop = (): void => {};

/** One tunnel the relay made, with both of its sockets (the balancer's ends). */
export interface Hop {
  tunnel: Tunnel;
  client: net.Socket;
  upstream: net.Socket;
  closedAt?: number;
}

export interface RelayOptions {
  backendPort: number;
  maxMessageBytes?: number;
  maxBufferedBytes?: number;
  finTimeout?: number;
  idleMs?: number;
  /** Server sockets read through the shared buffer, as the balancer's plain-TCP ones are (default true); false: 'data' events, as over TLS. */
  sharedRead?: boolean;
  /** The 101 goes to the client through tunnel.start (in one write with the server's first bytes) rather than written before it. */
  headInStart?: boolean;
}

export interface Relay {
  port: number;
  url: string;
  server: Server;
  set: TunnelSet;
  hops: Hop[];
  /** Resolves with the next hop created (or the n-th, counting from 0). */
  hop(n?: number): Promise<Hop>;
  /** Resolves once every tunnel made so far has finished. */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

/** Reads a socket up to the end of an HTTP head; hands over the head and any bytes after it. */
export function readHead(sock: net.Socket, cb: (head: Buffer, rest: Buffer) => void): void {
  let acc = Buffer.alloc(0);
  const onData = (chunk: Buffer): void => {
    acc = Buffer.concat([acc, chunk]);
    const i = acc.indexOf('\r\n\r\n');
    if (i < 0) return;
    sock.pause();
    sock.off('data', onData);
    cb(acc.subarray(0, i + 4), acc.subarray(i + 4));
  };
  sock.on('data', onData);
}

/** readHead for a socket that reads through the shared buffer (no 'data' events): its reader collects the head. */
export function readHeadShared(sock: net.Socket, cb: (head: Buffer, rest: Buffer) => void): void {
  let acc = Buffer.alloc(0);
  setReader(sock, {
    upstreamOnData(chunk: Buffer): void {
      acc = Buffer.concat([acc, chunk]);
      const i = acc.indexOf('\r\n\r\n');
      if (i < 0) return;
      sock.pause();
      setReader(sock, null);
      cb(acc.subarray(0, i + 4), acc.subarray(i + 4));
    },
  });
}

export async function startRelay(opts: RelayOptions): Promise<Relay> {
  const server = new Server('test', {
    name: 's1', url: `ws://127.0.0.1:${opts.backendPort}`, host: '127.0.0.1',
    port: opts.backendPort, tls: false, weight: 1,
  });
  const set = new TunnelSet({ idleMs: opts.idleMs ?? 0 });
  const hops: Hop[] = [];
  const waiting: Array<{ n: number; resolve: (h: Hop) => void }> = [];
  const finishWaiters: Array<() => void> = [];
  let finished = 0;
  const onClose = (t: Tunnel): void => {
    const h = hops.find((x) => x.tunnel === t);
    if (h) h.closedAt = Date.now();
    finished++;
    if (finished === hops.length) for (const w of finishWaiters.splice(0)) w();
  };
  const lsn = net.createServer({ allowHalfOpen: true }, (client) => {
    client.on('error', noop);
    readHead(client, (head, pending) => {
      const shared = opts.sharedRead ?? true;
      const upstream = net.connect({ port: opts.backendPort, host: '127.0.0.1', allowHalfOpen: true, ...(shared ? { onread: SHARED_READ } : {}) });
      if (shared) markSharedRead(upstream);
      upstream.on('error', noop);
      upstream.write(head);
      (shared ? readHeadShared : readHead)(upstream, (resHead, upHead) => {
        if (!opts.headInStart) client.write(resHead);
        const tunnel = new Tunnel({
          client, upstream, server,
          maxMessageBytes: opts.maxMessageBytes ?? 16 * 1024 * 1024,
          maxBufferedBytes: opts.maxBufferedBytes ?? 1024 * 1024,
          finTimeout: opts.finTimeout ?? 10_000,
          onClose,
        });
        set.add(tunnel);
        const h: Hop = { tunnel, client, upstream };
        hops.push(h);
        tunnel.start(pending.length > 0 ? pending : null, upHead.length > 0 ? upHead : null, opts.headInStart ? resHead.toString('latin1') : undefined);
        for (let i = waiting.length - 1; i >= 0; i--) {
          if (waiting[i].n === hops.length - 1) waiting.splice(i, 1)[0].resolve(h);
        }
      });
    });
  });
  await new Promise<void>((r) => lsn.listen(0, '127.0.0.1', r));
  const port = (lsn.address() as net.AddressInfo).port;
  return {
    port, url: `ws://127.0.0.1:${port}/`, server, set, hops,
    hop(n = hops.length) {
      if (n < hops.length) return Promise.resolve(hops[n]);
      return new Promise((resolve) => waiting.push({ n, resolve }));
    },
    idle() {
      if (finished === hops.length) return Promise.resolve();
      return new Promise((r) => finishWaiters.push(r));
    },
    async stop() {
      set.destroyAll();
      set.stop();
      await new Promise((r) => lsn.close(r));
    },
  };
}

export interface Backend {
  port: number;
  wss: WebSocketServer;
  /** Server-side sockets of accepted connections, in order. */
  sockets: net.Socket[];
  conns: WebSocket[];
  stop(): Promise<void>;
}

/**
 * A real `ws` echo server. Text commands: `cmd:close:CODE:REASON` closes with that code,
 * `cmd:send:N` sends N binary bytes; anything else (text or binary) is echoed as it came.
 */
export async function startBackend(perMessageDeflate = false): Promise<Backend> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate });
  await new Promise<void>((r) => wss.once('listening', r));
  const sockets: net.Socket[] = [];
  const conns: WebSocket[] = [];
  wss.on('connection', (ws: WebSocket, req: IncomingMessage) => {
    sockets.push(req.socket);
    conns.push(ws);
    ws.on('error', noop);
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (!isBinary && data.length < 200 && data.toString().startsWith('cmd:')) {
        const [, verb, arg, reason] = data.toString().split(':');
        if (verb === 'close') ws.close(Number(arg), reason);
        else ws.send(Buffer.alloc(Number(arg), 0x62));
        return;
      }
      ws.send(data, { binary: isBinary });
    });
  });
  return {
    port: (wss.address() as net.AddressInfo).port, wss, sockets, conns,
    stop: async () => {
      for (const c of conns) c.terminate();
      await new Promise((r) => wss.close(r));
    },
  };
}

/** A hand-written backend: answers the upgrade with a valid 101, then gives the raw socket to `onSocket`. */
export async function startRawBackend(onSocket: (s: net.Socket, rest: Buffer) => void, greeting: Buffer = Buffer.alloc(0)): Promise<{ port: number; sockets: net.Socket[]; stop(): Promise<void> }> {
  const sockets: net.Socket[] = [];
  const srv = net.createServer({ allowHalfOpen: true }, (s) => {
    s.on('error', noop);
    sockets.push(s);
    readHead(s, (head, rest) => {
      const key = /sec-websocket-key:\s*(\S+)/i.exec(head.toString('latin1'))?.[1] ?? '';
      const accept = createHash('sha1').update(key + GUID).digest('base64');
      // `greeting` goes out in the same write as the 101: the relay gets it as upstream head bytes.
      s.write(Buffer.concat([
        Buffer.from(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`),
        greeting,
      ]));
      s.resume();
      onSocket(s, rest);
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return {
    port: (srv.address() as net.AddressInfo).port, sockets,
    stop: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => srv.close(r));
    },
  };
}

/** A raw WebSocket client: does the upgrade by hand and resolves with the socket (flowing, no listener) and any bytes after the 101. */
export function rawClient(port: number, opts: { allowHalfOpen?: boolean; extra?: Buffer } = {}): Promise<{ sock: net.Socket; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ port, host: '127.0.0.1', allowHalfOpen: opts.allowHalfOpen ?? true });
    sock.on('error', reject);
    // `extra` (frames) goes out in the same write as the request head: the relay holds it as pending bytes.
    sock.write(Buffer.concat([Buffer.from(
      'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    ), opts.extra ?? Buffer.alloc(0)]));
    readHead(sock, (head, rest) => {
      if (!head.toString().startsWith('HTTP/1.1 101')) reject(new Error(`no 101: ${head.toString()}`));
      else resolve({ sock, rest });
    });
  });
}

/** Builds one frame by hand. `mask` for client-to-server frames. */
export function frame(opcode: number, payload: Buffer, o: { fin?: boolean; mask?: boolean; rsv1?: boolean; len?: 7 | 16 | 64 } = {}): Buffer {
  const n = payload.length;
  const enc = o.len ?? (n < 126 ? 7 : n < 65536 ? 16 : 64);
  const ext = enc === 7 ? 0 : enc === 16 ? 2 : 8;
  const mask = o.mask ?? false;
  const head = 2 + ext + (mask ? 4 : 0);
  const f = Buffer.alloc(head + n);
  f[0] = ((o.fin ?? true) ? 0x80 : 0) | (o.rsv1 ? 0x40 : 0) | opcode;
  f[1] = (mask ? 0x80 : 0) | (enc === 7 ? n : enc === 16 ? 126 : 127);
  if (enc === 16) f.writeUInt16BE(n, 2);
  if (enc === 64) f.writeBigUInt64BE(BigInt(n), 2);
  if (mask) {
    const key = randomBytes(4);
    key.copy(f, 2 + ext);
    for (let i = 0; i < n; i++) f[head + i] = payload[i] ^ key[i & 3];
  } else {
    payload.copy(f, head);
  }
  return f;
}

/** Finds the first close frame from a server (unmasked) in `data`; returns its code, or undefined. */
export function findCloseCode(data: Buffer): number | undefined {
  let i = 0;
  while (i + 2 <= data.length) {
    const op = data[i] & 0x0f;
    let len = data[i + 1] & 0x7f;
    let p = i + 2;
    if (len === 126) { len = data.readUInt16BE(p); p += 2; } else if (len === 127) { len = Number(data.readBigUInt64BE(p)); p += 8; }
    if (data[i + 1] & 0x80) p += 4;
    if (op === 8 && p + 2 <= data.length) return data.readUInt16BE(p);
    i = p + len;
  }
  return undefined;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
