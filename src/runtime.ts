/** The balancer's live state: pools, routes with their algorithms, the tunnel set, admission and drain. */

import type { Balancer } from './balancing/balancer.js';
import { defaultDeps, needsOf } from './balancing/index.js';
import { AlgorithmsInForce } from './balancing/in-force.js';
import type { Config, PoolConfig, RouteConfig, ServerConfig } from './config/types.js';
import { Discovery } from './pool/discovery.js';
import { Rebalancer } from './pool/rebalance.js';
import type { ErrorCode } from './errors.js';
import type { Logger } from './log.js';
import { Pool } from './pool/pool.js';
import { RetiredServers, type ListedPool } from './pool/retired.js';
import { serverConfigOf, type DrainJob, type Server } from './pool/server.js';
import { loneParts, type RoleParts } from './role.js';
import { TunnelSet } from './tunnel/tunnel-set.js';
import { Admission } from './edge/admission.js';
import { HttpFallback } from './http/fallback.js';
import type { Tunnel } from './tunnel/tunnel.js';
import { spreadCloses } from './tunnel/spread.js';
import { CLOSE } from './errors.js';
import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { Telemetry } from './metrics/telemetry.js';
import type { TunnelAccess } from './metrics/access-log.js';
import { http2Counts } from './metrics/source.js';
import type { KeySpec } from './balancing/hash-key.js';
import { startBalancers, type BalancerEntry } from './balancing/module.js';
import { Monitors } from './pool/monitors.js';
import { recordRtt } from './pool/rtt.js';
import { prepareAuth } from './auth/authorize.js';

export interface RouteRuntime {
  readonly config: RouteConfig;
  readonly pool: Pool;
  readonly balancer: Balancer;
  /** What `ctx.key` is read from, when the algorithm declares one (src/balancing/index.ts needsOf). */
  readonly key?: KeySpec | undefined;
}

/** Per-route counters read at scrape time. */
export interface RouteStats {
  upgrades: number;
  rejections: Map<string, number>;
}

/**
 * The parts a process's role chooses (src/role.ts), built from the runtime being constructed: they
 * may read its `config` and `log` at once, anything else only later (pools and routes come after them).
 */
export type Role = (rt: Runtime) => RoleParts;

export interface RuntimeOptions {
  /** Default: a lone process's parts. */
  readonly role?: Role;
  /** This process ran out of descriptors (an upstream connect failed with EMFILE/ENFILE): its listeners pause accepting (src/edge/accept-guard.ts). */
  readonly exhausted?: (code: string) => void;
}

export class Runtime {
  config: Config;
  readonly log: Logger;
  /** Where health and load come from, what is shared and how, what /status adds, how state changes are logged (src/role.ts). */
  readonly role: RoleParts;
  readonly pools = new Map<string, Pool>();
  routes: RouteRuntime[] = [];
  readonly tunnels: TunnelSet;
  /** Plain-HTTP exchanges on `http: true` routes (long-poll, SSE) and route affinity (src/http/). */
  readonly http: HttpFallback;
  readonly routeStats = new Map<string, RouteStats>();
  pendingHandshakes = 0;
  /** Sessions, tunnels and exchanges that arrived over HTTP/2 (src/edge/h2-front.ts counts them). */
  readonly http2 = http2Counts();
  /** Admission is closed (shutdown drain): new handshakes get 503. */
  draining = false;
  /**
   * Set by the stop signal (src/main.ts shutdown): /healthz answers 503 from then on, while
   * `draining` stays false until `graceEndsAt` so traffic is still accepted during the grace.
   */
  shutdown: { readonly graceEndsAt: number } | null = null;
  /** Metrics, rate-limited logs and the dashboard's sampler (src/metrics/). */
  readonly telemetry: Telemetry;

