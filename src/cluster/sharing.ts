/**
 * The replicated tables of an accepting process (a worker, or a lone instance with `cluster:`):
 * per-server figures, per-IP counts (only when `max_connections_per_ip` is finite), affinity
 * sessions, and the admin actions in force; and a worker's side of the IPC relay.
 */

import cluster from 'node:cluster';
import os from 'node:os';
import { applyAction } from '../admin/control.js';
import type { Config } from '../config/types.js';
import { sessionTtl } from '../http/fallback.js';
import type { Logger } from '../log.js';
import type { Runtime } from '../runtime.js';
import { AdminState } from './admin-state.js';
import { AffinityShare } from './affinity-share.js';
import { farmTable, type Figures } from './farm-view.js';
import { IpShare } from './ip-share.js';
import type { FromWorker, ToWorker } from './protocol.js';
import type { ReplicatedTable } from './replicated-table.js';
import { TableSet } from './table-set.js';

export const capped = (config: Config): boolean => Number.isFinite(config.limits.max_connections_per_ip);

/** Unique per process tree: `name` comes from a config that every replica may share (a Kubernetes ConfigMap). */
export function instanceId(name = 'local'): string {
  return `${name}/${os.hostname()}/${process.pid}`;
}

export interface AcceptingTables {
  readonly set: TableSet;
  readonly figures: ReplicatedTable<Figures>;
  readonly ip: IpShare | null;
  readonly affinity: AffinityShare;
  readonly admin: AdminState;
}

/** `adopt`: a lone instance (it republishes the actions it learns); `log`: its line for actions from another instance. */
export function acceptingTables(rt: Runtime, origin: string, instance: string, opts: { adopt: boolean; log?: Logger }): AcceptingTables {
  const set = new TableSet(origin);
  const figures = set.add(farmTable(origin, () => rt.pools.values()));
  const ip = capped(rt.config) ? new IpShare(origin, rt.admission) : null;
  if (ip) set.add(ip.table);
  const affinity = new AffinityShare(origin, rt, () => sessionTtl(rt.config));
  set.add(affinity.table);
  const admin = new AdminState(origin, instance, {
    ...opts,
    apply: (pool, server, action) => {
      const s = rt.pools.get(pool)?.server(server);
      if (s) applyAction(rt, s, action, false);
    },
  });
  set.add(admin.table);
  return { set, figures, ip, affinity, admin };
}

/** A worker's side: its tables tick to the primary; the primary's `tables` messages are the rest of the farm's. */
export function workerTables(rt: Runtime, send: (m: FromWorker) => void): AcceptingTables & { onMessage(m: ToWorker): boolean } {
  const instance = process.env.WSLB_INSTANCE ?? instanceId();
  const origin = `${instance}#${process.env.WSLB_WORKER_SLOT ?? '0'}.${cluster.worker?.id ?? process.pid}`;
  const tables = acceptingTables(rt, origin, instance, { adopt: false });
  tables.set.start((msgs) => send({ t: 'tables', msgs }));
  return {
    ...tables,
    onMessage(m) {
      if (m.t !== 'tables') return false;
      const { gaps } = tables.set.receive(m.msgs);
      if (gaps.size) send({ t: 'tables-sync', origins: [...gaps] });
      return true;
    },
  };
}
