/**
 * `cluster:` for a lone process (workers: 1): the parts of an instance that shares its replicated
 * tables with the other instances through Redis. It checks and polls its servers itself, like any
 * lone process; the farm's figures, per-IP counts, affinity sessions and admin actions are shared.
 */

import type { Logger } from '../log.js';
import { loneParts } from '../role.js';
import type { Role } from '../runtime.js';
import { instanceId, SharedTables } from './sharing.js';

export function instanceRole(cluster: { readonly redis: string; readonly name: string }, log: Logger): Role {
  return (rt) => {
    const instance = instanceId(cluster.name);
    const tables = new SharedTables(`${instance}#0`, { config: rt.config, rt, adopt: true, log, redis: { url: cluster.redis } });
    return {
      ...loneParts(log),
      sharing: tables.sharing,
      // Actions done here (the admin API) are in force for the other instances too, and for those that start later.
      actionIssued: (server, action) => tables.admin.issue(server.pool, server.name, action, Date.now()),
      // The farm-wide figures per server (what picks read), the Redis link and what is shared.
      status: { farmColumns: true, sections: () => ({ cluster: tables.redis?.status(), sharing: tables.status() }) },
      start: () => tables.start(() => {}),
      close: () => tables.close(),
    };
  };
}
