/**
 * Cluster-wide `max_connections_per_ip`: each process keeps its own per-address counts (the
 * Admission table) and learns the rest of the farm's asynchronously; the check reads
 * `local + remote` synchronously and never waits for IPC or Redis.
 *
 * Workers send their changed keys to the primary (IPC, batched over FLUSH_MS); the primary sums
 * them and sends each worker the others' sums (other workers + other instances) for the keys
 * that changed. Instances exchange their sums through Redis (ip-redis.ts, every ~0.5 s).
 * The cap can be overshot by connections that arrive within the sharing lag (~100 ms across
 * workers, ~1 s across instances), as HAProxy's peer-synced stick tables can. The handshake
 * *rate* per IP (`handshakes_per_ip`) stays per process.
 */

import type { Admission } from '../edge/admission.js';
import type { KeyCounts } from './sharing-protocol.js';

/** Most remote addresses one process remembers (the Admission table is bounded the same way). */
export const MAX_REMOTE_KEYS = 65_536;
/** A worker batches its changed keys this long before telling the primary. */
export const FLUSH_MS = 50;
/** Entries looked at for an eviction candidate when the remote table is full. */
const EVICT_STEPS = 8;

/**
 * The rest of the farm's count per key, bounded: when full, a new key takes the place of one of
 * the oldest few with a smaller count (an address spray of 1-connection keys cannot push out an
 * address near its cap), or is dropped.
 */
export class RemoteCounts {
  readonly #map = new Map<string, number>();
  readonly #max: number;
  dropped = 0;

  constructor(max = MAX_REMOTE_KEYS) {
    this.#max = max;
  }

  get(key: string): number {
    return this.#map.get(key) ?? 0;
  }

  get size(): number {
    return this.#map.size;
  }

