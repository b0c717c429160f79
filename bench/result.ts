/** What a wslb-bench run produces: the result document (written as JSON, read by the reports and bench:compare) and its per-second points. */

import type { LatencySummary } from './histogram.js';
import type { BenchOptions } from './options.js';
import type { Phase } from './protocol.js';
import type { ServerShare } from './status.js';

export interface TimePoint {
  /** Seconds since the jobs were sent. */
  t: number;
  phase: Phase;
  open: number;
  counters: Record<string, number>;
  p50?: number;
  p99?: number;
  /** Watched processes: CPU (fraction of one core) and RSS. */
  cpu?: number;
  rssKiB?: number;
}

export interface BenchResult {
  tool: 'wslb-bench';
  scenario: BenchOptions['scenario'];
  date: string;
  machine: { cpus: number; model: string; memoryMiB: number; node: string; os: string };
  options: BenchOptions;
  processes: number;
  /** The measured window; startedAt/endedAt are epoch ms (to line it up with other records, e.g. a CPU profile). */
  window: { warmupMs: number; measuredMs: number; startedAt: number; endedAt: number };
  connections: { target: number; opened: number; failed: number; openAtEnd: number };
  /** Measured window, summed over processes. */
  counts: Record<string, number>;
  totals: Record<string, number>;
  errors: Record<string, number>;
  throughput: { messagesPerSec: number; sentPerSec: number; handshakesPerSec: number };
  latency: Record<string, LatencySummary>;
  /** Merged HDR histograms (microseconds), compressed base64: decode with hdr-histogram-js. */
  histograms: Record<string, string>;
  watched?: {
    pids: number[];
    cpuSeconds: number;
    cpuUsPerMessage?: number;
    cpuUsPerHandshake?: number;
    rssBaseKiB: number;
    rssPeakKiB: number;
    rssEndKiB: number;
    rssPerConnectionKiB?: number;
  };
  servers?: ServerShare[];
  timeseries: TimePoint[];
}
