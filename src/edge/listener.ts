/** A client-facing HTTP/1.1 listener (HTTPS with `tls`, PROXY header first with `proxy_protocol`): strict head timeout and size, upgrades to UpgradeAttempt, plain HTTP proxied on `http: true` routes (else 426). */

import type http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type tls from 'node:tls';
import { guardAccept, type AcceptGuard } from './accept-guard.js';
import { CidrSet, clientAddress, peerAddress } from './client-address.js';
import { installConnectionFront } from './proxy-front.js';
import { createListenerServer, loadCertificates, prepareCertificates } from './tls.js';
import type { Config, ListenerConfig } from '../config/types.js';
import { ERRORS, type ErrorCode } from '../errors.js';
import type { Runtime } from '../runtime.js';
import { hostHeaderValid, looksLikeUpgrade, validateHandshake } from './handshake.js';
import { rejectSocket } from './respond.js';
import { respondError } from '../http/respond.js';
import { findRoute } from './router.js';
import { UpgradeAttempt } from './upgrade.js';
import { HeadFront } from './head-front.js';
import { shapeAccepts } from './shaped-accept.js';
import { H2Front } from './h2-front.js';
import type { RequestHead } from './request-head.js';
import { listenTcp } from '../listen.js';

export class Listener {
  readonly config: ListenerConfig;
  readonly #rt: Runtime;
  readonly server: http.Server;

  constructor(rt: Runtime, config: ListenerConfig) {
    this.#rt = rt;
    this.config = config;
    const t = rt.config.timeouts.handshake;
    // HTTPS when the listener has `tls` (src/edge/tls.ts).
    this.server = createListenerServer(config, {
      maxHeaderSize: rt.config.limits.max_header_bytes,
      headersTimeout: t,
      requestTimeout: t,
      keepAliveTimeout: 5000,
      // Node checks head/request timeouts on this period (30 s by default): keep 408s prompt.
      connectionsCheckingInterval: Math.min(1000, Math.max(50, Math.floor(t / 4))),
    }, t);
    // Accepted sockets built without Node 20's per-socket hidden-class cost (src/edge/shaped-accept.ts).
    shapeAccepts(this.server);
    // Clean upgrade heads skip node:http (src/edge/head-front.ts); first, so the PROXY front stands before it.
    this.headFront = new HeadFront(this.server, {
      maxHeadBytes: rt.config.limits.max_header_bytes,
      timeoutMs: () => this.#rt.config.timeouts.handshake,
      onUpgrade: this.frontOnUpgrade,
    });
    // `http2` (with tls): connections that chose h2 by ALPN go to HTTP/2 sessions, ahead of the head reader (src/edge/h2-front.ts).
    this.h2Front = config.http2 && config.tls ? new H2Front(rt, this.server as unknown as tls.Server, {
      maxHeaderBytes: rt.config.limits.max_header_bytes,
      idleMs: () => this.#rt.config.timeouts.handshake,
    }) : null;
    this.#hardenAccept();
    this.server.on('upgrade', this.serverOnUpgrade);
    this.server.on('request', this.serverOnRequest);
    this.server.on('clientError', this.serverOnClientError);
    // CONNECT (a forward-proxy tunnel request): Node would drop the socket unanswered; answer it like any bad handshake.
    this.server.on('connect', this.serverOnConnect);
  }

  readonly headFront: HeadFront;
  readonly h2Front: H2Front | null;

