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
import { connectOptions, shapeUpstream } from './socket-shape.js';
import { markSharedRead, readsShared, setReader, SHARED_READ, type UpstreamReader } from './upstream-read.js';

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

/** A socket while its connection attempt is under way: the module-level listeners below find the attempt here. */
interface ConnectSocket extends net.Socket {
  wslbConnect?: ServerConnect | undefined;
}

function connectOnError(this: ConnectSocket, err: Error): void { this.wslbConnect?.fail(err); }
function connectOnConnect(this: ConnectSocket): void { this.wslbConnect?.connected(); }
function connectOnSecure(this: ConnectSocket): void { this.wslbConnect?.secured(); }

/**
 * One connection attempt: its listeners are shared functions that reach it through a
 * back-reference on the socket (no closure per attempt), its timeout a shared deadline
 * (src/edge/deadlines.ts). Plain TCP reads through the shared buffer (src/tunnel/upstream-read.ts).
 */
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
        shapeUpstream(socket);
        this.#socket = socket;
        this.#listen(socket, 'secureConnect', connectOnSecure);
      } else if (this.#tlsOptions) {
        // TLS over this socket later: TLS reads it itself, so no shared read buffer.
        const raw = net.connect(connectOptions(server.host, server.port));
        shapeUpstream(raw);
        this.#raw = this.#socket = raw;
        this.#listen(raw, 'connect', connectOnConnect);
      } else {
        const raw = net.connect(connectOptions(server.host, server.port, SHARED_READ));
        shapeUpstream(raw);
        markSharedRead(raw);
        this.#raw = this.#socket = raw;
        this.#listen(raw, 'connect', connectOnConnect);
      }
    } catch (err) {
      // A synchronous throw is reported like an 'error' event: later, never from inside the call.
      process.nextTick(failLater, this, err as Error);
    }
  }

  #listen(socket: net.Socket, event: string, fn: (this: ConnectSocket) => void): void {
    (socket as ConnectSocket).wslbConnect = this;
    socket.on('error', connectOnError);
    socket.on(event, fn);
  }

  expire(): void {
    this.#deadline = null;
    this.fail(Object.assign(new Error(`connect to ${this.#server.url} timed out`), { code: 'ETIMEDOUT' }));
  }

  fail(err: Error): void {
    if (this.#settled) return;
    this.#settled = true;
    if (this.#deadline) deadlines.cancel(this.#deadline);
    // Later errors (the destroy below) must not throw: the listener stays.
    this.#socket?.destroy();
    this.#raw?.destroy();
    this.#done(err, null);
  }

  connected(): void {
    const raw = this.#raw!;
    raw.off('connect', connectOnConnect);
    if (this.#opts.proxyHeader) raw.write(this.#opts.proxyHeader);
    if (!this.#tlsOptions) return this.#succeed();
    try {
      const socket = tls.connect({ ...this.#tlsOptions, socket: raw });
      shapeUpstream(socket);
      this.#socket = socket;
      this.#listen(socket, 'secureConnect', connectOnSecure);
    } catch (err) {
      this.fail(err as Error);
    }
  }

  secured(): void {
    this.#socket!.off('secureConnect', connectOnSecure);
    this.#succeed();
  }

  #succeed(): void {
    if (this.#settled) return;
    this.#settled = true;
    if (this.#deadline) deadlines.cancel(this.#deadline);
    const socket = this.#socket! as ConnectSocket;
    const raw = this.#raw as ConnectSocket | null;
    socket.off('error', connectOnError);
    socket.wslbConnect = undefined;
    // A wrapped raw socket's errors surface on the TLS socket; this one only must not throw.
    if (raw && raw !== socket) {
      raw.off('error', connectOnError).on('error', noop);
      raw.wslbConnect = undefined;
    }
    socket.setNoDelay(true);
    this.#done(null, socket);
  }
}

function failLater(c: ServerConnect, err: Error): void {
  c.fail(err);
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
 * once; on failure or timeout the socket is destroyed. On 'upgraded' no listener of ours is left on
 * the socket and no byte is lost: a socket read the usual way is paused (the tunnel resumes it); one
 * that reads through the shared buffer holds what comes for its next reader (the tunnel).
 */
export function serverHandshake(socket: net.Socket, hs: HandshakeRequest): Promise<HandshakeOutcome> {
  return new Promise((resolve) => startServerHandshake(socket, hs, resolve));
}

/** serverHandshake with a callback, called exactly once: the upgrade path's form, with no promise per attempt. */
export function startServerHandshake(socket: net.Socket, hs: HandshakeRequest, done: (o: HandshakeOutcome) => void): void {
  new ServerHandshake(socket, hs, done).start();
}

/** A socket during its server handshake: the module-level listeners below find the handshake here. */
interface HandshakeSocket extends net.Socket {
  wslbHandshake?: ServerHandshake | undefined;
}

function handshakeOnData(this: HandshakeSocket, chunk: Buffer): void { this.wslbHandshake?.upstreamOnData(chunk); }
function handshakeOnError(this: HandshakeSocket, err: Error): void { this.wslbHandshake?.failed(err.message); }
function handshakeOnEnd(this: HandshakeSocket): void { this.wslbHandshake?.failed('socket hang up'); }

/** One handshake on a connected socket: shared listeners with a back-reference (no closure per handshake), its timeout a shared deadline. */
class ServerHandshake implements Expiring, UpstreamReader {
  readonly #socket: HandshakeSocket;
  readonly #hs: HandshakeRequest;
  readonly #done: (o: HandshakeOutcome) => void;
  readonly #shared: boolean;
  #deadline: Deadline | null = null;
  #buffered: Buffer | null = null;
  #settled = false;

  constructor(socket: net.Socket, hs: HandshakeRequest, done: (o: HandshakeOutcome) => void) {
    this.#socket = socket;
    this.#hs = hs;
    this.#done = done;
    this.#shared = readsShared(socket);
  }

  start(): void {
    const socket = this.#socket;
    this.#deadline = deadlines.arm(this.#hs.timeoutMs, this);
    socket.wslbHandshake = this;
    socket.on('error', handshakeOnError);
    socket.on('end', handshakeOnEnd);
    socket.on('close', handshakeOnEnd);
    if (this.#shared) {
      setReader(socket, this);
      if (socket.isPaused() && !this.#settled) socket.resume();   // paused while it held bytes for nobody
    } else {
      socket.on('data', handshakeOnData);
    }
    if (!this.#settled) socket.write(requestHead(this.#hs.path, this.#hs.headers), 'latin1');
  }

  expire(): void {
    this.#deadline = null;
    this.settle({ kind: 'failed', code: 'WSLB_ERR_UPSTREAM_TIMEOUT', detail: `no answer in ${this.#hs.timeoutMs} ms` });
  }

  failed(detail: string): void {
    this.settle({ kind: 'failed', code: 'WSLB_ERR_UPSTREAM_CLOSED', detail });
  }

  settle(o: HandshakeOutcome): void {
    if (this.#settled) return;
    this.#settled = true;
    if (this.#deadline) deadlines.cancel(this.#deadline);
    this.#detach();
    if (o.kind === 'failed') this.#socket.destroy();
    this.#done(o);
  }

  upstreamOnData(chunk: Buffer): void {
    if (this.#settled) return;
    const buffered = this.#buffered ? Buffer.concat([this.#buffered, chunk]) : chunk;
    this.#buffered = buffered;
    const end = headEnd(buffered);
    if (end === -1) {
      if (buffered.length > MAX_HEAD_BYTES) this.#handOver(buffered);
      return;
    }
    const res = parse101(buffered.toString('latin1', 0, end));
    if (!res) return this.#handOver(buffered);
    // A shared-read socket keeps reading (stopping and restarting costs two epoll calls per
    // connection): what comes before the tunnel takes it is held for it (src/tunnel/upstream-read.ts).
    if (!this.#shared) this.#socket.pause();
    this.settle({ kind: 'upgraded', res, socket: this.#socket, head: buffered.subarray(end) });
  }

  #detach(): void {
    const socket = this.#socket;
    socket.wslbHandshake = undefined;
    if (this.#shared) setReader(socket, null);
    else socket.off('data', handshakeOnData);
    socket.off('error', handshakeOnError);
    socket.off('end', handshakeOnEnd);
    socket.off('close', handshakeOnEnd);
  }

  /** Not a plain 101: Node's client parses what came (and what follows) with its usual rules. */
  #handOver(bytes: Buffer): void {
    this.#detach();
    this.#socket.pause();
    nodeParse(this.#socket, bytes, this.#hs.path, (o) => this.settle(o));
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
  const onData = (chunk: Buffer): void => { if (!replay.push(chunk)) socket.pause(); };
  const shared = readsShared(socket);
  if (shared) setReader(socket, { upstreamOnData: onData });
  else socket.on('data', onData);
  socket.on('end', () => replay.push(null));
  socket.on('error', (err) => replay.destroy(err));
  socket.on('close', () => { if (!replay.destroyed) replay.destroy(); });
  const req = request({ createConnection: () => replay as unknown as net.Socket, method: 'GET', path, setHost: false });
  req.on('upgrade', (res, _replay, head: Buffer) => {
    // Node accepted a 101 the strict reader did not: the tunnel gets the real socket, not the replay.
    socket.removeAllListeners('data');
    socket.removeAllListeners('end');
    socket.pause();
    if (shared) setReader(socket, null);   // later bytes are held for the tunnel
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
