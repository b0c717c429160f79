/**
 * Shared affinity tables (engine.io / sockjs presets): a session learnt on one worker or instance
 * is usable on all, so a session's next poll may land anywhere. Learnt entries are broadcast
 * (worker -> primary -> other workers over IPC; instance -> Redis SET with PX = the session TTL
 * plus PUBLISH, inserted by the others into their tables). A plain-HTTP request whose session the
 * local table does not know makes one bounded lookup before its pick (worker -> primary, which
 * asks Redis GET for at most LOOKUP_MS); the WebSocket upgrade path never waits and reads the
 * local table only. Entries name servers as `pool/server`, resolved on the receiving side
 * (unknown: ignored). The cookie kind needs none of this: its value names the server.
 */

import type { Server } from '../pool/server.js';
import type { Runtime } from '../runtime.js';
import { MAX_SESSIONS } from '../http/affinity.js';
import type { SessionShare } from '../http/fallback.js';
import { serverKey } from './counts.js';
import { PREFIX, withTimeout, type RedisClient, type RedisLink } from './redis-link.js';
import type { SharingToWorker } from './sharing-protocol.js';

type AffinityToWorker = Extract<SharingToWorker, { t: 'affinity' | 'affinity-found' }>;

/** How long a Redis lookup may delay a request's pick (only requests carrying a session id this process does not know). */
export const LOOKUP_MS = 400;
/** Pauses before the second and third GET of a lookup that missed. */
const RETRY_GAPS_MS = [30, 100];
/** How long a worker waits for the primary's answer (which may include LOOKUP_MS on Redis). */
export const ASK_MS = 700;
const OP_TIMEOUT_MS = 500;

/** A bounded map whose entries expire `ttl()` after their last set (least recently set dropped first). */
export class ExpiringMap {
  readonly #map = new Map<string, { value: string; at: number }>();
  readonly #ttl: () => number;
  readonly #max: number;

  constructor(ttl: () => number, max = MAX_SESSIONS) {
    this.#ttl = ttl;
    this.#max = max;
  }

  get size(): number {
    return this.#map.size;
  }

  get(key: string, now = Date.now()): { value: string; at: number } | undefined {
    const e = this.#map.get(key);
    return e && now - e.at < this.#ttl() ? e : undefined;
  }

  set(key: string, value: string, now = Date.now()): void {
    this.#map.delete(key);
    this.#map.set(key, { value, at: now });
    const ttl = this.#ttl();
    for (const [k, e] of this.#map) {
      if (this.#map.size <= this.#max && now - e.at < ttl) break;
      this.#map.delete(k);
    }
  }
}

const entryKey = (route: string, session: string): string => `${route}\0${session}`;

/** Where an accepting process sends what it learnt and asks what it does not know. */
export interface AffinityOut {
  learnt(route: string, session: string, server: string): void;
  /** The session's `pool/server`, or null (unknown, timed out, Redis down). Never rejects. */
  lookup(route: string, session: string): Promise<string | null>;
}

/** An accepting process's side (a worker, or a lone instance): installed as the HttpFallback's SessionShare. */
export class AffinityShareLocal implements SessionShare {
  readonly #rt: Runtime;
  readonly #out: AffinityOut;
  readonly #ttl: () => number;
  /** Entries sent or received lately: a session goes out again only when new, moved, or not sent for a third of the TTL. */
  readonly #sent: ExpiringMap;
  readonly stats = { shared: 0, received: 0, ignored: 0, lookups: 0, found: 0 };

  constructor(rt: Runtime, out: AffinityOut, ttl: () => number) {
    this.#rt = rt;
    this.#out = out;
    this.#ttl = ttl;
    this.#sent = new ExpiringMap(ttl);
    rt.http.sessionShare = this;
  }

  observed(route: string, session: string, server: Server): void {
    const key = entryKey(route, session);
    const value = serverKey(server.pool, server.name);
    const now = Date.now();
    const e = this.#sent.get(key, now);
    if (e && e.value === value && now - e.at < this.#ttl() / 3) return;
    this.#sent.set(key, value, now);
    this.stats.shared++;
    this.#out.learnt(route, session, value);
  }

  /** An entry learnt elsewhere: into the route's local table (ignored when the route or server is unknown here). */
  apply(route: string, session: string, server: string): boolean {
    const r = this.#rt.routes.find((x) => x.config.name === route);
    const sessions = r ? this.#rt.http.affinity(r)?.sessions : undefined;
    const slash = server.indexOf('/');
    const s = slash > 0 ? this.#rt.pools.get(server.slice(0, slash))?.server(server.slice(slash + 1)) : undefined;
    if (!sessions || !s) { this.stats.ignored++; return false; }
    sessions.set(session, s);
    this.#sent.set(entryKey(route, session), server);
    this.stats.received++;
    return true;
  }

  async lookup(route: string, session: string): Promise<void> {
    this.stats.lookups++;
    const server = await this.#out.lookup(route, session).catch(() => null);
    if (server !== null && this.apply(route, session, server)) this.stats.found++;
  }
}

/** Affinity entries between instances: SET with PX = the session TTL, PUBLISH to the others, GET for a lookup. */
export class AffinityRedis {
  readonly #link: RedisLink;
  readonly #instance: string;
  readonly #ttl: () => number;
  readonly #onRemote: (route: string, session: string, server: string) => void;
  errors = 0;

