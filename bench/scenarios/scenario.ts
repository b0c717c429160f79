/** What a scenario is inside a generator process: open, start, stop (waiting for replies in flight), close. */

import type { WorkerJob } from '../protocol.js';
import type { Stats } from '../stats.js';

export interface ScenarioWorker {
  /** Opens this process's connections; resolves when each one is open or failed. */
  setup(): Promise<void>;
  /** The load starts (the parent's `go`). */
  start(): void;
  /** No new sends; resolves when replies to sent messages are in, or after job.opts.drainMs. */
  stop(): Promise<void>;
  close(): void;
  /** Connections open now. */
  readonly open: number;
  /** Set when this process's --max-messages share is used up. */
  onExhausted?: () => void;
}

export type ScenarioFactory = (job: WorkerJob, stats: Stats) => ScenarioWorker;

/** Resolves when `done()` is true (checked every 10 ms) or after `ms`. */
export async function waitUntil(done: () => boolean, ms: number): Promise<void> {
  const end = performance.now() + ms;
  while (!done() && performance.now() < end) await new Promise((r) => setTimeout(r, 10));
}