  frontOnUpgrade = (req: RequestHead, socket: Socket, head: Buffer): void => {
    new UpgradeAttempt(this.#rt, req, socket, head).run();
  };

  serverOnUpgrade = (req: IncomingMessage, socket: Socket, head: Buffer): void => {
    new UpgradeAttempt(this.#rt, req, socket, head).run();
  };

  /** Non-upgrade requests (and Upgrade without Connection: upgrade, which Node delivers here). */
  serverOnRequest = (req: IncomingMessage, res: ServerResponse): void => {
    // A Host that is not host[:port] is never routed on: 400 for every request, plain or upgrade-shaped.
    if (!hostHeaderValid(req.rawHeaders)) {
      this.#rt.onRejected('', 'WSLB_ERR_BAD_HOST', clientAddress(req));
      respondError(res, 'WSLB_ERR_BAD_HOST', []);
      req.resume();
      return;
    }
    const upgrade = looksLikeUpgrade(req);
    const route = findRoute(this.#rt.routes, req.headers.host, req.url, upgrade ? 'websocket' : 'http');
    // `http: true` routes proxy plain HTTP (long-polling, SSE fallbacks: src/http/); others refuse it with 426.
    if (route?.config.http && !upgrade) { this.#rt.http.handle(route, req, res); return; }
    let code: ErrorCode;
    if (upgrade) code = validateHandshake(req) ?? 'WSLB_ERR_BAD_CONNECTION';
    else code = route ? 'WSLB_ERR_NOT_WEBSOCKET' : 'WSLB_ERR_NO_ROUTE';
    this.#rt.onRejected(route?.config.name ?? '', code, clientAddress(req));
    respondError(res, code, ERRORS[code].status === 426 ? [['Upgrade', 'websocket'], ['Sec-WebSocket-Version', '13']] : []);
    req.resume();
  };

  serverOnConnect = (req: IncomingMessage, socket: Socket): void => {
    this.#rt.onRejected('', 'WSLB_ERR_BAD_METHOD', clientAddress(req));
    rejectSocket(socket, 'WSLB_ERR_BAD_METHOD');
  };

  serverOnClientError = (err: NodeJS.ErrnoException, socket: Socket): void => {
    const code: ErrorCode = err.code === 'HPE_HEADER_OVERFLOW' ? 'WSLB_ERR_HEADERS_TOO_LARGE'
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 'WSLB_ERR_HEAD_TIMEOUT' : 'WSLB_ERR_MALFORMED';
    // A connection reset or a keep-alive socket closing between requests is not a client error.
    if (err.code === 'ECONNRESET' || !socket.writable) { socket.destroy(); return; }
    // No parsed request: the peer (or its PROXY header's source), without X-Forwarded-For.
    this.#rt.onRejected('', code, peerAddress(socket));
    rejectSocket(socket, code);
  };

  /** EMFILE guard, trusted_proxies and PROXY protocol ahead of HTTP. */
  #hardenAccept(): void {
    const rt = this.#rt;
    const c = this.config;
    this.acceptGuard = guardAccept(this.server, rt.log);
    if (c.proxy_protocol || c.trusted_proxies.length > 0) {
      installConnectionFront(this.server, {
        trusted: new CidrSet(c.trusted_proxies),
        proxyProtocol: c.proxy_protocol,
        timeoutMs: () => rt.config.timeouts.handshake,
        onRefused: () => rt.onRejected('', 'WSLB_ERR_PROXY_HEADER'),
      });
    }
  }

  /**
   * The certificates this listener takes from `next` (its entry at the same index in the new
   * config), read and checked but not in use yet; null when it keeps what it has (no TLS, or
   * TLS turned on or off, which needs a restart). Throws when they do not load.
   */
  prepareReload(next: ListenerConfig | undefined): tls.SecureContextOptions | null {
    if (!this.config.tls || !next?.tls) return null;
    return prepareCertificates(next.tls);
  }

  /** A reload takes effect on the open listener; maxHeaderSize is fixed at creation (it needs a restart). */
  reconfigure(config: Config): void {
    this.server.headersTimeout = config.timeouts.handshake;
    this.server.requestTimeout = config.timeouts.handshake;
  }

  /** New handshakes use `certificates`; sessions already established keep theirs. */
  useCertificates(certificates: tls.SecureContextOptions): void {
    (this.server as unknown as tls.Server).setSecureContext(certificates);
  }

  /** Pauses accepting when descriptors run out, here or on an upstream connect (the Balancer passes the Runtime's alarm on). */
  acceptGuard: AcceptGuard | null = null;

  async listen(): Promise<{ address: string; port: number }> {
    if (this.config.tls) loadCertificates(this.server as unknown as tls.Server, this.config.tls);
    return listenTcp(this.server, this.config.port, this.config.host);
  }

  /** Stops accepting; idle keep-alive sockets are closed, upgraded sockets belong to their tunnels. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeIdleConnections();
    });
  }
}
