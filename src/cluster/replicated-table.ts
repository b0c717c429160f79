/**
 * One replicated table: every origin (a worker, a primary, a lone instance) owns its own rows
 * and publishes them; every reader keeps each origin's rows and combines them per key into one
 * view. Per-server figures, per-IP counts, affinity sessions and admin actions are uses of it.
 *
 * The rules, the same over IPC and Redis:
 * - tick: an origin's `next()` is called every TICK_MS and says what changed since the last call;
 * - healing: messages carry a per-origin sequence number. A full table goes out first and then only
 *   to whoever asks (a new reader, a reconnect: `fullOf`); a reader that sees a gap (or a delta from an
 *   origin it has no full for) keeps the rows it has and reports the gap, so the transport asks for
 *   a full: nothing is dropped on a miss, and a large table (100,000 sessions) is not re-sent
 *   periodically just in case;
 * - TTL: an origin says something at least every HEARTBEAT_TICKS (an empty delta when idle); a
 *   reader drops an origin not heard from for TTL_MS, and at once when told it is gone.
 */

/** The cadence of every origin (IPC and Redis alike; the Redis transport batches its ticks: redis-link.ts). */
export const TICK_MS = 50;
/** An idle origin sends an empty delta this often (in ticks): 1 s. */
export const HEARTBEAT_TICKS = 20;
/** A reader drops an origin not heard from for this long (three missed heartbeats). */
export const TTL_MS = 3000;

export interface TableMessage {
  readonly table: string;
  readonly origin: string;
  readonly seq: number;
  /** full: `entries` is the whole table; delta: the changed rows, a null value deleted; gone: the origin left. */
  readonly kind: 'full' | 'delta' | 'gone';
  readonly entries: [string, unknown][];
}

export interface TableOptions<V> {
  /** The rows of several origins under one key as the one value readers see. */
  combine(values: V[]): V;
  same?(a: V, b: V): boolean;
  /** The combined view of `key` changed (undefined: no origin has it any more). Runs inside `receive`/`drop`. */
  onChange?(key: string, value: V | undefined): void;
  /** Called at the start of every tick (an origin refreshing its rows from live state). */
  sample?(): void;
  now?(): number;
}

interface Remote<V> { seq: number; heard: number; readonly rows: Map<string, V> }

export class ReplicatedTable<V> {
  readonly name: string;
  readonly origin: string;
  readonly #opts: TableOptions<V>;
  readonly #same: (a: V, b: V) => boolean;
  readonly #now: () => number;
  readonly #own = new Map<string, V>();
  readonly #changed = new Set<string>();
  readonly #remotes = new Map<string, Remote<V>>();
  readonly #view = new Map<string, V>();
  #seq = 0;
  #ticks = 0;
  #fullNext = true;

  constructor(name: string, origin: string, opts: TableOptions<V>) {
    this.name = name;
    this.origin = origin;
    this.#opts = opts;
    this.#same = opts.same ?? ((a, b) => a === b);
    this.#now = opts.now ?? Date.now;
  }

  // ---- the origin's side

  get(key: string): V | undefined {
    return this.#own.get(key);
  }

  get own(): ReadonlyMap<string, V> {
    return this.#own;
  }

