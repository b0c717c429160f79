/** The server side of a handshake: connect (retryable), send the request head, and classify the answer. */

import { request, type IncomingMessage } from 'node:http';
import net from 'node:net';
import { Duplex } from 'node:stream';
import tls from 'node:tls';
import type { ErrorCode } from '../errors.js';
import type { Server } from '../pool/server.js';
import { headEnd, MAX_HEAD_BYTES, parse101, requestHead, type ResponseHead } from './response-head.js';
import { tlsConnectOptions, type UpstreamTls } from './upstream-tls.js';
import { deadlines, type Deadline, type Expiring } from '../edge/deadlines.js';

export interface ConnectOptions {
  /** `pools.<p>.tls` for wss:// servers (src/tunnel/upstream-tls.ts). */
  readonly tls?: UpstreamTls | undefined;
  /** `pools.<p>.send_proxy`: the PROXY header, written before any other byte (and before TLS). */
  readonly proxyHeader?: Buffer | undefined;
}

/**
 * Opens a TCP (or TLS for wss://) connection, the PROXY header first when given; rejects on
 * refusal, reset, a failed TLS handshake (certificate included) or `timeoutMs` without connecting.
 */
export function connectServer(server: Server, timeoutMs: number, opts: ConnectOptions = {}): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    openServer(server, timeoutMs, opts, (err, socket) => (err ? reject(err) : resolve(socket!)));
  });
}

/** connectServer with a callback, called exactly once (never synchronously): the upgrade path's form, with no promise per attempt. */
export function openServer(server: Server, timeoutMs: number, opts: ConnectOptions, done: (err: Error | null, socket: net.Socket | null) => void): void {
  new ServerConnect(server, timeoutMs, opts, done);
}

/** One connection attempt: its listeners are its own methods, its timeout a shared deadline (src/edge/deadlines.ts). */
class ServerConnect implements Expiring {
  readonly #server: Server;
  readonly #opts: ConnectOptions;
  readonly #done: (err: Error | null, socket: net.Socket | null) => void;
  readonly #tlsOptions: tls.ConnectionOptions | null;
  #raw: net.Socket | null = null;
  #socket: net.Socket | null = null;
  #deadline: Deadline | null = null;
  #settled = false;

