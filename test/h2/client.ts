/** Test helper: an HTTP/2 client (node:http2) doing RFC 8441 extended CONNECT, with hand-written WebSocket frames (masked client frames, a frame reader). */

import http2, { type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2';
import crypto from 'node:crypto';
import { once } from 'node:events';
import type { Test } from 'tap';

/** Opens an h2 session to 127.0.0.1:port (TLS, trusting `ca`) and waits for the server's SETTINGS. */
export async function h2Session(t: Test, port: number, ca: Buffer): Promise<ClientHttp2Session> {
  const session = http2.connect(`https://127.0.0.1:${port}`, { ca, servername: 'localhost' });
  session.on('error', () => {});
  t.teardown(() => { if (!session.destroyed) session.destroy(); });
  await once(session, 'remoteSettings');
  return session;
}

export interface Tunnel {
  readonly stream: ClientHttp2Stream;
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** Frames received so far (the server's are unmasked). */
  readonly frames: Frame[];
  /** Resolves with the next frame not yet taken. */
  next(): Promise<Frame>;
  /** Body bytes of a refused stream (its error text). */
  body(): Promise<string>;
}

export interface Frame {
  readonly fin: boolean;
  readonly opcode: number;
  readonly payload: Buffer;
}

/** An extended CONNECT for a WebSocket on `path`; resolves with the answer (any status) and a frame reader on the stream. */
export async function connectWs(session: ClientHttp2Session, path: string, extra: OutgoingHttpHeaders = {}): Promise<Tunnel> {
  const stream = session.request({
    ':method': 'CONNECT', ':protocol': 'websocket', ':scheme': 'https', ':path': path,
    ':authority': 'localhost', 'sec-websocket-version': '13', ...extra,
  });
  stream.on('error', () => {});
  const [headers] = (await Promise.race([once(stream, 'response'), once(stream, 'close').then(() => { throw new Error(`stream closed without an answer (rst ${stream.rstCode})`); })])) as [IncomingHttpHeaders];
  const status = Number(headers[':status']);
  const frames: Frame[] = [];
  const waiting: ((f: Frame) => void)[] = [];
  let taken = 0;
  let buf = Buffer.alloc(0);
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    if (status !== 200) return;
    buf = Buffer.concat([buf, chunk]);
    for (;;) {
      const f = readFrame(buf);
      if (!f) break;
      buf = buf.subarray(f.size);
      frames.push(f.frame);
      waiting.shift()?.(f.frame);
    }
  });
  return {
    stream, status, headers, frames,
    next: () => new Promise<Frame>((resolve) => {
      if (taken < frames.length) { resolve(frames[taken++]!); return; }
      waiting.push((f) => { taken++; resolve(f); });
    }),
    body: async () => {
      if (!stream.readableEnded) await Promise.race([once(stream, 'end'), once(stream, 'close')]);
      return Buffer.concat(chunks).toString();
    },
  };
}

/** A masked client frame (RFC 6455 5.2). */
export function clientFrame(opcode: number, payload: Buffer | string, fin = true): Buffer {
  const data = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const mask = crypto.randomBytes(4);
  const len = data.length;
  const head = len < 126 ? Buffer.from([(fin ? 0x80 : 0) | opcode, 0x80 | len])
    : len < 65536 ? Buffer.from([(fin ? 0x80 : 0) | opcode, 0x80 | 126, len >> 8, len & 255])
      : Buffer.concat([Buffer.from([(fin ? 0x80 : 0) | opcode, 0x80 | 127]), u64(len)]);
  const body = Buffer.alloc(len);
  for (let i = 0; i < len; i++) body[i] = data[i]! ^ mask[i & 3]!;
  return Buffer.concat([head, mask, body]);
}

function u64(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
}

/** A close frame's payload: the code, then the reason. */
export function closePayload(code: number, reason = ''): Buffer {
  const b = Buffer.alloc(2 + Buffer.byteLength(reason));
  b.writeUInt16BE(code, 0);
  b.write(reason, 2);
  return b;
}

/** One frame at the start of `buf` (masked or not), or null when it is not complete yet. */
export function readFrame(buf: Buffer): { frame: Frame; size: number } | null {
  if (buf.length < 2) return null;
  const fin = (buf[0]! & 0x80) !== 0;
  const opcode = buf[0]! & 0x0f;
  const masked = (buf[1]! & 0x80) !== 0;
  let len = buf[1]! & 0x7f;
  let off = 2;
  if (len === 126) { if (buf.length < 4) return null; len = buf.readUInt16BE(2); off = 4; }
  else if (len === 127) { if (buf.length < 10) return null; len = Number(buf.readBigUInt64BE(2)); off = 10; }
  const maskAt = off;
  if (masked) off += 4;
  if (buf.length < off + len) return null;
  let payload = Buffer.from(buf.subarray(off, off + len));
  if (masked) for (let i = 0; i < len; i++) payload[i] = payload[i]! ^ buf[maskAt + (i & 3)]!;
  return { frame: { fin, opcode, payload }, size: off + len };
}

/** Sends a text message and resolves with the next frame's text. */
export async function echoOver(tunnel: Tunnel, text: string): Promise<string> {
  const reply = tunnel.next();
  tunnel.stream.write(clientFrame(1, text));
  return (await reply).payload.toString();
}

/** The code of a close frame's payload (1005 when it carries none). */
export function closeCodeOf(f: Frame): number {
  return f.payload.length >= 2 ? f.payload.readUInt16BE(0) : 1005;
}
