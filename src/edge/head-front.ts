/**
 * What a listener does with a connection's first bytes before node:http sees them: a clean
 * WebSocket upgrade head that arrives whole in the first read (src/edge/request-head.ts) goes
 * straight to the upgrade path; every other connection goes to node:http with those bytes put
 * back, at its first byte, so Node's parser, limits and timers judge it exactly as before (Node
 * times a head from its first byte too). Only the wait for that first byte is timed here, by
 * one sweeper per listener instead of a timer per connection, and ends as Node's own would: a
 * 408 through the server's 'clientError'.
 */

import type http from 'node:http';
import type { Socket } from 'node:net';
import tls from 'node:tls';
import { parseUpgradeHead, type RequestHead } from './request-head.js';
import { shapeClient } from '../tunnel/socket-shape.js';

export interface HeadFrontOptions {
  /** `limits.max_header_bytes`: a head this long or longer goes to Node, which answers 431 as it always did. */
  readonly maxHeadBytes: number;
  /** `timeouts.handshake`, read at every sweep so a reload applies. */
  readonly timeoutMs: () => number;
  /** A clean upgrade head: `rest` holds the bytes that followed it in the same read. */
  readonly onUpgrade: (head: RequestHead, socket: Socket, rest: Buffer) => void;
}

/** A socket waiting for its first byte: the front it belongs to and when it was accepted. */
interface FrontSocket extends Socket {
  wslbFront?: HeadFront | undefined;
  wslbAcceptedAt?: number;
}

const GET_ = Buffer.from('GET ', 'latin1');
const CRLFCRLF = Buffer.from('\r\n\r\n', 'latin1');

function frontOnData(this: FrontSocket, chunk: Buffer): void { this.wslbFront?.firstBytes(this, chunk); }
function frontOnError(this: FrontSocket, err: Error): void { this.wslbFront?.failed(this, err); }
function frontOnEnd(this: FrontSocket): void { this.wslbFront?.ended(this); }
function frontOnClose(this: FrontSocket): void { this.wslbFront?.detach(this); }

export class HeadFront {
  readonly #server: http.Server;
  readonly #opts: HeadFrontOptions;
  readonly #downstream: ((socket: Socket) => void)[];
  /** Sockets with no byte yet, in accept order (so in deadline order: one timeout for all). */
  readonly #waiting = new Set<FrontSocket>();
  #sweeper: NodeJS.Timeout | null = null;

  /**
   * Takes the server's own connection listeners (HTTP's parser; on a TLS listener, the one that
   * runs per decrypted socket) and stands in front of them.
   */
  constructor(server: http.Server, opts: HeadFrontOptions) {
    this.#server = server;
    this.#opts = opts;
    const event = server instanceof tls.Server ? 'secureConnection' : 'connection';
    this.#downstream = server.listeners(event) as ((socket: Socket) => void)[];
    server.removeAllListeners(event);
    server.on(event, (socket: Socket) => this.#accept(socket as FrontSocket));
    // server.close() (which node:http follows with closeIdleConnections) leaves the sockets
    // waiting here alone: they were accepted a moment ago and their request is on its way, so a
    // graceful close (a worker leaving a rolling restart, a shutdown) answers them, a 503 while
    // draining, instead of resetting them; the sweeper still times out any that stay silent.
    // Only an abort (closeAllConnections) closes them.
    const closeAll = server.closeAllConnections.bind(server);
    server.closeAllConnections = () => { this.closeWaiting(); closeAll(); };
  }

  /** Sockets waiting for their first byte (for tests and /status). */
  get waiting(): number {
    return this.#waiting.size;
  }

  #accept(socket: FrontSocket): void {
    shapeClient(socket);
    socket.wslbFront = this;
    socket.wslbAcceptedAt = performance.now();
    socket.on('error', frontOnError);
    socket.on('end', frontOnEnd);
    socket.on('close', frontOnClose);
    socket.on('data', frontOnData);
    this.#waiting.add(socket);
    if (this.#sweeper === null) this.#startSweeper();
  }

  firstBytes(socket: FrontSocket, chunk: Buffer): void {
    this.detach(socket);
    // Anything but a whole clean upgrade head in this first read: node:http from this byte on.
    if (chunk.length < 4 || chunk.compare(GET_, 0, 4, 0, 4) !== 0) return this.#handOver(socket, chunk);
    const at = chunk.indexOf(CRLFCRLF);
    if (at === -1 || at + 4 >= this.#opts.maxHeadBytes) return this.#handOver(socket, chunk);
    const head = parseUpgradeHead(chunk.toString('latin1', 0, at), socket);
    if (head === null) return this.#handOver(socket, chunk);
    this.#opts.onUpgrade(head, socket, chunk.subarray(at + 4));
  }

  /** An error before the first byte goes where Node sends it: the server's 'clientError' (a reset is closed silently there). */
  failed(socket: FrontSocket, err: Error): void {
    this.detach(socket);
    socket.on('error', noop);
    this.#server.emit('clientError', err, socket);
  }

  /** A FIN before any byte: nothing was asked, so nothing is answered (Node ends its side too). */
  ended(socket: FrontSocket): void {
    this.detach(socket);
    socket.on('error', noop);
    socket.end();
  }

  detach(socket: FrontSocket): void {
    if (socket.wslbFront === undefined) return;
    socket.wslbFront = undefined;
    this.#waiting.delete(socket);
    socket.off('data', frontOnData);
    socket.off('error', frontOnError);
    socket.off('end', frontOnEnd);
    socket.off('close', frontOnClose);
  }

  /** Closes every socket still waiting for its first byte. */
  closeWaiting(): void {
    for (const s of [...this.#waiting]) { this.detach(s); s.on('error', noop); s.destroy(); }
  }

  #handOver(socket: FrontSocket, bytes: Buffer): void {
    socket.pause();
    socket.unshift(bytes);
    for (const l of this.#downstream) l.call(this.#server, socket);
    // Node's parser reads through 'data', which does not restart a stream paused explicitly.
    socket.resume();
  }

  /** Every max(50, min(1000, timeout / 4)) ms, like Node's own connections check: 408 for a silent socket past the timeout. */
  #startSweeper(): void {
    const t = this.#opts.timeoutMs();
    this.#sweeper = setInterval(() => this.#sweep(), Math.min(1000, Math.max(50, Math.floor(t / 4))));
    this.#sweeper.unref();
  }

  #sweep(): void {
    if (this.#waiting.size === 0) {
      clearInterval(this.#sweeper!);
      this.#sweeper = null;
      return;
    }
    const deadline = performance.now() - this.#opts.timeoutMs();
    for (const s of this.#waiting) {
      if (s.wslbAcceptedAt! > deadline) break;
      this.failed(s, Object.assign(new Error('Request timeout'), { code: 'ERR_HTTP_REQUEST_TIMEOUT' }));
    }
  }
}

function noop(): void {}
