/**
 * Cluster-wide `max_connections_per_ip`, a replicated table keyed by limit key: each accepting
 * process publishes its own count per address (the Admission table's), and the others' sum is
 * what the check adds to the local count, synchronously, never waiting for IPC or Redis.
 * The cap can be overshot by connections that arrive within the sharing lag (~50-100 ms across
 * workers, ~200 ms across instances), as HAProxy's peer-synced stick tables can. The handshake
 * *rate* per IP (`handshakes_per_ip`) stays per process.
 */

import type { SharedCounts } from '../edge/admission.js';
import { ReplicatedTable, sum } from './replicated-table.js';
import { instanceOf } from './table-set.js';

/** Most remote addresses one process remembers (the Admission table is bounded the same way). */
export const MAX_REMOTE_KEYS = 65_536;
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
}

/** The per-IP table of one process; an accepting process's Admission is given it (SharedCounts): its counts are published and the check reads the others'. */
export class IpShare implements SharedCounts {
  readonly table: ReplicatedTable<number>;
  readonly others = new RemoteCounts();

  constructor(origin: string) {
    this.table = new ReplicatedTable<number>('ip', origin, { combine: sum, onChange: (key, n) => this.others.set(key, n ?? 0) });
  }

  remote(key: string): number {
    return this.others.get(key);
  }

  changed(key: string, conns: number): void {
    if (conns > 0) this.table.set(key, conns);
    else this.table.delete(key);
  }

  /**
   * `local`: this process tree's connections (its own rows, or a primary's workers'); `remote`: the
   * other instances'; `instances`: how many other instances publish the table.
   */
  status(): Record<string, number> {
    const instance = instanceOf(this.table.origin);
    const local = new Map(this.table.own);
    const remote = new Map<string, number>();
    const others = new Set<string>();
    for (const [origin, r] of this.table.remotes()) {
      const mine = instanceOf(origin) === instance;
      if (!mine) others.add(instanceOf(origin));
      const into = mine ? local : remote;
      for (const [k, n] of r.rows) into.set(k, (into.get(k) ?? 0) + n);
    }
    return {
      keys_local: local.size, connections_local: sum([...local.values()]),
      keys_remote: remote.size, connections_remote: sum([...remote.values()]),
      dropped: this.others.dropped, instances: others.size,
    };
  }
}
