/**
 * Wires per-IP cap sharing (ip-share.ts, ip-redis.ts) and affinity sharing (affinity-share.ts)
 * into the three kinds of process: a worker (IPC to the primary), the primary (IPC to the workers,
 * Redis to other instances) and a lone process with `cluster:` (Redis only). Per-IP work is done
 * only when `max_connections_per_ip` is finite.
 */

import type { Worker } from 'node:cluster';
import type { Config } from '../config/types.js';
import { sessionTtl } from '../http/fallback.js';
import type { Logger } from '../log.js';
import type { Runtime } from '../runtime.js';
import { AffinityPrimary, AffinityRedis, AffinityShareLocal, ASK_MS } from './affinity-share.js';
import { IpRedis } from './ip-redis.js';
import { IpShareLocal, IpSharePrimary } from './ip-share.js';
import { RedisLink } from './redis-link.js';
import type { Supervisor } from './supervisor.js';
import type { SharingFromWorker, SharingToWorker } from './sharing-protocol.js';

const capped = (config: Config): boolean => Number.isFinite(config.limits.max_connections_per_ip);

function redisState(link: RedisLink | null): string {
  if (!link) return 'off';
  return link.up ? 'ok' : 'redis unavailable: per-instance caps and tables';
}

/** A worker's side: returns the handler for the primary's sharing messages (true when it was one). */
export function workerSharing(rt: Runtime, send: (m: SharingFromWorker) => void): { onMessage(m: { t: string }): boolean; close(): void } {
  const ip = capped(rt.config) ? new IpShareLocal(rt.admission, (counts) => send({ t: 'ip-local', counts })) : null;
  const pending = new Map<number, (server: string | null) => void>();
  let nextRef = 1;
  const affinity = new AffinityShareLocal(rt, {
    learnt: (route, session, server) => send({ t: 'affinity', route, session, server }),
    lookup: (route, session) => new Promise((resolve) => {
      const ref = nextRef++;
      const timer = setTimeout(() => { pending.delete(ref); resolve(null); }, ASK_MS);
      pending.set(ref, (server) => { clearTimeout(timer); pending.delete(ref); resolve(server); });
      send({ t: 'affinity-lookup', ref, route, session });
    }),
  }, () => sessionTtl(rt.config));
  return {
    onMessage(msg) {
      const m = msg as SharingToWorker;
      switch (m.t) {
        case 'ip-remote': ip?.apply(m.counts); return true;
        case 'affinity': affinity.apply(m.route, m.session, m.server); return true;
        case 'affinity-found': pending.get(m.ref)?.(m.server); return true;
        default: return false;
      }
    },
    close: () => ip?.close(),
  };
}

/** The primary's side. */
export class PrimarySharing {
  readonly ip: IpSharePrimary;
  readonly affinity: AffinityPrimary;
  readonly #sup: Supervisor;
  readonly #config: () => Config;
  readonly #log: Logger;
  #link: RedisLink | null = null;
  #ipRedis: IpRedis | null = null;

  constructor(sup: Supervisor, config: () => Config, log: Logger) {
    this.#sup = sup;
    this.#config = config;
    this.#log = log;
    const byId = (id: number): Worker | undefined => sup.workers.find((w) => w.id === id);
    const ids = (): number[] => sup.workers.map((w) => w.id);
    this.ip = new IpSharePrimary((id, counts) => { const w = byId(id); if (w) sup.send(w, { t: 'ip-remote', counts }); }, ids);
    this.affinity = new AffinityPrimary((id, m) => { const w = byId(id); if (w) sup.send(w, m); }, ids, () => sessionTtl(config()));
  }

  /** A new worker (its `hello`) starts with the farm's per-IP counts. */
  welcome(w: Worker): void {
    if (!capped(this.#config())) return;
    const counts = this.ip.snapshotFor(w.id);
    if (counts.length) this.#sup.send(w, { t: 'ip-remote', counts });
  }

  onMessage(w: Worker, msg: { t: string }): void {
    const m = msg as SharingFromWorker;
    switch (m.t) {
      case 'ip-local': this.ip.fromWorker(w.id, m.counts); return;
      case 'affinity': this.affinity.learnt(w.id, this.#sup.slots.find((s) => s.worker === w)?.id ?? 0, m.route, m.session, m.server); return;
      case 'affinity-lookup': void this.affinity.lookup(w.id, m.ref, m.route, m.session); return;
    }
  }

  onExit(w: Worker): void {
    this.ip.workerGone(w.id);
  }

  /** `cluster:`: this process tree's sums and sessions go to the other instances through Redis. */
  attachRedis(cfg: { redis: string }, instance: string): void {
    const link = new RedisLink(cfg.redis, this.#log);
    this.#link = link;
    const aff = new AffinityRedis(link, instance, () => sessionTtl(this.#config()), (r, s, v) => this.affinity.fromInstance(r, s, v));
    this.affinity.redis = aff;
    link.start((sub) => aff.subscribe(sub));
    if (!capped(this.#config())) return;
    const ipRedis = new IpRedis(link, instance, { local: () => this.ip.totals, remote: (sums) => this.ip.setInstances(sums) });
    this.ip.onTotal = (key) => ipRedis.changed(key);
    this.#ipRedis = ipRedis;
    ipRedis.start();
  }

  status(): unknown {
    return {
      redis: redisState(this.#link),
      ip: { ...this.ip.status(), instances: this.#ipRedis?.peers ?? 0 },
      affinity: { sessions: this.affinity.size, ...this.affinity.stats, learnt_by_worker: this.affinity.learntBy },
    };
  }

  async close(): Promise<void> {
    await this.#ipRedis?.close();
    await this.#link?.close();
  }
}

/** A lone process with `cluster:`: per-IP sums and sessions through Redis only. */
export function loneSharing(rt: Runtime, cfg: { redis: string }, instance: string, log: Logger): { status(): unknown; close(): Promise<void> } {
  const link = new RedisLink(cfg.redis, log);
  const ttl = (): number => sessionTtl(rt.config);
  const aff = new AffinityRedis(link, instance, ttl, (r, s, v) => { affinity.apply(r, s, v); });
  const affinity = new AffinityShareLocal(rt, {
    learnt: (route, session, server) => aff.learnt(route, session, server),
    lookup: (route, session) => aff.lookup(route, session),
  }, ttl);
  link.start((sub) => aff.subscribe(sub));
  let ip: IpShareLocal | null = null;
  let ipRedis: IpRedis | null = null;
  if (capped(rt.config)) {
    const redis = new IpRedis(link, instance, { local: () => local.local, remote: (sums) => local.replace(sums) });
    const local = new IpShareLocal(rt.admission, (changes) => { for (const [k] of changes) redis.changed(k); });
    ip = local;
    ipRedis = redis;
    redis.start();
  }
  return {
    status: () => ({
      redis: redisState(link),
      ip: ip ? { ...ip.status(), instances: ipRedis?.peers ?? 0 } : null,
      affinity: { ...affinity.stats, redis_errors: aff.errors },
    }),
    async close() {
      ip?.close();
      await ipRedis?.close();
      await link.close();
    },
  };
}
