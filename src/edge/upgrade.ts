/** One client upgrade, start to finish: validate, route, admit, pick, connect (with retries), handshake, then hand over to a Tunnel. */

import type { IncomingMessage } from 'node:http';
import type net from 'node:net';
import type { Socket } from 'node:net';
import { WslbError, type ErrorCode } from '../errors.js';
import type { Server } from '../pool/server.js';
import { Selection } from '../pool/select.js';
import { checkUpgradeResponse, relayedResponseHead, switchingProtocolsHead, upstreamRequestHeaders } from '../tunnel/headers.js';
import { Tunnel } from '../tunnel/tunnel.js';
import { authorize, closeOnExpiry, type AuthRefusal } from '../auth/authorize.js';
import { openServer, startServerHandshake, type HandshakeOutcome } from '../tunnel/upstream.js';
import type { Runtime, RouteRuntime } from '../runtime.js';
import { proxyHeader } from '../tunnel/send-proxy.js';
import { upstreamTls } from '../tunnel/upstream-tls.js';
import { isExhaustion } from './accept-guard.js';
import { clientAddress, connectionEnds, peerAddress } from './client-address.js';
import { validateHandshake } from './handshake.js';
import { originAllowed } from './origin.js';
import { rejectSocket, writeAndClose } from './respond.js';
import { findRoute } from './router.js';
import type { RequestHead } from './request-head.js';
import type { ResponseHead } from '../tunnel/response-head.js';
import { tunnelAccess } from '../metrics/access-log.js';

/** Client bytes that arrive before the 101: held in order, reading paused past this many. */
const PENDING_LIMIT = 64 * 1024;

/**
 * How a client that is not an HTTP/1.1 socket is answered: an HTTP/2 stream (src/edge/h2-connect.ts)
 * gets HEADERS frames where a socket gets HTTP/1.1 bytes. Absent, the socket's own answers apply.
 */
export interface UpgradeReply {
  /** A refusal before any tunnel: the error table's status and code, then the exchange ends. */
  reject(code: ErrorCode, extra: readonly [string, string][]): void;
  /** The server's valid 101: the client's success answer, carrying the 101's end-to-end headers. */
  accept(res: ResponseHead): void;
  /** A server's own non-101 answer, relayed, then the exchange ends. */
  relay(res: IncomingMessage): void;
}

/** A client (socket or HTTP/2 stream) until its 101: the shared listeners below find its attempt here. */
interface UpgradingClient extends Socket {
  wslbUpgrade?: UpgradeAttempt | undefined;
}

// Shared listeners, no closure per attempt (as the tunnel's); 'close' follows every error, both mean the client is gone.
function upgradeOnGone(this: UpgradingClient): void { this.wslbUpgrade?.clientGone(); }
function upgradeOnEnd(this: UpgradingClient): void { this.wslbUpgrade?.clientEnded(); }
function upgradeOnData(this: UpgradingClient, chunk: Buffer): void { this.wslbUpgrade?.clientData(chunk); }

export class UpgradeAttempt {
  readonly #rt: Runtime;
  readonly #req: RequestHead;
  readonly #client: Socket;
  readonly #pending: Buffer[] = [];
  #pendingBytes = 0;
  #clientGone = false;
  #upstream: Socket | null = null;
  readonly #started = performance.now();
  readonly #reply: UpgradeReply | null;

  /**
   * `client` is where the tunnel's client bytes flow: the socket, or an HTTP/2 stream with the socket
   * members the tunnel uses (then `reply` answers it); `req.socket` is the connection in both cases.
   */
  constructor(rt: Runtime, req: RequestHead, client: Socket, head: Buffer, reply: UpgradeReply | null = null) {
    this.#rt = rt;
    this.#req = req;
    this.#client = client;
    this.#reply = reply;
    (client as UpgradingClient).wslbUpgrade = this;
    client.on('error', upgradeOnGone);
    client.on('close', upgradeOnGone);
    client.on('end', upgradeOnEnd);
    if (head.length) this.#hold(head);
    client.on('data', upgradeOnData);
  }

  /** The client closed or failed before its 101. */
  clientGone(): void {
    this.#clientGone = true;
    this.#upstream?.destroy();
  }

