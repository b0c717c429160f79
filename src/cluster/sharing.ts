/**
 * The replicated tables of one process (src/cluster/replicated-table.ts), built alike for a worker,
 * an instance sharing through Redis and a primary: per-server figures, per-IP counts (only when
 * `max_connections_per_ip` is finite), affinity sessions and the admin actions in force, ticked
 * together; with a Redis URL, the instance's Redis link; and the `sharing` section of /status.
 */

import os from 'node:os';
import { applyAction } from '../admin/control.js';
import type { Config } from '../config/types.js';
import { sessionTtl } from '../http/fallback.js';
import type { Logger } from '../log.js';
import type { Sharing } from '../role.js';
import type { Runtime } from '../runtime.js';
import { AdminState } from './admin-state.js';
import { AffinityShare } from './affinity-share.js';
import { farmTable, figuresTable, type Figures } from './farm-view.js';
import { IpShare } from './ip-share.js';
import { RedisLink } from './redis-link.js';
import type { TableMessage } from './replicated-table.js';
import { instanceOf, TableSet } from './table-set.js';

/** Unique per process tree: `name` comes from a config that every replica may share (a Kubernetes ConfigMap). */
export function instanceId(name = 'local'): string {
  return `${name}/${os.hostname()}/${process.pid}`;
}

export interface TablesOptions {
  /** The config the process started with: whether per-IP counts are shared, how long sessions live. */
  readonly config: Config;
  /**
   * An accepting process's runtime: its servers publish their figures and receive the others', its
   * admission and HTTP fallback read the counts and sessions. Absent: a primary, which holds no
   * tunnels and relays (`rows`: its own figures, the health-check round trips).
   */
  readonly rt?: Runtime;
  readonly rows?: () => Map<string, Figures>;
  /** A primary or lone instance: it republishes the admin actions it learns and logs those from another instance (a worker only applies them). */
  readonly adopt: boolean;
  readonly log: Logger;
  /** With `cluster:`: the tables go to the other instances through this Redis; `forward`: where a primary relays what arrives. */
  readonly redis?: { readonly url: string; readonly forward?: (msgs: TableMessage[]) => void };
}

export class SharedTables {
  readonly set: TableSet;
  readonly ip: IpShare | null;
  readonly affinity: AffinityShare;
  readonly admin: AdminState;
  readonly redis: RedisLink | null;
  readonly #accepting: boolean;

  constructor(origin: string, opts: TablesOptions) {
    const rt = opts.rt ?? null;
    this.#accepting = rt !== null;
    this.set = new TableSet(origin);
    this.set.add(rt ? farmTable(origin, () => rt.pools.values()) : figuresTable(origin, opts.rows ?? (() => new Map())));
    this.ip = Number.isFinite(opts.config.limits.max_connections_per_ip) ? new IpShare(origin) : null;
    if (this.ip) this.set.add(this.ip.table);
    this.affinity = new AffinityShare(origin, rt, () => sessionTtl(opts.config));
    this.set.add(this.affinity.table);
    const apply = (pool: string, server: string, action: 'drain' | 'enable' | 'disable'): void => {
      const s = rt?.pools.get(pool)?.server(server);
      if (s) applyAction(rt!, s, action);   // not issued again: it came from another process
    };
    this.admin = new AdminState(origin, instanceOf(origin), { adopt: opts.adopt, apply, ...(opts.adopt ? { log: opts.log } : {}) });
    this.set.add(this.admin.table);
    this.redis = opts.redis ? new RedisLink(opts.redis.url, this.set, opts.log, opts.redis.forward) : null;
  }

  /** What an accepting process's Runtime reads on the hot path. */
  get sharing(): Sharing {
    return { ipCounts: this.ip, sessions: this.affinity };
  }

  /** Ticks every TICK_MS from now on: each tick's messages go to `send` and to Redis; the Redis link connects. */
  start(send: (msgs: TableMessage[]) => void): void {
    this.set.start((msgs) => {
      send(msgs);
      this.redis?.queue(msgs);
    });
    this.redis?.start();
  }

  /** Stops ticking; leaves Redis (the other instances drop this one's rows at once). */
  async close(): Promise<void> {
    this.set.close();
    await this.redis?.close();
  }

  /** The `sharing` section of /status: per-IP caps, affinity tables and admin actions across workers and instances. */
  status(): unknown {
    return {
      redis: this.redis ? (this.redis.up ? 'ok' : 'redis unavailable: per-instance caps and tables') : 'off',
      ip: this.ip?.status() ?? null,
      affinity: this.#accepting ? this.affinity.stats : this.affinity.treeStatus(),
      admin_actions: this.admin.inForce(),
    };
  }
}
