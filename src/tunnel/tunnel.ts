/** One proxied WebSocket connection after the 101: pipes bytes both ways with bounded buffering, scans frame headers, and owns the single close path. */

import net from 'node:net';
import { CLOSE } from '../errors.js';
import type { Server, ServerLease } from '../pool/server.js';
import { closeFrame, FrameScanner, SCAN_CLOSE, SCAN_LIMIT, SCAN_OK, SCAN_TOO_BIG } from './frame-scanner.js';
import { lift, TunnelLimits, type Throttled } from './rate-limit.js';
import { overTurn, TURN_BYTES, waitIfSpent, type Reader } from './turns.js';
import { BULK_BYTES, readsShared, recyclable, recycle, setReader } from './upstream-read.js';
import { deadlines, type Deadline, type Expiring } from '../edge/deadlines.js';

// Why 'data' + write() + pause/resume and not stream.pipe(): pipe() measured at
// 10.8 KiB per idle connection against 7.0 KiB, for no CPU gain. Socket listeners are shared
// module-level functions that reach the Tunnel through a back-reference on the socket (as ws
// does): no closure or bound function per tunnel (ten of them cost ~0.6 KiB per connection),
// and the per-chunk path allocates nothing of its own.
//
// Backpressure bound, per direction: the source is paused as soon as a write leaves the
// destination's writableLength >= maxBufferedBytes, and only resumed on 'drain' (buffer empty).
// Writes happen only while writableLength < maxBufferedBytes, and one socket read is at most
// 64 KiB (16 KiB for TLS records), so the destination's writableLength never exceeds
//   maxBufferedBytes - 1 + 65536 (+ at most 131 bytes for a balancer close frame;
//   the held handshake bytes written by start() count as one read of their size),
// plus the paused source's readable buffer (Node 20 stops reading once it holds its
// highWaterMark, 16 KiB: at most 16 KiB - 1 + one 64 KiB read) and the kernel socket
// buffers, which are outside the JS heap. Worst case per direction: maxBufferedBytes + ~144 KiB.
//
// Fairness: a direction that forwards more than TURN_BYTES within one event-loop turn pauses
// its source and waits for its turn (src/tunnel/turns.ts), so tunnels whose servers push flat
// out cannot fill whole loop turns while the other tunnels wait.
//
// Per-connection cost: a tunnel that never meets backpressure never listens for 'drain' (the
// listener is added at the first pause); a server socket opened by the balancer over plain TCP
// reads through the shared buffer (src/tunnel/upstream-read.ts), so it has no 'data' listener
// either; the close wait is a shared deadline (src/edge/deadlines.ts), not a Node timer each.

export interface TunnelOptions {
  client: net.Socket;
  upstream: net.Socket;
  server: Server;
  /** The upgrade's lease on `server` (taken at its pick); released in the one close path. Without one, start() takes its own. */
  lease?: ServerLease;
  maxMessageBytes: number;
  maxBufferedBytes: number;
  finTimeout: number;
  /** Client -> server data messages per second (a bucket of that many); over it: close 1008 at the frame boundary. 0: no limit. */
  messagesPerSecond?: number;
  /** Client -> server bytes per second (a bucket of one second's worth); over it reading pauses. 0: no limit. */
  bytesPerSecond?: number;
  /** Called exactly once, after both sockets are destroyed. */
  onClose?: (t: Tunnel) => void;
}

/** What a TunnelSet implements to hear about a tunnel's end. */
export interface TunnelOwner {
  tunnelClosed(t: Tunnel): void;
}

export type CloseBy = 'client' | 'server' | 'balancer';

// Direction states.
const FWD = 0;        // forwarding
const CLOSING = 1;    // balancer close requested: forwarding up to the next frame boundary
const DONE = 2;       // destination ended (close frame sent, FIN propagated or gone); source bytes discarded

const NOT_FORWARDING = -1;     // pseudo scan status: the direction is closing or done
const MAX_CLOSE_WAIT = 2000;
const NO_STATUS = 1005;

/** A socket joined to a tunnel: the listeners below find their tunnel here. */
interface TunnelSocket extends net.Socket {
  wslbTunnel?: Tunnel;
}

