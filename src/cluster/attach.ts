/** `cluster:` for a lone process (workers: 1): a RedisShare wired to one Balancer's runtime. */

import { applyAction } from '../admin/control.js';
import type { Logger } from '../log.js';
import type { Balancer } from '../main.js';
import { applyRemote, localCounts } from './counts.js';
import { RedisShare } from './redis-share.js';

export function shareBalancer(b: Balancer, cfg: { redis: string; name: string }, log: Logger): RedisShare {
  const rt = b.runtime;
  const share = new RedisShare(cfg, log, {
    local: () => localCounts(rt),
    remote: (counts) => applyRemote(rt, counts),
    action: (pool, server, action) => {
      const s = rt.pools.get(pool)?.server(server);
      if (s) applyAction(rt, s, action, false);
    },
  });
  rt.actionHooks.push((server, action) => share.publishAction(server.pool, server.name, action));
  rt.clusterStatus = () => share.status();
  share.start();
  return share;
}
