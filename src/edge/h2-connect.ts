/**
 * A WebSocket over HTTP/2 (RFC 8441 extended CONNECT): its pseudo-headers checked and turned into
 * the HTTP/1.1 upgrade head the upgrade path runs on (src/edge/upgrade.ts: the same validation,
 * routing, Origin, auth, admission and server handshake), its answers given as HEADERS
 * (`:status 200` for the server's 101), and its stream then the Tunnel's client side.
 */

import { randomFillSync } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { ServerHttp2Stream } from 'node:http2';
import type { Socket } from 'node:net';
import { Writable } from 'node:stream';
import type { ErrorCode } from '../errors.js';
import type { Runtime } from '../runtime.js';
import type { ResponseHead } from '../tunnel/response-head.js';
import { clientAddress } from './client-address.js';
import { h1View, h2ResponseHeaders, joinHeaders } from './h2-headers.js';
import { answerStream, endExchange } from './h2-respond.js';
import { ParsedHead } from './request-head.js';
import { UpgradeAttempt, type UpgradeReply } from './upgrade.js';

const EMPTY = Buffer.alloc(0);

/** Random bytes for the keys sent to servers, refilled 256 keys at a time (one call into crypto per 256 handshakes, not one each). */
const keyPool = Buffer.alloc(16 * 256);
let keyAt = keyPool.length;

/** A fresh Sec-WebSocket-Key: base64 of 16 random bytes. */
function freshKey(): string {
  if (keyAt === keyPool.length) { randomFillSync(keyPool); keyAt = 0; }
  keyAt += 16;
  return keyPool.toString('base64', keyAt - 16, keyAt);
}

/**
 * Runs one extended CONNECT stream. A classic CONNECT (no `:protocol`: a forward-proxy tunnel
 * request) is refused as over HTTP/1.1 (400), a `:protocol` other than websocket with 501
 * (RFC 8441 4), malformed pseudo-headers with 400; all before any route is looked at.
 */
export function serveConnect(rt: Runtime, stream: ServerHttp2Stream, raw: readonly string[], protocol: string | undefined): void {
  const socket = stream.session!.socket as Socket;
  let code: ErrorCode | null = null;
  if (protocol === undefined) code = 'WSLB_ERR_BAD_METHOD';
  else if (protocol.toLowerCase() !== 'websocket') code = 'WSLB_ERR_UNKNOWN_PROTOCOL';
  const view = code === null ? h1View(raw) : null;
  if (typeof view === 'string') code = view;
  if (code !== null || view === null || typeof view === 'string') {
    rt.onRejected('', code ?? 'WSLB_ERR_MALFORMED', clientAddress({ socket, rawHeaders: [] }));
    answerStream(stream, code ?? 'WSLB_ERR_MALFORMED');
    return;
  }
  // The server is reached over HTTP/1.1 with a key of our own (HTTP/2 has none): its 101 is checked against it.
  const rawHeaders: string[] = [];
  const from = view.rawHeaders;
  for (let i = 0; i < from.length; i += 2) if (from[i] !== 'sec-websocket-key') rawHeaders.push(from[i]!, from[i + 1]!);
  rawHeaders.push('upgrade', 'websocket', 'connection', 'Upgrade', 'sec-websocket-key', freshKey());
  const head = new ParsedHead(view.url, joinHeaders(rawHeaders), rawHeaders, socket);
  new UpgradeAttempt(rt, head, asTunnelClient(stream), EMPTY, new StreamReply(rt, stream)).run();
}

/** The answers of one extended CONNECT, as HTTP/2 HEADERS on its stream. */
class StreamReply implements UpgradeReply {
  readonly #rt: Runtime;
  readonly #stream: ServerHttp2Stream;

  constructor(rt: Runtime, stream: ServerHttp2Stream) {
    this.#rt = rt;
    this.#stream = stream;
  }

  reject(code: ErrorCode, extra: readonly [string, string][]): void {
    answerStream(this.#stream, code, extra);
  }

  /** `:status 200` with the 101's end-to-end headers (subprotocol, extensions, cookies): the stream is now the tunnel. */
  accept(res: ResponseHead): void {
    const stream = this.#stream;
    stream.respond(h2ResponseHeaders(200, res.rawHeaders, true));
    const counts = this.#rt.http2;
    counts.tunnels++;
    counts.tunnelsTotal++;
    stream.once('close', () => { counts.tunnels--; });
  }

  /**
   * A server's non-101 answer, relayed like over HTTP/1.1, except a 2xx: to an HTTP/2 client a
   * 2xx to CONNECT means the tunnel is open, so it becomes a 502 (an invalid handshake answer).
   */
  relay(res: IncomingMessage): void {
    const stream = this.#stream;
    const status = res.statusCode ?? 502;
    if (status < 300 || stream.destroyed || stream.closed) {
      res.socket?.destroy();
      answerStream(stream, 'WSLB_ERR_BAD_101');
      return;
    }
    stream.respond(h2ResponseHeaders(status, res.rawHeaders, false));
    const timer = setTimeout(() => { res.destroy(); stream.destroy(); }, this.#rt.config.timeouts.handshake);
    timer.unref();
    res.on('data', (chunk: Buffer) => stream.write(chunk));
    res.on('error', () => { clearTimeout(timer); stream.destroy(); });
    res.on('end', () => {
      clearTimeout(timer);
      res.socket?.destroy();
      stream.end();
      endExchange(stream);
    });
  }
}

/** An HTTP/2 stream given the two members of a socket that the upgrade path and the Tunnel use and a stream lacks. */
interface TunnelStream extends ServerHttp2Stream {
  setNoDelay(noDelay?: boolean): this;
  readonly bytesWritten: number;
  wslbWritten: number;
}

/**
 * Nagle is the session socket's, set off once for all its streams (src/edge/h2-front.ts), so
 * setNoDelay has nothing to do; bytesWritten counts the DATA payload written to the stream (the
 * frames it carries), as a socket's counts what it sent. Own members of this stream only: sockets
 * are untouched.
 */
function asTunnelClient(stream: ServerHttp2Stream): Socket {
  const s = stream as TunnelStream;
  s.wslbWritten = 0;
  s.setNoDelay = keepNoDelay;
  s.write = countedWrite as ServerHttp2Stream['write'];
  Object.defineProperty(s, 'bytesWritten', { get: writtenOf, configurable: true });
  return s as unknown as Socket;
}

function keepNoDelay(this: TunnelStream): TunnelStream {
  return this;
}

function writtenOf(this: TunnelStream): number {
  return this.wslbWritten;
}

const write = Writable.prototype.write as (this: TunnelStream, chunk: unknown, encoding?: unknown, cb?: unknown) => boolean;

function countedWrite(this: TunnelStream, chunk: Buffer, encoding?: unknown, cb?: unknown): boolean {
  this.wslbWritten += chunk.length;
  return write.call(this, chunk, encoding, cb);
}
