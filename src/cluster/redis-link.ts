/**
 * The Redis transport of the replicated tables, and the instance's one Redis connection pair (one
 * client for commands, one for the subscription). Every REDIS_MS the ticks' messages queued since
 * go out as one PUBLISH on `wslb:tables`; what other instances publish is handed to the tables.
 * Redis holds nothing: the state lives in the instances, so a Redis restarted empty loses nothing.
 * Redis down or slower than OP_TIMEOUT_MS: every other instance's rows are dropped at once (local
 * numbers only), said in /status and the log; when it is back, this instance sends its full tables
 * and asks every other for theirs. Nothing here is awaited by a handshake.
 */

import { createClient } from 'redis';
import type { Logger } from '../log.js';
import { TTL_MS, type TableMessage } from './replicated-table.js';
import { instanceOf, type TableSet } from './table-set.js';

export type RedisClient = ReturnType<typeof createClient>;

/** The batch period: a fast IPC tick (50 ms) would be 20 PUBLISHes a second per instance for one change a tick. */
export const REDIS_MS = 100;
const OP_TIMEOUT_MS = 500;
/** One farm per Redis database: every instance on it shares (another db or Redis for another farm). */
const CHANNEL = 'wslb:tables';

/** One PUBLISH: the sender, its tables' messages, and the instances it asks for full tables ('*': every one). */
interface Envelope { readonly from: string; readonly msgs: TableMessage[]; readonly sync: string[] }

