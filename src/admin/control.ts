/** The control endpoints' effects on one server: drain (close its tunnels with 1012 over the pool's drain window), enable, disable. */

import type { Server } from '../pool/server.js';
import type { AdminAction } from '../role.js';
import type { Runtime } from '../runtime.js';

export const ACTIONS = ['drain', 'enable', 'disable'] as const satisfies readonly AdminAction[];
export type Action = AdminAction;

export const DISABLED_REASON = 'disabled by admin';

export function isAction(s: string): s is Action {
  return (ACTIONS as readonly string[]).includes(s);
}

/**
 * Applies an action in this process only; where it travels besides is its caller's choice (the
 * admin API issues it through the role's parts, src/role.ts; one relayed here goes no further).
 * drain: no new tunnels; open ones close with 1012 spread over `pools.X.drain` (default
 * `timeouts.drain`). disable: no new tunnels; open ones stay. enable: undoes both (a drain in
 * progress stops; tunnels already sent their close frame finish closing).
 * Health state is never touched (health, admin and drain state are separate bits): an enabled server that fails its checks stays down.
 */
export function applyAction(rt: Runtime, server: Server, action: Action, caller?: string): void {
  switch (action) {
    case 'drain': {
      const pool = rt.pools.get(server.pool);
      const windowMs = pool?.config.drain ?? rt.config.timeouts.drain;
      void rt.drainServer(server, windowMs, 'drained by admin');
      break;
    }
    case 'disable':
      server.status.setEnabled(false, DISABLED_REASON);   // the state-change log line carries the reason
      break;
    case 'enable':
      if (server.draining) rt.undrainServer(server);
      server.status.setEnabled(true, null);   // clears the admin note; health and ejection keep their own reasons
      break;
  }
  // The state change itself is logged by the pool's state listener ("server state changed").
  // `caller`: the admin client's address, when the request arrived here (not relayed by a primary or another instance).
  rt.log.info(caller === undefined ? { pool: server.pool, server: server.name, action } : { pool: server.pool, server: server.name, action, caller }, 'admin action');
}
