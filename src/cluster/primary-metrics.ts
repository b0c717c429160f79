/** The primary's own registry in the tree's /metrics: its process series and the counts only it knows, the tree's reloads and the health checks it runs. */

import { Counter, Registry } from 'prom-client';
import { registerDefaultMetrics } from '../metrics/metrics.js';
import type { PrimaryChecks } from './primary-checks.js';

/** Reloads of the whole tree by result, each counted once (the primary validates the file and asks every worker). */
export interface ReloadCounts { ok: number; ok_restart_required: number; error: number }

/** Series of the primary's registry that replace the workers' (theirs count each reload once per worker). */
export const PRIMARY_ONLY: ReadonlySet<string> = new Set(['wslb_config_reloads_total']);

/**
 * `listed(pool, server)`: a live worker still lists that server (the counts of a server a reload
 * removed stay while it drains there, as a single process keeps them).
 */
export function primaryRegistry(health: Pick<PrimaryChecks, 'checkCounts' | 'prune'>, reloads: ReloadCounts, listed: (pool: string, server: string) => boolean): Registry {
  const registry = new Registry();
  const registers = [registry];
  registerDefaultMetrics(registry);
  // Same name, help and labels as src/metrics/metrics.ts: the series add to the workers' (0 for the pools checked here).
  new Counter({
    name: 'wslb_health_check_failures_total', help: 'Active health checks that failed (each probe; `fall` of them in a row mark the server down).',
    labelNames: ['pool', 'server'] as const, registers,
    collect() {
      this.reset();
      health.prune(listed);
      for (const c of health.checkCounts()) this.inc({ pool: c.pool, server: c.server }, c.failures);
    },
  });
  new Counter({
    name: 'wslb_config_reloads_total', help: 'Configuration reloads (SIGHUP, POST /reload) by result.',
    labelNames: ['result'] as const, registers,
    collect() {
      this.reset();
      this.inc({ result: 'ok' }, reloads.ok);
      this.inc({ result: 'ok_restart_required' }, reloads.ok_restart_required);
      this.inc({ result: 'error' }, reloads.error);
    },
  });
  return registry;
}
