/** `routes[].auth.forward`: asks an HTTP service about each handshake (like nginx auth_request) over a keep-alive agent, with a timeout, bounded concurrency and an optional cache per credentials. */

import http from 'node:http';
import https from 'node:https';
import type { ForwardAuthConfig } from '../config/types.js';
import { deadlines, type Deadline, type Expiring } from '../edge/deadlines.js';
import { forwardedRequestHeaders } from '../tunnel/headers.js';
import { AnswerCache, credentialKey } from './cache.js';
import { headerSafe, type EditableRequest } from './request-edit.js';

export type ForwardVerdict =
  | { readonly ok: true; readonly copy: readonly (readonly [string, string])[] }
  | {
    readonly ok: false;
    readonly code: 'WSLB_ERR_AUTH' | 'WSLB_ERR_AUTH_FORBIDDEN' | 'WSLB_ERR_AUTH_UNAVAILABLE';
    readonly headers: readonly (readonly [string, string])[];
    readonly why: string;
  };

/** What the subrequest says about the client besides its own headers. */
export interface ForwardInfo {
  /** The immediate peer's address (appended to X-Forwarded-For, as for the server). */
  readonly peer: string;
  readonly tls: boolean;
}

/** Answers remembered per route, at most. */
export const MAX_CACHED_ANSWERS = 10_000;
/** Handshakes waiting for a subrequest slot, at most; past it they get 503 at once. */
export const MAX_WAITING = 1000;

type Request = EditableRequest & { readonly method?: string | undefined };

/** One subrequest from the wait for a slot to the service's answer. */
class Job implements Expiring {
  deadline: Deadline | null = null;
  upReq: http.ClientRequest | null = null;
  upRes: http.IncomingMessage | null = null;
  settled = false;
  started = false;
  constructor(readonly run: () => void, readonly settle: (v: ForwardVerdict) => void) {}
  expire(): void {
    this.deadline = null;
    this.upRes?.destroy();
    this.upReq?.destroy();
    this.settle(unavailable('no answer in time'));
  }
}

function unavailable(why: string): ForwardVerdict {
  return { ok: false, code: 'WSLB_ERR_AUTH_UNAVAILABLE', headers: [['Retry-After', '1']], why };
}

export class ForwardAuth {
  readonly #cfg: ForwardAuthConfig;
  readonly #url: URL;
  readonly #agent: http.Agent;
  readonly #now: () => number;
  readonly #cache = new AnswerCache<ForwardVerdict>(MAX_CACHED_ANSWERS);
  #active = 0;
  readonly #queue: Job[] = [];

  constructor(cfg: ForwardAuthConfig, now: () => number = Date.now) {
    this.#cfg = cfg;
    this.#url = new URL(cfg.url);
    const opts = { keepAlive: true, maxSockets: cfg.concurrency, timeout: 60_000 };
    this.#agent = this.#url.protocol === 'https:' ? new https.Agent(opts) : new http.Agent(opts);
    this.#now = now;
  }

