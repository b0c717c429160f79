/** The admin listener: /healthz, /status, /metrics, control endpoints (drain, enable, disable, reload) and the live dashboard. */

import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Runtime } from '../runtime.js';
import { TokenCheck } from './auth.js';
import { applyAction, isAction } from './control.js';
import { DASHBOARD_ASSETS } from './dashboard/assets.js';
import { EventStreams } from './events.js';
import { fail, json, noContent, text } from './respond.js';
import { statusDocument, type ListenerAddress } from './status.js';
import { listenTcp } from '../listen.js';
import { normalizeAddress } from '../edge/client-address.js';
import { RenderGate, TurnPacer } from '../metrics/render-gate.js';
import type { Tick } from '../metrics/sampler.js';

/** What Balancer.reload() answers (src/main.ts). */
export type ReloadOutcome = { ok: true; summary: string; restartRequired: string[] } | { ok: false; errors: string[] };

export interface AdminHooks {
  /** Re-reads the config file; absent: POST /reload answers 501. */
  reload?: () => Promise<ReloadOutcome>;
}

/**
 * How /metrics and /status stay cheap under a scrape storm (a render costs ~1 ms of event loop,
 * every tunnel waits behind it): one render per interval shared by all waiting requests, a bound
 * on those requests, and answers paced over event-loop turns. Defaults: RENDER_INTERVAL_MS,
 * MAX_RENDER_REQUESTS, ANSWERS_PER_TURN.
 */
export interface AdminLimits {
  readonly renderIntervalMs?: number;
  /** /metrics and /status requests in flight at once; past it 503 WSLB_ERR_ADMIN_OVERLOADED. */
  readonly maxRenderRequests?: number;
}

export const RENDER_INTERVAL_MS = 250;
export const MAX_RENDER_REQUESTS = 64;
export const ANSWERS_PER_TURN = 16;

const SERVER_ACTION = /^\/pools\/([^/]+)\/servers\/([^/]+)\/([^/]+)$/;

export class AdminServer {
  readonly #rt: Runtime;
  readonly #listeners: () => readonly ListenerAddress[];
  readonly #hooks: AdminHooks;
  // Read once: admin settings need a restart to change (as the listener's address does).
  readonly #token: TokenCheck;
  readonly #events: EventStreams<Tick>;
  readonly #metricsGate: RenderGate<string>;
  readonly #statusGate: RenderGate<string>;
  readonly #maxRenderRequests: number;
  #renderRequests = 0;
  readonly #pacer = new TurnPacer(ANSWERS_PER_TURN);
  readonly server: http.Server;

