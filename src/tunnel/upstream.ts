/** The server side of a handshake: connect (retryable), send the request head, and classify the answer. */

import { request, type IncomingMessage } from 'node:http';
import net from 'node:net';
import { Duplex } from 'node:stream';
import tls from 'node:tls';
import type { ErrorCode } from '../errors.js';
import type { Server } from '../pool/server.js';
import { headEnd, MAX_HEAD_BYTES, parse101, requestHead, type ResponseHead } from './response-head.js';
import { tlsConnectOptions, type UpstreamTls } from './upstream-tls.js';

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
    const tlsOptions = server.tls ? tlsConnectOptions(server.host, opts.tls) : null;
    // TLS straight away, unless a PROXY header has to go first in plain TCP.
    const raw = tlsOptions && !opts.proxyHeader ? null : net.connect({ host: server.host, port: server.port });
    let socket: net.Socket = raw ?? tls.connect({ host: server.host, port: server.port, ...tlsOptions });
    let settled = false;
    const fail = (err: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      raw?.destroy();
      reject(err);
    };
    const timer = setTimeout(() => fail(Object.assign(new Error(`connect to ${server.url} timed out`), { code: 'ETIMEDOUT' })), timeoutMs);
    const done = (): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.off('error', fail);
      // A wrapped raw socket's errors surface on the TLS socket; this one only must not throw.
      if (raw && raw !== socket) raw.off('error', fail).on('error', noop);
      socket.setNoDelay(true);
      resolve(socket);
    };
    socket.once('error', fail);
    if (!raw) { socket.once('secureConnect', done); return; }
    raw.once('connect', () => {
      if (opts.proxyHeader) raw.write(opts.proxyHeader);
      if (!tlsOptions) return done();
      socket = tls.connect({ ...tlsOptions, socket: raw });
      socket.once('error', fail);
      socket.once('secureConnect', done);
    });
  });
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
  return new Promise((resolve) => {
    let settled = false;
    let buffered: Buffer | null = null;
    const settle = (o: HandshakeOutcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      detach();
      if (o.kind === 'failed') socket.destroy();
      resolve(o);
    };
    const timer = setTimeout(() => settle({ kind: 'failed', code: 'WSLB_ERR_UPSTREAM_TIMEOUT', detail: `no answer in ${hs.timeoutMs} ms` }), hs.timeoutMs);
    const onData = (chunk: Buffer): void => {
      buffered = buffered ? Buffer.concat([buffered, chunk]) : chunk;
      const end = headEnd(buffered);
      if (end === -1) {
        if (buffered.length > MAX_HEAD_BYTES) handOver(buffered);
        return;
      }
      const res = parse101(buffered.toString('latin1', 0, end));
      if (!res) return handOver(buffered);
      socket.pause();
      settle({ kind: 'upgraded', res, socket, head: buffered.subarray(end) });
    };
    const onError = (err: Error): void => settle({ kind: 'failed', code: 'WSLB_ERR_UPSTREAM_CLOSED', detail: err.message });
    const onEnd = (): void => settle({ kind: 'failed', code: 'WSLB_ERR_UPSTREAM_CLOSED', detail: 'socket hang up' });
    const detach = (): void => {
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
    };
    /** Not a plain 101: Node's client parses what came (and what follows) with its usual rules. */
    const handOver = (bytes: Buffer): void => {
      detach();
      socket.pause();
      nodeParse(socket, bytes, hs.path, settle);
    };
    socket.on('data', onData);
    socket.on('error', onError);
    socket.on('end', onEnd);
    socket.on('close', onEnd);
    socket.write(requestHead(hs.path, hs.headers), 'latin1');
  });
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
