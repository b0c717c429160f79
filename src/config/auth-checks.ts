/** Rules of `routes[].auth` across its keys and across entries (jwt xor forward, keys xor jwks_url, claim:NAME hash keys need a verified token), run on the raw data. */
import { HMAC_ALGORITHMS } from '../auth/keys.js';
import type { RawIssue } from './checks.js';

type Obj = Record<string, unknown>;
type Path = (string | number)[];
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

const JWKS_ONLY = ['jwks_refresh', 'jwks_cooldown', 'jwks_timeout'];

/** Written defensively like crossCheck: it runs when the schema rejected other parts of the file too. */
export function checkAuth(raw: unknown): RawIssue[] {
  const issues: RawIssue[] = [];
  if (!isObj(raw)) return issues;
  const routes = raw['routes'];
  if (!Array.isArray(routes)) return issues;
  routes.forEach((r, i) => {
    if (!isObj(r)) return;
    if (isObj(r['auth'])) checkRouteAuth(r['auth'], ['routes', i, 'auth'], issues);
    checkClaimKey(raw, r, i, issues);
  });
  return issues;
}

function checkRouteAuth(auth: Obj, at: Path, issues: RawIssue[]): void {
  const { jwt, forward } = auth;
  if (jwt === undefined && forward === undefined) issues.push({ path: at, at: 'key', message: 'auth needs "jwt" or "forward"' });
  if (jwt !== undefined && forward !== undefined) issues.push({ path: [...at, 'forward'], at: 'key', message: 'give "jwt" or "forward", not both' });
  if (!isObj(jwt)) return;
  const j = [...at, 'jwt'];
  const hasUrl = jwt['jwks_url'] !== undefined;
  if (jwt['keys'] === undefined && !hasUrl) issues.push({ path: j, at: 'key', message: 'jwt needs "keys" (a key file) or "jwks_url"' });
  if (jwt['keys'] !== undefined && hasUrl) issues.push({ path: [...j, 'jwks_url'], at: 'key', message: 'give "keys" or "jwks_url", not both' });
  for (const k of JWKS_ONLY) {
    if (jwt[k] !== undefined && !hasUrl) issues.push({ path: [...j, k], at: 'key', message: `"${k}" applies only with "jwks_url"` });
  }
  const algs = jwt['algorithms'];
  if (Array.isArray(algs) && hasUrl) {
    algs.forEach((a, n) => {
      if (typeof a === 'string' && HMAC_ALGORITHMS.includes(a)) {
        issues.push({ path: [...j, 'algorithms', n], message: `${a} needs an HMAC secret file in "keys"; a JWKS from jwks_url holds public keys only` });
      }
    });
  }
  const from = jwt['from'];
  if (Array.isArray(from)) {
    from.forEach((f, n) => {
      if (from.indexOf(f) !== n) issues.push({ path: [...j, 'from', n], message: `${JSON.stringify(f)} is listed twice` });
    });
  }
}

/**
 * A `claim:NAME` hash key reads the token the route verified: the route must have `auth.jwt`.
 * The key may be the route's own algorithm's or its pool's (reported there, naming the route).
 */
function checkClaimKey(raw: Obj, r: Obj, i: number, issues: RawIssue[]): void {
  if (isObj(r['auth']) && r['auth']['jwt'] !== undefined) return;
  const own = r['algorithm'];
  if (own !== undefined) {
    if (isClaim(own)) issues.push({ path: ['routes', i, 'algorithm', 'key'], message: `${keyOf(own)} needs this route to verify tokens (auth.jwt)` });
    return;
  }
  const pools = raw['pools'];
  const name = r['pool'];
  if (!isObj(pools) || typeof name !== 'string' || !isObj(pools[name])) return;
  const algo = pools[name]['algorithm'];
  if (isClaim(algo)) {
    const route = typeof r['name'] === 'string' ? `"${r['name']}"` : `routes[${i}]`;
    issues.push({ path: ['pools', name, 'algorithm', 'key'], message: `${keyOf(algo)} needs tokens verified by the route (auth.jwt); route ${route} uses this pool without auth.jwt` });
  }
}

const keyOf = (a: unknown): string => (isObj(a) && typeof a['key'] === 'string' ? a['key'] : '');
const isClaim = (a: unknown): boolean => keyOf(a).startsWith('claim:');
