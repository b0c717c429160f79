/** bench:compare's arithmetic: per-run figures, medians over repetitions, ratios, and the targets with a verdict. */

import path from 'node:path';
import type { BenchResult } from '../run.js';

export interface RunFigures {
  target: string;
  rep: number;
  scenario: string;
  figures: Record<string, number | null>;
}

/** The figures bench:compare keeps from one wslb-bench result. */
export function figuresOf(r: BenchResult): Record<string, number | null> {
  const l = r.latency.latency;
  const w = r.watched;
  switch (r.scenario) {
    case 'echo': return { msgsPerSec: r.throughput.messagesPerSec, p50: l?.p50 ?? null, p99: l?.p99 ?? null, cpuUsPerMsg: w?.cpuUsPerMessage ?? null };
    case 'rate': return {
      msgsPerSec: r.throughput.messagesPerSec, p50: l?.p50 ?? null, p99: l?.p99 ?? null, serviceP99: r.latency.service?.p99 ?? null,
      cpuUsPerMsg: w?.cpuUsPerMessage ?? null, late: r.counts.late ?? 0, dropped: r.counts.dropped ?? 0,
    };
    case 'idle': return { held: r.connections.openAtEnd, kibPerConn: w?.rssPerConnectionKiB ?? null };
    case 'handshake': return {
      perSec: r.throughput.handshakesPerSec, p50: l?.p50 ?? null, p99: l?.p99 ?? null, cpuUsPerUpgrade: w?.cpuUsPerHandshake ?? null, errors: r.totals.errors ?? 0,
    };
    case 'broadcast': return { msgsPerSec: r.throughput.messagesPerSec, p50: l?.p50 ?? null, p99: l?.p99 ?? null, cpuUsPerMsg: w?.cpuUsPerMessage ?? null };
    case 'flood': {
      const b = r.latency.baseline;
      const c = r.latency.control;
      const heavyClosed = Object.entries(r.totals).filter(([k]) => k.startsWith('heavy_closed_')).reduce((a, [, v]) => a + v, 0);
      return {
        baseP50: b?.p50 ?? null, baseP99: b?.p99 ?? null, baseMax: b?.max ?? null, p50: l?.p50 ?? null, p99: l?.p99 ?? null, max: l?.max ?? null,
        // What the flood cost the probe: its p99 during the flood over its own p99 just before it.
        p99Added: l && b ? Math.round((l.p99 - b.p99) * 1000) / 1000 : null,
        // The control probe (no proxy, same farm, same times) during the flood: the farm's and the
        // machine's share; p99OverControl is what the probe's p99 holds beyond it.
        controlP99: c?.p99 ?? null,
        p99OverControl: l && c ? Math.round((l.p99 - c.p99) * 1000) / 1000 : null,
        rssPeakMiB: w ? w.rssPeakKiB / 1024 : null, cpuSeconds: w?.cpuSeconds ?? null,
        heavy1008: r.totals.heavy_closed_1008 ?? 0, heavyClosedOther: heavyClosed - (r.totals.heavy_closed_1008 ?? 0), heavyOpen: r.totals.heavy_open_at_end ?? 0,
      };
    }
    default: return { msgsPerSec: r.throughput.messagesPerSec, p99: l?.p99 ?? null };
  }
}

