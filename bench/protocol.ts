/** Messages between the wslb-bench parent and its generator processes (over the child-process IPC channel). */

import type { BenchOptions } from './options.js';

export type Phase = 'setup' | 'warmup' | 'measure' | 'drain';

/** One generator process's share of the run. */
export interface WorkerJob {
  index: number;
  processes: number;
  opts: BenchOptions;
  /** Connections this process opens, numbered from `firstConnection` in the run (picks URL and source address). */
  connections: number;
  firstConnection: number;
  /** This process's share of --ramp, --rate, --publish and --max-messages. */
  ramp: number;
  rate: number;
  publish: number;
  maxMessages: number;
  /** Phase of this process's share of the aggregate rate (schedule.ts phaseOffsetMs). */
  offsetMs: number;
}

export type ToWorker =
  | { type: 'job'; job: WorkerJob }
  | { type: 'go'; /** No warm-up: the measured window opens with the load. */ measure: boolean }
  | { type: 'measure' }
  | { type: 'stop' }
  | { type: 'exit' };

/** Counters and encoded histograms of one second (ticks) or of the measured window (done). */
export interface Snapshot {
  counters: Record<string, number>;
  hists: Record<string, string>;
}

export interface Tick extends Snapshot {
  seq: number;
  phase: Phase;
  open: number;
}

export interface WorkerFinal {
  /** Attributed to the measured window: counters by the time they happened, latencies by send time. */
  measured: Snapshot;
  totals: Record<string, number>;
  errors: Record<string, number>;
  open: number;
}

export type FromWorker =
  | { type: 'tick'; tick: Tick }
  | { type: 'ready'; open: number }
  | { type: 'exhausted' }
  | { type: 'done'; final: WorkerFinal }
  | { type: 'fatal'; message: string };
