/** The one admin listener of a process tree (in the primary): the shared router (src/admin/router.ts) over the workers: /status and /metrics summed, actions sent to every worker, POST /workers/restart. */

import type http from 'node:http';
import type { AdminBackend, Health, ReloadOutcome, RestartOutcome } from '../admin/backend.js';
import type { Action } from '../admin/control.js';
import { isAdminErrorCode, type AdminErrorCode } from '../admin/respond.js';
import { AdminRouter } from '../admin/router.js';
import type { ShuttingDown } from '../admin/status.js';
import type { TreeStatusDocument } from '../admin/status-document.js';
import type { Config } from '../config/types.js';
import type { Logger } from '../log.js';
import type { PrimaryChecks } from './primary-checks.js';
import { PrimaryEvents } from './primary-events.js';
import type { PrimaryTables } from './relay.js';
import { isWorkerStatusReply, mergeStatus, putCheckCounts, type WorkerStatus } from './status-merge.js';
import type { Supervisor } from './supervisor.js';
import type { TreeMetrics } from './tree-metrics.js';

/** How long /status waits for each worker's document; one that does not answer is left out. */
const STATUS_ASK_MS = 2000;

/**
 * What the tree's admin listener reads and drives in the primary (src/cluster/primary.ts's
 * Primary is it, and owns the listener): declared here so this file never imports the primary.
 */
export interface AdminedTree {
  readonly config: Config;
  readonly log: Logger;
  readonly supervisor: Supervisor;
  readonly checks: Pick<PrimaryChecks, 'checkCounts' | 'prune'>;
  /** The tables shared with the workers and, with `cluster:`, through its Redis link with the other instances. */
  readonly sharing: Pick<PrimaryTables, 'status' | 'tables'>;
  readonly metrics: Pick<TreeMetrics, 'text'>;
  readonly draining: boolean;
  shuttingDown(): ShuttingDown | null;
  /** On every worker; the first failing worker's code, or null. */
  action(pool: string, server: string, action: Action, caller?: string): Promise<string | null>;
  reload(): Promise<ReloadOutcome>;
}

export class PrimaryAdmin implements AdminBackend {
  readonly #p: AdminedTree;
  readonly #router: AdminRouter;
  readonly token: string;
  readonly events: PrimaryEvents;

  constructor(primary: AdminedTree) {
    this.#p = primary;
    // Read once: the primary's admin settings need a restart to change.
    this.token = primary.config.admin.token;
    this.events = new PrimaryEvents(primary.supervisor, () => this.status(), primary.log, this.token !== '');
    this.#router = new AdminRouter(this);
  }

  get log(): Logger {
    return this.#p.log;
  }

  get server(): http.Server {
    return this.#router.server;
  }

  health(): Health {
    if (this.#p.shuttingDown()?.phase === 'grace') return 'shutting down';   // the workers still proxy
    return this.#p.draining ? 'draining' : 'ok';
  }

  /** The workers' /status documents merged, plus the worker list and the Redis sharing state. */
  async status(): Promise<TreeStatusDocument> {
    const sup = this.#p.supervisor;
    const replies = await sup.askAll({ t: 'status' }, STATUS_ASK_MS);
    const docs: WorkerStatus[] = replies.flatMap((r) => (r.reply?.ok && isWorkerStatusReply(r.reply.body) ? [{ slot: r.slot, ...r.reply.body }] : []));
    const merged = mergeStatus(docs);
    const listed = putCheckCounts(merged, this.#p.checks.checkCounts());   // the checks run here, not in the workers
    if (docs.length) this.#p.checks.prune(listed);
    return {
      ...merged,
      draining: this.#p.draining,
      shutting_down: this.#p.shuttingDown(),
      workers: sup.slots.map((s) => {
        const d = docs.find((x) => x.slot === s);
        return {
          id: s.id, pid: s.worker?.process.pid ?? null, ready: s.ready, crashes: s.crashes, restarts: s.restarts,
          connections: d?.status.connections ?? null,
          farm_active: d?.farm ?? null,   // this worker's view of the farm's counts (what its picks read)
          farm_view: d?.view ?? null,     // ... and of each server's farm-wide bandwidth, RTT and load (src/cluster/farm-view.ts)
        };
      }),
      restarting: sup.restarting,
      worker_crashes: sup.slots.reduce((n, s) => n + s.crashes, 0),    // unplanned exits, each replaced
      worker_restarts: sup.slots.reduce((n, s) => n + s.restarts, 0),  // planned (rolling restart)
      ...(this.#p.sharing.tables.redis ? { cluster: this.#p.sharing.tables.redis.status() } : {}),
      sharing: this.#p.sharing.status(),   // per-IP caps and affinity tables across workers and instances
    };
  }

  /** Our own request/reply per worker (not prom-client's cluster messages): a worker that does not answer counts with its last sample, never a hang. */
  metrics(): Promise<{ body: string; contentType: string }> {
    return this.#p.metrics.text();
  }

  /** Sent to every worker; each logs its own `admin action` line with the caller. */
  async action(pool: string, server: string, action: Action, caller: string): Promise<AdminErrorCode | null> {
    const code = await this.#p.action(pool, server, action, caller);
    if (code === null) return null;
    return isAdminErrorCode(code) ? code : 'WSLB_ERR_ADMIN_INTERNAL';
  }

  reload(): Promise<ReloadOutcome> {
    return this.#p.reload();
  }

  restartWorkers(): RestartOutcome {
    const sup = this.#p.supervisor;
    if (sup.restarting) return { started: false };
    const drainMs = this.#p.config.timeouts.drain;
    void sup.rollingRestart(drainMs).then(
      () => this.#p.log.info('rolling restart done'),
      (err: unknown) => this.#p.log.error({ err }, 'rolling restart failed'));
    return { started: true, workers: sup.slots.length, drainMs };
  }

  listen(port: number, host: string): Promise<{ address: string; port: number }> {
    return this.#router.listen(port, host);
  }

  close(): Promise<void> {
    return this.#router.close();
  }
}