export function median(xs: readonly number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Adds rate.p99Added (p99 minus direct's p99 in the same repetition) to every proxied run. */
export function addDerived(runs: RunFigures[]): RunFigures[] {
  const out = runs.map((r) => ({ ...r, figures: { ...r.figures } }));
  for (const r of out) {
    if (r.scenario !== 'rate' || r.target === 'direct') continue;
    const d = out.find((x) => x.target === 'direct' && x.rep === r.rep && x.scenario === 'rate');
    const p = r.figures.p99;
    const dp = d?.figures.p99;
    r.figures.p99Added = p != null && dp != null ? Math.round((p - dp) * 1000) / 1000 : null;
  }
  return out;
}

/** target -> "scenario.figure" -> median over repetitions. */
export type Medians = Record<string, Record<string, number | null>>;

export function medians(runs: RunFigures[]): Medians {
  const groups = new Map<string, Map<string, number[]>>();
  for (const r of addDerived(runs)) {
    const g = groups.get(r.target) ?? new Map<string, number[]>();
    groups.set(r.target, g);
    for (const [k, v] of Object.entries(r.figures)) {
      const key = `${r.scenario}.${k}`;
      const list = g.get(key) ?? [];
      if (v !== null && Number.isFinite(v)) list.push(v);
      g.set(key, list);
    }
  }
  const out: Medians = {};
  for (const [target, g] of groups) {
    out[target] = {};
    for (const [k, list] of g) out[target]![k] = median(list);
  }
  return out;
}

export interface Row { key: string; label: string }

export const ROWS: Row[] = [
  { key: 'echo.msgsPerSec', label: 'echo msg/s' },
  { key: 'echo.p50', label: 'echo p50 ms' },
  { key: 'echo.p99', label: 'echo p99 ms' },
  { key: 'echo.cpuUsPerMsg', label: 'echo proxy CPU us/msg' },
  { key: 'rate.msgsPerSec', label: 'rate msg/s' },
  { key: 'rate.p50', label: 'rate p50 ms (CO-corrected)' },
  { key: 'rate.p99', label: 'rate p99 ms (CO-corrected)' },
  { key: 'rate.p99Added', label: 'rate p99 added over direct ms' },
  { key: 'rate.cpuUsPerMsg', label: 'rate proxy CPU us/msg' },
  { key: 'rate.late', label: 'rate late sends' },
  { key: 'idle.held', label: 'idle connections held' },
  { key: 'idle.kibPerConn', label: 'idle proxy KiB/conn' },
  { key: 'handshake.perSec', label: 'handshakes/s' },
  { key: 'handshake.p50', label: 'handshake p50 ms' },
  { key: 'handshake.p99', label: 'handshake p99 ms' },
  { key: 'handshake.cpuUsPerUpgrade', label: 'proxy CPU us/upgrade' },
  { key: 'broadcast.msgsPerSec', label: 'broadcast delivered msg/s' },
  { key: 'broadcast.p50', label: 'broadcast lag p50 ms' },
  { key: 'broadcast.p99', label: 'broadcast lag p99 ms' },
  { key: 'broadcast.cpuUsPerMsg', label: 'broadcast proxy CPU us/delivered msg' },
  { key: 'flood.baseP99', label: 'flood: probe p99 ms, before' },
  { key: 'flood.baseMax', label: 'flood: probe max ms, before' },
  { key: 'flood.p50', label: 'flood: probe p50 ms, during' },
  { key: 'flood.p99', label: 'flood: probe p99 ms, during' },
  { key: 'flood.p99Added', label: 'flood: probe p99 added by the flood ms (during - before)' },
  { key: 'flood.controlP99', label: 'flood: control probe p99 ms, during (no proxy: same farm, same times)' },
  { key: 'flood.p99OverControl', label: 'flood: probe p99 over the control\'s ms (what the proxy added)' },
  { key: 'flood.max', label: 'flood: probe max ms, during' },
  { key: 'flood.rssPeakMiB', label: 'flood: proxy RSS peak MiB' },
  { key: 'flood.cpuSeconds', label: 'flood: proxy CPU s in the window' },
  { key: 'flood.heavy1008', label: 'flood: heavy closed 1008' },
  { key: 'flood.heavyClosedOther', label: 'flood: heavy closed otherwise' },
  { key: 'flood.heavyOpen', label: 'flood: heavy still open at end' },
  { key: 'echo.machineBusy', label: 'machine busy during echo (0-1)' },
  { key: 'rate.machineBusy', label: 'machine busy during rate (0-1)' },
  { key: 'handshake.machineBusy', label: 'machine busy during handshake (0-1)' },
  { key: 'broadcast.machineBusy', label: 'machine busy during broadcast (0-1)' },
  { key: 'flood.machineBusy', label: 'machine busy during flood (0-1)' },
];

export interface Verdict { target: string; measured: string; met: boolean | null }

const f2 = (x: number): string => (Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 10 ? x.toFixed(1) : x.toFixed(2));

/** wslb's targets, judged on the medians (null: a peer was not measured). floor-l7 is Node's floor, a reference. */
export function verdicts(m: Medians, idleConnections: number): Verdict[] {
  const get = (t: string, k: string): number | null | undefined => m[t]?.[k];
  const out: Verdict[] = [];
  const ratio = (a: number | null | undefined, b: number | null | undefined): number | null => (a != null && b != null && b > 0 ? a / b : null);
  const bound = (target: string, r: number | null, ok: (r: number) => boolean, of = ''): void => {
    out.push({ target, measured: r === null ? 'not measured' : `${r.toFixed(3)}x${of}`, met: r === null ? null : ok(r) });
  };
  bound('handshake: proxy CPU per upgrade cycle <= 1.1x the Node L7 floor (floor-l7)',
    ratio(get('wslb', 'handshake.cpuUsPerUpgrade'), get('floor-l7', 'handshake.cpuUsPerUpgrade')), (r) => r <= 1.1, ' floor-l7');
  bound('handshakes/s >= 0.65x HAProxy', ratio(get('wslb', 'handshake.perSec'), get('haproxy', 'handshake.perSec')), (r) => r >= 0.65);
  bound('broadcast: proxy CPU per delivered message <= 1.25x HAProxy',
    ratio(get('wslb', 'broadcast.cpuUsPerMsg'), get('haproxy', 'broadcast.cpuUsPerMsg')), (r) => r <= 1.25);
  bound('echo: proxy CPU per message <= 1.5x HAProxy (nbthread 1)', ratio(get('wslb', 'echo.cpuUsPerMsg'), get('haproxy', 'echo.cpuUsPerMsg')), (r) => r <= 1.5);
  const wa = get('wslb', 'rate.p99Added');
  const ha = get('haproxy', 'rate.p99Added');
  out.push({ target: 'rate: p99 added over direct no worse than HAProxy', measured: wa == null || ha == null ? 'not measured' : `wslb +${f2(wa)} ms, HAProxy +${f2(ha)} ms`, met: wa == null || ha == null ? null : wa <= ha });
  const wf = get('wslb', 'flood.p99Added');
  const hf = get('haproxy', 'flood.p99Added');
  const df = get('direct', 'flood.p99Added');
  const wc = get('wslb', 'flood.p99OverControl');
  const hc = get('haproxy', 'flood.p99OverControl');
  // Beside the verdict: the probe's p99 over the control's (no proxy, same farm, same times).
  const over = wc == null ? '' : `; over the control probe: wslb +${f2(wc)} ms${hc == null ? '' : `, HAProxy +${f2(hc)} ms`}`;
  out.push({
    target: 'flood: a healthy client\'s p99 within 5 ms of its value before the flood',
    measured: wf == null ? 'not measured' : `wslb +${f2(wf)} ms${hf == null ? '' : `, HAProxy +${f2(hf)} ms`}${df == null ? '' : `, direct +${f2(df)} ms`}${over}`,
    met: wf == null ? null : wf <= 5,
  });
  const kib = get('wslb', 'idle.kibPerConn');
  out.push({ target: `idle: memory per proxied connection <= 5 KiB (at ${idleConnections.toLocaleString('en-US')})`, measured: kib == null ? 'not measured' : `${f2(kib)} KiB`, met: kib == null ? null : kib <= 5 });
  return out;
}

/** Peers wslb gets a ratio column against: HAProxy, Node's L7 floor and wslb-base (the tree before) when measured, else every peer. */
export function ratioPeers(targets: string[]): string[] {
  const peers = targets.filter((t) => t !== 'wslb' && t !== 'direct');
  const main = peers.filter((p) => p === 'haproxy' || p === 'floor-l7' || p === 'wslb-base');
  return main.length ? main : peers;
}

/** Targets that are references, not products (bench/compare/floor-main.ts). */
export const REFERENCES: Readonly<Record<string, string>> = {
  'floor-l7': "reference: Node's floor, not a product: http.Server 'upgrade' + raw head written upstream + pipe",
  'floor-l4': "reference: Node's floor, not a product: net.createServer + net.connect + pipe, no parsing",
};

/** A Markdown table: one row per figure, one column per target, then wslb's ratio to HAProxy and the L7 floor; references named below it. */
export function markdownTable(m: Medians, targets: string[]): string {
  const peers = ratioPeers(targets);
  const head = ['figure (median)', ...targets.map((t) => (REFERENCES[t] ? `${t} (ref)` : t)), ...peers.map((p) => `wslb/${p}`)];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`];
  for (const row of ROWS) {
    const vals = targets.map((t) => m[t]?.[row.key]);
    if (vals.every((v) => v == null)) continue;
    const w = m.wslb?.[row.key];
    const ratios = peers.map((p) => {
      const v = m[p]?.[row.key];
      return w != null && v != null && v !== 0 && !/Added|OverControl|late|held|machineBusy|heavy|flood\.cpuSeconds/.test(row.key) ? `${(w / v).toFixed(2)}x` : '';
    });
    lines.push(`| ${[row.label, ...vals.map((v) => (v == null ? '-' : f2(v))), ...ratios].join(' | ')} |`);
  }
  const refs = targets.filter((t) => REFERENCES[t]);
  if (refs.length) lines.push('', ...refs.map((t) => `${t} (ref): ${REFERENCES[t]} (bench/compare/floor-main.ts).`));
  return lines.join('\n');
}

export function verdictTable(vs: Verdict[]): string {
  const lines = ['| target | measured | met |', '|---|---|---|'];
  for (const v of vs) lines.push(`| ${v.target} | ${v.measured} | ${v.met === null ? 'n/a' : v.met ? 'yes' : '**no**'} |`);
  return lines.join('\n');
}

/** A repetition of one target (and scenario) that failed to start or run. */
export interface FailedRun { target: string; rep: number; scenario?: string; error: string }

/** The end of a comparison's console report: versions, skipped targets, failures and the results file; a failure sets exit code 1. */
export function printRunEnd(versions: Record<string, string>, skipped: Record<string, string>, failed: readonly FailedRun[], file: string): void {
  for (const [k, v] of Object.entries(versions)) process.stdout.write(`${k}: ${v}\n`);
  for (const [k, v] of Object.entries(skipped)) process.stdout.write(`${k}: skipped (${v})\n`);
  for (const f of failed) process.stdout.write(`FAILED: rep ${f.rep} ${f.target} ${f.scenario ?? ''}: ${f.error}\n`);
  process.stdout.write(`results: ${path.relative(process.cwd(), file)}\n`);
  if (failed.length) process.exitCode = 1;
}