function clientOnData(this: TunnelSocket, chunk: Buffer): void { this.wslbTunnel!.clientOnData(chunk); }
function upstreamOnData(this: TunnelSocket, chunk: Buffer): void { this.wslbTunnel!.upstreamOnData(chunk); }
function clientOnDrain(this: TunnelSocket): void { this.wslbTunnel!.clientOnDrain(); }
function upstreamOnDrain(this: TunnelSocket): void { this.wslbTunnel!.upstreamOnDrain(); }
function clientOnEnd(this: TunnelSocket): void { this.wslbTunnel!.clientOnEnd(); }
function upstreamOnEnd(this: TunnelSocket): void { this.wslbTunnel!.upstreamOnEnd(); }
function clientOnClose(this: TunnelSocket): void { this.wslbTunnel!.clientOnClose(); }
function upstreamOnClose(this: TunnelSocket): void { this.wslbTunnel!.upstreamOnClose(); }
// 'close' follows every socket error: the close listeners do the work.
function socketOnError(): void {}

/** One direction of the pipe: bytes read from src are written to dst, scanned on the way (a FrameScanner itself: one object per direction, not two). */
class Direction extends FrameScanner implements Reader, Throttled {
  state = FWD;
  paused = false;     // src paused by us for backpressure
  yielded = false;    // src paused until its next read turn (turns.ts)
  throttled = false;  // src paused until its byte budget refills (rate-limit.ts)
  bytes = 0;          // client -> server: every byte read from the client; server -> client: every byte written to the client
  taken = 0;          // bytes forwarded since the turn count started
  turn = 0;
  msgs = 0;           // messages already added to the server counter
  cut = false;        // forwarding stopped at a boundary the scanner cannot see (message too big)
  ended = false;      // src will send nothing more (FIN, reset or closed)
  closed = false;     // src emitted 'close'
  drainHeard = false; // dst has our 'drain' listener (added at the first pause)
  readonly src: net.Socket;
  readonly dst: net.Socket;
  readonly toServer: boolean;
  constructor(src: net.Socket, dst: net.Socket, maxMessageBytes: number, toServer: boolean) {
    super(maxMessageBytes);
    this.src = src;
    this.dst = dst;
    this.toServer = toServer;
  }
}

export class Tunnel implements Expiring {
  /** Set on every chunk in either direction; read and cleared by the idle sweeper. */
  activity = false;
  owner: TunnelOwner | null = null;

  readonly #client: net.Socket;
  readonly #upstream: net.Socket;
  readonly #server: Server;
  #lease: ServerLease | null;
  readonly #up: Direction;      // client -> server
  readonly #down: Direction;    // server -> client
  readonly #maxBuffered: number;
  readonly #finTimeout: number;
  readonly #onClose: ((t: Tunnel) => void) | undefined;

  #started = false;
  #destroying = false;
  #finished = false;
  #closeCode = 0;               // balancer close requested with this code
  #closeReason = '';
  #firstClose: CloseBy | null = null;
  #balancerCode = 0;
  #firstEnd: CloseBy | null = null;   // who ended first when no close frame was read: FIN, reset, or the balancer's destroy
  #timer: Deadline | null = null;
  /** limits.messages_per_second and bytes_per_second of the client -> server direction; null: neither. */
  readonly #limits: TunnelLimits | null = null;
  readonly #plainClient: boolean;

  constructor(opts: TunnelOptions) {
    this.#client = opts.client;
    this.#upstream = opts.upstream;
    this.#server = opts.server;
    this.#lease = opts.lease ?? null;
    this.#maxBuffered = opts.maxBufferedBytes;
    this.#finTimeout = opts.finTimeout;
    this.#onClose = opts.onClose;
    this.#up = new Direction(opts.client, opts.upstream, opts.maxMessageBytes, true);
    this.#down = new Direction(opts.upstream, opts.client, opts.maxMessageBytes, false);
    const messagesPerSecond = opts.messagesPerSecond ?? 0;
    const bytesPerSecond = opts.bytesPerSecond ?? 0;
    if (messagesPerSecond > 0 || bytesPerSecond > 0) {
      this.#limits = new TunnelLimits({ messagesPerSecond, bytesPerSecond }, this.#up);
      this.#up.budget = this.#limits.frameBudget;
    }
    // Only a plain TCP client's write callback means the kernel has the bytes (a TLS socket or an
    // HTTP/2 stream may still hold them): handed-over server reads are given back only then.
    this.#plainClient = Object.getPrototypeOf(opts.client) === net.Socket.prototype;
    (opts.client as TunnelSocket).wslbTunnel = this;
    (opts.upstream as TunnelSocket).wslbTunnel = this;
  }

