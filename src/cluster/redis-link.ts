/**
 * The Redis connections of per-IP cap sharing and affinity sharing (a command client and a
 * subscriber), separate from RedisShare's so neither waits behind the other. Every command is
 * bounded by a timeout and fails at once while Redis is away (no offline queue).
 */

import { createClient } from 'redis';
import type { Logger } from '../log.js';
import { redact } from './redis-share.js';

export type RedisClient = ReturnType<typeof createClient>;

/** Key prefix: the same scheme as redis-share.ts (`wslb:<what>:...`, one farm per Redis database). */
export const PREFIX = 'wslb';

export function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis did not answer in ${ms} ms`)), ms);
    p.then((v) => { clearTimeout(timer); resolve(v); }, (e: unknown) => { clearTimeout(timer); reject(e as Error); });
  });
}

export class RedisLink {
  readonly client: RedisClient;
  readonly sub: RedisClient;
  readonly #url: string;
  readonly #log: Logger;
  #up: boolean | null = null;
  error: string | null = null;

  constructor(url: string, log: Logger) {
    this.#url = url;
    this.#log = log;
    const socket = { connectTimeout: 1000, reconnectStrategy: (retries: number) => Math.min(100 * (retries + 1), 1000) };
    this.client = createClient({ url, socket, disableOfflineQueue: true });
    this.sub = this.client.duplicate();
    for (const c of [this.client, this.sub]) c.on('error', (err: Error) => { this.error = err.message; });
  }

  /** Connects both (retried in the background by the reconnect strategy, subscriptions restored by the client). */
  start(onSub: (sub: RedisClient) => Promise<unknown>): void {
    this.client.connect().catch(() => {});
    this.sub.connect().then(() => onSub(this.sub)).catch(() => {});
  }

  get up(): boolean {
    return this.#up === true;
  }

  /** The outcome of a sharing round: logged once per change (Redis down = per-instance numbers). */
  mark(ok: boolean, err?: unknown): void {
    if (!ok && err) this.error = (err as Error).message;
    if (this.#up === ok) return;
    this.#up = ok;
    if (ok) this.#log.info({ redis: redact(this.#url) }, 'ip caps and affinity shared through redis');
    else this.#log.warn({ redis: redact(this.#url), err: this.error }, 'redis unavailable: per-ip caps and affinity tables are per instance');
  }

  async close(): Promise<void> {
    for (const c of [this.client, this.sub]) await c.disconnect().catch(() => {});
  }
}