  constructor(server: Server, timeoutMs: number, opts: ConnectOptions, done: (err: Error | null, socket: net.Socket | null) => void) {
    this.#server = server;
    this.#opts = opts;
    this.#done = done;
    this.#tlsOptions = server.tls ? tlsConnectOptions(server.host, opts.tls) : null;
    this.#deadline = deadlines.arm(timeoutMs, this);
    try {
      // TLS straight away, unless a PROXY header has to go first in plain TCP.
      if (this.#tlsOptions && !opts.proxyHeader) {
        const socket = tls.connect({ host: server.host, port: server.port, ...this.#tlsOptions });
        this.#socket = socket;
        socket.on('error', this.fail);
        socket.on('secureConnect', this.secured);
      } else {
        const raw = net.connect({ host: server.host, port: server.port });
        this.#raw = this.#socket = raw;
        raw.on('error', this.fail);
        raw.on('connect', this.connected);
      }
    } catch (err) {
      // A synchronous throw is reported like an 'error' event: later, never from inside the call.
      process.nextTick(this.fail, err as Error);
    }
  }

  expire(): void {
    this.#deadline = null;
    this.fail(Object.assign(new Error(`connect to ${this.#server.url} timed out`), { code: 'ETIMEDOUT' }));
  }

  fail = (err: Error): void => {
    if (this.#settled) return;
    this.#settled = true;
    if (this.#deadline) deadlines.cancel(this.#deadline);
    // Later errors (the destroy below) must not throw: the listener stays.
    this.#socket?.destroy();
    this.#raw?.destroy();
    this.#done(err, null);
  };

  connected = (): void => {
    const raw = this.#raw!;
    raw.off('connect', this.connected);
    if (this.#opts.proxyHeader) raw.write(this.#opts.proxyHeader);
    if (!this.#tlsOptions) return this.#succeed();
    try {
      const socket = tls.connect({ ...this.#tlsOptions, socket: raw });
      this.#socket = socket;
      socket.on('error', this.fail);
      socket.on('secureConnect', this.secured);
    } catch (err) {
      this.fail(err as Error);
    }
  };

  secured = (): void => {
    this.#socket!.off('secureConnect', this.secured);
    this.#succeed();
  };

  #succeed(): void {
    if (this.#settled) return;
    this.#settled = true;
    if (this.#deadline) deadlines.cancel(this.#deadline);
    const socket = this.#socket!;
    const raw = this.#raw;
    socket.off('error', this.fail);
    // A wrapped raw socket's errors surface on the TLS socket; this one only must not throw.
    if (raw && raw !== socket) raw.off('error', this.fail).on('error', noop);
    socket.setNoDelay(true);
    this.#done(null, socket);
  }
}

function noop(): void {}

export type HandshakeOutcome =
  | { readonly kind: 'upgraded'; readonly res: ResponseHead; readonly socket: net.Socket; readonly head: Buffer }
  | { readonly kind: 'response'; readonly res: IncomingMessage }   // a non-101 answer: relay, then close
  | { readonly kind: 'failed'; readonly code: ErrorCode; readonly detail: string; readonly malformed?: boolean };   // malformed: the server answered bytes that are not HTTP

export interface HandshakeRequest {
  readonly path: string;
  readonly headers: readonly [string, string][];
  readonly timeoutMs: number;
}

/**
 * Sends the request head over an already connected socket and waits for the server's answer.
 * Fast path: a well-formed `101` is read by hand (src/tunnel/response-head.ts); any other answer
 * is replayed into Node's HTTP client, which parses it as it always did (relay, interim 1xx,
 * malformed heads). The 101 is checked by the caller (checkUpgradeResponse). Resolves exactly
 * once; on failure or timeout the socket is destroyed. On 'upgraded' the socket is paused, with
 * no listener of ours left on it (the tunnel resumes it).
 */
export function serverHandshake(socket: net.Socket, hs: HandshakeRequest): Promise<HandshakeOutcome> {
  return new Promise((resolve) => startServerHandshake(socket, hs, resolve));
}

/** serverHandshake with a callback, called exactly once: the upgrade path's form, with no promise per attempt. */
export function startServerHandshake(socket: net.Socket, hs: HandshakeRequest, done: (o: HandshakeOutcome) => void): void {
  new ServerHandshake(socket, hs, done).start();
}

/** One handshake on a connected socket: its listeners are its own methods, its timeout a shared deadline. */
class ServerHandshake implements Expiring {
  readonly #socket: net.Socket;
  readonly #hs: HandshakeRequest;
  readonly #done: (o: HandshakeOutcome) => void;
  #deadline: Deadline | null = null;
  #buffered: Buffer | null = null;
  #settled = false;

  constructor(socket: net.Socket, hs: HandshakeRequest, done: (o: HandshakeOutcome) => void) {
    this.#socket = socket;
    this.#hs = hs;
    this.#done = done;
  }

  start(): void {
    const socket = this.#socket;
    this.#deadline = deadlines.arm(this.#hs.timeoutMs, this);
    socket.on('data', this.onData);
    socket.on('error', this.onError);
    socket.on('end', this.onEnd);
    socket.on('close', this.onEnd);
    socket.write(requestHead(this.#hs.path, this.#hs.headers), 'latin1');
  }

  expire(): void {
    this.#deadline = null;
    this.settle({ kind: 'failed', code: 'WSLB_ERR_UPSTREAM_TIMEOUT', detail: `no answer in ${this.#hs.timeoutMs} ms` });
  }

  settle = (o: HandshakeOutcome): void => {
    if (this.#settled) return;
    this.#settled = true;
    if (this.#deadline) deadlines.cancel(this.#deadline);
    this.#detach();
    if (o.kind === 'failed') this.#socket.destroy();
    this.#done(o);
  };

  onData = (chunk: Buffer): void => {
    const buffered = this.#buffered ? Buffer.concat([this.#buffered, chunk]) : chunk;
    this.#buffered = buffered;
    const end = headEnd(buffered);
    if (end === -1) {
      if (buffered.length > MAX_HEAD_BYTES) this.#handOver(buffered);
      return;
    }
    const res = parse101(buffered.toString('latin1', 0, end));
    if (!res) return this.#handOver(buffered);
    this.#socket.pause();
    this.settle({ kind: 'upgraded', res, socket: this.#socket, head: buffered.subarray(end) });
  };

  onError = (err: Error): void => this.settle({ kind: 'failed', code: 'WSLB_ERR_UPSTREAM_CLOSED', detail: err.message });
  onEnd = (): void => this.settle({ kind: 'failed', code: 'WSLB_ERR_UPSTREAM_CLOSED', detail: 'socket hang up' });

  #detach(): void {
    const socket = this.#socket;
    socket.off('data', this.onData);
    socket.off('error', this.onError);
    socket.off('end', this.onEnd);
    socket.off('close', this.onEnd);
  }

  /** Not a plain 101: Node's client parses what came (and what follows) with its usual rules. */
  #handOver(bytes: Buffer): void {
    this.#detach();
    this.#socket.pause();
    nodeParse(this.#socket, bytes, this.#hs.path, this.settle);
  }
}

/**
 * Feeds `first` and then the socket's further bytes to a ClientRequest through a Duplex whose
 * writes are dropped (the request head was already sent): Node's parser then emits 'upgrade',
 * 'response' or 'error' exactly as for a request it had sent itself.
 */
function nodeParse(socket: net.Socket, first: Buffer, path: string, settle: (o: HandshakeOutcome) => void): void {
  const replay = new Duplex({
    read() { socket.resume(); },
    write(_chunk, _enc, cb) { cb(); },
    final(cb) { cb(); },
    destroy(err, cb) { socket.destroy(); cb(err); },
  });
  replay.push(first);
  socket.on('data', (chunk: Buffer) => { if (!replay.push(chunk)) socket.pause(); });
  socket.on('end', () => replay.push(null));
  socket.on('error', (err) => replay.destroy(err));
  socket.on('close', () => { if (!replay.destroyed) replay.destroy(); });
  const req = request({ createConnection: () => replay as unknown as net.Socket, method: 'GET', path, setHost: false });
  req.on('upgrade', (res, _replay, head: Buffer) => {
    // Node accepted a 101 the strict reader did not: the tunnel gets the real socket, not the replay.
    socket.removeAllListeners('data');
    socket.removeAllListeners('end');
    socket.pause();
    const unread = replay.readableLength ? (replay.read() as Buffer | null) : null;
    settle({ kind: 'upgraded', res, socket, head: unread ? Buffer.concat([head, unread]) : head });
  });
  req.on('response', (res) => {
    // A 101 that Node did not treat as an upgrade (no Upgrade/Connection headers) is invalid.
    if (res.statusCode === 101) return settle({ kind: 'failed', code: 'WSLB_ERR_BAD_101', detail: '101 without upgrade headers' });
    settle({ kind: 'response', res });
  });
  req.on('error', (err: NodeJS.ErrnoException) => settle({ kind: 'failed', code: 'WSLB_ERR_UPSTREAM_CLOSED', detail: err.message, malformed: err.code?.startsWith('HPE_') === true }));
  req.end();
}
