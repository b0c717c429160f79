/** Starts the parts of a balancer from a Config and stops them: listeners, admin, drain on shutdown. */

import { checkModules } from './balancing/module.js';
import { defaultDeps } from './balancing/index.js';
import { loadConfigFile } from './config/load.js';
import { restartRequired } from './config/restart-required.js';
import { summarize } from './config/summary.js';
import { ConfigError, formatIssue, type Config } from './config/types.js';
import { AdminServer } from './admin/server.js';
import type { ListenerAddress } from './admin/status.js';
import { Listener } from './edge/listener.js';
import type { Logger } from './log.js';
import { Runtime, type Role } from './runtime.js';
import type { SecureContextOptions } from 'node:tls';

/** `restartRequired`: keys whose new values wait for a restart (src/config/restart-required.ts); empty when everything applied. */
export type ReloadOutcome = { ok: true; summary: string; restartRequired: string[] } | { ok: false; errors: string[] };

export class Balancer {
  readonly runtime: Runtime;
  readonly addresses: ListenerAddress[] = [];
  readonly #listeners: Listener[];
  readonly #admin: AdminServer;
  readonly #log: Logger;
  #closing: Promise<void> | null = null;

  readonly #withAdmin: boolean;
  /** What this process started with: listeners and admin keep it until a restart, whatever reloads say. */
  readonly #started: Config;

  /**
   * `admin: false`: no admin listener (a cluster worker; the primary serves the admin API).
   * `role`: the parts the process's role chooses (src/role.ts); default a lone process's.
   */
  constructor(config: Config, log: Logger, opts: { admin?: boolean; role?: Role } = {}) {
    this.#withAdmin = opts.admin ?? true;
    this.#started = config;
    this.#log = log;
    this.runtime = new Runtime(config, log, {
      ...(opts.role ? { role: opts.role } : {}),
      // An upstream connect out of descriptors pauses every listener's accepting, as an accept that failed would.
      exhausted: (code) => { for (const l of this.#listeners) l.acceptGuard?.exhausted(code); },
    });
    this.#listeners = config.listeners.map((l) => new Listener(this.runtime, l));
    this.#admin = new AdminServer(this.runtime, () => this.addresses, { reload: () => this.reload() });
  }

  /** Opens every listener; throws (with the port in the message) when one cannot bind. */
  async start(): Promise<void> {
    try {
      await this.runtime.loadAlgorithms();   // `{ module }` algorithms: a broken one fails the start (ConfigError)
      // First health results before the first client: every reachable server is up by "listening".
      await this.runtime.firstHealth();
      for (const l of this.#listeners) {
        const a = await l.listen();
        this.addresses.push({ kind: 'proxy', ...a });
        // What the listener speaks: TLS, h2 offered by ALPN (only with TLS), a PROXY header first.
        this.#log.info({ kind: 'proxy', address: a.address, port: a.port, tls: l.config.tls !== undefined, http2: l.h2Front !== null, proxy_protocol: l.config.proxy_protocol }, 'listening');
      }
      if (this.#withAdmin) {
        const c = this.runtime.config.admin;
        const a = await this.#admin.listen(c.port, c.host);
        this.addresses.push({ kind: 'admin', ...a });
        this.#log.info({ kind: 'admin', address: a.address, port: a.port }, 'listening');
      }
      this.runtime.telemetry.start();
      this.runtime.start();
    } catch (err) {
      this.destroy();
      throw err;
    }
  }

  /**
   * Re-reads and validates the config file (SIGHUP, admin POST /reload), algorithm modules
   * included (imported and instantiated before anything changes). Invalid: nothing changes and
   * the errors are returned. Valid: swapped in place (Runtime.applyConfig). Reloads run one at a time.
   */
  reload(env: NodeJS.ProcessEnv = process.env, load?: () => Config): Promise<ReloadOutcome> {
    // `load`: where the new config comes from instead of the file (a cluster worker: the text the primary validated).
    const run = this.#reloading.then(() => this.#reload(env, load));
    this.#reloading = run.catch(() => {});
    return run;
  }

  #reloading: Promise<unknown> = Promise.resolve();

  async #reload(env: NodeJS.ProcessEnv, load?: () => Config): Promise<ReloadOutcome> {
    const rt = this.runtime;
    let next: Config;
    let certificates: (SecureContextOptions | null)[];
    try {
      // `files`: TLS files are read and checked too, so a bad one is refused at its value like any config error.
      const loaded = load ? load() : loadConfigFile(rt.config.file, env, { files: true });
      next = loaded;
      const moduleIssues = await checkModules(next, defaultDeps);
      if (moduleIssues.length) throw new ConfigError(moduleIssues);
      // What each TLS listener will serve, read and checked before anything is swapped.
      certificates = this.#listeners.map((l, i) => l.prepareReload(loaded.listeners[i]));
    } catch (err) {
      rt.reloads.error++;
      const issues = err instanceof ConfigError ? err.issues.map(formatIssue) : [(err as Error).message];
      this.#log.error({ result: 'error', errors: issues }, 'reload');
      return { ok: false, errors: issues };
    }
    // Against the started config, not the previous file: the warning lasts as long as the difference.
    const restart = restartRequired(this.#started, next);
    rt.applyConfig(next);
    this.#listeners.forEach((l, i) => {
      l.reconfigure(next);
      const c = certificates[i];
      if (!c) return;
      l.useCertificates(c);
      this.#log.info({ port: this.proxyPort(i), cert: next.listeners[i]!.tls!.cert }, 'tls certificates reloaded');
    });
    // Children made without a level of their own (pino) inherit this one.
    this.#log.level = next.log.level;
    if (restart.length) rt.reloads.ok_restart_required++;
    else rt.reloads.ok++;
    const summary = summarize(next);
    if (restart.length) this.#log.warn({ result: 'ok', summary, restart_required: restart, warning: 'these keys need a restart; their running values stay' }, 'reload');
    else this.#log.info({ result: 'ok', summary, restart_required: restart }, 'reload');
    return { ok: true, summary, restartRequired: restart };
  }

