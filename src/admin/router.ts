/** The admin listener's one router, for a lone balancer and a cluster primary alike: a table of method + path -> handler over an AdminBackend. */

import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { listenTcp } from '../listen.js';
import { normalizeAddress } from '../edge/client-address.js';
import { RenderGate, TurnPacer } from '../metrics/render-gate.js';
import { TokenCheck } from './auth.js';
import type { AdminBackend } from './backend.js';
import { ACTIONS, isAction, type Action } from './control.js';
import { DASHBOARD_ASSETS } from './dashboard/assets.js';
import { fail, json, noContent, text, type AdminErrorCode } from './respond.js';

/**
 * How /metrics and /status stay cheap under a scrape storm (a render costs ~1 ms of event loop in
 * a lone process, a round of IPC to every worker in a primary): one render per interval shared by
 * all waiting requests, a bound on those requests, and answers paced over event-loop turns.
 */
export interface AdminLimits {
  readonly renderIntervalMs?: number;
  /** /metrics and /status requests in flight at once; past it 503 WSLB_ERR_ADMIN_OVERLOADED. */
  readonly maxRenderRequests?: number;
}

export const RENDER_INTERVAL_MS = 250;
export const MAX_RENDER_REQUESTS = 64;
export const ANSWERS_PER_TURN = 16;

type Handler = (req: IncomingMessage, res: ServerResponse, params: readonly string[]) => void | Promise<void>;

interface Route {
  /** GET also answers HEAD. A POST changes state: the token and the origin are checked before its handler runs. */
  readonly method: 'GET' | 'POST';
  readonly handler: Handler;
  /** What failed, in the log line and the 500's message. */
  readonly what: string;
}

const SERVER_ACTION = new RegExp(`^/pools/([^/]+)/servers/([^/]+)/(${ACTIONS.join('|')})$`);

interface Rendered { readonly body: string; readonly type: string }

export class AdminRouter {
  readonly server: http.Server;
  readonly #backend: AdminBackend;
  readonly #token: TokenCheck;
  readonly #exact = new Map<string, Route>();
  readonly #metricsGate: RenderGate<Rendered>;
  readonly #statusGate: RenderGate<Rendered>;
  readonly #maxRenderRequests: number;
  #renderRequests = 0;
  readonly #pacer = new TurnPacer(ANSWERS_PER_TURN);
  readonly #action: Route;