  /** The server this tunnel is connected to (its counters are updated by the tunnel). */
  get server(): Server {
    return this.#server;
  }

  /** performance.now() at creation (the 101): the connection-duration histogram's start. */
  readonly openedAt = performance.now();

  /** Bytes written to each side over the tunnel's life, handshake heads included (socket counters: no per-chunk cost). */
  get bytesWritten(): { upstream: number; downstream: number } {
    return { upstream: this.#upstream.bytesWritten, downstream: this.#client.bytesWritten };
  }

  /** Bytes queued in the balancer towards each side (bounded by backpressure; for /status and tests). */
  get buffered(): { toClient: number; toServer: number } {
    return { toClient: this.#client.writableLength, toServer: this.#upstream.writableLength };
  }

  #pauses = 0;

  /** Times a direction was paused at the buffer bound (read by the stall check, src/tunnel/stall.ts). */
  get pauses(): number {
    return this.#pauses;
  }

  /** A direction is paused now because its destination holds maxBufferedBytes or more (its reader is not keeping up). */
  get backpressured(): boolean {
    return this.#up.paused || this.#down.paused;
  }

  /** True once both sockets are closed and onClose has run. */
  get finished(): boolean {
    return this.#finished;
  }

  /** Who sent the first close frame, and its code (1005 when it carried none or it was not read). */
  get lastClose(): { code: number; by: CloseBy } | undefined {
    const by = this.#firstClose;
    if (by === null) return undefined;
    const code = by === 'balancer' ? this.#balancerCode
      : (by === 'client' ? this.#up : this.#down).closeCode;
    return { code: code === 0 ? NO_STATUS : code, by };
  }

  /** Who ended the tunnel first when no close frame was read (a FIN, a reset, the balancer's abort); null while open. */
  get endedBy(): CloseBy | null {
    return this.#firstEnd;
  }

  /**
   * What crossed the tunnel, for the access log: bytes read from the client and written to it
   * (frame headers and close frames included, the handshake not), and data messages scanned each way.
   */
  get traffic(): { bytesIn: number; bytesOut: number; messagesIn: number; messagesOut: number } {
    return { bytesIn: this.#up.bytes, bytesOut: this.#down.bytes, messagesIn: this.#up.messages, messagesOut: this.#down.messages };
  }

  /**
   * Forwards the bytes held during the handshake, then pipes both ways. `clientHead` (the 101 for
   * the client, latin1) is written first, in the same write as the server's bytes that came with
   * its 101 (a greeting, usually): one system call instead of two on every such connection.
   */
  start(clientPending: Buffer | null, upstreamHead: Buffer | null, clientHead?: string): void {
    if (this.#started) throw new Error('tunnel already started');
    if (this.#destroying) return;            // destroyed before start: sockets gone, nothing counted
    this.#started = true;
    const c = this.#client;
    const u = this.#upstream;
    c.on('error', socketOnError);
    u.on('error', socketOnError);
    (this.#lease ??= this.#server.lease()).opened();
    // A socket destroyed before start may already have emitted 'close': count it closed now.
    if (c.destroyed || u.destroyed) {
      this.#up.closed = c.destroyed;
      this.#down.closed = u.destroyed;
      if (!c.destroyed) c.on('close', clientOnClose);
      if (!u.destroyed) u.on('close', upstreamOnClose);
      this.destroy();
      this.#finish();
      return;
    }
    c.on('close', clientOnClose);
    u.on('close', upstreamOnClose);
    c.on('end', clientOnEnd);
    u.on('end', upstreamOnEnd);
    c.setNoDelay(true);
    u.setNoDelay(true);
    // The client's 101 goes first, corked with the server's first bytes (one write): the client's
    // early bytes, forwarded next, can close the tunnel at once (a message too big, over the rate),
    // and the close frame that follows must come after the 101.
    const withHead = upstreamHead !== null && upstreamHead.length > 0;
    if (clientHead !== undefined) {
      if (withHead) c.cork();
      c.write(clientHead, 'latin1');
    }
    if (clientPending !== null && clientPending.length > 0) this.clientOnData(clientPending);
    if (withHead) this.upstreamOnData(upstreamHead);
    if (clientHead !== undefined && withHead) c.uncork();
    c.on('data', clientOnData);
    // Bytes the server socket read while it had no reader (past the head) come now, in order.
    if (readsShared(u)) setReader(u, this);
    else u.on('data', upstreamOnData);
    // The handshake code may have paused them explicitly; on('data') alone would not resume.
    if (!this.#up.paused && !this.#up.yielded && !this.#up.throttled) c.resume();
    if (!this.#down.paused && !this.#down.yielded) u.resume();
  }

  /**
   * Graceful: a close frame with `code` to each side at that side's next frame boundary, then
   * FIN; later bytes from either side are read and discarded. The first call wins; a no-op
   * before start(). The whole closing handshake (boundary, frames, the peers' FIN) gets
   * min(finTimeout, 2 s), then both sockets are destroyed.
   */
  close(code: number, reason = ''): void {
    if (this.#closeCode !== 0 || this.#destroying || this.#finished || !this.#started) return;
    this.#closeCode = code;
    this.#closeReason = reason;
    this.#setTimer(Math.min(this.#finTimeout, MAX_CLOSE_WAIT));
    this.#closeAtBoundary(this.#down);
    this.#closeAtBoundary(this.#up);
  }

  /** Aborts both TCP connections now. */
  destroy(): void {
    if (this.#destroying) return;
    this.#destroying = true;
    this.#firstEnd ??= 'balancer';
    this.#client.destroy();
    this.#upstream.destroy();
    if (!this.#started) {
      // Never started: no 'close' listeners, nothing counted; leave the owner's set (and end the upgrade's lease).
      this.#up.closed = this.#down.closed = true;
      this.#finish();
    }
  }

  // ---- per-chunk path: one scan, three counter adds, one write ----

  clientOnData(chunk: Buffer): void {
    this.activity = true;
    const d = this.#up;
    d.bytes += chunk.length;
    if (this.#limits !== null) this.#limits.read(chunk.length, d.state === FWD);
    const st = d.state === FWD ? d.scan(chunk) : NOT_FORWARDING;
    if (st !== SCAN_OK) return st === NOT_FORWARDING ? this.#notForwarding(d, chunk) : this.#scanned(d, chunk, st);
    const m = d.messages;
    this.#server.messagesIn += m - d.msgs;
    d.msgs = m;
    this.#server.bytesIn += chunk.length;
    if (!this.#upstream.write(chunk) && this.#upstream.writableLength >= this.#maxBuffered) this.#pause(d);
    if ((d.taken += chunk.length) >= TURN_BYTES) overTurn(d);
  }

  upstreamOnData(chunk: Buffer): void {
    this.activity = true;
    const d = this.#down;
    const st = d.state === FWD ? d.scan(chunk) : NOT_FORWARDING;
    if (st !== SCAN_OK) return st === NOT_FORWARDING ? this.#notForwarding(d, chunk) : this.#scanned(d, chunk, st);
    const m = d.messages;
    this.#server.messagesOut += m - d.msgs;
    d.msgs = m;
    this.#server.bytesOut += chunk.length;
    d.bytes += chunk.length;
    const c = this.#client;
    const ok = chunk.length >= BULK_BYTES && this.#plainClient && recyclable(chunk) ? this.#writeOwn(chunk) : c.write(chunk);
    if (!ok && c.writableLength >= this.#maxBuffered) this.#pause(d);
    if ((d.taken += chunk.length) >= TURN_BYTES) overTurn(d);
  }

  /** Bulk reads written to the client in their own buffers, oldest first; each goes back to the read side when its write completes. */
  #ownWrites: Buffer[] | null = null;
  #ownWritten: ((err?: Error | null) => void) | null = null;

  /** Writes a server read handed over in a buffer of its own (src/tunnel/upstream-read.ts); writes complete in order, so each callback is the oldest's. */
  #writeOwn(chunk: Buffer): boolean {
    (this.#ownWrites ??= []).push(chunk);
    return this.#client.write(chunk, this.#ownWritten ??= (err?: Error | null): void => {
      const done = this.#ownWrites!.shift();
      if (done !== undefined && !err) recycle(done);   // after an error the socket may still hold it: left to the collector
    });
  }

  upstreamOnDrain(): void {
    this.#resume(this.#up);
  }

  clientOnDrain(): void {
    this.#resume(this.#down);
  }

  // ---- slower paths: status bits, closing, discarding ----

  #forward(d: Direction, chunk: Buffer): void {
    const m = d.messages;
    if (d.toServer) {
      this.#server.messagesIn += m - d.msgs;
      this.#server.bytesIn += chunk.length;
    } else {
      this.#server.messagesOut += m - d.msgs;
      this.#server.bytesOut += chunk.length;
      d.bytes += chunk.length;
    }
    d.msgs = m;
    if (!d.dst.write(chunk) && d.dst.writableLength >= this.#maxBuffered) this.#pause(d);
    if ((d.taken += chunk.length) >= TURN_BYTES) overTurn(d);
  }

  /** A chunk whose scan reported a close frame, a message too big, or a frame over the message rate. */
  #scanned(d: Direction, chunk: Buffer, st: number): void {
    if ((st & SCAN_CLOSE) !== 0 && this.#firstClose === null) this.#firstClose = d.toServer ? 'client' : 'server';
    if ((st & (SCAN_TOO_BIG | SCAN_LIMIT)) === 0) {
      this.#forward(d, chunk);
      return;
    }
    const off = d.errorOffset;
    if (off < 0 || this.#closeCode !== 0) {
      // The receiver already holds part of the offending header (no boundary to close at),
      // or a close is already under way: abort.
      this.destroy();
      return;
    }
    if (off > 0) this.#forward(d, chunk.subarray(0, off));
    d.cut = true;
    if ((st & SCAN_LIMIT) !== 0) this.close(CLOSE.POLICY, 'message rate');
    else this.close(CLOSE.TOO_BIG);
  }

  #notForwarding(d: Direction, chunk: Buffer): void {
    if (d.state === DONE) {
      // Read and discarded; still counted, so a source pushing flat out takes turns too.
      if (chunk.length >= BULK_BYTES && recyclable(chunk)) recycle(chunk);
      if ((d.taken += chunk.length) >= TURN_BYTES) overTurn(d);
      return;
    }
    const n = d.scanToBoundary(chunk);
    if (n === -1) {
      this.#forward(d, chunk);
      return;
    }
    if (n === -2) {
      this.destroy();
      return;
    }
    if (n > 0) this.#forward(d, chunk.subarray(0, n));
    this.#sendClose(d);
  }

  #closeAtBoundary(d: Direction): void {
    if (d.state !== FWD) return;
    if (d.atBoundary || d.cut) this.#sendClose(d);
    else d.state = CLOSING;
  }

  /** Ends d's destination with the balancer's close frame (unless that side already got one). */
  #sendClose(d: Direction): void {
    d.state = DONE;
    if (d.throttled) lift(d);   // the rest is read and discarded: the peer's close and FIN come sooner
    if (!d.closeSeen) {
      const frame = closeFrame(this.#closeCode, this.#closeReason, d.toServer);
      if (!d.toServer) d.bytes += frame.length;
      d.dst.write(frame);
      if (this.#firstClose === null) {
        this.#firstClose = 'balancer';
        this.#balancerCode = this.#closeCode;
      }
    }
    d.dst.end();
    this.#resume(d);
  }

  #pause(d: Direction): void {
    d.paused = true;
    this.#pauses++;
    d.src.pause();
    if (!d.drainHeard) {
      // 'drain' comes later (after this write's callback), never from inside write(): in time.
      d.drainHeard = true;
      d.dst.on('drain', d.toServer ? upstreamOnDrain : clientOnDrain);
    }
  }

  #resume(d: Direction): void {
    if (!d.paused) return;
    d.paused = false;
    if (d.yielded || d.throttled) return;        // a yielded source resumes at its turn, a throttled one at the wheel's
    if (!waitIfSpent(d)) d.src.resume();          // past this turn's budget: at its turn too
  }

  // ---- socket lifecycle ----

  clientOnEnd(): void {
    this.#sourceEnded(this.#up);
  }

  upstreamOnEnd(): void {
    this.#sourceEnded(this.#down);
  }

  clientOnClose(): void {
    this.#sourceClosed(this.#up);
  }

  upstreamOnClose(): void {
    this.#sourceClosed(this.#down);
  }

  /** d's source sent FIN: propagate it (Node leaves upgraded sockets allowHalfOpen: nothing else closes them) and bound the wait. */
  #sourceEnded(d: Direction): void {
    d.ended = true;
    this.#firstEnd ??= d.toServer ? 'client' : 'server';
    const other = d === this.#up ? this.#down : this.#up;
    // A server that stops without a close frame (and not in answer to the client's FIN)
    // failed mid-stream: tell the client (1014).
    if (!d.toServer && d.state === FWD && !other.ended && !d.closeSeen && d.atBoundary && this.#closeCode === 0) {
      this.#closeCode = CLOSE.BAD_GATEWAY;
      this.#sendClose(d);
    }
    if (d.state !== DONE) {
      d.state = DONE;
      d.dst.end();
    }
    if (other.ended) {
      // Both sides are done sending and both got our FIN: each socket closes itself once its
      // writes are flushed (autoDestroy); the timer still bounds a peer that never reads.
      if (this.#client.writableFinished) this.#client.destroy();
      if (this.#upstream.writableFinished) this.#upstream.destroy();
    }
    if (this.#timer === null) this.#setTimer(this.#finTimeout);
  }

  /** d's source socket is closed: nothing more can be written to it nor read from it. */
  #sourceClosed(d: Direction): void {
    d.closed = true;
    this.#firstEnd ??= d.toServer ? 'client' : 'server';
    const other = d === this.#up ? this.#down : this.#up;
    other.state = DONE;
    if (other.throttled) lift(other);
    this.#resume(other);
    if (!d.ended) {
      // Reset or destroyed without FIN.
      d.ended = true;
      if (!this.#destroying) {
        // A later version could send the server 1001 when the client vanishes.
        if (d.toServer) this.#upstream.destroy();
        else this.#upstreamGone();
      }
    }
    d.state = DONE;
    this.#finish();
  }

  /** The server reset or vanished: 1014 to the client if it is at a frame boundary, else abort it. */
  #upstreamGone(): void {
    const d = this.#down;
    this.#resume(d);
    if (d.state === FWD && d.atBoundary && !this.#client.writableEnded) {
      this.#closeCode = CLOSE.BAD_GATEWAY;
      this.#sendClose(d);
      if (this.#timer === null) this.#setTimer(Math.min(this.#finTimeout, MAX_CLOSE_WAIT));
    } else if (d.state !== DONE || !this.#client.writableEnded) {
      this.#client.destroy();
    }
  }

  #setTimer(ms: number): void {
    if (this.#timer !== null) deadlines.cancel(this.#timer);
    this.#timer = deadlines.arm(ms, this);
  }

  /** The close wait ran out (its deadline): abort. */
  expire(): void {
    this.#timer = null;
    this.destroy();
  }

  /** The one close path: runs once, when both sockets have closed. */
  #finish(): void {
    if (!this.#up.closed || !this.#down.closed || this.#finished) return;
    this.#finished = true;
    if (this.#timer !== null) {
      deadlines.cancel(this.#timer);
      this.#timer = null;
    }
    this.#lease?.release();   // the upgrade's lease ends here even when the tunnel never started
    const owner = this.owner;
    this.owner = null;
    owner?.tunnelClosed(this);
    this.#onClose?.(this);
  }
}
