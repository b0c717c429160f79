/** `cluster:` for a lone process (workers: 1): a RedisShare wired to one Balancer's runtime. */

import { applyAction } from '../admin/control.js';
import type { Logger } from '../log.js';
import type { Balancer } from '../main.js';
import { applyRemote, localShare } from './farm-view.js';
import { RedisShare } from './redis-share.js';
import { loneSharing } from './sharing.js';

export function shareBalancer(b: Balancer, cfg: { redis: string; name: string }, log: Logger): RedisShare {
  const rt = b.runtime;
  const share = new RedisShare(cfg, log, {
    local: () => localShare(rt),
    remote: (figures) => applyRemote(rt, figures),
    action: (pool, server, action) => {
      const s = rt.pools.get(pool)?.server(server);
      if (s) applyAction(rt, s, action, false);
    },
  });
  rt.actionHooks.push((server, action) => share.publishAction(server.pool, server.name, action));
  rt.clusterStatus = () => share.status();
  share.start();
  // Per-IP caps and affinity entries with the other instances; closed with the share (leaves Redis first).
  const sharing = loneSharing(rt, cfg, share.instance, log);
  rt.sharingStatus = () => sharing.status();
  const closeShare = share.close.bind(share);
  share.close = async () => { await sharing.close(); await closeShare(); };
  return share;
}
