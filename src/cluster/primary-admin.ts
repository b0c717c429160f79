/** The one admin listener of a process tree (in the primary): /healthz, /status and /metrics summed over the workers, the dashboard and its /events, control endpoints sent to every worker, POST /workers/restart. */

import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { TokenCheck } from '../admin/auth.js';
import { isAction } from '../admin/control.js';
import { DASHBOARD_ASSETS } from '../admin/dashboard/assets.js';
import { fail, json, noContent, text, type AdminErrorCode } from '../admin/respond.js';
import type { Primary } from './primary.js';
import { PrimaryEvents } from './primary-events.js';
import { mergeStatus, putCheckCounts, type WorkerStatus } from './status-merge.js';
import { listenTcp } from '../listen.js';
import { normalizeAddress } from '../edge/client-address.js';

const SERVER_ACTION = /^\/pools\/([^/]+)\/servers\/([^/]+)\/([^/]+)$/;

export class PrimaryAdmin {
  readonly server: http.Server;
  readonly #p: Primary;
  readonly #token: TokenCheck;
  readonly #events: PrimaryEvents;

  constructor(primary: Primary) {
    this.#p = primary;
    this.#token = new TokenCheck(primary.config.admin.token, primary.log);
    this.#events = new PrimaryEvents(primary.supervisor, () => this.status(), primary.log, this.#token.required);
    this.server = http.createServer({ headersTimeout: 10_000, requestTimeout: 30_000 }, (req, res) => {
      this.#route(req, res).catch((err: unknown) => {
        primary.log.error({ err }, 'admin request failed');
        if (!res.headersSent) fail(res, 'WSLB_ERR_ADMIN_INTERNAL', 'admin request failed');
      });
    });
  }

  async #route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0]!;
    req.resume();
    const get = req.method === 'GET' || req.method === 'HEAD';
    const post = req.method === 'POST';
    switch (path) {
      case '/healthz':
        if (!get) return this.#method(res, 'GET');
        if (this.#p.shuttingDown()?.phase === 'grace') return text(res, 503, 'shutting down\n');   // workers still proxy
        return text(res, this.#p.draining ? 503 : 200, this.#p.draining ? 'draining\n' : 'ok\n');
      case '/status':
        if (!get) return this.#method(res, 'GET');
        return json(res, 200, await this.status());
      case '/metrics': {
        if (!get) return this.#method(res, 'GET');
        // Our own request/reply per worker (not prom-client's cluster messages): a worker that does not answer counts with its last sample, never a hang.
        const m = await this.#p.metrics.text();
        return text(res, 200, m.body, m.contentType);
      }
      case '/events':
        if (!get) return this.#method(res, 'GET');
        return this.#events.open(req, res);
      case '/reload': {
        if (!post) return this.#method(res, 'POST');
        if (!this.#authorized(req, res)) return;
        this.#p.log.info({ action: 'reload', caller: normalizeAddress(req.socket.remoteAddress ?? '') }, 'admin action');
        const outcome = await this.#p.reload();
        if (outcome.ok) return json(res, 200, { result: 'ok', summary: outcome.summary, restart_required: outcome.restartRequired });
        return fail(res, 'WSLB_ERR_ADMIN_RELOAD', 'invalid configuration; the old one stays', {}, { errors: outcome.errors });
      }
      case '/workers/restart': {
        if (!post) return this.#method(res, 'POST');
        if (!this.#authorized(req, res)) return;
        const sup = this.#p.supervisor;
        if (sup.restarting) return json(res, 409, { error: { code: 'WSLB_ERR_ADMIN_RESTARTING', message: 'a rolling restart is already running' } });
        void sup.rollingRestart(this.#p.config.timeouts.drain).then(() => this.#p.log.info('rolling restart done'));
        return json(res, 202, { result: 'started', workers: sup.slots.length, drain_ms: this.#p.config.timeouts.drain });
      }
    }
    const asset = DASHBOARD_ASSETS[path];
    if (asset) {
      if (!get) return this.#method(res, 'GET');
      return text(res, 200, asset.body, asset.type, asset.headers);
    }
    const m = SERVER_ACTION.exec(path);
    if (m && isAction(m[3]!)) {
      if (!post) return this.#method(res, 'POST');
      if (!this.#authorized(req, res)) return;
      let pool: string, server: string;
      try { pool = decodeURIComponent(m[1]!); server = decodeURIComponent(m[2]!); } catch { return fail(res, 'WSLB_ERR_ADMIN_BAD_PATH', 'malformed percent-encoding in the path'); }
      const code = await this.#p.action(pool, server, m[3], true, normalizeAddress(req.socket.remoteAddress ?? ''));
      if (code) return fail(res, code as AdminErrorCode, `${m[3]} ${pool}/${server} refused`);
      return noContent(res);
    }
    fail(res, 'WSLB_ERR_ADMIN_NOT_FOUND', `no admin endpoint ${path}`);
  }

  /** The workers' /status documents merged, plus the worker list and the Redis sharing state. */
  async status(): Promise<unknown> {
    const sup = this.#p.supervisor;
    const replies = await sup.askAll({ t: 'status' }, 2000);
    const docs: WorkerStatus[] = replies.flatMap((r) => (r.reply?.ok ? [{ slot: r.slot, ...(r.reply.body as Omit<WorkerStatus, 'slot'>) }] : []));
    const merged = mergeStatus(docs);
    const listed = putCheckCounts(merged, this.#p.health.checkCounts());   // the checks run here, not in the workers
    if (docs.length) this.#p.health.prune(listed);
    return {
      ...merged,
      draining: this.#p.draining,
      shutting_down: this.#p.shuttingDown(),
      workers: sup.slots.map((s) => {
        const d = docs.find((x) => x.slot === s);
        return {
          id: s.id, pid: s.worker?.process.pid ?? null, ready: s.ready, crashes: s.crashes, restarts: s.restarts,
          connections: (d?.status as { connections?: number } | undefined)?.connections ?? null,
          farm_active: d?.farm ?? null,   // this worker's view of the farm's counts (what its picks read)
          farm_view: d?.view ?? null,     // ... and of each server's farm-wide bandwidth, RTT and load (src/cluster/farm-view.ts)
        };
      }),
      restarting: sup.restarting,
      worker_crashes: sup.slots.reduce((n, s) => n + s.crashes, 0),    // unplanned exits, each replaced
      worker_restarts: sup.slots.reduce((n, s) => n + s.restarts, 0),  // planned (rolling restart)
      ...(this.#p.share ? { cluster: this.#p.share.status() } : {}),
      sharing: this.#p.sharing.status(),   // per-IP caps and affinity tables across workers and instances
    };
  }

  #method(res: ServerResponse, allow: 'GET' | 'POST'): void {
    fail(res, 'WSLB_ERR_ADMIN_METHOD', `use ${allow}`, { 'Allow': allow === 'GET' ? 'GET, HEAD' : 'POST' });
  }

  #authorized(req: IncomingMessage, res: ServerResponse): boolean {
    if (!this.#token.allows(req)) {
      fail(res, 'WSLB_ERR_ADMIN_UNAUTHORIZED', 'missing or wrong bearer token', { 'WWW-Authenticate': 'Bearer realm="wslb"' });
      return false;
    }
    const origin = req.headers.origin;
    let same = false;
    try { same = origin === undefined || new URL(origin).host === (req.headers.host ?? '').toLowerCase(); } catch { same = false; }
    if (!same) fail(res, 'WSLB_ERR_ADMIN_ORIGIN', `cross-origin request from ${origin} refused`);
    return same;
  }

  async listen(port: number, host: string): Promise<{ address: string; port: number }> {
    const a = await listenTcp(this.server, port, host);
    this.#events.start();
    return a;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.#events.close();
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}
