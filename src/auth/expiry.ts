/** close_on_expiry: one timer for every tunnel whose token expires, over a min-heap of (end, tunnel); each is closed with 1008 at a frame boundary when its token's exp + clock_skew passes. */

import { CLOSE } from '../errors.js';

/** What the watch closes: a tunnel (src/tunnel/tunnel.ts) has both. */
export interface Expirable {
  readonly finished: boolean;
  close(code: number, reason?: string): void;
}

interface Entry {
  readonly at: number;
  readonly target: Expirable;
}

/** Node's longest timer; a later end is reached by re-arming. */
const MAX_DELAY_MS = 2 ** 31 - 1;
/** Below this many entries the heap is never compacted. */
const MIN_COMPACT = 1024;

/**
 * No timer per tunnel: one Node timer is armed for the earliest end. A tunnel that closes for
 * another reason is not removed at once (it has no hook here); it leaves the heap when its end
 * comes, or earlier at a compaction: whenever the heap has doubled since the last one (at least
 * MIN_COMPACT entries), finished tunnels are dropped in one pass, so the heap stays within twice
 * the number of tunnels still open (amortized O(1) per entry). Never early: a tunnel is closed
 * only once `now() >= at`. The timer is unref'd: the tunnels keep the process alive, not it.
 */
export class ExpiryWatch {
  readonly #heap: Entry[] = [];
  readonly #now: () => number;
  #timer: NodeJS.Timeout | null = null;
  #timerAt = Infinity;
  #compactAt = MIN_COMPACT;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** Entries held (open tunnels, and finished ones not yet dropped). */
  get size(): number {
    return this.#heap.length;
  }

  /** Closes `target` with 1008 once epoch ms `at` has passed (at once when it already has). */
  add(target: Expirable, at: number): void {
    this.#push({ at, target });
    if (this.#heap.length >= this.#compactAt) this.#compact();
    if (at < this.#timerAt) this.#arm();
  }

  /** Expires what is due; run by the timer (tests call it with their own clock). */
  fire(): void {
    const now = this.#now();
    const heap = this.#heap;
    while (heap.length > 0 && heap[0]!.at <= now) {
      const { target } = this.#pop();
      if (!target.finished) target.close(CLOSE.POLICY, 'token expired');
    }
    this.#arm();
  }

  /** Drops every entry and the timer (tests; the process's watch lives as long as the process). */
  clear(): void {
    this.#heap.length = 0;
    this.#compactAt = MIN_COMPACT;
    this.#disarm();
  }

  #arm(): void {
    this.#disarm();
    const first = this.#heap[0];
    if (first === undefined) return;
    this.#timerAt = first.at;
    // Timers count whole ms: rounded up so that `at` has passed when it fires.
    const delay = Math.min(MAX_DELAY_MS, Math.max(1, Math.ceil(first.at - this.#now())));
    this.#timer = setTimeout(this.#onTimer, delay);
    this.#timer.unref();
  }

  #disarm(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#timerAt = Infinity;
  }

  readonly #onTimer = (): void => {
    this.#timer = null;
    this.#timerAt = Infinity;
    this.fire();
  };

  #compact(): void {
    const live = this.#heap.filter((e) => !e.target.finished);
    this.#heap.length = 0;
    for (const e of live) this.#heap.push(e);
    for (let i = (live.length >> 1) - 1; i >= 0; i--) this.#down(i);
    this.#compactAt = Math.max(MIN_COMPACT, live.length * 2);
  }

  #push(e: Entry): void {
    const heap = this.#heap;
    heap.push(e);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent]!.at <= e.at) break;
      heap[i] = heap[parent]!;
      i = parent;
    }
    heap[i] = e;
  }

  #pop(): Entry {
    const heap = this.#heap;
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      this.#down(0);
    }
    return top;
  }

  #down(i: number): void {
    const heap = this.#heap;
    const e = heap[i]!;
    const n = heap.length;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && heap[child + 1]!.at < heap[child]!.at) child++;
      if (heap[child]!.at >= e.at) break;
      heap[i] = heap[child]!;
      i = child;
    }
    heap[i] = e;
  }
}

/** The process's one watch over expiring tunnels. */
export const expiries = new ExpiryWatch();
