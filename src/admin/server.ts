/** The admin listener of a lone balancer: the shared router (router.ts) over this process's Runtime. */

import type http from 'node:http';
import type { Runtime } from '../runtime.js';
import type { Tick } from '../metrics/sampler.js';
import type { AdminBackend, AdminEvents, Health, ReloadOutcome } from './backend.js';
import { applyAction, type Action } from './control.js';
import { EventStreams } from './events.js';
import type { AdminErrorCode } from './respond.js';
import { AdminRouter, type AdminLimits } from './router.js';
import { statusDocument, type ListenerAddress, type StatusDocument } from './status.js';

export type { ReloadOutcome } from './backend.js';
export { ANSWERS_PER_TURN, MAX_RENDER_REQUESTS, RENDER_INTERVAL_MS, type AdminLimits } from './router.js';

export interface AdminHooks {
  /** Re-reads the config file; absent: POST /reload answers 501. */
  reload?: () => Promise<ReloadOutcome>;
}

/** This process's answers to the router. */
class LoneBackend implements AdminBackend {
  readonly #rt: Runtime;
  readonly #listeners: () => readonly ListenerAddress[];
  readonly #streams: EventStreams<Tick>;
  readonly token: string;
  readonly events: AdminEvents;
  readonly reload?: () => Promise<ReloadOutcome>;

  constructor(rt: Runtime, listeners: () => readonly ListenerAddress[], hooks: AdminHooks) {
    this.#rt = rt;
    this.#listeners = listeners;
    // Read once: admin settings need a restart to change (as the listener's address does).
    this.token = rt.config.admin.token;
    if (hooks.reload) this.reload = hooks.reload;
    const auth = this.token !== '';
    this.#streams = new EventStreams(rt.telemetry.sampler, (tick) => ({
      t: tick.sample.t, auth, status: this.status(), rates: tick.rates, totals: tick.totals, sample: tick.sample,
    }));
    this.events = { open: (req, res) => this.#streams.open(req, res), close: () => this.#streams.closeAll() };
  }

  get log(): Runtime['log'] {
    return this.#rt.log;
  }

  health(): Health {
    // `shutdown` is set by the stop signal; `draining` once the grace ends and the drain starts.
    if (this.#rt.draining) return 'draining';
    return this.#rt.shutdown ? 'shutting down' : 'ok';
  }

  status(): StatusDocument {
    return statusDocument(this.#rt, this.#listeners());
  }

  async metrics(): Promise<{ body: string; contentType: string }> {
    return { body: await this.#rt.telemetry.metrics.text(), contentType: this.#rt.telemetry.metrics.contentType };
  }

  action(poolName: string, serverName: string, action: Action, caller: string): AdminErrorCode | null {
    const pool = this.#rt.pools.get(poolName);
    if (!pool) return 'WSLB_ERR_ADMIN_UNKNOWN_POOL';
    const server = pool.server(serverName);
    if (!server) return 'WSLB_ERR_ADMIN_UNKNOWN_SERVER';
    applyAction(this.#rt, server, action, caller);
    this.#rt.role.actionIssued(server, action);   // a lone instance sharing through Redis: in force for the others too
    return null;
  }
}

export class AdminServer {
  readonly #router: AdminRouter;

  constructor(rt: Runtime, listeners: () => readonly ListenerAddress[], hooks: AdminHooks = {}, limits: AdminLimits = {}) {
    this.#router = new AdminRouter(new LoneBackend(rt, listeners, hooks), limits);
  }

  get server(): http.Server {
    return this.#router.server;
  }

  /** Renders run so far, by endpoint (tests and the bench read them). */
  get renders(): { metrics: number; status: number } {
    return this.#router.renders;
  }

  listen(port: number, host: string): Promise<{ address: string; port: number }> {
    return this.#router.listen(port, host);
  }

  close(): Promise<void> {
    return this.#router.close();
  }
}
