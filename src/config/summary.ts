/** The one-line config summary printed by `wslb check` and returned by a reload. */
import type { Config } from './types.js';

/** `ok: R routes, P pools, S servers` (servers: the static ones; discovered servers are not known yet). */
export function summarize(c: Config): string {
  const pools = Object.values(c.pools);
  const servers = pools.reduce((n, p) => n + p.servers.length, 0);
  return `ok: ${c.routes.length} routes, ${pools.length} pools, ${servers} servers`;
}
