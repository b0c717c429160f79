/** Plain-HTTP proxying for long-polling and SSE fallbacks: the open exchanges per server, route affinities, upstream agents, drain. */

import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { Config } from '../config/types.js';
import type { Server } from '../pool/server.js';
import { spreadCloses } from '../tunnel/spread.js';
import { CLOSE } from '../errors.js';
import { Affinity } from './affinity.js';
import { HttpExchange, type ExchangeHost } from './exchange.js';
import type { HttpRoute, HttpRuntime } from './runtime-view.js';

/** Session tables keep an idle session at least this long, and twice `timeouts.http` (a held poll) when longer. */
const MIN_SESSION_TTL_MS = 60_000;

export function sessionTtl(config: Config): number {
  return Math.max(MIN_SESSION_TTL_MS, 2 * config.timeouts.http);
}

/** Affinity sessions shared with other workers and instances (src/cluster/affinity-share.ts). */
export interface SessionShare {
  /** A session learnt or kept here (cheap, synchronous: it may be called on the upgrade path). */
  observed(route: string, session: string, server: Server): void;
  /** One bounded lookup elsewhere; the entry, when found, lands in the local table. Never rejects. */
  lookup(route: string, session: string): Promise<void>;
}

export class HttpFallback implements ExchangeHost {
  readonly rt: HttpRuntime;
  /** Open exchanges per server (the registry drains and shutdown end SSE streams from). */
  readonly #open = new Map<Server, Set<HttpExchange>>();
  #size = 0;
  /** Exchanges admitted and not yet finished (bound to a server or not): they count against `max_connections`. */
  #inFlight = 0;
  #idleWaiters: (() => void)[] = [];
  /** Per route name, so a reload that keeps a route's affinity keeps its sessions. */
  readonly #affinities = new Map<string, Affinity>();
  // Keep-alive to servers: a poll every few seconds per client must not cost a TCP handshake each.
  readonly #agent = new http.Agent({ keepAlive: true });
  readonly #tlsAgent = new https.Agent({ keepAlive: true });
  /** Sessions shared with other workers and instances (a worker, or `cluster:`); null in a lone process. */
  readonly sessionShare: SessionShare | null;

  constructor(rt: HttpRuntime, sessionShare: SessionShare | null = null) {
    this.rt = rt;
    this.sessionShare = sessionShare;
  }

  /** Proxies one request on an `http: true` route. */
  handle(route: HttpRoute, req: IncomingMessage, res: ServerResponse): void {
    new HttpExchange(this, route, req, res).run();
  }

  /** Open exchanges (all kinds) right now. */
  get size(): number {
    return this.#size;
  }

  /** Exchanges holding a `max_connections` slot: admitted, response not yet finished (idle keep-alive sockets hold none). */
  get inFlight(): number {
    return this.#inFlight;
  }

  admitted(): void {
    this.#inFlight++;
  }

  released(): void {
    this.#inFlight--;
  }

  agent(server: Server): http.Agent {
    return server.tls ? this.#tlsAgent : this.#agent;
  }

  /** The route's affinity table (null when it has none): exchanges and upgrades pin with it, a reload keeps it when its kind did not change. */
  affinity(route: HttpRoute): Affinity | null {
    const config = route.config.affinity;
    const name = route.config.name;
    if (!config) { this.#affinities.delete(name); return null; }
    let a = this.#affinities.get(name);
    if (!a || !a.sameAs(config)) {
      a = new Affinity(config, () => sessionTtl(this.rt.config));
      a.observer = (session, server) => this.sessionShare?.observed(name, session, server);
      this.#affinities.set(name, a);
    }
    return a;
  }

  /** A plain-HTTP request whose session this process does not know: one bounded lookup elsewhere before its pick (upgrades never wait). */
  remoteSession(route: HttpRoute, affinity: Affinity | null, req: IncomingMessage): Promise<void> | null {
    const share = this.sessionShare;
    const session = share && affinity ? affinity.unknownSession(req) : undefined;
    return session === undefined ? null : share!.lookup(route.config.name, session);
  }

  opened(x: HttpExchange, server: Server): void {
    let set = this.#open.get(server);
    if (!set) this.#open.set(server, (set = new Set()));
    set.add(x);
    this.#size++;
  }

  closed(x: HttpExchange, server: Server): void {
    const set = this.#open.get(server);
    if (!set?.delete(x)) return;
    if (set.size === 0) this.#open.delete(server);
    if (--this.#size > 0) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const w of waiters) w();
  }

  /** The SSE streams open on `server` (a server drain ends them cleanly, spread over its window). */
  streams(server: Server): HttpExchange[] {
    return [...(this.#open.get(server) ?? [])].filter((x) => x.streaming);
  }

  /**
   * Shutdown: SSE streams end cleanly, spread over the window; other exchanges (held polls,
   * uploads) may finish within it and are cut at its end. Resolves when none is left.
   */
  close(windowMs: number): Promise<void> {
    if (this.#size === 0) { this.#closeAgents(); return Promise.resolve(); }
    const all = [...this.#open.values()].flatMap((s) => [...s]);
    const spread = spreadCloses(all.filter((x) => x.streaming), CLOSE.GOING_AWAY, windowMs);
    const cut = setTimeout(() => this.destroyAll(), windowMs);
    return new Promise<void>((resolve) => this.#idleWaiters.push(resolve)).then(() => {
      clearTimeout(cut);
      spread.cancel();
      this.#closeAgents();
    });
  }

  /** Abort: every exchange cut now. */
  destroyAll(): void {
    for (const set of [...this.#open.values()]) for (const x of [...set]) x.destroy();
    this.#closeAgents();
  }

  #closeAgents(): void {
    this.#agent.destroy();
    this.#tlsAgent.destroy();
  }
}
