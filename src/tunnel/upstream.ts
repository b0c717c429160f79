/** The server side of a handshake: connect (retryable), send the request head, and classify the answer. */

import { request, type IncomingMessage } from 'node:http';
import net from 'node:net';
import tls from 'node:tls';
import type { ErrorCode } from '../errors.js';
import type { Server } from '../pool/server.js';
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
  | { readonly kind: 'upgraded'; readonly res: IncomingMessage; readonly socket: net.Socket; readonly head: Buffer }
  | { readonly kind: 'response'; readonly res: IncomingMessage }   // a non-101 answer: relay, then close
  | { readonly kind: 'failed'; readonly code: ErrorCode; readonly detail: string };

export interface HandshakeRequest {
  readonly path: string;
  readonly headers: readonly [string, string][];
  readonly timeoutMs: number;
}

/**
 * Sends the request head over an already connected socket and waits for the server's answer.
 * Node's HTTP client parses the response; the 101 is checked by the caller (checkUpgradeResponse).
 * Resolves exactly once; on failure or timeout the socket is destroyed.
 */
export function serverHandshake(socket: net.Socket, hs: HandshakeRequest): Promise<HandshakeOutcome> {
  return new Promise((resolve) => {
    let settled = false;
    const settle = (o: HandshakeOutcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (o.kind === 'failed') socket.destroy();
      resolve(o);
    };
    const req = request({
      createConnection: () => socket,
      method: 'GET',
      path: hs.path,
      headers: hs.headers as [string, string][] as unknown as Record<string, string>,
      setHost: false,
    });
    const timer = setTimeout(() => {
      settle({ kind: 'failed', code: 'WSLB_ERR_UPSTREAM_TIMEOUT', detail: `no answer in ${hs.timeoutMs} ms` });
      req.destroy();
    }, hs.timeoutMs);
    req.on('upgrade', (res, upgraded, head) => settle({ kind: 'upgraded', res, socket: upgraded, head }));
    req.on('response', (res) => {
      // A 101 that Node did not treat as an upgrade (no Upgrade/Connection headers) is invalid.
      if (res.statusCode === 101) {
        settle({ kind: 'failed', code: 'WSLB_ERR_BAD_101', detail: '101 without upgrade headers' });
        return;
      }
      clearTimeout(timer);
      settle({ kind: 'response', res });
    });
    req.on('error', (err) => {
      settle({ kind: 'failed', code: 'WSLB_ERR_UPSTREAM_CLOSED', detail: err.message });
    });
    req.end();
  });
}
