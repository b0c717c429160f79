/**
 * Server selection for one request, shared by WebSocket upgrades (src/edge/upgrade.ts) and
 * plain-HTTP exchanges (src/http/exchange.ts): the pool's ready servers not yet tried, the
 * route's affinity pin first, else its algorithm; at most `retries` more picks after the first;
 * the lease on the chosen server (counted active from the pick); and the passive outlier verdict
 * on what each chosen server did.
 */

import type { IncomingHttpHeaders } from 'node:http';
import type { Balancer } from '../balancing/balancer.js';
import { extractKey, type KeySpec } from '../balancing/hash-key.js';
import type { ErrorCode } from '../errors.js';
import type { Pool } from './pool.js';
import type { Server, ServerLease } from './server.js';

/** What a selection reads of a route: its pool, the algorithm that picks in it, and where the hash key is. */
export interface SelectRoute {
  readonly pool: Pool;
  readonly balancer: Balancer;
  /** Where `ctx.key` is read from, when the route's algorithm declares one (src/balancing/index.ts needsOf). */
  readonly key?: KeySpec | undefined;
}

/** The request fields keys and pins are read from (an upgrade's head or an IncomingMessage). */
export interface SelectRequest {
  readonly method?: string | undefined;
  readonly url?: string | undefined;
  readonly headers: IncomingHttpHeaders;
}

/** Route affinity (src/http/affinity.ts): the server a request is pinned to when it is one of `servers`. */
export interface Pinning {
  pinned(req: SelectRequest, servers: readonly Server[]): Server | undefined;
}

export class Selection {
  readonly #pool: Pool;
  readonly #balancer: Balancer;
  readonly #req: SelectRequest;
  readonly #pin: Pinning | null;
  readonly #clientAddress: string;
  /** Read once; a retry hashes it again over fewer servers. */
  readonly #key: string | undefined;
  readonly #tried = new Set<Server>();
  #picks = 0;
  /** The lease on the server being tried, until the next pick, `end()`, or `handOff()`. */
  #lease: ServerLease | null = null;
  /** The code to answer with when no server is left: the last failure, or "no server" when none was tried. */
  lastCode: ErrorCode = 'WSLB_ERR_NO_SERVER';

  /** `clientAddress`: the real client (src/edge/client-address.ts), for `ip` keys and ctx.clientAddress. */
  constructor(route: SelectRoute, req: SelectRequest, clientAddress: string, pin: Pinning | null) {
    this.#pool = route.pool;
    this.#balancer = route.balancer;
    this.#req = req;
    this.#pin = pin;
    this.#clientAddress = clientAddress;
    this.#key = route.key ? extractKey(route.key, req, clientAddress) : undefined;
  }

  /**
   * The next server to try, leased (counted active, so least-connections sees handshakes in
   * flight): none once `retries` + 1 picks were made, none left ready, or the algorithm says
   * none. The previous pick's lease, if still held, ends first.
   */
  next(): Server | undefined {
    this.end();
    const pool = this.#pool;
    if (this.#picks++ > pool.config.retries) return undefined;
    const servers = pool.ready(this.#tried);
    if (servers.length === 0) return undefined;
    const server = this.#pin?.pinned(this.#req, servers)
      ?? this.#balancer.pick({ servers, key: this.#key, clientAddress: this.#clientAddress });
    if (!server) return undefined;
    this.#tried.add(server);
    this.#lease = server.lease();
    return server;
  }

  /**
   * The connection to the leased server failed before a byte was sent (so another server may be
   * tried): counted, its lease ended, and an outlier failure.
   */
  connectFailed(code: string | undefined): void {
    const lease = this.#lease;
    if (!lease) return;
    this.#lease = null;
    lease.connectFailed();
    this.#pool.outlier.failure(lease.server, `connect ${code ?? 'failed'}`);
    this.lastCode = 'WSLB_ERR_CONNECT';
  }

  /** The lease goes to what keeps the connection from now on (a tunnel, which releases it in its one close path). */
  handOff(): ServerLease {
    const lease = this.#lease;
    if (!lease) throw new Error('no server leased');
    this.#lease = null;
    return lease;
  }

  /** The request is over without a hand-off: the lease held, if any, ends (once). */
  end(): void {
    const lease = this.#lease;
    this.#lease = null;
    lease?.release();
  }

  /** The server failed the request itself (bad 101, timeout, reset): an outlier failure. */
  failed(server: Server, detail: string): void {
    this.#pool.outlier.failure(server, detail);
  }

  /** The server answered: a 5xx is an outlier failure, anything else a success. */
  answered(server: Server, status: number): void {
    if (status >= 500) this.#pool.outlier.failure(server, `HTTP ${status}`);
    else this.#pool.outlier.success(server);
  }

  /** The server did what was asked (a valid 101). */
  succeeded(server: Server): void {
    this.#pool.outlier.success(server);
  }

  /** Retry-After (seconds) when no server is left: about when health checks may have brought one back. */
  retryAfter(): string {
    return String(Math.max(1, Math.ceil(this.#pool.config.health.interval / 1000)));
  }
}