  set(key: string, n: number): void {
    const map = this.#map;
    if (n <= 0) { map.delete(key); return; }
    if (map.has(key) || map.size < this.#max) { map.set(key, n); return; }
    let steps = 0;
    for (const [k, v] of map) {
      if (steps++ >= EVICT_STEPS) break;
      if (v < n) { map.delete(k); map.set(key, n); return; }
    }
    this.dropped++;
  }

  entries(): IterableIterator<[string, number]> {
    return this.#map.entries();
  }

  total(): number {
    let sum = 0;
    for (const n of this.#map.values()) sum += n;
    return sum;
  }
}

/**
 * One accepting process's side (a worker, or a lone instance): hooks the Admission table, keeps
 * a mirror of its live counts (keys with connections only) and the changed keys, and serves the
 * remote counts to the check.
 */
export class IpShareLocal {
  readonly remote = new RemoteCounts();
  /** Keys with live connections here, and how many. */
  readonly local = new Map<string, number>();
  readonly #changed = new Map<string, number>();
  readonly #flush: (changes: KeyCounts) => void;
  readonly #flushMs: number;
  #timer: NodeJS.Timeout | null = null;

  /** `flush` receives the changed keys at most every `flushMs` (0: never batched here; read `takeChanges`). */
  constructor(admission: Admission, flush: (changes: KeyCounts) => void, flushMs = FLUSH_MS) {
    this.#flush = flush;
    this.#flushMs = flushMs;
    admission.shared = { remote: (key) => this.remote.get(key), changed: (key, n) => this.#onChange(key, n) };
  }

  #onChange(key: string, n: number): void {
    if (n > 0) this.local.set(key, n);
    else this.local.delete(key);
    this.#changed.set(key, n);
    if (this.#flushMs > 0 && this.#timer === null) {
      this.#timer = setTimeout(() => { this.#timer = null; this.#flush(this.takeChanges()); }, this.#flushMs);
      this.#timer.unref();
    }
  }

  /** The keys changed since the last call, with their count now. */
  takeChanges(): KeyCounts {
    const out = [...this.#changed];
    this.#changed.clear();
    return out;
  }

  apply(counts: KeyCounts): void {
    for (const [k, n] of counts) this.remote.set(k, n);
  }

  /** The whole remote table replaced (a lone instance's read of the other instances; empty when Redis is down). */
  replace(sums: Map<string, number>): void {
    for (const [k] of [...this.remote.entries()]) if (!sums.has(k)) this.remote.set(k, 0);
    for (const [k, n] of sums) this.remote.set(k, n);
  }

  /** Everything this process holds (a worker restarted primary, or a full Redis resync). */
  snapshot(): KeyCounts {
    return [...this.local];
  }

  status(): Record<string, number> {
    let conns = 0;
    for (const n of this.local.values()) conns += n;
    return { keys_local: this.local.size, connections_local: conns, keys_remote: this.remote.size, connections_remote: this.remote.total(), dropped: this.remote.dropped };
  }

  close(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }
}

/**
 * The primary's side: each worker's counts, their sum, the other instances' sums (Redis), and
 * per changed key the rest of the farm sent to each worker (one batch per event-loop turn).
 */
export class IpSharePrimary {
  readonly #perWorker = new Map<number, Map<string, number>>();
  /** Sum over live workers (keys with connections only): what this instance publishes. */
  readonly totals = new Map<string, number>();
  readonly instances = new RemoteCounts();
  readonly #dirty = new Set<string>();
  readonly #send: (worker: number, counts: KeyCounts) => void;
  readonly #workers: () => number[];
  /** Keys whose instance-wide total changed (ip-redis publishes them). */
  onTotal: ((key: string) => void) | null = null;
  #scheduled = false;

  constructor(send: (worker: number, counts: KeyCounts) => void, workers: () => number[]) {
    this.#send = send;
    this.#workers = workers;
  }

  fromWorker(id: number, counts: KeyCounts): void {
    let own = this.#perWorker.get(id);
    if (!own) this.#perWorker.set(id, (own = new Map()));
    for (const [k, n] of counts) {
      const before = own.get(k) ?? 0;
      if (n > 0) own.set(k, n);
      else own.delete(k);
      this.#addTotal(k, n - before);
    }
    this.#schedule();
  }

  /** A worker exited: its connections are gone. */
  workerGone(id: number): void {
    const own = this.#perWorker.get(id);
    if (!own) return;
    this.#perWorker.delete(id);
    for (const [k, n] of own) this.#addTotal(k, -n);
    this.#schedule();
  }

  /** The other instances' sums, read from Redis (empty while Redis is down: per-instance caps). */
  setInstances(sums: Map<string, number>): void {
    for (const [k] of this.instances.entries()) if (!sums.has(k)) { this.instances.set(k, 0); this.#dirty.add(k); }
    for (const [k, n] of sums) if (this.instances.get(k) !== n) { this.instances.set(k, n); this.#dirty.add(k); }
    this.#schedule();
  }

  /** What a new worker needs: the whole farm's count per key (it holds nothing yet). */
  snapshotFor(id: number): KeyCounts {
    const keys = new Set([...this.totals.keys(), ...[...this.instances.entries()].map(([k]) => k)]);
    return [...keys].map((k) => [k, this.#others(k, id)]);
  }

  #others(key: string, id: number): number {
    return (this.totals.get(key) ?? 0) + this.instances.get(key) - (this.#perWorker.get(id)?.get(key) ?? 0);
  }

  #addTotal(key: string, delta: number): void {
    if (delta === 0) return;
    const n = (this.totals.get(key) ?? 0) + delta;
    if (n > 0) this.totals.set(key, n);
    else this.totals.delete(key);
    this.#dirty.add(key);
    this.onTotal?.(key);
  }

  #schedule(): void {
    if (this.#scheduled || this.#dirty.size === 0) return;
    this.#scheduled = true;
    setImmediate(() => { this.#scheduled = false; this.#forward(); });
  }

  #forward(): void {
    const keys = [...this.#dirty];
    this.#dirty.clear();
    if (keys.length === 0) return;
    for (const id of this.#workers()) this.#send(id, keys.map((k) => [k, this.#others(k, id)]));
  }

  status(): Record<string, number> {
    let conns = 0;
    for (const n of this.totals.values()) conns += n;
    return { keys_local: this.totals.size, connections_local: conns, keys_remote: this.instances.size, connections_remote: this.instances.total(), dropped: this.instances.dropped };
  }
}
