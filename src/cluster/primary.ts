/**
 * The cluster primary (`workers: N | auto`, N > 1): supervises the workers, runs health checks
 * and load polls once, relays the replicated tables between the workers and, with `cluster:`,
 * other instances (src/cluster/relay.ts), serves the one admin API, and turns SIGTERM into a
 * drain of every worker and SIGHUP into a reload of every worker.
 */

import type { Worker } from 'node:cluster';
import os from 'node:os';
import { checkModules } from '../balancing/module.js';
import { defaultDeps } from '../balancing/index.js';
import { loadSource, readConfigSource } from './config-source.js';
import type { ConfigSource } from './protocol.js';
import { ConfigError, formatIssue, type Config } from '../config/types.js';
import { ownedByPrimary, restartRequired } from '../config/restart-required.js';
import type { Logger } from '../log.js';
import { PrimaryAdmin } from './primary-admin.js';
import { PrimaryChecks } from './primary-checks.js';
import { PrimaryTables } from './relay.js';
import { instanceId } from './sharing.js';
import { Supervisor } from './supervisor.js';
import { TreeMetrics } from './tree-metrics.js';
import { primaryRegistry, type ReloadCounts } from './primary-metrics.js';
import { handleSignals } from '../signals.js';
import { shuttingDown, type ShuttingDown } from '../admin/status.js';
import type { AdminAction } from '../role.js';

/** How long a worker may take to apply a reload (algorithm modules are imported) before it counts as failed and is replaced. */
const RELOAD_ANSWER_MS = 10_000;

/** `workers: auto` = one per core (os.availableParallelism). */
export function workerCount(w: number | 'auto'): number {
  return w === 'auto' ? Math.max(1, os.availableParallelism()) : w;
}

export class Primary {
  config: Config;
  readonly log: Logger;
  readonly supervisor: Supervisor;
  /** The tree's one set of health checks and load pollers; every worker gets their reports. */
  readonly checks: PrimaryChecks;
  readonly admin: PrimaryAdmin;
  draining = false;
  /** The replicated tables (figures, per-IP counts, affinity sessions, admin actions) relayed between workers and instances. */
  readonly sharing: PrimaryTables;
  /** /metrics: the workers' counters kept across their exits, the primary's own process series. */
  readonly metrics: TreeMetrics;
  /** Reloads of the tree, each once with its result (the workers' own counts would say each N times and miss the ones refused here). */
  readonly reloads: ReloadCounts = { ok: 0, ok_restart_required: 0, error: 0 };
  /** The text and environment of `config`: what every worker runs, sent in answer to its `hello` (workers never read the file). */
  source: ConfigSource;
  /** The source each worker was last sent, so a worker that was starting during a reload gets the new one too. */
  readonly #given = new WeakMap<Worker, ConfigSource>();

  /** What the primary started with: its admin listener, worker count and Redis link keep it until a restart. */
  readonly #started: Config;