  /** Subrequests in flight and handshakes waiting for one (tests, /status). */
  get load(): { active: number; waiting: number } {
    return { active: this.#active, waiting: this.#queue.length };
  }

  /** Answers at once from the cache; otherwise asks the service. Never rejects. */
  check(req: Request, info: ForwardInfo): ForwardVerdict | Promise<ForwardVerdict> {
    const key = this.#cfg.cache > 0 ? cacheKey(req) : null;
    if (key !== null) {
      const hit = this.#cache.get(key, this.#now());
      if (hit !== undefined) return hit;
    }
    if (this.#queue.length >= MAX_WAITING) return unavailable('too many handshakes waiting for the auth service');
    const headers = this.#headers(req, info);
    return new Promise<ForwardVerdict>((resolve) => {
      const job: Job = new Job(() => this.#send(job, headers), (v) => {
        if (job.settled) return;
        job.settled = true;
        if (job.deadline !== null) { deadlines.cancel(job.deadline); job.deadline = null; }
        if (job.started) this.#release();
        else this.#queue.splice(this.#queue.indexOf(job), 1);
        // Passes and the service's own refusals are its answers; failures and timeouts are not.
        if (key !== null && (v.ok || v.code !== 'WSLB_ERR_AUTH_UNAVAILABLE')) this.#cache.set(key, v, this.#now() + this.#cfg.cache);
        resolve(v);
      });
      job.deadline = deadlines.arm(this.#cfg.timeout, job);
      if (this.#active < this.#cfg.concurrency) this.#start(job);
      else this.#queue.push(job);
    });
  }

  /** Closes the agent's idle connections (a reload replaced this route's config). */
  close(): void {
    this.#agent.destroy();
  }

  #start(job: Job): void {
    this.#active++;
    job.started = true;
    job.run();
  }

  #release(): void {
    this.#active--;
    const next = this.#queue.shift();
    if (next !== undefined) this.#start(next);
  }

  /** Authorization, Cookie, Origin, and X-Forwarded-* as the server would get them, plus X-Forwarded-Uri and -Method. */
  #headers(req: Request, info: ForwardInfo): Record<string, string> {
    const out: Record<string, string> = {};
    const h = req.headers;
    if (h.authorization !== undefined) out['Authorization'] = h.authorization;
    if (h.cookie !== undefined) out['Cookie'] = h.cookie;
    if (typeof h.origin === 'string') out['Origin'] = h.origin;
    for (const [name, value] of forwardedRequestHeaders(req, { clientAddress: info.peer, proto: info.tls ? 'https' : 'http' })) {
      if (name.startsWith('X-Forwarded-')) out[name] = value;
    }
    out['X-Forwarded-Uri'] = req.url ?? '/';
    out['X-Forwarded-Method'] = req.method ?? 'GET';
    return out;
  }

  #send(job: Job, headers: Record<string, string>, retried = false): void {
    const mod = this.#url.protocol === 'https:' ? https : http;
    const upReq = mod.request(this.#url, { method: 'GET', headers, agent: this.#agent });
    job.upReq = upReq;
    upReq.on('error', (err: NodeJS.ErrnoException) => {
      if (job.settled) return;
      // The service closed an idle keep-alive connection as it was reused: not its answer.
      if (upReq.reusedSocket && !retried && err.code === 'ECONNRESET') { this.#send(job, headers, true); return; }
      job.settle(unavailable(`auth service: ${err.code ?? err.message}`));
    });
    upReq.on('response', (res) => {
      job.upRes = res;
      res.on('error', () => {});
      if (job.settled) { res.destroy(); return; }
      // The body is not read, only drained so the connection can be reused; one that does not end within the timeout is cut.
      if (!res.complete) {
        const cut = deadlines.arm(this.#cfg.timeout, { expire: () => res.destroy() });
        res.on('close', () => deadlines.cancel(cut));
      }
      res.resume();
      job.settle(this.#verdict(res));
    });
    upReq.end();
  }

  #verdict(res: http.IncomingMessage): ForwardVerdict {
    const status = res.statusCode ?? 0;
    if (status >= 200 && status < 300) {
      const copy: [string, string][] = [];
      for (const name of this.#cfg.copy) {
        const v = res.headers[name.toLowerCase()];
        const text = Array.isArray(v) ? v.join(', ') : v;
        if (text !== undefined && headerSafe(text)) copy.push([name, text]);
      }
      return { ok: true, copy };
    }
    if (status === 401 || status === 403) {
      const challenge = res.headers['www-authenticate'];
      const headers: [string, string][] = challenge !== undefined && headerSafe(challenge) ? [['WWW-Authenticate', challenge]] : [];
      return { ok: false, code: status === 401 ? 'WSLB_ERR_AUTH' : 'WSLB_ERR_AUTH_FORBIDDEN', headers, why: `auth service answered ${status}` };
    }
    return unavailable(`auth service answered ${status}`);
  }
}

/**
 * The credentials an answer may be reused for: Authorization and Cookie, with the Origin, Host
 * and path (not the query) the service judged; null (never cached) when the request carries
 * neither Authorization nor Cookie, so no answer is ever shared between anonymous clients.
 */
function cacheKey(req: Request): string | null {
  const h = req.headers;
  if (h.authorization === undefined && h.cookie === undefined) return null;
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  return credentialKey(JSON.stringify([h.authorization ?? null, h.cookie ?? null, h.origin ?? null, h.host ?? null, q === -1 ? url : url.slice(0, q)]));
}