  constructor(config: Config, log: Logger, opts: RuntimeOptions = {}) {
    this.config = config;
    this.log = log;
    this.role = (opts.role ?? ((rt) => loneParts(rt.log)))(this);
    this.#exhausted = opts.exhausted ?? (() => {});
    this.admission = new Admission({ shared: this.role.sharing.ipCounts });
    this.http = new HttpFallback(this, this.role.sharing.sessions);
    this.telemetry = new Telemetry(this, log);
    for (const p of Object.values(config.pools)) this.pools.set(p.name, this.#watch(this.#newPool(p)));
    this.routes = this.#buildRoutes(config);
    this.tunnels = new TunnelSet({ idleMs: config.timeouts.idle, stallMs: config.limits.stall });
  }

  /** Per-IP connection caps and handshake rates (src/edge/admission.ts). */
  readonly admission: Admission;

  /** Route- and pool-level algorithm instances: unchanged ones kept across reloads, replaced ones closed (src/balancing/in-force.ts). */
  readonly #algorithms = new AlgorithmsInForce();

  /** Runs after the pools are built or updated: a route without its own algorithm picks with its pool's. */
  #buildRoutes(config: Config): RouteRuntime[] {
    prepareAuth(config.routes, this.log);   // routes[].auth: key files read now, jwks_url fetches begun (src/auth/)
    const routes = config.routes.map((r) => {
      const pool = this.pools.get(r.pool)!;   // validated by the config loader
      const key = needsOf(r.algorithm ?? pool.config.algorithm).key;
      return { config: r, pool, balancer: r.algorithm ? this.#algorithms.route(r.name, r.pool, r.algorithm) : pool.balancer, key };
    });
    this.#algorithms.commit([...[...this.pools.values()].map((p) => p.balancer), ...routes.map((r) => r.balancer)]);
    return routes;
  }

  /** Bandwidth samplers and load pollers per pool (src/pool/monitors.ts), matched to the algorithms in force. */
  readonly monitors = new Monitors({ polls: (p) => this.role.health.measuresHere(p.config) });

  /** Imports `{ module }` algorithms (a broken one is a ConfigError located at its `module:` key); awaited before listening. */
  loadAlgorithms(): Promise<void> {
    const entries: BalancerEntry[] = [
      ...[...this.pools.values()].map((p) => ({ balancer: p.balancer, path: ['pools', p.name, 'algorithm'] })),
      ...this.routes.flatMap((r, i) => (r.config.algorithm ? [{ balancer: r.balancer, path: ['routes', i, 'algorithm'] }] : [])),
    ];
    return startBalancers(this.config, entries);
  }

  /** Reload results: applied, applied but some keys wait for a restart (src/config/restart-required.ts), refused. */
  readonly reloads = { ok: 0, ok_restart_required: 0, error: 0 };

  readonly #exhausted: (code: string) => void;

  /** Out of descriptors (EMFILE/ENFILE on an upstream connect): the listeners pause accepting. */
  exhausted(code: string): void {
    this.#exhausted(code);
  }

  /**
   * Swaps in a validated config in this process: pools updated in place (kept servers keep
   * their counters, health and tunnels), new pools created, routes rebuilt (algorithms whose
   * config did not change keep their instance; replaced ones are closed),
   * limits and timeouts read from the new config from now on. Servers and pools that left the
   * config drain with 1012 over their pool's drain window. Listeners are not touched.
   */
  applyConfig(next: Config): void {
    const removed: { server: Server; windowMs: number }[] = [];
    for (const [name, pool] of this.pools) {
      if (next.pools[name]) continue;
      // Listed in /status and metrics until its servers are empty.
      for (const server of this.retired.poolRemoved(pool)) removed.push({ server, windowMs: pool.config.drain ?? this.config.timeouts.drain });
      this.pools.delete(name);
      this.poolRemoved(pool);
      pool.destroy();   // its health checks and ejection timers
    }
    for (const pc of Object.values(next.pools)) {
      const pool = this.pools.get(pc.name);
      if (!pool) { const created = this.#watch(this.#newPool(pc)); this.pools.set(pc.name, created); this.poolAdded(created); continue; }
      // A discovered pool keeps its current members until its next lookup.
      const cfg = pc.discover ? { ...pc, servers: pool.servers.map(serverConfigOf) } : pc;
      for (const server of pool.update(cfg)) removed.push({ server, windowMs: pc.drain ?? next.timeouts.drain });
      this.poolAdded(pool);
    }
    this.routes = this.#buildRoutes(next);
    this.config = next;
    this.monitors.sync(this.pools.values(), this.routes, this.log);
    // Balancer.reload imported every module first, so each one is ready at once; this only reports a surprise.
    this.loadAlgorithms().catch((err: unknown) => this.log.error({ err }, 'algorithm module failed to load after reload'));
    this.tunnels.setIdle(next.timeouts.idle);
    this.tunnels.setStall(next.limits.stall);
    for (const { server, windowMs } of removed) this.#retire(server, windowMs, 'removed by reload');
  }

  /** True once the listeners are open (start()): from then on every server becoming ready ramps (slow start). */
  #serving = false;

  #newPool(pc: PoolConfig): Pool {
    return new Pool(pc, defaultDeps, () => this.#serving, this.log);
  }

  /** Called once the listeners are open: starts each pool's background parts (rebalancer, discovery). */
  start(): void {
    this.#serving = true;
    for (const p of this.pools.values()) this.poolAdded(p);
    this.monitors.sync(this.pools.values(), this.routes, this.log);
    this.role.start();
  }

  /** Stops every background part; tunnels are left to close()/destroy(). */
  stop(): void {
    for (const p of [...this.#parts.keys()]) this.poolRemoved(p);
    this.monitors.close();
    this.#algorithms.close();
  }

  readonly #parts = new Map<Pool, { close(): void }[]>();

  /** Every server state change of `pool` goes to the role's `server state changed` line (a worker leaves most to the primary). */
  #watch(pool: Pool): Pool {
    pool.onStateChange(this.role.logStateChange);
    return pool;
  }

  /**
   * First health results before the first client: this process's own checks (each bounded by its
   * pool's `health.timeout`) and the states that arrive from elsewhere (a worker: the primary's reports).
   */
  async firstHealth(): Promise<void> {
    const own = [...this.pools.values()].filter((p) => this.role.health.measuresHere(p.config));
    for (const p of own) this.#checking.add(p);
    await Promise.all([...own.map((p) => p.start()), this.role.health.known()]);
  }

  /** Pools whose health checks this process started. */
  readonly #checking = new WeakSet<Pool>();

  poolAdded(pool: Pool): void {
    // Health checks: idempotent, they live as long as the pool. Only where this process measures the
    // pool itself; a pool a reload took out of its hands (a worker's pool discovered before) stops checking.
    if (this.role.health.measuresHere(pool.config)) {
      this.#checking.add(pool);
      void pool.start();
    } else if (this.#checking.delete(pool)) pool.health.destroy();
    this.poolRemoved(pool);
    const parts: { close(): void }[] = [];
    if (pool.config.rebalance) {
      const r = new Rebalancer(pool);
      pool.rebalancer = r;
      r.start();
      parts.push(r);
    }
    if (pool.config.discover) {
      const d = new Discovery({ config: pool.config, apply: (servers) => this.#discovered(pool, servers) }, this.log);
      pool.discovery = d;
      void d.start();
      parts.push(d);
    }
    this.#parts.set(pool, parts);
  }

  poolRemoved(pool: Pool): void {
    for (const part of this.#parts.get(pool) ?? []) part.close();
    this.#parts.delete(pool);
  }

  #discovered(pool: Pool, servers: ServerConfig[]): void {
    const windowMs = pool.config.drain ?? this.config.timeouts.drain;
    for (const s of pool.update({ ...pool.config, servers })) this.#retire(s, windowMs, 'removed by discovery');
  }

  /** Servers (and pools) removed by a reload or discovery while they drain (src/pool/retired.ts). */
  readonly retired = new RetiredServers();

  /**
   * A server that left the config (reload) or the DNS answer (discovery), already in its pool's
   * `retired` set: it drains and shows as `draining` with `reason` until its last tunnel ends,
   * then leaves /status and metrics (an admin `disable` on it no longer matters: it drains).
   */
  #retire(server: Server, windowMs: number, reason: string): void {
    server.status.setNote(reason);   // also replaces the note of an admin drain already running
    void this.drainServer(server, windowMs, reason);
    server.status.setEnabled(true);
  }

  /** The pools /status and metrics list: members, then retired servers still draining, removed pools included. */
  listedPools(): ListedPool[] {
    return this.retired.listed(this.pools.values());
  }

  /**
   * No new tunnels to this server; its open tunnels close with 1012 at frame boundaries,
   * spread over the window so clients reconnect gradually. Resolves when the server is empty.
   */
  drainServer(server: Server, windowMs: number, reason = 'drained by admin'): Promise<void> {
    if (server.drain) return server.drain.done;
    server.status.setDraining(true, reason);   // the state-change line carries the reason
    this.log.info({ pool: server.pool, server: server.name, tunnels: server.tunnels.size, window_ms: windowMs, reason }, 'server draining');
    // SSE streams on the server end cleanly (EventSource reconnects elsewhere), spread with the tunnels.
    const spread = spreadCloses([...server.tunnels, ...this.http.streams(server)], CLOSE.SERVICE_RESTART, windowMs);
    const job: DrainJob = {
      cancel: spread.cancel,
      done: spread.done.then(() => {
        if (server.drain === job) server.drain = null;
        this.retired.forget(server, this.pools.values());
      }),
    };
    server.drain = job;
    return job.done;
  }

  /** Ends a drain early (admin enable): the server takes traffic again; tunnels already closing finish. */
  undrainServer(server: Server): void {
    server.drain?.cancel();
    server.drain = null;
    server.status.setDraining(false, null);
  }

  /** What `max_connections` bounds: tunnels, upgrades in flight, and plain-HTTP exchanges in flight (not idle keep-alive sockets). */
  get connections(): number {
    return this.tunnels.size + this.pendingHandshakes + this.http.inFlight;
  }

  /**
   * Admission before any server is contacted: draining (503), `max_connections` (503), then the
   * client address's `max_connections_per_ip` (429) and, for a WebSocket handshake (`socket`
   * given), one `handshakes_per_ip` token (429). An admitted `socket` counts against its address
   * until it closes. Nothing already upgraded is ever closed to make room.
   */
  admit(_route: RouteRuntime, clientAddress: string, socket?: Socket): ErrorCode | null {
    if (this.draining) return 'WSLB_ERR_DRAINING';
    const limits = this.config.limits;
    if (this.connections >= limits.max_connections) return 'WSLB_ERR_OVER_CAPACITY';
    const refused = this.admission.check(clientAddress, limits, socket !== undefined);
    if (refused) return refused;
    if (socket) this.admission.track(clientAddress, socket);
    return null;
  }

  /** The Retry-After (seconds) sent with an admission refusal. */
  retryAfter(code: ErrorCode, clientAddress: string): number {
    return this.admission.retryAfter(code, clientAddress, this.config.limits);
  }

  isTls(socket: Socket): boolean {
    return socket instanceof TLSSocket;
  }

  /** `client`: the client address (PROXY / trusted X-Forwarded-For aware) for the rate-limited log line, when known. */
  onRejected(route: string, code: ErrorCode, client?: string): void {
    const s = this.#stats(route);
    s.rejections.set(code, (s.rejections.get(code) ?? 0) + 1);
    this.telemetry.rejected(route, code, client);
  }

  /** `ms`: the whole handshake; `serverMs`: the server's own upgrade round trip (request sent -> 101), fed to its RTT EWMA. */
  onUpgraded(route: RouteRuntime, server: Server, ms: number, serverMs?: number): void {
    if (serverMs !== undefined) recordRtt(server, serverMs);
    this.#stats(route.config.name).upgrades++;
    this.telemetry.upgraded(route.config.name, server, ms);
  }

  /** Runs once per tunnel, after both sockets are gone; `access` (taken at the 101 while log.access was on) gets its line unless a reload turned the log off. */
  onTunnelClosed(route: RouteRuntime, t: Tunnel, access?: TunnelAccess | null): void {
    t.server.tunnels.delete(t);
    this.telemetry.closed(route.config.name, t, this.config.log.access ? access : null);
  }

  #stats(route: string): RouteStats {
    let s = this.routeStats.get(route);
    if (!s) this.routeStats.set(route, (s = { upgrades: 0, rejections: new Map() }));
    return s;
  }
}