  constructor(backend: AdminBackend, limits: AdminLimits = {}) {
    this.#backend = backend;
    this.#token = new TokenCheck(backend.token, backend.log);
    const interval = limits.renderIntervalMs ?? RENDER_INTERVAL_MS;
    this.#maxRenderRequests = limits.maxRenderRequests ?? MAX_RENDER_REQUESTS;
    this.#metricsGate = new RenderGate(async () => {
      const m = await backend.metrics();
      return { body: m.body, type: m.contentType };
    }, interval);
    this.#statusGate = new RenderGate(async () => ({ body: `${JSON.stringify(await backend.status())}\n`, type: 'application/json' }), interval);

    const get = (handler: Handler, what = 'admin request'): Route => ({ method: 'GET', handler, what });
    const post = (handler: Handler, what = 'admin request'): Route => ({ method: 'POST', handler, what });
    this.#exact.set('/healthz', get((_req, res) => this.#health(res)));
    this.#exact.set('/status', get((_req, res) => this.#rendered(res, this.#statusGate), 'status'));
    this.#exact.set('/metrics', get((_req, res) => this.#rendered(res, this.#metricsGate), 'metrics collection'));
    this.#exact.set('/events', get((req, res) => backend.events.open(req, res)));
    this.#exact.set('/reload', post((req, res) => this.#reload(req, res), 'reload'));
    if (backend.restartWorkers) this.#exact.set('/workers/restart', post((_req, res) => this.#restartWorkers(res), 'rolling restart'));
    for (const [path, asset] of Object.entries(DASHBOARD_ASSETS)) {
      this.#exact.set(path, get((_req, res) => text(res, 200, asset.body, asset.type, asset.headers)));
    }
    this.#action = post((req, res, [pool, server, action]) => this.#serverAction(req, res, pool!, server!, action!), 'admin action');
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
    let route = this.#exact.get(path);
    let params: readonly string[] = [];
    if (!route) {
      const m = SERVER_ACTION.exec(path);
      if (m) { route = this.#action; params = m.slice(1); }
    }
    if (!route) return fail(res, 'WSLB_ERR_ADMIN_NOT_FOUND', `no admin endpoint ${path}`);
    if (req.method !== route.method && !(route.method === 'GET' && req.method === 'HEAD')) {
      return fail(res, 'WSLB_ERR_ADMIN_METHOD', `${req.method} not allowed; use ${route.method}`, { 'Allow': route.method === 'GET' ? 'GET, HEAD' : 'POST' });
    }
    if (route.method === 'POST' && !this.#authorized(req, res)) return;
    const what = route.what;
    const failed = (err: unknown): void => {
      this.#backend.log.error({ err, path }, `${what} failed`);
      if (!res.headersSent && !res.destroyed) fail(res, 'WSLB_ERR_ADMIN_INTERNAL', `${what} failed`);
    };
    try {
      const done = route.handler(req, res, params);
      if (done) done.catch(failed);
    } catch (err) {
      failed(err);
    }
  };

  #health(res: ServerResponse): void {
    // 503 from the stop signal on (the shutdown grace included): readiness probes take this instance out first.
    const health = this.#backend.health();
    text(res, health === 'ok' ? 200 : 503, `${health}\n`);
  }

  /** /metrics and /status: bounded in number, answered from the shared render (src/metrics/render-gate.ts). */
  async #rendered(res: ServerResponse, gate: RenderGate<Rendered>): Promise<void> {
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
    const r = await gate.get();
    await this.#pacer.next();
    if (!res.destroyed) text(res, 200, r.body, r.type);
  }

  async #serverAction(req: IncomingMessage, res: ServerResponse, rawPool: string, rawServer: string, action: string): Promise<void> {
    let pool: string;
    let server: string;
    try {
      pool = decodeURIComponent(rawPool);
      server = decodeURIComponent(rawServer);
    } catch {
      return fail(res, 'WSLB_ERR_ADMIN_BAD_PATH', 'malformed percent-encoding in the path');
    }
    if (!isAction(action)) return fail(res, 'WSLB_ERR_ADMIN_NOT_FOUND', `no admin action ${action}`);   // not reached: the pattern lists only actions
    const code = await this.#backend.action(pool, server, action, callerOf(req));
    if (code === null) return noContent(res);
    fail(res, code, refusal(code, pool, server, action));
  }

  async #reload(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // Who asked; the outcome follows on the `reload` line.
    this.#backend.log.info({ action: 'reload', caller: callerOf(req) }, 'admin action');
    if (!this.#backend.reload) return fail(res, 'WSLB_ERR_ADMIN_NO_RELOAD', 'reload is not available in this process');
    const outcome = await this.#backend.reload();
    if (outcome.ok) return json(res, 200, { result: 'ok', summary: outcome.summary, restart_required: outcome.restartRequired });
    fail(res, 'WSLB_ERR_ADMIN_RELOAD', 'invalid configuration; the old one stays', {}, { errors: outcome.errors });
  }

  #restartWorkers(res: ServerResponse): void {
    const outcome = this.#backend.restartWorkers!();
    if (!outcome.started) return fail(res, 'WSLB_ERR_ADMIN_RESTARTING', 'a rolling restart is already running');
    json(res, 202, { result: 'started', workers: outcome.workers, drain_ms: outcome.drainMs });
  }

  /**
   * POSTs change state: the bearer token when one is set (refusals logged by TokenCheck), and never
   * from a page of another origin (a browser's cross-site form POST to 127.0.0.1 carries an Origin
   * that differs from Host).
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
    const a = await listenTcp(this.server, port, host);
    this.#backend.events.start?.();
    return a;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.#backend.events.close();
      this.#metricsGate.close();
      this.#statusGate.close();
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}

function callerOf(req: IncomingMessage): string {
  return normalizeAddress(req.socket.remoteAddress ?? '');
}

function refusal(code: AdminErrorCode, pool: string, server: string, action: Action): string {
  switch (code) {
    case 'WSLB_ERR_ADMIN_UNKNOWN_POOL': return `no pool "${pool}"`;
    case 'WSLB_ERR_ADMIN_UNKNOWN_SERVER': return `no server "${server}" in pool "${pool}"`;
    default: return `${action} ${pool}/${server} refused`;
  }
}

/** A missing Host never matches: an Origin with nothing to compare it to is refused. */
function sameOrigin(origin: string, host: string | undefined): boolean {
  try {
    return host !== undefined && new URL(origin).host === host.toLowerCase();
  } catch {
    return false;
  }
}
