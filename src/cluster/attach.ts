/** `cluster:` for a lone process (workers: 1): its replicated tables wired to one Balancer's runtime and published through Redis. */

import type { Logger } from '../log.js';
import type { Runtime } from '../runtime.js';
import { RedisLink } from './redis-link.js';
import { acceptingTables, instanceId } from './sharing.js';
import { instanceOf } from './table-set.js';

export function shareBalancer(b: { readonly runtime: Runtime }, cfg: { redis: string; name: string }, log: Logger): { close(): Promise<void> } {
  const rt = b.runtime;
  const instance = instanceId(cfg.name);
  const tables = acceptingTables(rt, `${instance}#0`, instance, { adopt: true, log });
  const link = new RedisLink(cfg.redis, instance, log, {
    receive: (msgs) => tables.set.receive(msgs),
    fulls: () => tables.set.fulls((o) => o === tables.set.origin),
    down: () => { tables.set.drop((o) => instanceOf(o) !== instance); },
    gone: () => tables.set.gone(),
  });
  // Actions done here (the admin API) are in force for the other instances too, and for those that start later.
  rt.actionHooks.push((server, action) => tables.admin.issue(server.pool, server.name, action, Date.now()));
  rt.clusterStatus = () => link.status();
  rt.sharingStatus = () => ({
    redis: link.up ? 'ok' : 'redis unavailable: per-instance caps and tables',
    ip: tables.ip?.status() ?? null,
    affinity: tables.affinity.stats,
    admin_actions: tables.admin.inForce(),
  });
  tables.set.start((msgs) => link.queue(msgs));
  link.start();
  return {
    async close() {
      tables.set.close();
      await link.close();
    },
  };
}
