/** A client-facing HTTP/1.1 listener: strict head timeout and size, upgrades to UpgradeAttempt, plain HTTP proxied on `http: true` routes (else 426). */

import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { once } from 'node:events';
import type { ListenerConfig } from '../config/types.js';
import { ERRORS, type ErrorCode } from '../errors.js';
import type { Runtime } from '../runtime.js';
import { looksLikeUpgrade, validateHandshake } from './handshake.js';
import { rejectSocket } from './respond.js';
import { respondError } from '../http/respond.js';
import { findRoute } from './router.js';
import { UpgradeAttempt } from './upgrade.js';

export class Listener {
  readonly config: ListenerConfig;
  readonly #rt: Runtime;
  readonly server: http.Server;

  constructor(rt: Runtime, config: ListenerConfig) {
    this.#rt = rt;
    this.config = config;
    const t = rt.config.timeouts.handshake;
    this.server = http.createServer({
      maxHeaderSize: rt.config.limits.max_header_bytes,
      headersTimeout: t,
      requestTimeout: t,
      keepAliveTimeout: 5000,
      // Node checks head/request timeouts on this period (30 s by default): keep 408s prompt.
      connectionsCheckingInterval: Math.min(1000, Math.max(50, Math.floor(t / 4))),
    });
    // A reload takes effect on the open listener; maxHeaderSize is fixed at creation (needs a restart).
    rt.reloadHooks.push((c) => {
      this.server.headersTimeout = c.timeouts.handshake;
      this.server.requestTimeout = c.timeouts.handshake;
    });
    this.server.on('upgrade', this.serverOnUpgrade);
    this.server.on('request', this.serverOnRequest);
    this.server.on('clientError', this.serverOnClientError);
  }

  serverOnUpgrade = (req: IncomingMessage, socket: Socket, head: Buffer): void => {
    void new UpgradeAttempt(this.#rt, req, socket, head).run();
  };

  /** Non-upgrade requests (and Upgrade without Connection: upgrade, which Node delivers here). */
  serverOnRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const route = findRoute(this.#rt.routes, req.headers.host, req.url);
    const upgrade = looksLikeUpgrade(req);
    // `http: true` routes proxy plain HTTP (long-polling, SSE fallbacks: src/http/); others refuse it with 426.
    if (route?.config.http && !upgrade) { this.#rt.http.handle(route, req, res); return; }
    let code: ErrorCode;
    if (upgrade) code = validateHandshake(req) ?? 'WSLB_ERR_BAD_CONNECTION';
    else code = route ? 'WSLB_ERR_NOT_WEBSOCKET' : 'WSLB_ERR_NO_ROUTE';
    this.#rt.onRejected(route?.config.name ?? '', code);
    respondError(res, code, ERRORS[code].status === 426 ? [['Upgrade', 'websocket'], ['Sec-WebSocket-Version', '13']] : []);
    req.resume();
  };

  serverOnClientError = (err: NodeJS.ErrnoException, socket: Socket): void => {
    const code: ErrorCode = err.code === 'HPE_HEADER_OVERFLOW' ? 'WSLB_ERR_HEADERS_TOO_LARGE'
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 'WSLB_ERR_HEAD_TIMEOUT' : 'WSLB_ERR_MALFORMED';
    // A connection reset or a keep-alive socket closing between requests is not a client error.
    if (err.code === 'ECONNRESET' || !socket.writable) { socket.destroy(); return; }
    this.#rt.onRejected('', code);
    rejectSocket(socket, code);
  };

  async listen(): Promise<{ address: string; port: number }> {
    this.server.listen(this.config.port, this.config.host);
    await once(this.server, 'listening');
    const a = this.server.address();
    if (a === null || typeof a === 'string') throw new Error('listener has no TCP address');
    return { address: a.address, port: a.port };
  }

  /** Stops accepting; idle keep-alive sockets are closed, upgraded sockets belong to their tunnels. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeIdleConnections();
    });
  }
}
