/**
 * Per-IP connection counts between instances: each instance keeps one Redis hash
 * `wslb:ip:<instance>` holding its keys with connections (changed fields written every tick,
 * the whole hash rewritten after a failure and now and then), expiring unless refreshed; each tick
 * also reads the other live instances' hashes (RedisShare's member set) and hands their sum on.
 * Redis down or slow: the sum is empty (per-instance caps), said in /status and the log.
 */

import type { RedisLink } from './redis-link.js';
import { PREFIX, withTimeout } from './redis-link.js';
import { MAX_REMOTE_KEYS } from './ip-share.js';

export const IP_TICK_MS = 500;
/** A hash not refreshed for this long is gone (its instance died). */
const EXPIRY_MS = 3000;
const OP_TIMEOUT_MS = 500;
/** Every this many ticks the hash is rewritten whole (heals a lost write). */
const RESYNC_TICKS = 60;

export interface IpRedisHooks {
  /** This instance's keys with connections and their counts. */
  local(): Iterable<[string, number]>;
  /** The other instances' sum per key (empty when Redis is down). */
  remote(sums: Map<string, number>): void;
}

export class IpRedis {
  readonly #link: RedisLink;
  readonly #instance: string;
  readonly #hooks: IpRedisHooks;
  readonly #changed = new Set<string>();
  #resync = true;
  #ticks = 0;
  #busy = false;
  #timer: NodeJS.Timeout | null = null;
  peers = 0;

  constructor(link: RedisLink, instance: string, hooks: IpRedisHooks) {
    this.#link = link;
    this.#instance = instance;
    this.#hooks = hooks;
  }

  static key(instance: string): string {
    return `${PREFIX}:ip:${instance}`;
  }

  /** A key whose count here changed since the last tick. */
  changed(key: string): void {
    this.#changed.add(key);
  }

  start(): void {
    this.#timer = setInterval(() => { void this.tick(); }, IP_TICK_MS);
    this.#timer.unref();
  }

  async tick(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    const c = this.#link.client;
    const key = IpRedis.key(this.#instance);
    try {
      const local = new Map(this.#hooks.local());
      const whole = this.#resync || ++this.#ticks % RESYNC_TICKS === 0;
      const changed = whole ? [...local.keys()] : [...this.#changed];
      this.#changed.clear();
      const set: Record<string, string> = {};
      const gone: string[] = [];
      for (const k of changed) { const n = local.get(k); if (n) set[k] = String(n); else gone.push(k); }
      const m = c.multi();
      if (whole) m.del(key);
      if (Object.keys(set).length) m.hSet(key, set);
      if (gone.length) m.hDel(key, gone);
      m.pExpire(key, EXPIRY_MS);
      this.#resync = true;   // until this write is known to have landed
      await withTimeout(m.exec(), OP_TIMEOUT_MS);
      this.#resync = false;
      const now = Date.now();
      const names = (await withTimeout(c.zRangeByScore(`${PREFIX}:instances`, now - 2 * EXPIRY_MS, '+inf'), OP_TIMEOUT_MS)).filter((n) => n !== this.#instance);
      const hashes = await withTimeout(Promise.all(names.map((n) => c.hGetAll(IpRedis.key(n)))), OP_TIMEOUT_MS);
      const sums = new Map<string, number>();
      for (const h of hashes) {
        for (const [k, v] of Object.entries(h)) {
          if (!sums.has(k) && sums.size >= MAX_REMOTE_KEYS) continue;   // bounded like the tables it feeds
          sums.set(k, (sums.get(k) ?? 0) + Number(v));
        }
      }
      this.peers = hashes.filter((h) => Object.keys(h).length > 0).length;
      this.#hooks.remote(sums);
      this.#link.mark(true);
    } catch (err) {
      this.peers = 0;
      this.#hooks.remote(new Map());   // per-instance caps until Redis answers again
      this.#link.mark(false, err);
    } finally {
      this.#busy = false;
    }
  }

  /** Leaves the farm now rather than at expiry. */
  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    if (this.#link.up) await withTimeout(this.#link.client.del(IpRedis.key(this.#instance)), OP_TIMEOUT_MS).catch(() => {});
  }
}