  /** A client FIN before the 101 means it gave up: nothing will be tunnelled. */
  clientEnded(): void {
    this.clientGone();
    this.#client.destroy();
  }

  clientData(chunk: Buffer): void {
    this.#hold(chunk);
  }

  #hold(chunk: Buffer): void {
    this.#pending.push(chunk);
    this.#pendingBytes += chunk.length;
    if (this.#pendingBytes >= PENDING_LIMIT) this.#client.pause();
  }

  run(): void {
    const rt = this.#rt;
    const req = this.#req;
    const invalid = validateHandshake(req);
    // Routed first only to label failures; the answer follows the contract's order (validation, then 404).
    // A Host that is not host[:port] is never routed on, not even for a label.
    const route = invalid === 'WSLB_ERR_BAD_HOST' ? undefined : findRoute(rt.routes, req.headers.host, req.url, 'websocket');
    if (invalid) {
      const extra: [string, string][] = invalid === 'WSLB_ERR_BAD_WS_VERSION' ? [['Sec-WebSocket-Version', '13']] : [];
      return this.#reject(invalid, route?.config.name ?? '', extra);
    }
    if (!route) return this.#reject('WSLB_ERR_NO_ROUTE', '');
    // Cross-site WebSocket hijacking: the route's Origin allowlist (src/edge/origin.ts).
    if (!originAllowed(route.config, req)) return this.#reject('WSLB_ERR_ORIGIN', route.config.name);
    // Edge authentication (routes[].auth, src/auth/): before admission counts a slot and before any server is contacted.
    if (route.config.auth) {
      return authorize(route.config, req, { upgrade: true, tls: rt.isTls(req.socket), peer: peerAddress(req.socket) }, (refusal) => this.#authorized(route, refusal));
    }
    this.#admit(route);
  }

  /** The route's auth answered (maybe later: a fetched key set, a forward service): refused, or on to admission. */
  #authorized(route: RouteRuntime, refusal: AuthRefusal | null): void {
    if (this.#clientGone) { this.#client.destroy(); return; }
    if (refusal) return this.#reject(refusal.code, route.config.name, refusal.headers);
    this.#admit(route);
  }

  #admit(route: RouteRuntime): void {
    const rt = this.#rt;
    const refused = rt.admit(route, this.#clientAddress(), this.#client);
    if (refused) return this.#reject(refused, route.config.name, [['Retry-After', String(rt.retryAfter(refused, this.#clientAddress()))]]);

    rt.pendingHandshakes++;
    this.#route = route;
    this.#pending101 = true;
    this.#guard(this.#proxy);
  }

  // The proxying stage runs in callbacks (connect, then handshake), not promises: one object per attempt.
  #route: RouteRuntime | null = null;
  /**
   * The pick loop (ready minus tried, affinity, algorithm, retries), the lease on the server being
   * tried (counted active from the pick) and outlier verdicts: src/pool/select.ts.
   */
  #selection: Selection | null = null;
  #server: Server | null = null;
  #sentAt = 0;
  /** Counted in rt.pendingHandshakes until the proxying stage ends, whichever way. */
  #pending101 = false;

  /** Runs one step of the proxying stage; a throw is an internal error, answered 500 like any other. */
  #guard(step: () => void): void {
    try {
      step.call(this);
    } catch (err) {
      this.#rt.log.error({ err, route: this.#route!.config.name }, 'upgrade failed');
      this.#upstream?.destroy();
      this.#reject(err instanceof WslbError ? err.code : 'WSLB_ERR_INTERNAL', this.#route!.config.name);
      this.#endProxying();
    }
  }

  /**
   * The one end of the proxying stage, whichever way it ends: it leaves rt.pendingHandshakes, and
   * the lease on the server ends here unless the tunnel took it (the tunnel then releases it when it closes).
   */
  #endProxying(): void {
    this.#selection?.end();
    if (!this.#pending101) return;
    this.#pending101 = false;
    this.#rt.pendingHandshakes--;
  }

