/** Text output: the live progress line and the final table. */

import type { BenchOptions } from '../options.js';
import type { BenchResult, TimePoint } from '../result.js';

const int = (n: number | undefined): string => Math.round(n ?? 0).toLocaleString('en-US');
const ms = (n: number | undefined): string => (n === undefined ? '-' : n < 10 ? n.toFixed(3) : n < 100 ? n.toFixed(2) : n.toFixed(1));

/** One line per second: phase, connections, msg/s (or upgrades/s), p99 of the second and so far, errors. */
export function formatProgress(p: TimePoint, opts: BenchOptions, p99SoFar: number | undefined): string {
  const c = p.counters;
  const parts = [`[${p.t.toFixed(0).padStart(4)}s ${p.phase.padEnd(7)}]`, `conns ${int(p.open)}/${int(opts.connections)}`];
  if (opts.scenario === 'handshake') parts.push(`upgrades/s ${int(c.handshakes)}`);
  else if (opts.scenario === 'idle') parts.push(`opened ${int(c.opened)}`, ...(c.pings ? [`pings ${int(c.pings)}`] : []));
  else parts.push(`msg/s ${int(c.received)}`, ...(c.sent !== undefined && opts.scenario !== 'echo' ? [`sent/s ${int(c.sent)}`] : []));
  if (p.p99 !== undefined) parts.push(`p99 ${ms(p.p99)} ms`);
  if (p99SoFar !== undefined) parts.push(`(so far ${ms(p99SoFar)})`);
  parts.push(`errors ${int(c.errors)}`);
  if (c.late) parts.push(`late ${int(c.late)}`);
  if (c.dropped) parts.push(`dropped ${int(c.dropped)}`);
  if (p.cpu !== undefined) parts.push(`watched cpu ${(p.cpu * 100).toFixed(0)}% rss ${int((p.rssKiB ?? 0) / 1024)} MiB`);
  return parts.join('  ');
}

const LATENCY_TITLES: Record<string, string> = {
  latency: 'latency',
  service: 'service time (from actual send)',
  send_lag: 'send lag (actual - intended)',
  baseline: 'probe round trip, before the flood',
  control_before: 'control probe, before the flood',
  control: 'control probe, during the flood',
};

