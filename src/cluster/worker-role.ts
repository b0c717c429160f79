/**
 * A cluster worker's parts. The pools the primary checks and polls take their health and load from
 * its reports (the worker starts no checks or polls on them); a discovered pool's members come from
 * this worker's own DNS lookups, so it checks and polls those itself. Its replicated tables tick to
 * the primary over IPC from construction on (the farm's figures are in place before it listens).
 * Each server state change is logged once per process tree. It has no admin listener: admin actions
 * arrive from the primary (src/cluster/worker.ts) or from the admin table, and travel no further.
 */

import cluster from 'node:cluster';
import type { Logger } from '../log.js';
import { logStateChanges } from '../pool/health.js';
import type { Pool } from '../pool/pool.js';
import type { Server, StateListener } from '../pool/server.js';
import type { HealthSource, RoleParts, Sharing, StatusPart } from '../role.js';
import type { Runtime } from '../runtime.js';
import type { FromWorker, LoadReport, ServerReport } from './protocol.js';
import type { TableMessage } from './replicated-table.js';
import { instanceId, SharedTables } from './sharing.js';

/** The reason the load poller gives a drain it asked for (src/pool/load-poller.ts). */
const REPORT_DRAIN = 'load report: drain';
/** How long a starting worker waits for the primary's first reports before it listens anyway. */
const FIRST_REPORTS_MS = 3000;

export class WorkerRole implements RoleParts {
  readonly tables: SharedTables;
  readonly health: HealthSource;
  readonly sharing: Sharing;
  /** Nothing added: the primary's /status shows the farm per worker (src/cluster/primary-admin.ts). */
  readonly status: StatusPart = { farmColumns: false, sections: () => ({}) };
  readonly logStateChange: StateListener;
  readonly #rt: Runtime;
  readonly #send: (m: FromWorker) => void;
  readonly #reports = new ReportApplier();
  readonly #firstReports: Promise<void>;
  #reported: () => void = () => {};

  constructor(rt: Runtime, slot: number, log: Logger, send: (m: FromWorker) => void) {
    this.#rt = rt;
    this.#send = send;
    const instance = process.env.WSLB_INSTANCE ?? instanceId();
    this.tables = new SharedTables(`${instance}#${slot}.${cluster.worker?.id ?? process.pid}`, { config: rt.config, rt, adopt: false, log });
    this.tables.start((msgs) => send({ t: 'tables', msgs }));
    this.sharing = this.tables.sharing;
    this.#firstReports = new Promise<void>((resolve) => { this.#reported = resolve; setTimeout(resolve, FIRST_REPORTS_MS).unref(); });
    this.health = { measuresHere: (pool) => pool.discover !== undefined, known: () => this.#firstReports };
    this.logStateChange = workerStateLog(rt, log, slot);
  }

  /** The primary's reports of the pools it checks and polls. */
  reports(list: readonly ServerReport[]): void {
    this.#reports.apply(this.#rt.pools, list);
    this.#reported();
  }

  /** The other origins' table messages, relayed by the primary; those out of sequence are asked for in full. */
  tablesFrom(msgs: TableMessage[]): void {
    const { gaps } = this.tables.set.receive(msgs);
    if (gaps.size) this.#send({ t: 'tables-sync', origins: [...gaps] });
  }

  /** An action the primary asked this worker to apply at `at`: the same one read later from the admin table is not applied again. */
  actionApplied(pool: string, server: string, at: number): void {
    this.tables.admin.applied(pool, server, at);
  }

  actionIssued(): void {}

  start(): void {}

  close(): Promise<void> {
    return this.tables.close();
  }
}

/**
 * Applies the primary's reports to this worker's servers as its own checks and poller would have;
 * drains it applied for a report are undone when a report no longer asks.
 */
export class ReportApplier {
  readonly #drained = new WeakSet<Server>();

  apply(pools: ReadonlyMap<string, Pool>, list: readonly ServerReport[]): void {
    for (const r of list) {
      const s = pools.get(r.pool)?.server(r.server);
      if (!s) continue;
      if (!s.status.known || s.healthy !== r.healthy) s.status.setHealthy(r.healthy, r.reason);
      if (r.load) this.#load(s, r.load);
    }
  }

  #load(s: Server, r: LoadReport): void {
    s.load = r.load;
    s.loadStale = r.stale;
    s.loadError = r.error;
    s.reportWeight(r.weight === s.configuredWeight ? null : r.weight);
    if (r.drain && !s.draining) {
      s.status.setDraining(true, REPORT_DRAIN);
      this.#drained.add(s);
    } else if (!r.drain && this.#drained.has(s)) {
      this.#drained.delete(s);   // an admin drain is not ours to undo
      s.status.setDraining(false, s.status.note === REPORT_DRAIN ? null : undefined);
    }
  }
}

/**
 * The `server state changed` lines a worker writes, so each change is logged once per process tree:
 * - health of a configured pool: never (the primary checks and logs; workers only apply its results);
 * - admin enable/disable/drain and removal by a reload, which every worker applies alike: worker 1 only;
 * - outlier ejections and anything in a discovered pool: every worker, as its own (ejections are
 *   each worker's passive observation; a discovered pool's lookups and checks run in each worker).
 *   Those lines carry the `worker` field of the worker's logger.
 */
export function workerStateLog(rt: Runtime, log: Logger, slot: number): StateListener {
  const write = logStateChanges(log);
  return (server, from, to, reason, bit) => {
    const own = bit === 'ejected' || rt.pools.get(server.pool)?.config.discover !== undefined;
    if (own || (bit !== 'healthy' && slot === 1)) write(server, from, to, reason, bit);
  };
}
