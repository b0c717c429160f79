/** Batches an expensive admin render (/metrics text, /status JSON): at most one per interval, shared by every request waiting for it. */

/**
 * Why batching and not a plain cache: a cached answer would show a request state older than the
 * request (a scrape right after a drain would not see it). Here a request joins the render in
 * flight, or else the next one, which starts no earlier than `intervalMs` after the previous
 * render started; the first request after a quiet interval renders at once. So a scrape storm
 * costs one render per interval however many clients wait, and no answer predates its request
 * by more than one render's own duration.
 */
export class RenderGate<T> {
  readonly intervalMs: number;
  readonly #render: () => T | Promise<T>;
  readonly #now: () => number;
  #lastStart = -Infinity;
  #pending: Promise<T> | null = null;
  #timer: NodeJS.Timeout | null = null;
  /** Renders run so far (tests and the bench read it). */
  renders = 0;

  constructor(render: () => T | Promise<T>, intervalMs: number, now: () => number = performance.now.bind(performance)) {
    this.#render = render;
    this.intervalMs = intervalMs;
    this.#now = now;
  }

  /** The render this request gets: the one in flight or scheduled, else a new one (at once, or when the interval allows). */
  get(): Promise<T> {
    if (this.#pending) return this.#pending;
    const wait = this.#lastStart + this.intervalMs - this.#now();
    const p = new Promise<void>((resolve) => {
      if (wait <= 0) return resolve();
      this.#timer = setTimeout(resolve, wait);   // kept ref'd: requests are waiting on it
    }).then(() => {
      this.#timer = null;
      this.#lastStart = this.#now();
      this.renders++;
      return this.#render();
    });
    // Cleared once settled, so the next request starts a new batch (a failed render is not kept).
    const pending = p.finally(() => { if (this.#pending === pending) this.#pending = null; });
    this.#pending = pending;
    return pending;
  }

  /** Drops a scheduled render (the listener is closing); requests waiting on it are closed with their sockets. */
  close(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }
}

/**
 * Spreads the answers of a batch over event-loop turns, `perTurn` at a time: 200 requests woken
 * by one render would otherwise write all at once (~30 us each) while every tunnel waits.
 */
export class TurnPacer {
  readonly perTurn: number;
  readonly #queue: (() => void)[] = [];
  #scheduled = false;

  constructor(perTurn: number) {
    this.perTurn = perTurn;
  }

  /** Resolves in a coming turn that has room. */
  next(): Promise<void> {
    return new Promise((resolve) => {
      this.#queue.push(resolve);
      if (!this.#scheduled) { this.#scheduled = true; setImmediate(this.#drain); }
    });
  }

  #drain = (): void => {
    this.#scheduled = false;
    for (const resolve of this.#queue.splice(0, this.perTurn)) resolve();
    if (this.#queue.length && !this.#scheduled) { this.#scheduled = true; setImmediate(this.#drain); }
  };
}
