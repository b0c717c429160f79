/** Rules that span entries of balancer.yaml (route -> pool, unique names, servers xor discover, transport: http with http: true, http2 with tls, addresses bound twice), run on the raw data. */
import { isIP } from 'node:net';
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
  checkAddresses(raw, issues);
  if (Array.isArray(raw['listeners'])) {
    raw['listeners'].forEach((l, i) => {
      if (isObj(l) && l['http2'] === true && l['tls'] === undefined) {
        issues.push({ path: ['listeners', i, 'http2'], message: 'http2: true needs tls (h2 is chosen by ALPN in the TLS handshake; cleartext h2c is not offered)' });
      }
    });
  }
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
  const load = pool['load'];
  if (isObj(load) && load['source'] === 'snmp' && !(isObj(load['oids']) && Object.keys(load['oids']).length)) {
    issues.push({ path: ['pools', name, 'load', 'oids'], message: 'source: snmp needs oids: { NAME: OID, ... } (the fields the score formula reads)' });
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
    const match = r['match'];
    if (isObj(match) && match['transport'] === 'http' && r['http'] !== true) {
      issues.push({ path: ['routes', i, 'match', 'transport'], message: 'transport: http needs http: true on the route (without it plain requests are refused with 426)' });
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

interface Bound { readonly host: string; readonly port: number; readonly label: string; readonly path: (string | number)[] }

/**
 * Listeners and the admin listener must not want the same address: the second bind would
 * fail at start with EADDRINUSE. A wildcard host takes the port on every address of its family
 * (`::` on both, as Node binds it dual-stack); port 0 never conflicts (each bind gets its own).
 */
function checkAddresses(raw: Obj, issues: RawIssue[]): void {
  const bound: Bound[] = [];
  if (raw['listeners'] === undefined) {
    bound.push(...boundAt('0.0.0.0', 8080, 'the default listener', []));   // the schema's default
  } else if (Array.isArray(raw['listeners'])) {
    raw['listeners'].forEach((l, i) => {
      if (!isObj(l)) return;
      const host = l['host'] === undefined ? '0.0.0.0' : l['host'];
      bound.push(...boundAt(host, l['port'], `listeners[${i}]`, ['listeners', i, 'port']));
    });
  }
  const admin = raw['admin'] === undefined ? {} : raw['admin'];
  if (isObj(admin)) {
    const host = admin['host'] === undefined ? '127.0.0.1' : admin['host'];
    const port = admin['port'] === undefined ? 9090 : admin['port'];
    // Not written: the conflict is reported at the listener instead (nothing to point at here).
    const path = admin['port'] === undefined ? [] : ['admin', 'port'];
    bound.push(...boundAt(host, port, 'admin', path));
  }
  bound.forEach((b, i) => {
    const first = bound.slice(0, i).find((a) => overlaps(a, b));
    if (!first) return;
    const [at, other] = b.path.length ? [b, first] : [first, b];
    const why = at.host === other.host ? '' : `; ${isWildcard(at.host) ? at.host : other.host} takes port ${at.port} on every address`;
    const dflt = other.label === 'admin' && raw['admin'] === undefined ? ' (the default admin address; set admin.port)' : '';
    issues.push({ path: at.path, message: `${at.host}:${at.port} is also bound by ${other.label} (${other.host}:${other.port})${dflt}${why}` });
  });
}

function boundAt(host: unknown, port: unknown, label: string, path: (string | number)[]): Bound[] {
  if (typeof host !== 'string' || typeof port !== 'number' || !Number.isInteger(port) || port <= 0) return [];
  return [{ host: canonicalHost(host), port, label, path }];
}

/** Lower case, and IPv6 in its shortest form (`0:0::0` is `::`), so equal addresses compare equal. */
function canonicalHost(host: string): string {
  const h = host.toLowerCase();
  if (isIP(h) !== 6) return h;
  try { return new URL(`http://[${h}]/`).hostname.slice(1, -1); } catch { return h; }
}

const isWildcard = (h: string): boolean => h === '0.0.0.0' || h === '::';

function overlaps(a: Bound, b: Bound): boolean {
  if (a.port !== b.port) return false;
  if (a.host === b.host || a.host === '::' || b.host === '::') return true;
  // 0.0.0.0 covers IPv4 addresses and names (which may resolve to one), not IPv6 addresses.
  if (a.host === '0.0.0.0') return isIP(b.host) !== 6;
  if (b.host === '0.0.0.0') return isIP(a.host) !== 6;
  return false;
}
