/**
 * The primary's side of the replicated tables: the IPC relay (what a worker publishes goes on to
 * every other worker and, with `cluster:`, to Redis; what comes from Redis goes to every worker),
 * and the primary's own rows: its health-check RTTs (figures) and the admin actions in force.
 * The primary keeps every origin's rows, so a worker that starts gets them all at its hello.
 */

import type { Worker } from 'node:cluster';
import type { Config } from '../config/types.js';
import { sessionTtl } from '../http/fallback.js';
import type { Logger } from '../log.js';
import type { Action } from '../admin/control.js';
import { AdminState } from './admin-state.js';
import { AffinityShare } from './affinity-share.js';
import { figuresTable, rttFigures } from './farm-view.js';
import type { HealthHub } from './health-hub.js';
import { IpShare } from './ip-share.js';
import { RedisLink } from './redis-link.js';
import type { TableMessage } from './replicated-table.js';
import { capped } from './sharing.js';
import type { Supervisor } from './supervisor.js';
import { instanceOf, TableSet } from './table-set.js';

export class PrimaryTables {
  readonly instance: string;
  readonly set: TableSet;
  readonly ip: IpShare | null;
  readonly affinity: AffinityShare;
  readonly admin: AdminState;
  /** With `cluster:`: the instance's one Redis connection pair. */
  redis: RedisLink | null = null;
  readonly #sup: Supervisor;
  readonly #log: Logger;

  constructor(instance: string, sup: Supervisor, config: Config, health: HealthHub, log: Logger) {
    this.instance = instance;
    this.#sup = sup;
    this.#log = log;
    const origin = `${instance}#0`;
    this.set = new TableSet(origin);
    this.set.add(figuresTable(origin, () => rttFigures(health.pools.values())));
    this.ip = capped(config) ? new IpShare(origin, null) : null;
    if (this.ip) this.set.add(this.ip.table);
    this.affinity = new AffinityShare(origin, null, () => sessionTtl(config));
    this.set.add(this.affinity.table);
    // Actions from other instances reach the workers through this table (they apply what they read); the primary itself holds no servers.
    this.admin = new AdminState(origin, instance, { adopt: true, apply: () => {}, log });
    this.set.add(this.admin.table);
  }

  start(): void {
    this.set.start((msgs) => this.#out(msgs));
  }

  /** Sends to every worker but `except`, and to Redis. */
  #out(msgs: TableMessage[], except?: Worker): void {
    this.#toWorkers(msgs, except);
    this.redis?.queue(msgs);
  }

  #toWorkers(msgs: TableMessage[], except?: Worker): void {
    if (msgs.length === 0) return;
    for (const w of this.#sup.workers) if (w !== except) this.#sup.send(w, { t: 'tables', msgs });
  }

  fromWorker(w: Worker, msgs: TableMessage[]): void {
    this.#out(this.set.receive(msgs).applied, w);
  }

  /** A worker that listens now gets every origin's full table (`origins`: only those it saw out of sequence). */
  welcome(w: Worker, origins?: readonly string[]): void {
    const msgs = this.set.fulls(origins ? (o) => origins.includes(o) : () => true);
    if (msgs.length) this.#sup.send(w, { t: 'tables', msgs });
  }

  /** A worker is gone: its rows no longer count, for the other workers and instances alike. */
  onExit(w: Worker): void {
    const suffix = `.${w.id}`;
    this.#out(this.set.drop((o) => instanceOf(o) === this.instance && o.endsWith(suffix)));
  }

  /** An action done on every worker at `at`: in force from now on, for workers that start later and for the other instances. */
  issue(pool: string, server: string, action: Action, at: number, caller?: string): void {
    this.admin.issue(pool, server, action, at, caller);
  }

  /** `cluster:`: the tables go to the other instances through Redis. */
  attachRedis(url: string): RedisLink {
    const mine = (o: string): boolean => instanceOf(o) === this.instance;
    this.redis = new RedisLink(url, this.instance, this.#log, {
      receive: (msgs) => {
        const r = this.set.receive(msgs);
        this.#toWorkers(r.applied);
        return r;
      },
      fulls: () => this.set.fulls(mine),
      down: () => this.#toWorkers(this.set.drop((o) => !mine(o))),
      gone: () => [...this.set.gone(), ...this.set.drop(mine)],
    });
    this.redis.start();
    return this.redis;
  }

  status(): unknown {
    return {
      redis: this.redis ? (this.redis.up ? 'ok' : 'redis unavailable: per-instance caps and tables') : 'off',
      ip: this.ip?.status() ?? null,
      affinity: this.affinity.treeStatus(),
      admin_actions: this.admin.inForce(),
    };
  }

  async close(): Promise<void> {
    this.set.close();
    await this.redis?.close();
  }
}
