/** GET /events: Server-Sent Events for the dashboard, one `tick` per sampler interval (1 s) with /status plus rates; a `snapshot` with the history first. */

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Sample } from '../metrics/sampler.js';
import { fail } from './respond.js';

/** What the streams follow: the Sampler in a lone process, the primary's merged ticks in a cluster (src/cluster/primary-events.ts). */
export interface TickSource<T> {
  /** The latest tick; null when there is none to show yet (the snapshot then goes out with the next tick). */
  readonly last: T | null;
  /** Oldest first. */
  readonly history: readonly Sample[];
  /** Called after every tick; returns the unsubscribe function. */
  subscribe(fn: (tick: T) => void): () => void;
  /** A tick taken now, when `last` is null (the Sampler before its first interval). */
  tick?(): T;
}

const MAX_STREAMS = 32;
/** A stream whose reader lags by this much is cut rather than buffered without bound. */
const MAX_BUFFERED = 1024 * 1024;

export class EventStreams<T> {
  readonly #source: TickSource<T>;
  readonly #document: (tick: T) => Record<string, unknown>;
  readonly #streams = new Set<ServerResponse>();
  /** Streams whose snapshot waits for the source's next tick. */
  readonly #waiting = new Set<ServerResponse>();
  #unsubscribe: (() => void) | null = null;

  /** `document(tick)` builds the payload once per tick, shared by every stream. */
  constructor(source: TickSource<T>, document: (tick: T) => Record<string, unknown>) {
    this.#source = source;
    this.#document = document;
  }

  get size(): number {
    return this.#streams.size;
  }

  open(req: IncomingMessage, res: ServerResponse): void {
    if (this.#streams.size >= MAX_STREAMS) {
      return fail(res, 'WSLB_ERR_ADMIN_BUSY', `at most ${MAX_STREAMS} event streams`, { 'Retry-After': '5' });
    }
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      'Connection': 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    if (req.method === 'HEAD') { res.end(); return; }
    req.socket.setNoDelay(true);
    const tick = this.#source.last ?? this.#source.tick?.() ?? null;
    if (tick === null) this.#waiting.add(res);
    res.write(tick === null ? 'retry: 2000\n\n' : `retry: 2000\n${this.#snapshot(tick)}`);
    this.#streams.add(res);
    res.on('close', () => this.#remove(res));
    this.#unsubscribe ??= this.#source.subscribe(this.#broadcast);
  }

  /** Ends every stream (admin close). */
  closeAll(): void {
    for (const res of this.#streams) res.end();
    this.#streams.clear();
    this.#waiting.clear();
    this.#unsubscribe?.();
    this.#unsubscribe = null;
  }

  #snapshot(tick: T): string {
    return `event: snapshot\ndata: ${JSON.stringify({ ...this.#document(tick), history: this.#source.history })}\n\n`;
  }

  #broadcast = (tick: T): void => {
    const frame = `event: tick\ndata: ${JSON.stringify(this.#document(tick))}\n\n`;
    const snapshot = this.#waiting.size > 0 ? this.#snapshot(tick) : '';
    for (const res of this.#streams) {
      if (res.writableLength > MAX_BUFFERED) { res.destroy(); continue; }
      res.write(this.#waiting.delete(res) ? snapshot : frame);
    }
  };

  #remove(res: ServerResponse): void {
    this.#streams.delete(res);
    this.#waiting.delete(res);
    if (this.#streams.size === 0 && this.#unsubscribe) {
      this.#unsubscribe();
      this.#unsubscribe = null;
    }
  }
}