  #proxy(): void {
    const route = this.#route!;
    const pool = route.pool;
    if (pool.handshakeBucket && !pool.handshakeBucket.take()) {
      // Jittered so a refused wave does not come back as one wave.
      this.#endProxying();
      return this.#reject('WSLB_ERR_POOL_RATE', route.config.name, [['Retry-After', String(1 + Math.floor(Math.random() * 5))]]);
    }
    // Route affinity (cookie, Engine.IO sid, SockJS session) pins first, while its server is ready (src/http/affinity.ts).
    const pin = route.config.affinity ? this.#rt.http.affinity(route) : null;
    this.#selection = new Selection(route, this.#req, this.#clientAddress(), pin);
    this.#next();
  }

  /** Picks the next server not yet tried and connects to it, or answers with the last failure when none is left. */
  #next(): void {
    const rt = this.#rt;
    const route = this.#route!;
    const pool = route.pool;
    const selection = this.#selection!;
    const server = selection.next();
    if (!server) {
      this.#endProxying();
      return this.#reject(selection.lastCode, route.config.name, [['Retry-After', selection.retryAfter()]]);
    }
    this.#server = server;
    openServer(server, rt.config.timeouts.connect, {
      tls: upstreamTls(pool.config),
      proxyHeader: pool.config.send_proxy ? proxyHeader(pool.config.send_proxy, connectionEnds(this.#req.socket)) : undefined,
    }, this.#onConnect);
  }

  readonly #onConnect = (err: Error | null, upstream: net.Socket | null): void => {
    this.#connectErr = err;
    this.#connected = upstream;
    this.#guard(this.#afterConnect);
  };

  #connectErr: Error | null = null;
  #connected: net.Socket | null = null;

  #afterConnect(): void {
    const rt = this.#rt;
    const route = this.#route!;
    const server = this.#server!;
    const err = this.#connectErr;
    const upstream = this.#connected;
    this.#connectErr = null;
    this.#connected = null;
    if (err || !upstream) {
      if (isExhaustion(err)) {
        // Our own descriptors ran out: not the server's fault (no outlier failure), no retry; accepting pauses.
        rt.exhausted((err as NodeJS.ErrnoException).code!);
        this.#endProxying();
        return this.#reject('WSLB_ERR_OVER_CAPACITY', route.config.name, [['Retry-After', '1']]);
      }
      this.#selection!.connectFailed((err as NodeJS.ErrnoException | null)?.code);
      if (this.#clientGone) return this.#endProxying();
      return this.#next();   // nothing was sent: safe to try another server
    }
    if (this.#clientGone) { upstream.destroy(); return this.#endProxying(); }
    this.#upstream = upstream;
    this.#handshake(upstream);
  }

  #handshake(upstream: net.Socket): void {
    const rt = this.#rt;
    const req = this.#req;
    this.#sentAt = performance.now();
    startServerHandshake(upstream, {
      path: req.url ?? '/',
      // X-Forwarded-For gets the immediate peer (the PROXY header's source, if any): the chain before it is the client's to vouch for.
      headers: upstreamRequestHeaders(req, { clientAddress: peerAddress(req.socket), proto: rt.isTls(req.socket) ? 'wss' : 'ws' }),
      timeoutMs: rt.config.timeouts.handshake,
    }, this.#onHandshake);
  }

  readonly #onHandshake = (outcome: HandshakeOutcome): void => {
    this.#outcome = outcome;
    this.#guard(this.#afterHandshake);
  };

  #outcome: HandshakeOutcome | null = null;

  #afterHandshake(): void {
    const outcome = this.#outcome!;
    this.#outcome = null;
    try {
      this.#settle(outcome);
    } finally {
      this.#endProxying();
    }
  }

  /** The server's answer: a tunnel (which takes the lease), the server's own HTTP answer relayed, or a refusal. */
  #settle(outcome: HandshakeOutcome): void {
    const rt = this.#rt;
    const req = this.#req;
    const route = this.#route!;
    const server = this.#server!;
    const serverMs = performance.now() - this.#sentAt;   // the server's upgrade round trip (least-response-time)
    if (this.#clientGone) {
      if (outcome.kind === 'upgraded') outcome.socket.destroy();
      else if (outcome.kind === 'response') outcome.res.socket?.destroy();
      return;
    }
    // Passive outlier detection: only the server's own failures count (checked after #clientGone).
    const selection = this.#selection!;
    if (outcome.kind === 'failed') {
      if (outcome.code === 'WSLB_ERR_BAD_101' || outcome.malformed) rt.telemetry.serverAnswered(route.config.name, server, outcome.malformed ? 0 : 101, outcome.detail);
      selection.failed(server, outcome.detail);
      return this.#reject(outcome.code, route.config.name);
    }
    if (outcome.kind === 'response') {
      rt.telemetry.serverAnswered(route.config.name, server, outcome.res.statusCode ?? 0);
      selection.answered(server, outcome.res.statusCode ?? 0);
      return this.#relay(outcome.res);
    }

    const why = checkUpgradeResponse(req, outcome.res);
    if (why) {
      selection.failed(server, `invalid 101: ${why}`);
      outcome.socket.destroy();
      rt.telemetry.serverAnswered(route.config.name, server, 101, why);   // the rate-limited warn line
      return this.#reject('WSLB_ERR_BAD_101', route.config.name);
    }
    selection.succeeded(server);

    const client = this.#client;
    client.off('data', upgradeOnData);
    client.off('end', upgradeOnEnd);
    client.off('close', upgradeOnGone);
    client.off('error', upgradeOnGone);
    (client as UpgradingClient).wslbUpgrade = undefined;   // the tunnel's now: the attempt is not kept alive with it
    const pending = this.#pending.length ? Buffer.concat(this.#pending) : null;
    // The client's 101 (latin1 both ways: header bytes past ASCII, obs-text, reach the client as the
    // server sent them). Tunnel.start writes it before anything else, in one write with the
    // server's first bytes (one system call less per connection whose server greets).
    const head101 = this.#reply === null ? switchingProtocolsHead(outcome.res) : undefined;
    if (this.#reply !== null) this.#reply.accept(outcome.res);
    const limits = rt.config.limits;
    // The access line's facts the tunnel does not know (client address, user, HTTP version), kept only while log.access is on.
    const access = rt.config.log.access ? tunnelAccess(req, this.#clientAddress()) : null;
    const tunnel = new Tunnel({
      client,
      upstream: outcome.socket,
      server,
      lease: selection.handOff(),
      maxMessageBytes: limits.max_message_bytes,
      maxBufferedBytes: limits.max_buffered_bytes,
      finTimeout: rt.config.timeouts.fin,
      // The route's own rate limits, key by key, else the global ones (fixed for the tunnel's life).
      messagesPerSecond: route.config.limits?.messages_per_second ?? limits.messages_per_second,
      bytesPerSecond: route.config.limits?.bytes_per_second ?? limits.bytes_per_second,
      onClose: (t) => rt.onTunnelClosed(route, t, access),
    });
    rt.tunnels.add(tunnel);
    closeOnExpiry(req, tunnel);
    server.tunnels.add(tunnel);
    tunnel.start(pending, outcome.head.length ? outcome.head : null, head101);
    rt.onUpgraded(route, server, performance.now() - this.#started, serverMs);
  }

  /** A server's own non-101 answer goes to the client as HTTP, then the connection closes: never a tunnel. */
  #relay(res: IncomingMessage): void {
    if (this.#reply !== null) return this.#reply.relay(res);
    const client = this.#client;
    client.write(relayedResponseHead(res), 'latin1');
    const timer = setTimeout(() => { res.destroy(); client.destroy(); }, this.#rt.config.timeouts.handshake);
    timer.unref();
    res.on('data', (chunk: Buffer) => client.write(chunk));
    res.on('error', () => { clearTimeout(timer); client.destroy(); });
    res.on('end', () => {
      clearTimeout(timer);
      res.socket?.destroy();
      writeAndClose(client, '');
    });
  }

  #reject(code: ErrorCode, route: string, extra: [string, string][] = []): void {
    this.#rt.onRejected(route, code, this.#clientAddress());
    if (this.#clientGone) { this.#client.destroy(); return; }
    this.#client.off('data', upgradeOnData);
    if (this.#reply !== null) this.#reply.reject(code, extra);
    else rejectSocket(this.#client, code, extra);
  }

  #address: string | undefined;

  /** The real client (PROXY header, believed X-Forwarded-For: src/edge/client-address.ts): per-IP limits, `ip` hashing, ctx.clientAddress. */
  #clientAddress(): string {
    return (this.#address ??= clientAddress(this.#req));
  }
}
