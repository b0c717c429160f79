/**
 * The primary's side of the replicated tables: the IPC relay (what a worker publishes goes on to
 * every other worker and, with `cluster:`, to Redis; what comes from Redis goes to every worker),
 * and the primary's own rows: its health-check RTTs (figures) and the admin actions in force.
 * The primary keeps every origin's rows, so a worker that starts gets them all at its hello.
 */

import type { Worker } from 'node:cluster';
import type { Config } from '../config/types.js';
import type { Logger } from '../log.js';
import type { AdminAction } from '../role.js';
import { rttFigures } from './farm-view.js';
import type { PrimaryChecks } from './primary-checks.js';
import type { TableMessage } from './replicated-table.js';
import { SharedTables } from './sharing.js';
import type { Supervisor } from './supervisor.js';
import { instanceOf } from './table-set.js';

export class PrimaryTables {
  readonly instance: string;
  readonly tables: SharedTables;
  readonly #sup: Supervisor;

  /** With `config.cluster`, the tables are shared with the other instances through its Redis from start() on. */
  constructor(instance: string, sup: Supervisor, config: Config, checks: PrimaryChecks, log: Logger) {
    this.instance = instance;
    this.#sup = sup;
    // Actions from other instances reach the workers through the admin table (they apply what they read); the primary itself holds no servers.
    this.tables = new SharedTables(`${instance}#0`, {
      config, adopt: true, log,
      rows: () => rttFigures(checks.pools.values()),
      ...(config.cluster ? { redis: { url: config.cluster.redis, forward: (msgs: TableMessage[]) => this.#toWorkers(msgs) } } : {}),
    });
  }

  start(): void {
    this.tables.start((msgs) => this.#toWorkers(msgs));
  }

  #toWorkers(msgs: TableMessage[], except?: Worker): void {
    if (msgs.length === 0) return;
    for (const w of this.#sup.workers) if (w !== except) this.#sup.send(w, { t: 'tables', msgs });
  }

  /** A worker's tick: applied here, then on to every other worker and to Redis. */
  fromWorker(w: Worker, msgs: TableMessage[]): void {
    this.#out(this.tables.set.receive(msgs).applied, w);
  }

  #out(msgs: TableMessage[], except?: Worker): void {
    this.#toWorkers(msgs, except);
    this.tables.redis?.queue(msgs);
  }

  /** A worker that listens now gets every origin's full table (`origins`: only those it saw out of sequence). */
  welcome(w: Worker, origins?: readonly string[]): void {
    const msgs = this.tables.set.fulls(origins ? (o) => origins.includes(o) : () => true);
    if (msgs.length) this.#sup.send(w, { t: 'tables', msgs });
  }

  /** A worker is gone: its rows no longer count, for the other workers and instances alike. */
  onExit(w: Worker): void {
    const suffix = `.${w.id}`;
    this.#out(this.tables.set.drop((o) => instanceOf(o) === this.instance && o.endsWith(suffix)));
  }

  /** An action done on every worker at `at`: in force from now on, for workers that start later and for the other instances. */
  issue(pool: string, server: string, action: AdminAction, at: number, caller?: string): void {
    this.tables.admin.issue(pool, server, action, at, caller);
  }

  status(): unknown {
    return this.tables.status();
  }

  close(): Promise<void> {
    return this.tables.close();
  }
}
