/** HDR latency histograms (microseconds): build, encode for the trip between processes, merge, summarize. */

import * as hdr from 'hdr-histogram-js';

export type Histogram = hdr.Histogram;

/** Percentiles every report shows. */
export const PERCENTILES = [50, 90, 99, 99.9] as const;

export interface LatencySummary {
  count: number;
  /** All values in milliseconds (recorded in microseconds). */
  min: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

/** Microsecond resolution, 3 significant digits, grows as needed (a stalled run can record minutes). */
export function newHistogram(): Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3, autoResize: true });
}

/** Records milliseconds as whole microseconds (never 0: the histogram's lowest value is 1 us). */
export function recordMs(h: Histogram, ms: number): void {
  h.recordValue(ms <= 0.001 ? 1 : Math.round(ms * 1000));
}

export function encode(h: Histogram): string {
  return hdr.encodeIntoCompressedBase64(h);
}

export function decode(s: string): Histogram {
  return hdr.decodeFromCompressedBase64(s);
}

/** One histogram holding every value of the encoded ones (workers' histograms, several repetitions). */
export function merge(encoded: readonly (string | null | undefined)[]): Histogram {
  const out = newHistogram();
  for (const e of encoded) {
    if (!e) continue;
    const h = decode(e);
    if (h.totalCount > 0) out.add(h);
  }
  return out;
}

const ms = (us: number): number => Math.round(us) / 1000;

export function summarize(h: Histogram): LatencySummary {
  if (h.totalCount === 0) return { count: 0, min: 0, mean: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0 };
  return {
    count: h.totalCount,
    min: ms(h.minNonZeroValue),
    mean: Math.round(h.mean) / 1000,
    p50: ms(h.getValueAtPercentile(50)),
    p90: ms(h.getValueAtPercentile(90)),
    p99: ms(h.getValueAtPercentile(99)),
    p999: ms(h.getValueAtPercentile(99.9)),
    max: ms(h.maxValue),
  };
}

/**
 * Points of the percentile curve for the HTML chart: x = -log10(1 - p/100) (0 is p0, 2 is p99,
 * 3 is p99.9), spaced 0.1 apart up to what the sample count supports, then the max.
 */
export function percentileCurve(h: Histogram): { x: number; p: number; ms: number }[] {
  if (h.totalCount === 0) return [];
  const out: { x: number; p: number; ms: number }[] = [];
  const top = Math.min(6, Math.max(1, Math.floor(Math.log10(h.totalCount) * 10) / 10));
  for (let i = 0; i <= Math.round(top * 10); i++) {
    const x = i / 10;
    const p = 100 * (1 - Math.pow(10, -x));
    out.push({ x, p, ms: ms(h.getValueAtPercentile(p)) });
  }
  out.push({ x: top + 0.2, p: 100, ms: ms(h.getValueAtPercentile(100)) });   // bucket-equivalent, like the points before it
  return out;
}
