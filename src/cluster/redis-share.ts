/**
 * Instances of one farm share per-server figures (tunnels, bandwidth, RTT: src/cluster/farm-view.ts) through Redis: each publishes its own
 * every second under a key that expires (a dead instance drops out), reads the others' and
 * hands their sum to the pick path; admin actions go out on a pub/sub channel. Redis down or
 * slow: local numbers only, said in /status and the log, sharing resumes when it is back.
 * Nothing here is awaited by a handshake.
 */

import os from 'node:os';
import { createClient } from 'redis';
import type { Logger } from '../log.js';
import { addShare, type FarmShare } from './farm-view.js';

export const PUBLISH_MS = 1000;
/** An instance that has not published for this long no longer counts. */
export const EXPIRY_MS = 3000;
/** A Redis round trip slower than this counts as Redis down for this tick. */
const OP_TIMEOUT_MS = 500;
const PREFIX = 'wslb';

export type AdminAction = 'drain' | 'enable' | 'disable';

export interface ShareHooks {
  /** This instance's figures now (a lone process: its servers; a cluster primary: its tree's sum). */
  local(): FarmShare;
  /** The other instances' sum per server (empty while Redis is down: local numbers only). */
  remote(figures: FarmShare): void;
  /** An admin action done on another instance. */
  action(pool: string, server: string, action: AdminAction): void;
}

interface Peer { readonly name: string; readonly age_ms: number }

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis did not answer in ${ms} ms`)), ms);
    p.then((v) => { clearTimeout(timer); resolve(v); }, (e: unknown) => { clearTimeout(timer); reject(e as Error); });
  });
}

export class RedisShare {
  /** Unique per process: `name` comes from a config that every replica may share (a Kubernetes ConfigMap). */
  readonly instance: string;
  readonly #url: string;
  readonly #log: Logger;
  readonly #hooks: ShareHooks;
  readonly #client: ReturnType<typeof createClient>;
  readonly #sub: ReturnType<typeof createClient>;
  #timer: NodeJS.Timeout | null = null;
  #busy = false;
  #up: boolean | null = null;   // null: not known yet
  #since = Date.now();
  #error: string | null = null;
  #peers: Peer[] = [];

  constructor(cfg: { redis: string; name: string }, log: Logger, hooks: ShareHooks) {
    this.#url = cfg.redis;
    this.instance = `${cfg.name}/${os.hostname()}/${process.pid}`;
    this.#log = log;
    this.#hooks = hooks;
    const socket = { connectTimeout: 1000, reconnectStrategy: (retries: number) => Math.min(100 * (retries + 1), 1000) };
    // No offline queue: while Redis is away a command fails at once instead of piling up.
    this.#client = createClient({ url: cfg.redis, socket, disableOfflineQueue: true });
    this.#sub = this.#client.duplicate();
    for (const c of [this.#client, this.#sub]) c.on('error', (err: Error) => { this.#error = err.message; });
  }

  // One farm per Redis database: every instance using it shares (use another db or Redis for another farm).
  get #channel(): string { return `${PREFIX}:admin`; }
  #key(instance: string): string { return `${PREFIX}:counts:${instance}`; }
  get #members(): string { return `${PREFIX}:instances`; }

  start(): void {
    // Retried by the reconnect strategy; the first tick waits for the first attempt (no false alarm at start).
    this.#client.connect().then(() => this.tick(), () => this.tick());
    this.#sub.connect().then(() => this.#sub.subscribe(this.#channel, (m) => this.#onAdmin(m))).catch(() => {});
    this.#timer = setInterval(() => { void this.tick(); }, PUBLISH_MS);
    this.#timer.unref();
  }

  /** Publish ours, read the others': one round of sharing. */
  async tick(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    try {
      const now = Date.now();
      const ours = JSON.stringify({ at: now, figures: this.#hooks.local() });
      const c = this.#client;
      await withTimeout(Promise.all([
        c.set(this.#key(this.instance), ours, { PX: EXPIRY_MS }),
        c.zAdd(this.#members, { score: now, value: this.instance }),
        c.zRemRangeByScore(this.#members, '-inf', now - 10 * EXPIRY_MS),
      ]), OP_TIMEOUT_MS);
      const names = (await withTimeout(c.zRangeByScore(this.#members, now - 2 * EXPIRY_MS, '+inf'), OP_TIMEOUT_MS)).filter((n) => n !== this.instance);
      const values = names.length ? await withTimeout(c.mGet(names.map((n) => this.#key(n))), OP_TIMEOUT_MS) : [];
      const sum: FarmShare = {};
      const peers: Peer[] = [];
      values.forEach((v, i) => {
        if (!v) return;   // expired: that instance stopped publishing
        const doc = JSON.parse(v) as { at: number; figures?: FarmShare };
        if (doc.figures) addShare(sum, doc.figures);
        peers.push({ name: names[i]!, age_ms: Math.max(0, now - doc.at) });
      });
      this.#peers = peers;
      this.#hooks.remote(sum);
      this.#setUp(true);
    } catch (err) {
      this.#error = (err as Error).message;
      this.#peers = [];
      this.#hooks.remote({});   // local numbers only until Redis answers again
      this.#setUp(false);
    } finally {
      this.#busy = false;
    }
  }

  #setUp(up: boolean): void {
    if (this.#up === up) return;
    const first = this.#up === null;
    this.#up = up;
    this.#since = Date.now();
    if (up) {
      this.#error = null;
      this.#log.info({ instance: this.instance, redis: redact(this.#url) }, first ? 'cluster sharing started' : 'cluster sharing resumed: redis is back');
    } else {
      this.#log.warn({ instance: this.instance, redis: redact(this.#url), err: this.#error }, 'redis unavailable: balancing on local numbers');
    }
  }

  /** Sends an admin action done here to the other instances (fire and forget: Redis down = this instance only). */
  publishAction(pool: string, server: string, action: AdminAction): void {
    const msg = JSON.stringify({ from: this.instance, pool, server, action });
    withTimeout(this.#client.publish(this.#channel, msg), OP_TIMEOUT_MS).catch((err: unknown) => {
      this.#log.warn({ pool, server, action, err: (err as Error).message }, 'admin action not shared: redis unavailable');
    });
  }

  #onAdmin(raw: string): void {
    let m: { from?: string; pool?: string; server?: string; action?: string };
    try { m = JSON.parse(raw) as typeof m; } catch { return; }
    if (m.from === this.instance || typeof m.pool !== 'string' || typeof m.server !== 'string') return;
    if (m.action !== 'drain' && m.action !== 'enable' && m.action !== 'disable') return;
    this.#log.info({ from: m.from, pool: m.pool, server: m.server, action: m.action }, 'admin action from another instance');
    this.#hooks.action(m.pool, m.server, m.action);
  }

  /** The `cluster` section of /status. */
  status(): unknown {
    return {
      instance: this.instance,
      redis: redact(this.#url),
      sharing: this.#up === true ? 'ok' : this.#up === false ? 'redis unavailable: local numbers only' : 'connecting',
      since: new Date(this.#since).toISOString(),
      error: this.#up ? null : this.#error,
      instances: [{ name: this.instance, self: true }, ...this.#peers],
    };
  }

  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    // Leave the farm now rather than at expiry, when Redis is there to hear it.
    if (this.#up) await withTimeout(Promise.all([this.#client.del(this.#key(this.instance)), this.#client.zRem(this.#members, this.instance)]), OP_TIMEOUT_MS).catch(() => {});
    for (const c of [this.#client, this.#sub]) await c.disconnect().catch(() => {});
  }
}

/** The Redis URL without its password, for logs and /status. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'redis://?';
  }
}