/** The final table, as lines of text. */
export function formatTable(r: BenchResult): string {
  const o = r.options;
  const lines: string[] = [];
  const kv = (k: string, v: string): void => { lines.push(`  ${k.padEnd(26)} ${v}`); };
  lines.push(`wslb-bench ${r.scenario}: ${o.urls.join(', ')}`);
  kv('processes', `${r.processes}${o.localAddresses.length ? ` (source addresses ${o.localAddresses[0]}..${o.localAddresses.at(-1)})` : ''}`);
  kv('window', `${(r.window.measuredMs / 1000).toFixed(1)} s measured after ${(r.window.warmupMs / 1000).toFixed(1)} s warm-up`);
  kv('connections', `${int(r.connections.openAtEnd)} open at end, ${int(r.connections.opened)} opened, ${int(r.connections.failed)} failed (target ${int(r.connections.target)})`);
  const c = r.counts;
  if (r.scenario === 'handshake') {
    kv('upgrades/s', int(r.throughput.handshakesPerSec));
    kv('upgrades', int(c.handshakes));
    if (o.raw) kv('full cycles', `${int(c.cycles)} (raw TCP: upgrade + close handshake + FIN)`);
  } else if (r.scenario === 'flood') {
    kv('heavy downloaders', `${int(o.heavy)}: ${heavyEnds(r.totals)}`);
    kv('probe (msg/s)', `${int(r.throughput.messagesPerSec)} echoed of ${int(o.probeRate)}/s; dropped ${int(c.dropped)}`);
  } else if (r.scenario === 'idle') {
    kv('held', `${int(r.connections.openAtEnd)} of ${int(r.connections.target)}; dropped during hold ${int(c.dropped_connections)}`);
    if (c.pings) kv('pings / pongs', `${int(c.pings)} / ${int(c.pongs)}`);
  } else {
    kv('received (msg/s)', int(r.throughput.messagesPerSec));
    if (c.sent !== undefined) kv('sent (msg/s)', int(r.throughput.sentPerSec));
    kv('messages received', int(c.received));
    if (r.scenario === 'rate') kv('late sends', `${int(c.late)} (> ${o.lateMs} ms behind schedule); dropped (backpressure) ${int(c.dropped)}`);
    if (c.dropped_connections) kv('connections dropped', int(c.dropped_connections));
  }
  const errs = Object.entries(r.errors);
  kv('errors', errs.length ? errs.map(([k, v]) => `${k}: ${int(v)}`).join(', ') : '0');

  const names = Object.keys(r.latency).sort((a, b) => order(a) - order(b));
  if (names.length) {
    lines.push('');
    const head = ['count', 'p50 (ms)', 'p90 (ms)', 'p99 (ms)', 'p99.9 (ms)', 'max (ms)'];
    lines.push(`  ${'latency'.padEnd(34)}${head.map((h) => h.padStart(11)).join('')}`);
    for (const name of names) {
      const s = r.latency[name]!;
      const title = name === 'latency' ? latencyTitle(r.scenario) : LATENCY_TITLES[name] ?? name;
      lines.push(`  ${title.padEnd(34)}${[int(s.count), ms(s.p50), ms(s.p90), ms(s.p99), ms(s.p999), ms(s.max)].map((x) => x.padStart(11)).join('')}`);
    }
  }
  const w = r.watched;
  if (w) {
    lines.push('');
    kv('watched pids', w.pids.join(', '));
    kv('CPU in the window (s)', w.cpuSeconds.toFixed(2));
    if (w.cpuUsPerMessage !== undefined) kv('CPU per message (us)', w.cpuUsPerMessage.toFixed(2));
    if (w.cpuUsPerHandshake !== undefined) kv('CPU per upgrade (us)', w.cpuUsPerHandshake.toFixed(1));
    kv('RSS base / peak (MiB)', `${(w.rssBaseKiB / 1024).toFixed(1)} / ${(w.rssPeakKiB / 1024).toFixed(1)}`);
    if (w.rssPerConnectionKiB !== undefined) kv('RSS per connection (KiB)', w.rssPerConnectionKiB.toFixed(2));
  }
  if (r.servers?.length) {
    lines.push('');
    for (const s of r.servers) kv(`server ${s.pool}/${s.name}`, `active ${int(s.active)}, total ${int(s.total)}`);
  }
  return lines.join('\n');
}

function order(name: string): number {
  return name === 'baseline' ? -1 : name === 'latency' ? 0 : name === 'service' ? 1 : name === 'control_before' ? 2 : 3;
}

/** flood: how the heavy connections ended, from the totals: `close 1008: 100` (closed by the target with that code), `still open: 3`. */
export function heavyEnds(totals: Record<string, number>): string {
  const parts = Object.entries(totals).filter(([k]) => k.startsWith('heavy_closed_'))
    .sort((a, b) => b[1] - a[1]).map(([k, v]) => `close ${k.slice('heavy_closed_'.length)}: ${int(v)}`);
  if (totals.heavy_open_at_end) parts.push(`still open: ${int(totals.heavy_open_at_end)}`);
  return parts.length ? parts.join(', ') : 'none opened';
}

export function latencyTitle(scenario: string): string {
  switch (scenario) {
    case 'rate': return 'latency (from intended send)';
    case 'handshake': return 'handshake (connect to open)';
    case 'idle': return 'ping round trip';
    case 'broadcast': return 'delivery lag (from ts)';
    case 'flood': return 'probe round trip, during the flood';
    default: return 'round trip';
  }
}
