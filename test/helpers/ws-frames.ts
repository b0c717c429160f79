/** Test helper: WebSocket frames built and parsed by hand, and a raw-socket WebSocket client that counts every byte it sends and receives after its handshake. */

import net from 'node:net';
import crypto from 'node:crypto';
import { upgradeRequest } from './raw-client.js';

export const OP = { CONT: 0x0, TEXT: 0x1, BINARY: 0x2, CLOSE: 0x8, PING: 0x9, PONG: 0xa } as const;

/** One frame; masked (as a client must send) unless `mask: false`. */
export function frame(op: number, payload: Buffer | string = Buffer.alloc(0), opts: { fin?: boolean; mask?: boolean } = {}): Buffer {
  const data = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const mask = opts.mask ?? true;
  const len = data.length;
  const ext = len < 126 ? 0 : len < 65536 ? 2 : 8;
  const head = Buffer.alloc(2 + ext + (mask ? 4 : 0));
  head[0] = ((opts.fin ?? true) ? 0x80 : 0) | op;
  head[1] = (mask ? 0x80 : 0) | (ext === 0 ? len : ext === 2 ? 126 : 127);
  if (ext === 2) head.writeUInt16BE(len, 2);
  if (ext === 8) head.writeBigUInt64BE(BigInt(len), 2);
  if (!mask) return Buffer.concat([head, data]);
  const key = crypto.randomBytes(4);
  key.copy(head, 2 + ext);
  const body = Buffer.alloc(len);
  for (let i = 0; i < len; i++) body[i] = data[i]! ^ key[i & 3]!;
  return Buffer.concat([head, body]);
}

export function closeFrame(code: number, reason = '', mask = true): Buffer {
  const p = Buffer.alloc(2 + Buffer.byteLength(reason));
  p.writeUInt16BE(code, 0);
  p.write(reason, 2);
  return frame(OP.CLOSE, p, { mask });
}

export interface Frame { fin: boolean; op: number; payload: Buffer }

/** Whole frames at the front of `buf` (unmasking masked ones) and the bytes of an incomplete last one. */
export function parseFrames(buf: Buffer): { frames: Frame[]; rest: Buffer } {
  const frames: Frame[] = [];
  let i = 0;
  for (;;) {
    if (buf.length - i < 2) break;
    const b1 = buf[i + 1]!;
    let len = b1 & 0x7f;
    let p = i + 2;
    if (len === 126) { if (buf.length < p + 2) break; len = buf.readUInt16BE(p); p += 2; }
    else if (len === 127) { if (buf.length < p + 8) break; len = Number(buf.readBigUInt64BE(p)); p += 8; }
    const masked = (b1 & 0x80) !== 0;
    const key = masked ? buf.subarray(p, p + 4) : null;
    if (masked) p += 4;
    if (buf.length < p + len) break;
    const payload = Buffer.from(buf.subarray(p, p + len));
    if (key) for (let j = 0; j < len; j++) payload[j] = payload[j]! ^ key[j & 3]!;
    frames.push({ fin: (buf[i]! & 0x80) !== 0, op: buf[i]! & 0x0f, payload });
    i = p + len;
  }
  return { frames, rest: buf.subarray(i) };
}

/** The close code of a close frame's payload (1005 when it has none). */
export function closeCodeOf(f: Frame): number {
  return f.payload.length >= 2 ? f.payload.readUInt16BE(0) : 1005;
}

/** A WebSocket client on a bare socket: every frame it sends is written as given; everything after the 101 is counted and parsed. */
export class RawWs {
  readonly socket: net.Socket;
  /** Bytes written after the handshake request. */
  sent = 0;
  /** Bytes received after the 101 head. */
  received = 0;
  readonly frames: Frame[] = [];
  ended = false;
  closed = false;
  #buf: Buffer = Buffer.alloc(0);

  private constructor(socket: net.Socket, after: Buffer) {
    this.socket = socket;
    socket.on('data', (c: Buffer) => this.#take(c));
    socket.on('end', () => { this.ended = true; });
    socket.on('close', () => { this.closed = true; });
    if (after.length) this.#take(after);
  }

  /** Connects, sends the upgrade (with `extra` header lines) and resolves once a 101 arrived; rejects with the status line otherwise. */
  static open(port: number, path = '/', extra: string[] = []): Promise<RawWs> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: '127.0.0.1', port });
      socket.setNoDelay(true);
      let head = Buffer.alloc(0);
      const onData = (c: Buffer): void => {
        head = Buffer.concat([head, c]);
        const end = head.indexOf('\r\n\r\n');
        if (end === -1) return;
        socket.off('data', onData);
        socket.off('error', reject);
        const status = head.subarray(0, head.indexOf('\r\n')).toString('latin1');
        if (!/^HTTP\/1\.1 101 /.test(status)) { socket.destroy(); reject(new Error(status)); return; }
        socket.on('error', () => {});
        resolve(new RawWs(socket, head.subarray(end + 4)));
      };
      socket.on('data', onData);
      socket.on('error', reject);
      socket.on('connect', () => socket.write(upgradeRequest(path, extra)));
    });
  }

  write(buf: Buffer): void {
    this.sent += buf.length;
    this.socket.write(buf);
  }

  /** Frames received of opcode `op`. */
  of(op: number): Frame[] {
    return this.frames.filter((f) => f.op === op);
  }

  /** The first close frame received, if any. */
  get close(): Frame | undefined {
    return this.frames.find((f) => f.op === OP.CLOSE);
  }

  #take(c: Buffer): void {
    this.received += c.length;
    const { frames, rest } = parseFrames(Buffer.concat([this.#buf, c]));
    this.frames.push(...frames);
    this.#buf = rest;
  }
}
