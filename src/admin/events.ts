/** GET /events: Server-Sent Events for the dashboard, one `tick` per sampler interval (1 s) with /status plus rates; a `snapshot` with the history first. */

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Sampler, Tick } from '../metrics/sampler.js';
import { fail } from './respond.js';

const MAX_STREAMS = 32;
/** A stream whose reader lags by this much is cut rather than buffered without bound. */
const MAX_BUFFERED = 1024 * 1024;

export class EventStreams {
  readonly #sampler: Sampler;
  readonly #document: (tick: Tick) => Record<string, unknown>;
  readonly #streams = new Set<ServerResponse>();
  #unsubscribe: (() => void) | null = null;

  /** `document(tick)` builds the payload once per tick, shared by every stream. */
  constructor(sampler: Sampler, document: (tick: Tick) => Record<string, unknown>) {
    this.#sampler = sampler;
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
    const tick = this.#sampler.last ?? this.#sampler.tick();
    const first = { ...this.#document(tick), history: this.#sampler.history };
    res.write(`retry: 2000\nevent: snapshot\ndata: ${JSON.stringify(first)}\n\n`);
    this.#streams.add(res);
    res.on('close', () => this.#remove(res));
    this.#unsubscribe ??= this.#sampler.subscribe(this.#broadcast);
  }

  /** Ends every stream (admin close). */
  closeAll(): void {
    for (const res of this.#streams) res.end();
    this.#streams.clear();
    this.#unsubscribe?.();
    this.#unsubscribe = null;
  }

  #broadcast = (tick: Tick): void => {
    const frame = `event: tick\ndata: ${JSON.stringify(this.#document(tick))}\n\n`;
    for (const res of this.#streams) {
      if (res.writableLength > MAX_BUFFERED) { res.destroy(); continue; }
      res.write(frame);
    }
  };

  #remove(res: ServerResponse): void {
    this.#streams.delete(res);
    if (this.#streams.size === 0 && this.#unsubscribe) {
      this.#unsubscribe();
      this.#unsubscribe = null;
    }
  }
}