  proxyPort(i = 0): number {
    return this.addresses.filter((a) => a.kind === 'proxy')[i]!.port;
  }

  adminPort(): number {
    return this.addresses.find((a) => a.kind === 'admin')!.port;
  }

  /**
   * The stop signal's path. For `timeouts.shutdown_grace`, /healthz answers 503 while the
   * listeners keep accepting and proxying (the orchestrator takes the instance out of rotation
   * meanwhile); then close() drains over `timeouts.drain`.
   */
  shutdown(): Promise<void> {
    this.#shutdown ??= (async () => {
      const graceMs = this.runtime.config.timeouts.shutdown_grace;
      this.runtime.shutdown = { graceEndsAt: Date.now() + graceMs };
      if (graceMs > 0) {
        this.#log.info({ grace_ms: graceMs, tunnels: this.runtime.tunnels.size }, 'shutdown grace');
        await new Promise<void>((resolve) => { this.#graceTimer = setTimeout(resolve, graceMs); });
      }
      await this.close();
    })();
    return this.#shutdown;
  }

  #shutdown: Promise<void> | null = null;
  #graceTimer: NodeJS.Timeout | undefined;

  /** Graceful: stop accepting, /healthz says 503, every tunnel closed with 1001 (`code`) spread over `timeouts.drain`. */
  close(windowMs = this.runtime.config.timeouts.drain, code?: number): Promise<void> {
    this.#closing ??= (async () => {
      this.runtime.draining = true;
      this.runtime.stop();   // no rebalancing or discovery changes while shutting down
      const poolsClosed = Promise.all([...this.runtime.pools.values()].map((p) => p.close()));   // health checks, ejection timers
      this.#log.info({ tunnels: this.runtime.tunnels.size, window_ms: windowMs }, 'draining');
      // A net.Server's close waits for every socket it accepted, upgraded ones included: stop
      // accepting now, and let the listeners finish as the drain closes their tunnels.
      const listenersClosed = Promise.all(this.#listeners.map((l) => l.close()));
      // Plain-HTTP exchanges too: SSE streams end cleanly, held polls may finish, the rest is cut at the window's end.
      await Promise.all([this.runtime.tunnels.drain(windowMs, code), this.runtime.http.close(windowMs)]);
      await listenersClosed;
      if (this.#withAdmin) await this.#admin.close();
      await poolsClosed;
      this.runtime.tunnels.stop();
      this.runtime.telemetry.stop();
      await this.runtime.role.close();   // leaves the other workers and instances
      this.#log.info('stopped');
    })();
    return this.#closing;
  }

  /**
   * Stops accepting connections without draining (a cluster worker leaving in a rolling restart:
   * the shared socket goes on to the other workers, handshakes already accepted here complete).
   */
  stopAccepting(): void {
    for (const l of this.#listeners) l.server.close();
  }

  /** Abort: every socket closed now. */
  destroy(): void {
    clearTimeout(this.#graceTimer);
    this.runtime.draining = true;
    for (const l of this.#listeners) { l.server.close(); l.server.closeAllConnections(); }
    this.#admin.server.close();
    this.#admin.server.closeAllConnections();
    this.runtime.tunnels.destroyAll();
    this.runtime.http.destroyAll();
    this.runtime.tunnels.stop();
    this.runtime.stop();
    for (const p of this.runtime.pools.values()) p.destroy();
    this.runtime.telemetry.stop();
    void this.runtime.role.close();
  }
}
