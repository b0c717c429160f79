/**
 * The generator's WebSockets over HTTP/2 (`--http2`, RFC 8441): each connection is an extended
 * CONNECT stream on one of a few h2 sessions per generator process, behind the part of the `ws`
 * client API the echo and handshake scenarios use (send, message, close, terminate, readyState).
 */

import http2, { type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders } from 'node:http2';
import { randomFillSync } from 'node:crypto';
import { EventEmitter, once } from 'node:events';
import type { WebSocket } from 'ws';
import type { BenchOptions } from './options.js';

const CONNECTING = 0;
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;

/** Random bytes for client frame masks (RFC 6455 5.3), refilled in blocks: no call into crypto per frame. */
const maskPool = Buffer.alloc(64 * 1024);
let maskAt = maskPool.length;

function maskKey(): Buffer {
  if (maskAt + 4 > maskPool.length) { randomFillSync(maskPool); maskAt = 0; }
  maskAt += 4;
  return maskPool.subarray(maskAt - 4, maskAt);
}

/** One masked client frame: header, key and payload in one buffer (one write). */
export function maskedFrame(opcode: number, payload: Buffer): Buffer {
  const len = payload.length;
  const head = len < 126 ? 2 : len < 65536 ? 4 : 10;
  const out = Buffer.allocUnsafe(head + 4 + len);
  out[0] = 0x80 | opcode;
  if (len < 126) out[1] = 0x80 | len;
  else if (len < 65536) { out[1] = 0x80 | 126; out.writeUInt16BE(len, 2); }
  else { out[1] = 0x80 | 127; out.writeBigUInt64BE(BigInt(len), 2); }
  const key = maskKey();
  key.copy(out, head);
  const k0 = key[0]!, k1 = key[1]!, k2 = key[2]!, k3 = key[3]!;
  let o = head + 4;
  let i = 0;
  for (; i + 3 < len; i += 4) {
    out[o++] = payload[i]! ^ k0; out[o++] = payload[i + 1]! ^ k1; out[o++] = payload[i + 2]! ^ k2; out[o++] = payload[i + 3]! ^ k3;
  }
  for (; i < len; i++) out[o++] = payload[i]! ^ key[i & 3]!;
  return out;
}

/** A WebSocket on an extended CONNECT stream; events 'message' (data, isBinary), 'close' (code), 'error'. */
export class H2WebSocket extends EventEmitter {
  readyState = CONNECTING;
  readonly #stream: ClientHttp2Stream;
  #pending: Buffer | null = null;
  #fragments: Buffer[] = [];
  #fragmentBinary = false;
  #closeCode = 1006;

