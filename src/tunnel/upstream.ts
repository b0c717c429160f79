/** The server side of a handshake: connect (retryable), send the request head, and classify the answer. */

import { request, type IncomingMessage } from 'node:http';
import net from 'node:net';
import tls from 'node:tls';
import type { ErrorCode } from '../errors.js';
import type { Server } from '../pool/server.js';

/** Opens a TCP (or TLS for wss://) connection; rejects on refusal, reset or `timeoutMs` without connecting. */
export function connectServer(server: Server, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket: net.Socket = server.tls
      ? tls.connect({ host: server.host, port: server.port, servername: net.isIP(server.host) ? undefined : server.host })
      : net.connect({ host: server.host, port: server.port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(Object.assign(new Error(`connect to ${server.url} timed out`), { code: 'ETIMEDOUT' }));
    }, timeoutMs);
    const onError = (err: Error): void => { clearTimeout(timer); socket.destroy(); reject(err); };
    socket.once('error', onError);
    socket.once(server.tls ? 'secureConnect' : 'connect', () => {
      clearTimeout(timer);
      socket.off('error', onError);
      socket.setNoDelay(true);
      resolve(socket);
    });
  });
}

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
