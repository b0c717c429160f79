/** Reads the key files `routes[].auth.jwt.keys` names and checks each listed algorithm fits its key (an HMAC secret never verifies an asymmetric alg, nor the reverse). */
import { resolve } from 'node:path';
import { algorithmMismatch, JWS_ALGORITHMS, KeyError, readKeyFile } from '../auth/keys.js';
import type { RawIssue } from './checks.js';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Runs where the TLS files are checked (`wslb check`, start, reload): a key that does not load refuses the config. */
export function checkAuthFiles(raw: Obj, baseDir: string): RawIssue[] {
  const issues: RawIssue[] = [];
  const routes = raw['routes'];
  if (!Array.isArray(routes)) return issues;
  routes.forEach((r, i) => {
    const jwt = isObj(r) && isObj(r['auth']) ? r['auth']['jwt'] : undefined;
    if (!isObj(jwt) || typeof jwt['keys'] !== 'string' || !jwt['keys']) return;
    const at = ['routes', i, 'auth', 'jwt'];
    let material;
    try {
      material = readKeyFile(resolve(baseDir, jwt['keys']));
    } catch (err) {
      if (!(err instanceof KeyError)) throw err;
      issues.push({ path: [...at, 'keys'], message: err.message });
      return;
    }
    const algs = jwt['algorithms'];
    if (!Array.isArray(algs)) return;
    algs.forEach((a, n) => {
      // Unknown names (and "none") are the schema's to report.
      const why = typeof a === 'string' && (JWS_ALGORITHMS as readonly string[]).includes(a) ? algorithmMismatch(a, material) : null;
      if (why !== null) issues.push({ path: [...at, 'algorithms', n], message: why });
    });
  });
  return issues;
}