  constructor(link: RedisLink, instance: string, ttl: () => number, onRemote: (route: string, session: string, server: string) => void) {
    this.#link = link;
    this.#instance = instance;
    this.#ttl = ttl;
    this.#onRemote = onRemote;
  }

  static get channel(): string { return `${PREFIX}:affinity`; }
  static key(route: string, session: string): string { return `${PREFIX}:affinity:${route}:${session}`; }

  subscribe(sub: RedisClient): Promise<void> {
    return sub.subscribe(AffinityRedis.channel, (raw) => {
      let m: { from?: unknown; route?: unknown; session?: unknown; server?: unknown };
      try { m = JSON.parse(raw) as typeof m; } catch { return; }
      if (m.from === this.#instance || typeof m.route !== 'string' || typeof m.session !== 'string' || typeof m.server !== 'string') return;
      this.#onRemote(m.route, m.session, m.server);
    });
  }

  /** Fire and forget: Redis down = this instance only (lookups elsewhere then miss and pick normally). */
  learnt(route: string, session: string, server: string): void {
    const c = this.#link.client;
    const msg = JSON.stringify({ from: this.#instance, route, session, server });
    withTimeout(Promise.all([c.set(AffinityRedis.key(route, session), server, { PX: this.#ttl() }), c.publish(AffinityRedis.channel, msg)]), OP_TIMEOUT_MS)
      .then(() => this.#link.mark(true), (err: unknown) => { this.errors++; this.#link.mark(false, err); });
  }

  /**
   * GET, and on a miss twice more after short pauses (RETRY_GAPS_MS), all within LOOKUP_MS: the
   * instance that learnt the session SETs it before its client sees the answer, but on another
   * connection to Redis, so a client quick to send its next request elsewhere can beat it.
   * An unknown (or forged) session id costs at most three GETs.
   */
  async lookup(route: string, session: string): Promise<string | null> {
    const deadline = performance.now() + LOOKUP_MS;
    const key = AffinityRedis.key(route, session);
    for (const gap of [0, ...RETRY_GAPS_MS]) {
      if (gap) await new Promise((r) => setTimeout(r, gap));
      const left = deadline - performance.now();
      if (left <= 0) return null;
      const found = await withTimeout(this.#link.client.get(key), left).catch(() => null);
      if (found !== null) return found;
    }
    return null;
  }
}

/**
 * The primary's side: a table of the process tree's sessions (what workers learnt, and what other
 * instances published), forwarded to the other workers, answering workers' lookups (then Redis).
 */
export class AffinityPrimary {
  readonly #table: ExpiringMap;
  readonly #send: (worker: number, m: AffinityToWorker) => void;
  readonly #workers: () => number[];
  redis: AffinityRedis | null = null;
  readonly stats = { learnt: 0, from_instances: 0, lookups: 0, found: 0 };
  /** Sessions learnt per worker slot id (shows that both workers took handshakes). */
  readonly learntBy: Record<number, number> = {};

  constructor(send: (worker: number, m: AffinityToWorker) => void, workers: () => number[], ttl: () => number) {
    this.#send = send;
    this.#workers = workers;
    this.#table = new ExpiringMap(ttl);
  }

  learnt(worker: number, slot: number, route: string, session: string, server: string): void {
    this.stats.learnt++;
    this.learntBy[slot] = (this.learntBy[slot] ?? 0) + 1;
    this.#table.set(entryKey(route, session), server);
    for (const id of this.#workers()) if (id !== worker) this.#send(id, { t: 'affinity', route, session, server });
    this.redis?.learnt(route, session, server);
  }

  fromInstance(route: string, session: string, server: string): void {
    this.stats.from_instances++;
    this.#table.set(entryKey(route, session), server);
    for (const id of this.#workers()) this.#send(id, { t: 'affinity', route, session, server });
  }

  async lookup(worker: number, ref: number, route: string, session: string): Promise<void> {
    this.stats.lookups++;
    const known = (): string | null => this.#table.get(entryKey(route, session))?.value ?? null;
    let server = known();
    if (server === null && this.redis) {
      // Redis, or the pub/sub message that may land in the table meanwhile.
      server = (await this.redis.lookup(route, session)) ?? known();
      if (server !== null) this.#table.set(entryKey(route, session), server);
    } else {
      // Another worker's `affinity` message may still be on its way (one IPC channel per worker: no order between them).
      for (const gap of RETRY_GAPS_MS) {
        if (server !== null) break;
        await new Promise((r) => setTimeout(r, gap));
        server = known();
      }
    }
    if (server !== null) this.stats.found++;
    this.#send(worker, { t: 'affinity-found', ref, server });
  }

  get size(): number {
    return this.#table.size;
  }
}
