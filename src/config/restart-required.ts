/** The config keys a reload cannot apply to a running process (they need a restart), named by path, as long as they differ from what runs. */

import type { Config } from './types.js';

/**
 * Keys a cluster primary owns (its admin listener, its worker count, its Redis link): in a
 * process tree the primary compares these and each worker the rest.
 */
export function ownedByPrimary(path: string): boolean {
  return /^(admin|workers|cluster)(\.|$)/.test(path);
}

/**
 * Every key whose value in `next` differs from the one `running` was started with and that
 * cannot change in place: listeners (opened once; their certificate files are the exception,
 * re-read on reload), the admin listener and its token, `workers`, `cluster`, and
 * `limits.max_header_bytes` (the HTTP parser's limit is fixed when a listener is created).
 */
export function restartRequired(running: Config, next: Config): string[] {
  const out: string[] = [];
  const count = Math.max(running.listeners.length, next.listeners.length);
  for (let i = 0; i < count; i++) {
    const a = running.listeners[i];
    const b = next.listeners[i];
    if (!a || !b) { out.push(`listeners[${i}]`); continue; }
    for (const key of keysOf(a, b)) {
      // Certificate paths apply on reload (src/edge/tls.ts); turning TLS on or off does not.
      if (key === 'tls' ? (a.tls === undefined) !== (b.tls === undefined) : differs(field(a, key), field(b, key))) out.push(`listeners[${i}].${key}`);
    }
  }
  compareKeys('admin', running.admin, next.admin, out);
  if (differs(running.limits.max_header_bytes, next.limits.max_header_bytes)) out.push('limits.max_header_bytes');
  if (differs(running.workers, next.workers)) out.push('workers');
  if (!running.cluster || !next.cluster) {
    if (running.cluster !== next.cluster) out.push('cluster');
  } else compareKeys('cluster', running.cluster, next.cluster, out);
  return out;
}

function compareKeys(prefix: string, a: object, b: object, out: string[]): void {
  for (const key of keysOf(a, b)) if (differs(field(a, key), field(b, key))) out.push(`${prefix}.${key}`);
}

function field(o: object, key: string): unknown {
  return (o as Readonly<Record<string, unknown>>)[key];
}

function keysOf(a: object, b: object): string[] {
  return [...new Set([...Object.keys(a), ...Object.keys(b)])];
}

function differs(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) !== JSON.stringify(b);
}