export function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis did not answer in ${ms} ms`)), ms);
    p.then((v) => { clearTimeout(timer); resolve(v); }, (e: unknown) => { clearTimeout(timer); reject(e as Error); });
  });
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

export class RedisLink {
  readonly instance: string;
  readonly client: RedisClient;
  readonly sub: RedisClient;
  readonly #url: string;
  readonly #log: Logger;
  readonly #set: TableSet;
  readonly #forward: (msgs: TableMessage[]) => void;
  #queue: TableMessage[] = [];
  readonly #sync = new Set<string>();
  #sendFulls = true;
  /** Other instances by the time they were last heard. */
  readonly #peers = new Map<string, number>();
  #timer: NodeJS.Timeout | null = null;
  #busy = false;
  /** The first connection attempt ended (before it, nothing is reported: no false alarm at start). */
  #tried = false;
  #up: boolean | null = null;   // null: not known yet
  #since = Date.now();
  error: string | null = null;

  /**
   * `set`: the tables of this instance's process (its origin names the instance); `forward`: where
   * a primary relays what arrives from Redis or is dropped (its workers); nothing for a lone instance.
   */
  constructor(url: string, set: TableSet, log: Logger, forward: (msgs: TableMessage[]) => void = () => {}) {
    this.#url = url;
    this.instance = instanceOf(set.origin);
    this.#log = log;
    this.#set = set;
    this.#forward = forward;
    const socket = { connectTimeout: 1000, reconnectStrategy: (retries: number) => Math.min(100 * (retries + 1), 1000) };
    // No offline queue: while Redis is away a command fails at once instead of piling up.
    this.client = createClient({ url, socket, disableOfflineQueue: true });
    this.sub = this.client.duplicate();
    for (const c of [this.client, this.sub]) c.on('error', (err: Error) => { this.error = err.message; });
    // Subscribed again after a reconnect (the client restores it): what was published meanwhile is lost, so ask everyone.
    this.sub.on('ready', () => { this.#sync.add('*'); this.#sendFulls = true; });
  }

  start(): void {
    const subscribed = this.sub.connect().then(() => this.sub.subscribe(CHANNEL, (raw) => this.#onMessage(raw)));
    void Promise.allSettled([this.client.connect(), subscribed]).then(() => { this.#tried = true; });
    this.#timer = setInterval(() => { void this.flush(); }, REDIS_MS);
    this.#timer.unref();
  }

  /** Messages to publish with the next batch. */
  queue(msgs: readonly TableMessage[]): void {
    for (const m of msgs) this.#queue.push(m);
  }

  get up(): boolean {
    return this.#up === true;
  }

  /** One batch: the queued messages (after this instance's full tables when due) and the sync requests. */
  async flush(): Promise<void> {
    if (this.#busy) return;
    if (!this.client.isReady || !this.sub.isReady) {
      if (this.#tried) this.#setUp(false);
      this.#queue = [];
      return;
    }
    this.#busy = true;
    const fulls = this.#sendFulls ? this.#set.fulls((o) => this.#mine(o)) : [];
    this.#sendFulls = false;
    const env: Envelope = { from: this.instance, msgs: [...fulls, ...this.#queue], sync: [...this.#sync] };
    this.#queue = [];
    this.#sync.clear();
    try {
      if (env.msgs.length || env.sync.length) await withTimeout(this.client.publish(CHANNEL, JSON.stringify(env)), OP_TIMEOUT_MS);
      this.#setUp(true);
    } catch (err) {
      this.error = (err as Error).message;
      this.#setUp(false);
    } finally {
      this.#busy = false;
    }
  }

  #onMessage(raw: string): void {
    let env: Partial<Envelope>;
    try { env = JSON.parse(raw) as Partial<Envelope>; } catch { return; }
    if (typeof env.from !== 'string' || env.from === this.instance || !Array.isArray(env.msgs)) return;
    this.#peers.set(env.from, Date.now());
    if (Array.isArray(env.sync) && (env.sync.includes('*') || env.sync.includes(this.instance))) this.#sendFulls = true;
    if (this.#up !== true) return;   // down: local numbers only until the first batch goes out again (then everyone's fulls arrive)
    const { applied, gaps } = this.#set.receive(env.msgs.filter((m) => instanceOf(m.origin) === env.from));
    this.#forward(applied);
    for (const o of gaps) this.#sync.add(instanceOf(o));
  }

  /** An origin of this instance: its process, or a primary's workers. */
  #mine(origin: string): boolean {
    return instanceOf(origin) === this.instance;
  }

  #setUp(up: boolean): void {
    if (this.#up === up) return;
    const first = this.#up === null;
    this.#up = up;
    this.#since = Date.now();
    if (up) {
      this.error = null;
      this.#log.info({ instance: this.instance, redis: redact(this.#url) }, first ? 'cluster sharing started' : 'cluster sharing resumed: redis is back');
      return;
    }
    this.#peers.clear();
    this.#forward(this.#set.drop((o) => !this.#mine(o)));   // every other instance's rows go: local numbers only
    this.#sendFulls = true;   // the others may have dropped ours meanwhile
    this.#sync.add('*');      // and ours of theirs are gone
    this.#log.warn({ instance: this.instance, redis: redact(this.#url), err: this.error }, 'redis unavailable: balancing on local numbers');
  }

  /** The `cluster` section of /status. */
  status(): unknown {
    const now = Date.now();
    const peers = [...this.#peers].filter(([, at]) => now - at < TTL_MS).map(([name, at]) => ({ name, age_ms: now - at }));
    return {
      instance: this.instance,
      redis: redact(this.#url),
      sharing: this.#up === true ? 'ok' : this.#up === false ? 'redis unavailable: local numbers only' : 'connecting',
      since: new Date(this.#since).toISOString(),
      error: this.#up ? null : this.error,
      instances: [{ name: this.instance, self: true }, ...peers],
    };
  }

  /** Leaves the farm now (the others drop this instance's rows at once), then disconnects. */
  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    if (this.#up) {
      const env: Envelope = { from: this.instance, msgs: [...this.#set.gone(), ...this.#set.drop((o) => this.#mine(o))], sync: [] };
      await withTimeout(this.client.publish(CHANNEL, JSON.stringify(env)), OP_TIMEOUT_MS).catch(() => {});
    }
    for (const c of [this.client, this.sub]) await c.disconnect().catch(() => {});
  }
}
