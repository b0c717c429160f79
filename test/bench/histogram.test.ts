/** HDR histograms across processes: encode, merge, summarize, percentile curve. */

import t from 'tap';
import { decode, encode, merge, newHistogram, percentileCurve, recordMs, summarize } from '../../bench/histogram.js';

t.test('merging encoded histograms equals recording everything in one', async (t) => {
  const all = newHistogram();
  const parts = [newHistogram(), newHistogram(), newHistogram()];
  for (let i = 1; i <= 30_000; i++) {
    const ms = (i % 1000) / 10 + (i % 7 === 0 ? 50 : 0);   // 0.1 .. 149.9 ms
    recordMs(all, ms);
    recordMs(parts[i % 3]!, ms);
  }
  const merged = merge(parts.map(encode));
  t.equal(merged.totalCount, 30_000);
  const [a, b] = [summarize(merged), summarize(all)];
  t.same({ ...a, max: 0 }, { ...b, max: 0 }, 'every percentile, min and mean match');
  t.ok(Math.abs(a.max - b.max) / b.max < 0.001, 'max within the histogram precision (an encoded max is its bucket top)');
  for (const p of [50, 90, 99, 99.9]) t.equal(merged.getValueAtPercentile(p), all.getValueAtPercentile(p), `p${p}`);
});

t.test('merge skips missing and empty histograms', async (t) => {
  const h = newHistogram();
  recordMs(h, 2);
  const m = merge([undefined, null, encode(newHistogram()), encode(h)]);
  t.equal(m.totalCount, 1);
  t.equal(summarize(m).p50, 2);
  t.same(summarize(merge([])), { count: 0, min: 0, mean: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0 });
});

t.test('values are microseconds; sub-microsecond latencies count as 1 us', async (t) => {
  const h = newHistogram();
  recordMs(h, 0);
  recordMs(h, 1.234);
  const s = summarize(decode(encode(h)));
  t.equal(s.min, 0.001);
  t.ok(Math.abs(s.max - 1.234) <= 0.002, `max ${s.max}`);
});

t.test('a 10-minute stall still fits (the histogram grows)', async (t) => {
  const h = newHistogram();
  recordMs(h, 600_000);
  t.ok(Math.abs(summarize(h).max - 600_000) / 600_000 < 0.001);
});

t.test('percentile curve rises and ends at the max', async (t) => {
  const h = newHistogram();
  for (let i = 1; i <= 10_000; i++) recordMs(h, i / 100);
  const c = percentileCurve(h);
  t.ok(c.length > 10);
  for (let i = 1; i < c.length; i++) {
    t.ok(c[i]!.x > c[i - 1]!.x, 'x rises');
    t.ok(c[i]!.ms >= c[i - 1]!.ms, 'latency never falls');
  }
  t.equal(c.at(-1)!.p, 100);
  t.ok(Math.abs(c.at(-1)!.ms - summarize(h).max) / summarize(h).max < 0.001);
  t.same(percentileCurve(newHistogram()), []);
});
