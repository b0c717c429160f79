/** Rules that span entries of balancer.yaml (route -> pool, unique names, servers xor discover), run on the raw data. */
import { parseServerUrl } from './pool-schema.js';

/** A problem at a data path; `at: 'key'` points at the mapping key instead of its value. */
export interface RawIssue {
  readonly path: readonly (string | number)[];
  readonly message: string;
  readonly at?: 'key';
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Written defensively against malformed input because it runs even when the schema
 * rejected parts of the file: the user gets every problem in one `wslb check`.
 */
export function crossCheck(raw: unknown): RawIssue[] {
  if (!isObj(raw)) return [];
  const issues: RawIssue[] = [];
  const pools = isObj(raw['pools']) ? raw['pools'] : undefined;
  if (pools) for (const [name, pool] of Object.entries(pools)) checkPool(name, pool, issues);
  if (Array.isArray(raw['routes'])) checkRoutes(raw['routes'], pools, issues);
  if (Array.isArray(raw['listeners'])) checkListeners(raw['listeners'], issues);
  return issues;
}

function checkPool(name: string, pool: unknown, issues: RawIssue[]): void {
  if (!isObj(pool)) return;
  const hasServers = pool['servers'] !== undefined;
  const hasDiscover = pool['discover'] !== undefined;
  if (!hasServers && !hasDiscover) {
    issues.push({ path: ['pools', name], at: 'key', message: 'a pool needs "servers" or "discover"' });
  } else if (hasServers && hasDiscover) {
    issues.push({ path: ['pools', name, 'discover'], at: 'key', message: 'give "servers" or "discover", not both' });
  }
  const servers = pool['servers'];
  if (!Array.isArray(servers)) return;
  const seen = new Map<string, number>();
  servers.forEach((s, i) => {
    if (!isObj(s)) return;
    let id: string | undefined;
    let at: string = 'name';
    if (typeof s['name'] === 'string') {
      id = s['name'];
    } else if (s['name'] === undefined && typeof s['url'] === 'string') {
      const u = parseServerUrl(s['url']);
      if (typeof u !== 'string') { id = `${u.host}:${u.port}`; at = 'url'; }
    }
    if (id === undefined) return;
    const first = seen.get(id);
    if (first !== undefined) {
      issues.push({ path: ['pools', name, 'servers', i, at], message: `duplicate server name "${id}" in pool "${name}" (also servers[${first}])` });
    } else {
      seen.set(id, i);
    }
  });
}

function checkRoutes(routes: unknown[], pools: Obj | undefined, issues: RawIssue[]): void {
  const known = pools ? Object.keys(pools) : [];
  const seen = new Map<string, number>();
  routes.forEach((r, i) => {
    if (!isObj(r)) return;
    const pool = r['pool'];
    if (typeof pool === 'string' && !known.includes(pool)) {
      const hint = known.length ? `defined pools: ${known.join(', ')}` : 'no pools are defined';
      issues.push({ path: ['routes', i, 'pool'], message: `unknown pool "${pool}"; ${hint}` });
    }
    const explicit = typeof r['name'] === 'string';
    const name = explicit ? (r['name'] as string) : `route-${i}`;
    const first = seen.get(name);
    if (first !== undefined) {
      issues.push({
        path: explicit ? ['routes', i, 'name'] : ['routes', i],
        message: `duplicate route name "${name}" (also routes[${first}])`,
      });
    } else {
      seen.set(name, i);
    }
  });
}

function checkListeners(listeners: unknown[], issues: RawIssue[]): void {
  const seen = new Map<string, number>();
  listeners.forEach((l, i) => {
    if (!isObj(l) || typeof l['port'] !== 'number' || l['port'] === 0) return;   // port 0: each bind gets its own
    const host = typeof l['host'] === 'string' ? l['host'] : '0.0.0.0';
    const id = `${host}:${l['port']}`;
    const first = seen.get(id);
    if (first !== undefined) {
      issues.push({ path: ['listeners', i, 'port'], message: `listener ${id} is already defined (listeners[${first}])` });
    } else {
      seen.set(id, i);
    }
  });
}
