/** One proxied plain-HTTP exchange (long-poll, SSE, any request on an `http: true` route): pick, connect with retries, stream both ways. */

import http, { type ClientRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import type { ErrorCode } from '../errors.js';
import type { Server } from '../pool/server.js';
import { Selection } from '../pool/select.js';
import type { HttpRoute, HttpRuntime } from './runtime-view.js';
import { clientAddress, peerAddress } from '../edge/client-address.js';
import { tlsConnectOptions, upstreamTls } from '../tunnel/upstream-tls.js';
import { originAllowed } from '../edge/origin.js';
import { endToEndHeaders, forwardedRequestHeaders } from '../tunnel/headers.js';
import type { Affinity } from './affinity.js';
import { HANDSHAKE_SNIFF_BYTES, sidFromHandshake } from './presets.js';
import { respondError } from './respond.js';
import { authorize, type AuthRefusal } from '../auth/authorize.js';
import { ExchangeTally } from './access.js';

/** What an exchange needs from the HttpFallback that runs it. */
export interface ExchangeHost {
  readonly rt: HttpRuntime;
  agent(server: Server): http.Agent;
  affinity(route: HttpRoute): Affinity | null;
  /** A pending lookup of the request's session elsewhere (shared affinity), or null: pick now. */
  remoteSession?(route: HttpRoute, affinity: Affinity | null, req: IncomingMessage): Promise<void> | null;
  opened(x: HttpExchange, server: Server): void;
  closed(x: HttpExchange, server: Server): void;
  /** Admission to release: the exchange holds a `max_connections` slot (runtime.connections). */
  admitted(): void;
  released(): void;
}

const SSE_RE = /^\s*text\/event-stream/i;

export class HttpExchange {
  readonly #host: ExchangeHost;
  readonly #route: HttpRoute;
  readonly #req: IncomingMessage;
  readonly #res: ServerResponse;
  readonly #affinity: Affinity | null;
  readonly #hasBody: boolean;
  readonly #tls: boolean;
  #address = '';
  #headers: [string, string][] = [];
  /**
   * The pick loop (ready minus tried, affinity, algorithm, retries), the lease on the server
   * being tried (counted active from the pick to #finish) and outlier verdicts: src/pool/select.ts.
   */
  #selection: Selection | null = null;
  /** The server this exchange is bound to (listed in the host's open exchanges, which drains end). */
  server: Server | null = null;
  #upReq: ClientRequest | null = null;
  #upRes: IncomingMessage | null = null;
  #connected = false;
  #staleRetried = false;
  /** Holds a `max_connections` slot: from admission to #finish. */
  #admitted = false;
  /** The server this exchange counts against in `wslb_connections_*`: from the request reaching it to #finish. */
  #metered: Server | null = null;
  #connectTimer: NodeJS.Timeout | null = null;
  /** Engine.IO handshake body seen so far, while looking for the new sid. */
  #sniff: string | null = null;
  /** Bytes, who ended it and the server reached, for the access log (src/http/access.ts). */
  readonly #tally = new ExchangeTally();
  /** An SSE response under way: drains end it cleanly (chunked terminator) so EventSource reconnects. */
  streaming = false;
  finished = false;

  constructor(host: ExchangeHost, route: HttpRoute, req: IncomingMessage, res: ServerResponse) {
    this.#host = host;
    this.#route = route;
    this.#req = req;
    this.#res = res;
    this.#affinity = host.affinity(route);
    this.#tls = host.rt.isTls(req.socket);
    const length = req.headers['content-length'];
    this.#hasBody = req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
  }

  run(): void {
    const rt = this.#host.rt;
    const req = this.#req;
    this.#res.on('close', this.clientOnClose);
    req.on('error', this.clientOnError);
    // The same client identity and Origin policy as the upgrade path (src/edge/upgrade.ts).
    const address = clientAddress(req);
    this.#address = address;
    if (!originAllowed(this.#route.config, req)) return this.#fail('WSLB_ERR_ORIGIN', []);
    // Edge authentication (routes[].auth, src/auth/): before admission and before any server is contacted.
    if (this.#route.config.auth) {
      return authorize(this.#route.config, req, { upgrade: false, tls: this.#tls, peer: peerAddress(req.socket) }, (refusal) => this.#authorized(refusal));
    }
    this.#admit();
  }

  /** The route's auth answered (maybe later): refused, or on to admission; a client gone meanwhile ended the exchange. */
  #authorized(refusal: AuthRefusal | null): void {
    if (this.finished) return;
    if (refusal) return this.#fail(refusal.code, refusal.headers);
    this.#admit();
  }

  #admit(): void {
    const rt = this.#host.rt;
    const req = this.#req;
    const address = this.#address;
    const refused = rt.admit(this.#route, address);
    if (refused) return this.#fail(refused, [['Retry-After', String(rt.retryAfter(refused, address))]]);
    // Counted at once (admit just checked the total), so the cap holds while a session lookup is pending.
    this.#admitted = true;
    this.#host.admitted();
    this.#headers = forwardedRequestHeaders(req, { clientAddress: peerAddress(req.socket), proto: this.#tls ? 'https' : 'http' });
    this.#selection = new Selection(this.#route, req, address, this.#affinity);
    const lookup = this.#host.remoteSession?.(this.#route, this.#affinity, req);
    if (lookup) { void lookup.then(() => this.#attempt(false)); return; }
    this.#attempt(false);
  }

  /** A new upstream request: to a freshly picked server, or `again` to the bound one (a stale keep-alive socket's retry). */
  #attempt(again: boolean): void {
    if (this.finished) return;
    const selection = this.#selection!;
    let server = this.server;
    if (!again || !server) {
      server = selection.next() ?? null;
      if (!server) return this.#fail(selection.lastCode, [['Retry-After', selection.retryAfter()]]);
      this.#bind(server);
    }
    const upReq = (server.tls ? https : http).request({
      host: server.host, port: server.port, method: this.#req.method, path: this.#req.url ?? '/',
      headers: this.#headers as unknown as Record<string, string>, setHost: false, agent: this.#host.agent(server),
      // https:// servers get the pool's `tls` (CA, servername, verification), as the tunnel does.
      ...(server.tls ? tlsConnectOptions(server.host, upstreamTls(this.#route.pool.config)) : {}),
    });
    this.#upReq = upReq;
    this.#upRes = null;
    this.#connected = false;
    upReq.on('socket', (socket: Socket) => this.#upstreamSocket(upReq, socket));
    upReq.on('error', (err: NodeJS.ErrnoException) => this.#upstreamError(upReq, err));
    upReq.on('response', (res: IncomingMessage) => this.#upstreamResponse(upReq, res));
    upReq.on('timeout', () => this.#upstreamTimeout(upReq));
    // Without a body the request is complete now; a body waits for the connection, so a
    // connect failure has consumed none of it and the request can go to another server.
    if (!this.#hasBody) upReq.end();
  }

  #upstreamSocket(upReq: ClientRequest, socket: Socket): void {
    if (upReq !== this.#upReq) return;
    if (!socket.connecting) { this.#upstreamConnected(upReq); return; }
    this.#connectTimer = setTimeout(() => {
      upReq.destroy(Object.assign(new Error('connect timed out'), { code: 'ETIMEDOUT' }));
    }, this.#host.rt.config.timeouts.connect);
    socket.once(this.server?.tls ? 'secureConnect' : 'connect', () => this.#upstreamConnected(upReq));
  }

  #upstreamConnected(upReq: ClientRequest): void {
    this.#clearConnectTimer();
    if (upReq !== this.#upReq) return;
    this.#connected = true;
    this.#tally.reached = this.server;
    this.#meter(this.server!);
    // Idle, not total: the socket timer restarts with every byte either way.
    upReq.setTimeout(this.#host.rt.config.timeouts.http);
    if (this.#hasBody) {
      const server = this.server!;
      const tally = this.#tally;
      this.#req.on('data', (chunk: Buffer) => { server.bytesIn += chunk.length; tally.bytesIn += chunk.length; });
      this.#req.pipe(upReq);
    }
  }

  #upstreamError(upReq: ClientRequest, err: NodeJS.ErrnoException): void {
    if (upReq !== this.#upReq || this.finished) return;
    this.#clearConnectTimer();
    const server = this.server!;
    const selection = this.#selection!;
    if (this.#upRes) { this.#tally.endedBy ??= 'server'; this.#abort(); return; }   // failed mid-response: the client sees the cut
    if (!this.#connected) {
      selection.connectFailed(err.code);
      this.#unbind();
      this.#meter(null);   // a stale-socket retry's server, when it was the one that failed
      this.#attempt(false);
      return;
    }
    if (upReq.reusedSocket && !this.#hasBody && !this.#staleRetried && err.code === 'ECONNRESET') {
      // The server closed an idle keep-alive socket as we reused it: not the server's failure; same server, same lease.
      this.#staleRetried = true;
      this.#attempt(true);
      return;
    }
    selection.failed(server, err.message);
    this.#tally.endedBy ??= 'server';
    this.#fail('WSLB_ERR_UPSTREAM_CLOSED');
  }

  #upstreamTimeout(upReq: ClientRequest): void {
    if (upReq !== this.#upReq || this.finished) return;
    this.#tally.endedBy ??= 'balancer';
    if (this.#upRes) { this.#abort(); return; }
    this.#selection!.failed(this.server!, `no answer in ${this.#host.rt.config.timeouts.http} ms`);
    this.#fail('WSLB_ERR_UPSTREAM_TIMEOUT');
  }

  #upstreamResponse(upReq: ClientRequest, upRes: IncomingMessage): void {
    if (upReq !== this.#upReq || this.finished) { upRes.destroy(); return; }
    this.#clearConnectTimer();
    this.#upRes = upRes;
    const server = this.server!;
    const res = this.#res;
    const status = upRes.statusCode ?? 502;
    this.#selection!.answered(server, status);
    const headers = endToEndHeaders(upRes.rawHeaders);
    const cookie = this.#affinity?.chosen(this.#req, server, this.#tls);
    if (cookie !== undefined) headers.push(['Set-Cookie', cookie]);
    if (this.#host.rt.draining) res.shouldKeepAlive = false;
    if (status === 200 && this.#affinity?.watchesAnswer(this.#req)) this.#sniff = '';
    res.writeHead(status, upRes.statusMessage || undefined, headers.flat());
    if (SSE_RE.test(String(upRes.headers['content-type'] ?? ''))) {
      this.streaming = true;
      res.flushHeaders();   // EventSource opens on the head; do not wait for the first event
    }
    upRes.on('data', (chunk: Buffer) => {
      if (upReq !== this.#upReq) return;
      server.bytesOut += chunk.length;
      this.#tally.bytesOut += chunk.length;
      if (this.#sniff !== null) this.#sniffChunk(chunk, server);
      if (!res.write(chunk)) upRes.pause();
    });
    res.on('drain', () => upRes.resume());
    upRes.on('end', () => { if (upReq === this.#upReq) { this.#tally.endedBy ??= 'server'; res.end(); } });
    upRes.on('close', () => { if (!upRes.complete && upReq === this.#upReq) { this.#tally.endedBy ??= 'server'; this.#abort(); } });
  }

  /** Learns the Engine.IO session before the client can see it (and send its next request). */
  #sniffChunk(chunk: Buffer, server: Server): void {
    this.#sniff += chunk.toString('latin1', 0, Math.min(chunk.length, HANDSHAKE_SNIFF_BYTES));
    const sid = sidFromHandshake(this.#sniff!);
    if (sid !== undefined) this.#affinity!.learn(sid, server);
    if (sid !== undefined || this.#sniff!.length >= HANDSHAKE_SNIFF_BYTES) this.#sniff = null;
  }

  clientOnError = (): void => { /* the response's 'close' follows and ends the exchange */ };

  /** The response finished or the client went away: a client gone early aborts the upstream at once. */
  clientOnClose = (): void => {
    if (!this.#res.writableFinished) {
      this.#tally.endedBy ??= 'client';
      this.#abortUpstream();
    }
    this.#finish();
  };

  /** Drain and shutdown: an SSE stream ends with its chunked terminator; the upstream request is abandoned. */
  close(_code?: number): void {
    if (this.finished || !this.streaming) return;
    this.#tally.endedBy ??= 'balancer';
    if (this.#host.rt.draining) this.#res.shouldKeepAlive = false;
    this.#abortUpstream();
    this.#res.end();
  }

  /** Cuts both sides now. */
  destroy(): void {
    this.#tally.endedBy ??= 'balancer';
    this.#abortUpstream();
    this.#res.destroy();
  }

  /** Rejects before a response started, cuts it otherwise; the failure is counted for the route. */
  #fail(code: ErrorCode, extra: readonly [string, string][] = [], route = this.#route.config.name): void {
    this.#host.rt.onRejected(route, code, this.#address);
    this.#abortUpstream();
    if (!this.#res.headersSent) this.#req.resume();   // unread body: let the socket close cleanly after the answer
    respondError(this.#res, code, extra);
  }

  #abort(): void {
    this.#abortUpstream();
    this.#res.destroy();
  }

  #abortUpstream(): void {
    this.#clearConnectTimer();
    const upReq = this.#upReq;
    this.#upReq = null;   // later events of that request are ignored
    if (upReq && !(this.#upRes?.complete ?? false)) upReq.destroy();
  }

  #clearConnectTimer(): void {
    if (this.#connectTimer !== null) { clearTimeout(this.#connectTimer); this.#connectTimer = null; }
  }

  #bind(server: Server): void {
    this.server = server;
    this.#host.opened(this, server);
  }

  #unbind(): void {
    const server = this.server;
    if (!server) return;
    this.server = null;
    this.#host.closed(this, server);
  }

  /** Moves the exchange's count in the connection metrics to `server` (null: none); a stale-socket retry to the same server is not counted again. */
  #meter(server: Server | null): void {
    const was = this.#metered;
    if (was === server) return;
    this.#metered = server;
    const telemetry = this.#host.rt.telemetry;
    if (was) telemetry.exchangeClosed(this.#route.config.name, was);
    if (server) telemetry.exchangeOpened(this.#route.config.name, server);
  }

  /** The single end of an exchange: runs once. */
  #finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.#clearConnectTimer();
    this.#unbind();
    this.#selection?.end();   // the lease taken at the pick
    this.#meter(null);
    if (this.#admitted) { this.#admitted = false; this.#host.released(); }
    const rt = this.#host.rt;
    if (rt.config.log.access) {
      const facts = this.#tally.facts(this.#req, this.#res, this.#route.config.name, this.#address);
      if (facts !== null) rt.telemetry.exchangeEnded(facts);
    }
  }
}
