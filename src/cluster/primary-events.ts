/**
 * The primary's GET /events: once a second it asks every worker for its sampler tick over IPC,
 * sums them (tick-merge.ts) into its own history ring, and streams them to the dashboard in the
 * lone process's document shape, with the merged /status.
 */

import type { IncomingMessage, ServerResponse } from 'node:http';
import { EventStreams, type TickSource } from '../admin/events.js';
import type { Logger } from '../log.js';
import { HISTORY_POINTS, type Counts as Events, type Sample, type Tick } from '../metrics/sampler.js';
import type { Supervisor } from './supervisor.js';
import { addEvents, emptyEvents, mergeTicks, type WorkerTick } from './tick-merge.js';

/** A merged tick; `status` is only fetched while a stream is open (null otherwise). */
export interface PrimaryTick extends Tick { readonly status: unknown }

export interface PrimaryEventsOptions {
  intervalMs?: number;
  points?: number;
  now?: () => number;
}

/** Below the interval: a worker that does not answer in time is left out of this tick. */
const ASK_FRACTION = 0.9;

export class PrimaryEvents implements TickSource<PrimaryTick> {
  readonly intervalMs: number;
  readonly #supervisor: Pick<Supervisor, 'askAll' | 'workers'>;
  readonly #status: () => Promise<unknown>;
  readonly #log: Logger;
  readonly #points: number;
  readonly #now: () => number;
  readonly #streams: EventStreams<PrimaryTick>;
  readonly #history: Sample[] = [];
  readonly #listeners = new Set<(tick: PrimaryTick) => void>();
  /** Each live worker's last totals, by cluster worker id; a worker gone adds its own to #retired. */
  readonly #totals = new Map<number, Events>();
  readonly #retired = emptyEvents();
  #last: PrimaryTick | null = null;
  #timer: NodeJS.Timeout | null = null;
  #busy: Promise<void> | null = null;
  #again = false;

  /** `status()`: the merged /status document (PrimaryAdmin.status); `auth`: POSTs need the admin token. */
  constructor(supervisor: Pick<Supervisor, 'askAll' | 'workers'>, status: () => Promise<unknown>, log: Logger, auth: boolean, opts: PrimaryEventsOptions = {}) {
    this.#supervisor = supervisor;
    this.#status = status;
    this.#log = log;
    this.intervalMs = opts.intervalMs ?? 1000;
    this.#points = opts.points ?? HISTORY_POINTS;
    this.#now = opts.now ?? Date.now;
    this.#streams = new EventStreams<PrimaryTick>(this, (tick) => ({
      t: tick.sample.t, auth, status: tick.status, rates: tick.rates, totals: tick.totals, sample: tick.sample,
    }));
  }

  /** Samples once a second from now on: the history ring fills whether or not a dashboard is open (a few hundred bytes per worker). */
  start(): void {
    if (this.#timer !== null) return;
    void this.poll();
    this.#timer = setInterval(() => { if (!this.#busy) void this.poll(); }, this.intervalMs);
    this.#timer.unref();
  }

  /** The latest tick, when it carries a /status (the first stream's snapshot waits for the next poll otherwise). */
  get last(): PrimaryTick | null {
    return this.#last?.status != null ? this.#last : null;
  }

  /** Oldest first. */
  get history(): readonly Sample[] {
    return this.#history;
  }

  get streams(): number {
    return this.#streams.size;
  }

  subscribe(fn: (tick: PrimaryTick) => void): () => void {
    this.#listeners.add(fn);
    // The first stream waits for a tick with /status: take one now rather than at the next interval.
    if (this.#listeners.size === 1) {
      if (this.#busy) this.#again = true;
      else void this.poll();
    }
    return () => { this.#listeners.delete(fn); };
  }

  open(req: IncomingMessage, res: ServerResponse): void {
    this.#streams.open(req, res);
  }

  /** One round: every ready worker's tick, summed, appended to the ring and sent to the streams. Never rejects. */
  poll(): Promise<void> {
    this.#busy ??= this.#round().finally(() => { this.#busy = null; });
    return this.#busy;
  }

  async #round(): Promise<void> {
    do {
      this.#again = false;
      try {
        const withStatus = this.#listeners.size > 0;
        const [replies, status] = await Promise.all([
          this.#supervisor.askAll({ t: 'sample' }, Math.round(this.intervalMs * ASK_FRACTION)),
          withStatus ? this.#status() : Promise.resolve(null),
        ]);
        const ticks: WorkerTick[] = [];
        const answered = new Set<number>();
        for (const r of replies) {
          if (!r.reply?.ok) continue;
          const body = r.reply.body as WorkerTick;
          ticks.push(body);
          const id = r.slot.worker?.id;
          if (id !== undefined && body.tick) { this.#totals.set(id, body.tick.totals); answered.add(id); }
        }
        this.#record({ ...mergeTicks(this.#now(), ticks, this.#base(answered)), status });
      } catch (err) {
        this.#log.error({ err }, 'dashboard sample failed');
      }
    } while (this.#again);
  }

  /**
   * Totals not in this round's replies: workers gone from the tree (kept for good, so totals never
   * go down when a worker is replaced) and live workers that did not answer in time (their last).
   */
  #base(answered: ReadonlySet<number>): Events {
    const live = new Set(this.#supervisor.workers.map((w) => w.id));
    for (const [id, totals] of this.#totals) {
      if (live.has(id)) continue;
      addEvents(this.#retired, totals);
      this.#totals.delete(id);
    }
    const base = addEvents(emptyEvents(), this.#retired);
    for (const [id, totals] of this.#totals) if (!answered.has(id)) addEvents(base, totals);
    return base;
  }

  #record(tick: PrimaryTick): void {
    this.#history.push(tick.sample);
    if (this.#history.length > this.#points) this.#history.shift();
    this.#last = tick;
    if (tick.status !== null) for (const fn of this.#listeners) fn(tick);
  }

  /** Ends every stream and the sampling (admin close). */
  close(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    this.#streams.closeAll();
    this.#listeners.clear();
  }
}