  constructor(rt: Runtime, listeners: () => readonly ListenerAddress[], hooks: AdminHooks = {}, limits: AdminLimits = {}) {
    this.#rt = rt;
    this.#listeners = listeners;
    this.#hooks = hooks;
    this.#token = new TokenCheck(rt.config.admin.token, rt.log);
    this.#events = new EventStreams(rt.telemetry.sampler, (tick) => ({
      t: tick.sample.t,
      auth: this.#token.required,
      status: statusDocument(this.#rt, this.#listeners()),
      rates: tick.rates,
      totals: tick.totals,
      sample: tick.sample,
    }));
    const interval = limits.renderIntervalMs ?? RENDER_INTERVAL_MS;
    this.#metricsGate = new RenderGate(() => rt.telemetry.metrics.text(), interval);
    this.#statusGate = new RenderGate(() => `${JSON.stringify(statusDocument(rt, listeners()))}\n`, interval);
    this.#maxRenderRequests = limits.maxRenderRequests ?? MAX_RENDER_REQUESTS;
    this.server = http.createServer({ headersTimeout: 10_000, requestTimeout: 30_000 }, this.onRequest);
  }

  /** Renders run so far, by endpoint (tests and the bench read them). */
  get renders(): { metrics: number; status: number } {
    return { metrics: this.#metricsGate.renders, status: this.#statusGate.renders };
  }

  onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? '/').split('?')[0]!;
    // Request bodies are not used: read and drop them so the connection stays usable.
    req.resume();
    switch (path) {
      case '/healthz':
        if (!this.#allow(req, res, 'GET')) return;
        // 503 from the stop signal on (the shutdown grace included): readiness probes take this instance out first.
        if (this.#rt.shutdown && !this.#rt.draining) return text(res, 503, 'shutting down\n');
        return text(res, this.#rt.draining ? 503 : 200, this.#rt.draining ? 'draining\n' : 'ok\n');
      case '/status':
        if (!this.#allow(req, res, 'GET')) return;
        return void this.#rendered(res, this.#statusGate, 'application/json', 'status');
      case '/metrics':
        if (!this.#allow(req, res, 'GET')) return;
        return void this.#rendered(res, this.#metricsGate, this.#rt.telemetry.metrics.contentType, 'metrics collection');
      case '/events':
        if (!this.#allow(req, res, 'GET')) return;
        return this.#events.open(req, res);
      case '/reload':
        if (!this.#allow(req, res, 'POST') || !this.#authorized(req, res)) return;
        // Who asked; the outcome follows on the `reload` line.
        this.#rt.log.info({ action: 'reload', caller: normalizeAddress(req.socket.remoteAddress ?? '') }, 'admin action');
        return void this.#reload(res).catch((err: unknown) => {
          this.#rt.log.error({ err }, 'reload failed');
          if (!res.headersSent) fail(res, 'WSLB_ERR_ADMIN_INTERNAL', 'reload failed');
        });
    }
    const asset = DASHBOARD_ASSETS[path];
    if (asset) {
      if (!this.#allow(req, res, 'GET')) return;
      return text(res, 200, asset.body, asset.type, asset.headers);
    }
    const m = SERVER_ACTION.exec(path);
    if (m && isAction(m[3]!)) {
      if (!this.#allow(req, res, 'POST') || !this.#authorized(req, res)) return;
      return this.#serverAction(req, res, m[1]!, m[2]!, m[3]);
    }
    fail(res, 'WSLB_ERR_ADMIN_NOT_FOUND', `no admin endpoint ${path}`);
  };

  /** /metrics and /status: bounded in number, answered from the shared render (src/metrics/render-gate.ts). */
  async #rendered(res: ServerResponse, gate: RenderGate<string>, type: string, what: string): Promise<void> {
    if (this.#renderRequests >= this.#maxRenderRequests) {
      // Sent with the batch it could not join: a client retrying at once cannot spin faster than the renders.
      await gate.get().catch(() => undefined);
      await this.#pacer.next();
      if (res.destroyed) return;
      return fail(res, 'WSLB_ERR_ADMIN_OVERLOADED', `more than ${this.#maxRenderRequests} /metrics and /status requests at once`,
        { 'Retry-After': '1', 'X-Wslb-Error': 'WSLB_ERR_ADMIN_OVERLOADED' });
    }
    this.#renderRequests++;
    res.once('close', () => { this.#renderRequests--; });
    try {
      const body = await gate.get();
      await this.#pacer.next();
      if (!res.destroyed) text(res, 200, body, type);
    } catch (err) {
      this.#rt.log.error({ err }, `${what} failed`);
      if (!res.headersSent && !res.destroyed) fail(res, 'WSLB_ERR_ADMIN_INTERNAL', `${what} failed`);
    }
  }

  #serverAction(req: IncomingMessage, res: ServerResponse, rawPool: string, rawServer: string, action: 'drain' | 'enable' | 'disable'): void {
    let poolName: string;
    let serverName: string;
    try {
      poolName = decodeURIComponent(rawPool);
      serverName = decodeURIComponent(rawServer);
    } catch {
      return fail(res, 'WSLB_ERR_ADMIN_BAD_PATH', 'malformed percent-encoding in the path');
    }
    const pool = this.#rt.pools.get(poolName);
    if (!pool) return fail(res, 'WSLB_ERR_ADMIN_UNKNOWN_POOL', `no pool "${poolName}"`);
    const server = pool.server(serverName);
    if (!server) return fail(res, 'WSLB_ERR_ADMIN_UNKNOWN_SERVER', `no server "${serverName}" in pool "${poolName}"`);
    applyAction(this.#rt, server, action, true, normalizeAddress(req.socket.remoteAddress ?? ''));
    noContent(res);
  }

  async #reload(res: ServerResponse): Promise<void> {
    const reload = this.#hooks.reload;
    if (!reload) return fail(res, 'WSLB_ERR_ADMIN_NO_RELOAD', 'reload is not available in this process');
    const outcome = await reload();
    if (outcome.ok) return json(res, 200, { result: 'ok', summary: outcome.summary, restart_required: outcome.restartRequired });
    fail(res, 'WSLB_ERR_ADMIN_RELOAD', 'invalid configuration; the old one stays', {}, { errors: outcome.errors });
  }

  #allow(req: IncomingMessage, res: ServerResponse, method: 'GET' | 'POST'): boolean {
    if (req.method === method || (method === 'GET' && req.method === 'HEAD')) return true;
    fail(res, 'WSLB_ERR_ADMIN_METHOD', `${req.method} not allowed; use ${method}`, { 'Allow': method === 'GET' ? 'GET, HEAD' : 'POST' });
    return false;
  }

  /**
   * POSTs change state: the bearer token when one is set, and never from a page of another
   * origin (a browser's cross-site form POST to 127.0.0.1 carries an Origin that differs from Host).
   */
  #authorized(req: IncomingMessage, res: ServerResponse): boolean {
    if (!this.#token.allows(req)) {
      fail(res, 'WSLB_ERR_ADMIN_UNAUTHORIZED', 'missing or wrong bearer token', { 'WWW-Authenticate': 'Bearer realm="wslb"' });
      return false;
    }
    const origin = req.headers.origin;
    if (origin !== undefined && !sameOrigin(origin, req.headers.host)) {
      fail(res, 'WSLB_ERR_ADMIN_ORIGIN', `cross-origin request from ${origin} refused`);
      return false;
    }
    return true;
  }

  async listen(port: number, host: string): Promise<{ address: string; port: number }> {
    return listenTcp(this.server, port, host);
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.#events.closeAll();
      this.#metricsGate.close();
      this.#statusGate.close();
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}

function sameOrigin(origin: string, host: string | undefined): boolean {
  try {
    return host !== undefined && new URL(origin).host === host.toLowerCase();
  } catch {
    return false;
  }
}