  constructor(stream: ClientHttp2Stream) {
    super();
    this.#stream = stream;
    stream.on('data', (chunk: Buffer) => this.#onData(chunk));
    stream.on('error', (err: Error) => { if (this.listenerCount('error')) this.emit('error', err); });
    stream.on('close', () => {
      this.readyState = CLOSED;
      this.emit('close', this.#closeCode);
    });
  }

  get bufferedAmount(): number {
    return this.#stream.writableLength;
  }

  send(data: Buffer | string, opts: { binary?: boolean } = {}): void {
    if (this.readyState !== OPEN) return;
    const payload = typeof data === 'string' ? Buffer.from(data) : data;
    this.#stream.write(maskedFrame(opts.binary === true ? 2 : 1, payload));
  }

  /** The closing handshake: our close frame, then END_STREAM once the server's close arrives (or it ends). */
  close(code = 1000): void {
    if (this.readyState !== OPEN) return;
    this.readyState = CLOSING;
    const p = Buffer.alloc(2);
    p.writeUInt16BE(code);
    this.#stream.write(maskedFrame(8, p));
  }

  /**
   * Ends our side with END_STREAM, no close frame: the counterpart of the TCP FIN `ws` sends on
   * terminate(). Not RST_STREAM: nghttp2 (in Node's http2, hence in wslb) answers a connection
   * resetting streams faster than 33/s past a burst of 1,000 with GOAWAY, as the rapid-reset
   * attack (CVE-2023-44487) is met, and the run would measure that instead.
   */
  terminate(): void {
    if (this.readyState === CLOSED) return;
    this.readyState = CLOSING;
    if (!this.#stream.writableEnded) this.#stream.end();
  }

  open(): void {
    this.readyState = OPEN;
  }

  #onData(chunk: Buffer): void {
    let buf = this.#pending === null ? chunk : Buffer.concat([this.#pending, chunk]);
    for (;;) {
      if (buf.length < 2) break;
      const b1 = buf[1]! & 0x7f;
      let off = 2;
      let len = b1;
      if (b1 === 126) { if (buf.length < 4) break; len = buf.readUInt16BE(2); off = 4; }
      else if (b1 === 127) { if (buf.length < 10) break; len = Number(buf.readBigUInt64BE(2)); off = 10; }
      if (buf.length < off + len) break;
      this.#frame(buf[0]!, buf.subarray(off, off + len));
      buf = buf.subarray(off + len);
    }
    this.#pending = buf.length ? buf : null;
  }

  #frame(b0: number, payload: Buffer): void {
    const fin = (b0 & 0x80) !== 0;
    const opcode = b0 & 0x0f;
    if (opcode === 8) {
      this.#closeCode = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
      if (this.readyState === OPEN) this.close(this.#closeCode === 1005 ? 1000 : this.#closeCode);
      this.readyState = CLOSING;
      this.#stream.end();
      return;
    }
    if (opcode === 9) { this.#stream.write(maskedFrame(10, payload)); return; }
    if (opcode === 10) return;
    if (opcode !== 0) this.#fragmentBinary = opcode === 2;
    if (fin && this.#fragments.length === 0) { this.emit('message', payload, this.#fragmentBinary); return; }
    this.#fragments.push(Buffer.from(payload));
    if (!fin) return;
    const whole = Buffer.concat(this.#fragments);
    this.#fragments = [];
    this.emit('message', whole, this.#fragmentBinary);
  }
}

/** Sessions of this process by origin: slot i of `--h2-sessions`, opened on first use, replaced once closed. */
const sessions = new Map<string, (Promise<ClientHttp2Session> | null)[]>();

function sessionFor(origin: string, slot: number, count: number, opts: Pick<BenchOptions, 'insecure' | 'handshakeTimeoutMs'>): Promise<ClientHttp2Session> {
  let slots = sessions.get(origin);
  if (!slots) sessions.set(origin, (slots = new Array<Promise<ClientHttp2Session> | null>(count).fill(null)));
  const i = slot % count;
  const have = slots[i];
  if (have) return have;
  const made = new Promise<ClientHttp2Session>((resolve, reject) => {
    const s = http2.connect(origin, { rejectUnauthorized: !opts.insecure, settings: { enablePush: false } });
    const timer = setTimeout(() => { s.destroy(); reject(Object.assign(new Error('timeout'), { code: 'timeout' })); }, opts.handshakeTimeoutMs);
    s.once('remoteSettings', (settings) => {
      clearTimeout(timer);
      if (!settings.enableConnectProtocol) { s.destroy(); reject(Object.assign(new Error('no RFC 8441'), { code: 'no extended CONNECT' })); return; }
      resolve(s);
    });
    s.once('error', (err: NodeJS.ErrnoException) => { clearTimeout(timer); reject(err); });
    s.once('close', () => { if (slots[i] === made) slots[i] = null; });
    s.once('goaway', () => { if (slots[i] === made) slots[i] = null; });
  });
  made.catch(() => { if (slots[i] === made) slots[i] = null; });
  slots[i] = made;
  return made;
}

/** One extended CONNECT on connection i's session; the same outcome shape as the ws path (an error kind, never a rejection). */
export async function openH2Ws(opts: BenchOptions, url: string, i: number): Promise<{ ws: WebSocket; ms: number } | { error: string }> {
  const t0 = performance.now();
  const u = new URL(url);
  if (u.protocol !== 'wss:') return { error: '--http2 needs wss://' };
  let session: ClientHttp2Session;
  try {
    session = await sessionFor(`https://${u.host}`, i, opts.h2Sessions, opts);
  } catch (err) {
    return { error: (err as NodeJS.ErrnoException).code ?? 'error' };
  }
  let stream: ClientHttp2Stream;
  try {
    stream = session.request({
      ':method': 'CONNECT', ':protocol': 'websocket', ':scheme': 'https', ':path': u.pathname + u.search,
      ':authority': u.host, 'sec-websocket-version': '13',
    });
  } catch (err) {
    return { error: (err as NodeJS.ErrnoException).code ?? 'error' };
  }
  const ws = new H2WebSocket(stream);
  ws.on('error', () => undefined);
  const timer = setTimeout(() => stream.close(http2.constants.NGHTTP2_CANCEL), opts.handshakeTimeoutMs);
  try {
    // once() rejects on the stream's 'error' (a reset, a session gone): an error kind like the others.
    const answer = await Promise.race([once(stream, 'response') as Promise<[IncomingHttpHeaders]>, once(stream, 'close').then(() => null)])
      .catch(() => null);
    if (answer === null) return { error: stream.rstCode === http2.constants.NGHTTP2_CANCEL ? 'timeout' : `rst ${stream.rstCode ?? '?'}` };
    const status = Number(answer[0][':status']);
    if (status !== 200) { stream.close(http2.constants.NGHTTP2_CANCEL); return { error: `http ${status}` }; }
  } finally {
    clearTimeout(timer);
  }
  ws.open();
  // The scenarios hold it as a ws WebSocket: they use only send, on/once ('message', 'close', 'error'), readyState and terminate.
  return { ws: ws as unknown as WebSocket, ms: performance.now() - t0 };
}

/** Closes this process's sessions (the end of a run). */
export function closeH2Sessions(): void {
  for (const slots of sessions.values()) for (const s of slots) void s?.then((x) => x.close(), () => undefined);
  sessions.clear();
}