  constructor(config: Config, log: Logger, source: ConfigSource) {
    this.config = config;
    this.source = source;
    this.#started = config;
    this.log = log;
    this.checks = new PrimaryChecks(config, log, (w, m) => this.supervisor.send(w, m));
    const instance = instanceId(config.cluster?.name);
    this.supervisor = new Supervisor(workerCount(config.workers), log, {
      onMessage: (w, m) => {
        if (m.t === 'tables') this.sharing.fromWorker(w, m.msgs);
        else if (m.t === 'tables-sync') this.sharing.welcome(w, m.origins);
        else if (m.t === 'final-metrics') this.metrics.record(w, m.body);
        // Nothing is sent at fork: a worker drops messages that arrive before its listener exists. Its `hello` asks for the config, then the state.
        else if (m.t === 'hello') { this.#sendConfig(w); this.checks.welcome(w); this.sharing.welcome(w); this.#welcomeMetrics(w); }
      },
      onExit: (w) => { this.checks.forget(w); this.sharing.onExit(w); },
    }, { WSLB_INSTANCE: instance });
    this.sharing = new PrimaryTables(instance, this.supervisor, config, this.checks, log);
    this.metrics = new TreeMetrics(this.supervisor, primaryRegistry(this.checks, this.reloads, (pool, server) => this.metrics.listed(pool, server)));
    this.admin = new PrimaryAdmin(this);
  }

  async start(): Promise<void> {
    await this.checks.ready();   // first results before the first worker listens
    this.checks.start(() => this.supervisor.workers);
    this.sharing.start();   // with `cluster:`, the Redis link too
    this.metrics.start();
    await this.supervisor.start();
    const c = this.config.admin;
    const a = await this.admin.listen(c.port, c.host);
    this.log.info({ kind: 'admin', address: a.address, port: a.port, workers: this.supervisor.slots.length }, 'listening');
  }

  /**
   * An admin action on every worker; the first failing worker's code, or null. Then it is in force
   * (the admin table): for workers that start later and for the other instances. `caller`: the
   * admin client's address, for the workers' log lines.
   */
  async action(pool: string, server: string, action: AdminAction, caller?: string): Promise<string | null> {
    const at = Date.now();
    const replies = await this.supervisor.askAll(caller === undefined ? { t: 'action', pool, server, action, at } : { t: 'action', pool, server, action, at, caller });
    const failed = replies.find((r) => r.reply && !r.reply.ok);
    if (failed) return failed.reply!.code ?? 'WSLB_ERR_ADMIN_INTERNAL';
    this.sharing.issue(pool, server, action, at, caller);
    return null;
  }

  /**
   * Validates the file here first, so either every worker takes the new config or none does;
   * then the primary's health checks and every worker apply the same text (workers never read the
   * file). A worker that fails to apply what the primary accepted is replaced by one that starts with it.
   */
  async reload(): Promise<{ ok: true; summary: unknown; restartRequired: string[] } | { ok: false; errors: string[] }> {
    let next: Config;
    let source: ConfigSource;
    try {
      source = readConfigSource(this.source.file);
      next = loadSource(source, { files: true });   // TLS files too: every worker or none
      const moduleIssues = await checkModules(next, defaultDeps);   // a broken algorithm module refuses the reload for every worker
      if (moduleIssues.length) throw new ConfigError(moduleIssues);
    } catch (err) {
      const errors = err instanceof ConfigError ? err.issues.map(formatIssue) : [(err as Error).message];
      this.log.error({ result: 'error', errors }, 'reload');
      this.reloads.error++;
      return { ok: false, errors };
    }
    this.config = next;
    this.source = source;   // workers that say `hello` from now on start with it
    this.log.level = next.log.level;
    this.checks.apply(next);   // pools and load pollers follow the config
    const replies = await this.supervisor.askAll({ t: 'reload', source }, RELOAD_ANSWER_MS);
    for (const r of replies) if (r.reply?.ok) this.#given.set(r.slot.worker!, source);
    // Workers that were starting (not asked): they got the old config at their `hello`.
    for (const w of this.supervisor.workers) if (this.#given.has(w) && this.#given.get(w) !== source && !replies.some((r) => r.slot.worker === w)) this.#sendConfig(w);
    this.checks.resend();   // every worker gets every report again, the servers it has just learnt included
    const failed = replies.filter((r) => !r.reply?.ok);
    if (failed.length) return this.#halfReloaded(replies, failed);
    // The primary's own keys against what it started with; the rest as each worker runs them.
    const restart = new Set(restartRequired(this.#started, next).filter(ownedByPrimary));
    for (const r of replies) for (const k of (r.reply?.body as { restartRequired?: string[] } | undefined)?.restartRequired ?? []) if (!ownedByPrimary(k)) restart.add(k);
    const restartList = [...restart];
    const summary = (replies[0]?.reply?.body as { summary?: unknown } | undefined)?.summary ?? null;
    this.reloads[restartList.length ? 'ok_restart_required' : 'ok']++;
    if (restartList.length) this.log.warn({ result: 'ok', workers: replies.length, summary, restart_required: restartList, warning: 'these keys need a restart; their running values stay' }, 'reload');
    else this.log.info({ result: 'ok', workers: replies.length, summary, restart_required: restartList }, 'reload');
    return { ok: true, summary, restartRequired: restartList };
  }

  /**
   * The stop signal's path: /healthz says 503 at once while the workers keep accepting and
   * proxying for `timeouts.shutdown_grace`; then close().
   */
  shutdown(): Promise<void> {
    this.#shutdown ??= (async () => {
      const graceMs = this.config.timeouts.shutdown_grace;
      this.shutdownState = { graceEndsAt: Date.now() + graceMs };
      this.draining = true;
      if (graceMs > 0) {
        this.log.info({ grace_ms: graceMs, workers: this.supervisor.workers.length }, 'shutdown grace');
        await new Promise<void>((resolve) => { this.#graceTimer = setTimeout(resolve, graceMs); });
      }
      await this.close();
    })();
    return this.#shutdown;
  }

  /** Set by the stop signal: when the grace ends (the `shutting_down` field of /status). */
  shutdownState: { readonly graceEndsAt: number } | null = null;
  #workersDraining = false;
  #shutdown: Promise<void> | null = null;
  #graceTimer: NodeJS.Timeout | undefined;

  shuttingDown(): ShuttingDown | null {
    return shuttingDown(this.shutdownState, this.#workersDraining);
  }

  /** Every worker drains over `timeouts.drain`, then the primary exits. */
  async close(): Promise<void> {
    this.draining = true;
    this.#workersDraining = true;
    this.log.info({ workers: this.supervisor.workers.length, window_ms: this.config.timeouts.drain }, 'draining');
    await this.supervisor.stop(this.config.timeouts.drain);
    this.metrics.close();
    await this.sharing.close();
    await this.checks.close();
    await this.admin.close();
    this.log.info('stopped');
  }

  #sendConfig(w: Worker): void {
    this.#given.set(w, this.source);
    this.supervisor.send(w, { t: 'config', source: this.source });
  }

  /**
   * Some workers did not apply a config the primary had accepted (an error or no answer): it is in
   * force anyway (the primary's checks, the workers that applied it, every worker that starts), so each
   * of those is replaced by a worker that starts with it rather than leaving the tree half-reloaded.
   */
  #halfReloaded(replies: Awaited<ReturnType<Supervisor['askAll']>>, failed: typeof replies): { ok: false; errors: string[] } {
    const errors = failed.map((r) => `worker ${r.slot.id}: ${JSON.stringify(r.reply?.body ?? 'no answer')}`);
    const applied = replies.filter((r) => r.reply?.ok).map((r) => r.slot.id);
    const replaced = failed.map((r) => r.slot.id);
    errors.push(`the new config is in force: ${applied.length ? `worker(s) ${applied.join(', ')} applied it; ` : ''}worker(s) ${replaced.join(', ')} are being replaced by workers that start with it`);
    this.reloads.error++;
    this.log.error({ result: 'error', errors, applied, replaced }, 'reload');
    for (const r of failed) {
      void this.supervisor.replace(r.slot, r.slot.worker!, this.config.timeouts.drain).catch((err: unknown) => this.log.error({ err, worker: r.slot.id }, 'replacing a worker failed'));
    }
    return { ok: false, errors };
  }

  #welcomeMetrics(w: Worker): void {
    const slot = this.supervisor.slots.find((s) => s.worker === w);
    if (slot) this.metrics.welcome(w, slot.id);
  }

  destroy(): void {
    clearTimeout(this.#graceTimer);
    for (const w of this.supervisor.workers) w.process.kill('SIGKILL');
  }
}

/** The primary's process: SIGTERM/SIGINT stop the tree (a second one aborts), SIGHUP reloads it. */
export async function runPrimary(config: Config, log: Logger, source: ConfigSource, onStopped?: () => Promise<void>): Promise<Primary> {
  const primary = new Primary(config, log, source);
  await primary.start();
  handleSignals(primary, log, onStopped);
  return primary;
}
