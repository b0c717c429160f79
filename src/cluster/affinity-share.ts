/**
 * Shared affinity tables (engine.io / sockjs presets), a replicated table keyed `route\0session`:
 * each accepting process publishes the sessions it learnt (`pool/server` and when), and every
 * other one inserts them into its route's local table, so a session's next poll may land on any
 * worker or instance. A plain-HTTP request whose session is not known here yet waits at most
 * LOOKUP_MS for it to arrive (the other process may have answered the handshake a moment ago);
 * the WebSocket upgrade path never waits. Servers unknown here are ignored. The cookie kind needs
 * none of this: its value names the server.
 */

import type { Server } from '../pool/server.js';
import type { Runtime } from '../runtime.js';
import type { SessionShare } from '../http/fallback.js';
import { serverKey } from './protocol.js';
import { HEARTBEAT_TICKS, ReplicatedTable } from './replicated-table.js';
import { instanceOf } from './table-set.js';

/** How long a request may wait for a session learnt elsewhere (covers the sharing lag across instances: tick + Redis batch). */
export const LOOKUP_MS = 400;

/** `pool/server` and when the session was learnt or last kept. */
export type Session = [server: string, at: number];

const same = (a: Session, b: Session): boolean => a[0] === b[0] && a[1] === b[1];
/** The latest learnt wins (a session that moved). */
const latest = (vs: Session[]): Session => vs.reduce((a, b) => (b[1] > a[1] || (b[1] === a[1] && b[0] > a[0]) ? b : a));
const entryKey = (route: string, session: string): string => `${route}\0${session}`;

export class AffinityShare implements SessionShare {
  readonly table: ReplicatedTable<Session>;
  readonly stats = { shared: 0, received: 0, ignored: 0, lookups: 0, found: 0 };
  readonly #rt: Runtime | null;
  readonly #ttl: () => number;
  readonly #waiting = new Map<string, Set<() => void>>();
  #ticks = 0;

  /** `rt`: an accepting process (whose HttpFallback is given this as its SessionShare); null: a primary that only relays. */
  constructor(origin: string, rt: Runtime | null, ttl: () => number) {
    this.#rt = rt;
    this.#ttl = ttl;
    this.table = new ReplicatedTable<Session>('affinity', origin, { combine: latest, same, sample: () => this.#sweep(), onChange: (k, v) => this.#arrived(k, v) });
  }

  /** A session learnt or kept here: published when new, moved, or not refreshed for a third of the TTL. */
  observed(route: string, session: string, server: Server): void {
    const key = entryKey(route, session);
    const value = serverKey(server.pool, server.name);
    const now = Date.now();
    const e = this.table.get(key) ?? this.table.view(key);
    if (e && e[0] === value && now - e[1] < this.#ttl() / 3) return;
    this.table.set(key, [value, now]);
    this.stats.shared++;
  }

  #arrived(key: string, v: Session | undefined): void {
    if (!v || !this.#rt) return;
    const nul = key.indexOf('\0');
    if (Date.now() - v[1] < this.#ttl() && this.apply(key.slice(0, nul), key.slice(nul + 1), v[0])) this.stats.received++;
    const waiting = this.#waiting.get(key);
    if (waiting) for (const wake of waiting) wake();
  }

  /** An entry learnt elsewhere: into the route's local table (ignored when the route or server is unknown here). */
  apply(route: string, session: string, server: string): boolean {
    const rt = this.#rt!;
    const r = rt.routes.find((x) => x.config.name === route);
    const sessions = r ? rt.http.affinity(r)?.sessions : undefined;
    const slash = server.indexOf('/');
    const s = slash > 0 ? rt.pools.get(server.slice(0, slash))?.server(server.slice(slash + 1)) : undefined;
    if (!sessions || !s) { this.stats.ignored++; return false; }
    sessions.set(session, s);
    return true;
  }

  /** Waits at most LOOKUP_MS for the session to arrive from another process; it lands in the local table. Never rejects. */
  async lookup(route: string, session: string): Promise<void> {
    this.stats.lookups++;
    const key = entryKey(route, session);
    const known = (): boolean => {
      const v = this.table.view(key);
      return v !== undefined && Date.now() - v[1] < this.#ttl() && this.apply(route, session, v[0]);
    };
    if (known()) { this.stats.found++; return; }
    const found = await new Promise<boolean>((resolve) => {
      let set = this.#waiting.get(key);
      if (!set) this.#waiting.set(key, (set = new Set()));
      const done = (ok: boolean): void => {
        clearTimeout(timer);
        set.delete(wake);
        if (set.size === 0) this.#waiting.delete(key);
        resolve(ok);
      };
      const wake = (): void => { if (known()) done(true); };
      const timer = setTimeout(() => done(false), LOOKUP_MS);
      set.add(wake);
    });
    if (found) this.stats.found++;
  }

  /** Once a second: sessions not kept for the TTL leave this origin's rows (the map is in order of last change). */
  #sweep(): void {
    if (++this.#ticks % HEARTBEAT_TICKS !== 0) return;
    const oldest = Date.now() - this.#ttl();
    for (const [k, v] of this.table.own) {
      if (v[1] >= oldest) break;
      this.table.delete(k);
    }
  }

  /** A primary's view: sessions per worker slot (origins `<instance>#<slot>.<id>`) and from other instances. */
  treeStatus(): Record<string, unknown> {
    const instance = instanceOf(this.table.origin);
    const byWorker: Record<string, number> = {};
    let fromInstances = 0;
    for (const [origin, r] of this.table.remotes()) {
      if (instanceOf(origin) !== instance) { fromInstances += r.rows.size; continue; }
      const slot = origin.slice(instance.length + 1).split('.')[0]!;
      byWorker[slot] = (byWorker[slot] ?? 0) + r.rows.size;
    }
    return { sessions: this.table.viewSize, learnt: Object.values(byWorker).reduce((a, b) => a + b, 0), from_instances: fromInstances, learnt_by_worker: byWorker };
  }
}
