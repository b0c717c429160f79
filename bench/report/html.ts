/** --html FILE: a self-contained report (inline SVG and CSS, no script, no CDN) with the table and charts. */

import fs from 'node:fs';
import path from 'node:path';
import { decode, percentileCurve } from '../histogram.js';
import type { BenchResult } from '../run.js';
import { barChart, escapeXml, lineChart, type Series } from './svg.js';
import { formatTable, latencyTitle } from './table.js';

const COLORS = ['#4c78a8', '#e45756', '#54a24b', '#f58518', '#b279a2'];
const P_TICKS = [0, 1, 2, 3, 4, 5].map((v) => ({ value: v, label: v === 0 ? '0%' : `${(100 - Math.pow(10, 2 - v)).toFixed(Math.max(0, v - 2))}%` }));

export function renderHtml(r: BenchResult): string {
  const charts: string[] = [];
  const order = (n: string): number => ['latency', 'service', 'send_lag'].indexOf(n) + 1 || 9;
  const hists = Object.entries(r.histograms).sort((a, b) => order(a[0]) - order(b[0]));
  const curves: Series[] = hists.map(([name, enc], i) => ({
    name: name === 'latency' ? latencyTitle(r.scenario) : name.replace('_', ' '),
    color: COLORS[i % COLORS.length]!,
    points: percentileCurve(decode(enc)).map((p) => [p.x, p.ms] as [number, number]),
  }));
  charts.push(lineChart({ title: 'Latency by percentile (measured window)', xLabel: 'percentile', yLabel: 'ms', series: curves, xTicks: P_TICKS }));
  const ts = r.timeseries;
  // Each point covers the second before its time stamp.
  const measured = ts.filter((p) => p.phase === 'measure');
  const band = measured.length ? { from: measured[0]!.t - 1, to: measured.at(-1)!.t, label: 'measured window' } : undefined;
  charts.push(lineChart({
    title: 'Latency over time (each second)', xLabel: 'seconds', yLabel: 'ms', band,
    series: [
      { name: 'p50', color: COLORS[0]!, points: ts.filter((p) => p.p50 !== undefined).map((p) => [p.t, p.p50!]) },
      { name: 'p99', color: COLORS[1]!, points: ts.filter((p) => p.p99 !== undefined).map((p) => [p.t, p.p99!]) },
    ],
  }));
  const rateKey = r.scenario === 'handshake' ? 'handshakes' : r.scenario === 'idle' ? 'opened' : 'received';
  charts.push(lineChart({
    title: r.scenario === 'handshake' ? 'Upgrades per second' : r.scenario === 'idle' ? 'Connections' : 'Messages per second',
    xLabel: 'seconds', yLabel: r.scenario === 'idle' ? 'connections' : 'per second', band,
    series: r.scenario === 'idle'
      ? [{ name: 'open', color: COLORS[0]!, points: ts.map((p) => [p.t, p.open]) }]
      : [{ name: rateKey, color: COLORS[0]!, points: ts.map((p) => [p.t, p.counters[rateKey] ?? 0]) },
         ...(r.scenario === 'rate' || r.scenario === 'broadcast' ? [{ name: 'sent', color: COLORS[2]!, points: ts.map((p) => [p.t, p.counters.sent ?? 0] as [number, number]) }] : [])],
  }));
  if (ts.some((p) => p.cpu !== undefined)) {
    charts.push(lineChart({
      title: 'Watched processes', xLabel: 'seconds', yLabel: '% of a core / MiB',
      series: [
        { name: 'CPU %', color: COLORS[1]!, points: ts.filter((p) => p.cpu !== undefined).map((p) => [p.t, p.cpu! * 100]) },
        { name: 'RSS MiB', color: COLORS[3]!, points: ts.filter((p) => p.rssKiB !== undefined).map((p) => [p.t, p.rssKiB! / 1024]) },
      ],
    }));
  }
  if (r.servers?.length) {
    charts.push(barChart('Connections per server (total, from /status)', 'connections', r.servers.map((s) => ({ label: s.name, value: s.total }))));
  }
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>wslb-bench ${escapeXml(r.scenario)} ${escapeXml(r.date)}</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em auto; max-width: 760px; color: #222; }
pre { background: #f6f6f6; padding: 1em; overflow-x: auto; font-size: 12px; }
svg { display: block; margin: 1.5em 0; font-size: 11px; }
svg .title { font-weight: 600; font-size: 13px; }
svg .grid { stroke: #e3e3e3; }
.empty { color: #888; }
</style></head><body>
<h1>wslb-bench: ${escapeXml(r.scenario)}</h1>
<p>${escapeXml(r.date)} &middot; ${r.machine.cpus} x ${escapeXml(r.machine.model)} &middot; Node ${escapeXml(r.machine.node)} &middot; ${escapeXml(r.machine.os)}</p>
<pre>${escapeXml(formatTable(r))}</pre>
${charts.join('\n')}
</body></html>
`;
}

export function writeHtml(file: string, r: BenchResult): void {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  fs.writeFileSync(file, renderHtml(r));
}