  set(key: string, value: V): void {
    const before = this.#own.get(key);
    if (before !== undefined && this.#same(before, value)) return;
    this.#own.delete(key);   // re-inserted last: the map stays in order of last change (oldest first)
    this.#own.set(key, value);
    this.#changed.add(key);
  }

  delete(key: string): void {
    if (this.#own.delete(key)) this.#changed.add(key);
  }

  /** The origin's rows become exactly `rows` (keys absent from it are deleted). */
  replace(rows: Map<string, V>): void {
    for (const k of this.#own.keys()) if (!rows.has(k)) this.delete(k);
    for (const [k, v] of rows) this.set(k, v);
  }

  /** This tick's message: a full when one is due, the changes, an empty delta as a heartbeat, or null. */
  next(): TableMessage | null {
    this.#opts.sample?.();
    this.#ticks++;
    if (this.#fullNext) return this.#full();
    if (this.#changed.size === 0 && this.#ticks % HEARTBEAT_TICKS !== 0) return null;
    const entries: [string, unknown][] = [];
    for (const k of this.#changed) entries.push([k, this.#own.get(k) ?? null]);
    this.#changed.clear();
    return { table: this.name, origin: this.origin, seq: ++this.#seq, kind: 'delta', entries };
  }

  #full(): TableMessage {
    this.#fullNext = false;
    this.#changed.clear();
    return { table: this.name, origin: this.origin, seq: ++this.#seq, kind: 'full', entries: [...this.#own] };
  }

  /**
   * The whole table of this origin or of a stored one, at the sequence number last sent: what a
   * reader that joined late or saw a gap is given (null: not known here). Rows changed since are in
   * it and in the next delta again, which applies them a second time to no effect.
   */
  fullOf(origin: string): TableMessage | null {
    if (origin === this.origin) return { table: this.name, origin, seq: this.#seq, kind: 'full', entries: [...this.#own] };
    const r = this.#remotes.get(origin);
    return r ? { table: this.name, origin, seq: r.seq, kind: 'full', entries: [...r.rows] } : null;
  }

  gone(): TableMessage {
    return { table: this.name, origin: this.origin, seq: this.#seq, kind: 'gone', entries: [] };
  }

  // ---- the reader's side

  /** Applies one message from another origin; false when it was not applied (a gap: the caller asks for a full). */
  receive(m: TableMessage): boolean {
    if (m.origin === this.origin) return false;
    const r = this.#remotes.get(m.origin);
    if (m.kind === 'gone') {
      if (r) this.#drop(m.origin, r);
      return r !== undefined;
    }
    if (m.kind === 'full') {
      const rows = new Map(m.entries as [string, V][]);
      const touched = new Set(rows.keys());
      if (r) for (const k of r.rows.keys()) touched.add(k);
      const old = r?.rows;
      this.#remotes.set(m.origin, { seq: m.seq, heard: this.#now(), rows });
      for (const k of touched) {
        const a = old?.get(k), b = rows.get(k);
        if (a === undefined || b === undefined || !this.#same(a, b)) this.#recompute(k);
      }
      return true;
    }
    if (!r) return false;
    r.heard = this.#now();
    if (m.seq !== r.seq + 1) return false;   // rows kept until the full replaces them
    r.seq = m.seq;
    for (const [k, v] of m.entries) {
      if (v === null) { if (!r.rows.delete(k)) continue; }
      else {
        const before = r.rows.get(k);
        if (before !== undefined && this.#same(before, v as V)) continue;
        r.rows.set(k, v as V);
      }
      this.#recompute(k);
    }
    return true;
  }

  /** Drops the origins `which` selects (Redis down: every other instance's); returns their `gone` messages for relays. */
  drop(which: (origin: string) => boolean): TableMessage[] {
    const out: TableMessage[] = [];
    for (const [origin, r] of [...this.#remotes]) {
      if (!which(origin)) continue;
      this.#drop(origin, r);
      out.push({ table: this.name, origin, seq: r.seq, kind: 'gone', entries: [] });
    }
    return out;
  }

  /** Drops the origins not heard from for TTL_MS. */
  expire(): TableMessage[] {
    const before = this.#now() - TTL_MS;
    return this.drop((o) => this.#remotes.get(o)!.heard < before);
  }

  #drop(origin: string, r: Remote<V>): void {
    this.#remotes.delete(origin);
    for (const k of r.rows.keys()) this.#recompute(k);
  }

  #recompute(key: string): void {
    const values: V[] = [];
    for (const r of this.#remotes.values()) { const v = r.rows.get(key); if (v !== undefined) values.push(v); }
    const before = this.#view.get(key);
    if (values.length === 0) {
      if (before === undefined) return;
      this.#view.delete(key);
      this.#opts.onChange?.(key, undefined);
      return;
    }
    const now = values.length === 1 ? values[0]! : this.#opts.combine(values);
    if (before !== undefined && this.#same(before, now)) return;
    this.#view.set(key, now);
    this.#opts.onChange?.(key, now);
  }

  /** The other origins' rows combined. */
  view(key: string): V | undefined {
    return this.#view.get(key);
  }

  get viewSize(): number {
    return this.#view.size;
  }

  /** The origins heard from, with their rows (status pages). */
  remotes(): IterableIterator<[string, { readonly rows: ReadonlyMap<string, V>; readonly heard: number }]> {
    return this.#remotes.entries();
  }
}

/** Sum of numbers (per-IP counts). */
export const sum = (values: number[]): number => values.reduce((a, b) => a + b, 0);

/** The value with the latest `at` (a later write wins; equal times: the greater `by`, so every reader picks the same). */
export function latest<V extends { readonly at: number; readonly by: string }>(values: V[]): V {
  let best = values[0]!;
  for (const v of values) if (v.at > best.at || (v.at === best.at && v.by > best.by)) best = v;
  return best;
}
