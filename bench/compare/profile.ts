/** Summary of a V8 .cpuprofile (node --cpu-prof): where the busy time goes, by function and by area. */

import fs from 'node:fs';
import path from 'node:path';

interface CpuNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface CpuProfile { nodes: CpuNode[]; startTime: number; endTime: number; samples?: number[]; timeDeltas?: number[] }

export interface ProfileSummary {
  busyMs: number;
  idleMs: number;
  top: { fn: string; where: string; selfMs: number; share: number }[];
  areas: { area: string; selfMs: number; share: number }[];
}

/** The area a frame belongs to: wslb's own folders, Node internals by module, GC, or a dependency. */
export function areaOf(url: string, fn: string): string {
  if (fn === '(garbage collector)') return 'GC';
  if (fn === '(program)') return 'V8/native (program)';
  if (fn === '(idle)') return 'idle';
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0] === 'internal' ? url.slice(14).split('/')[0]!.replace(/\.js$/, '') : url.slice(5)}`;
  const src = /\/dist\/src\/(\w+)\//.exec(url) ?? /\/src\/(\w+)\//.exec(url);
  if (src) return `wslb ${src[1]}/`;
  const top = /\/(?:dist\/)?src\/([\w-]+)\.[jt]s$/.exec(url);
  if (top) return `wslb ${top[1]}`;
  const dep = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (dep) return dep[1]!;
  if (url === '') return fn ? `native ${fn}` : 'native';
  return path.basename(url);
}

/** Microseconds of self time per node id, from the samples within [fromMs, toMs) of the profile's start (all when no samples). */
function selfTimes(p: CpuProfile, fromMs: number, toMs: number): Map<number, number> {
  const out = new Map<number, number>();
  if (p.samples?.length && p.timeDeltas?.length === p.samples.length) {
    let t = 0;
    for (let i = 0; i < p.samples.length; i++) {
      t += p.timeDeltas[i]!;
      // A sample's time is the gap to the next one.
      const dt = i + 1 < p.timeDeltas.length ? p.timeDeltas[i + 1]! : 0;
      if (t / 1000 < fromMs || t / 1000 >= toMs) continue;
      out.set(p.samples[i]!, (out.get(p.samples[i]!) ?? 0) + dt);
    }
    return out;
  }
  const hits = p.nodes.reduce((s, n) => s + (n.hitCount ?? 0), 0) || 1;
  for (const n of p.nodes) out.set(n.id, ((n.hitCount ?? 0) * (p.endTime - p.startTime)) / hits);
  return out;
}

/** `fromMs`/`toMs`: only samples in that window after the profile's start (e.g. the measured window, not start-up). */
export function summarizeProfile(p: CpuProfile, topN = 15, fromMs = 0, toMs = Infinity): ProfileSummary {
  const times = selfTimes(p, fromMs, toMs);
  const byFn = new Map<string, { fn: string; where: string; us: number }>();
  const byArea = new Map<string, number>();
  let idle = 0;
  let total = 0;
  for (const n of p.nodes) {
    const us = times.get(n.id) ?? 0;
    if (us === 0) continue;
    total += us;
    const { functionName, url, lineNumber } = n.callFrame;
    const area = areaOf(url, functionName);
    if (area === 'idle') { idle += us; continue; }
    byArea.set(area, (byArea.get(area) ?? 0) + us);
    const where = url ? `${url.replace(/^file:\/\/.*?\/(dist|node_modules)\//, '$1/')}:${lineNumber + 1}` : '';
    const key = `${functionName}@${where}`;
    const e = byFn.get(key) ?? { fn: functionName || '(anonymous)', where, us: 0 };
    e.us += us;
    byFn.set(key, e);
  }
  const busy = total - idle;
  const ms = (us: number): number => Math.round(us / 100) / 10;
  const share = (us: number): number => Math.round((us / busy) * 1000) / 10;
  return {
    busyMs: ms(busy),
    idleMs: ms(idle),
    top: [...byFn.values()].sort((a, b) => b.us - a.us).slice(0, topN).map((e) => ({ fn: e.fn, where: e.where, selfMs: ms(e.us), share: share(e.us) })),
    areas: [...byArea.entries()].sort((a, b) => b[1] - a[1]).map(([area, us]) => ({ area, selfMs: ms(us), share: share(us) })),
  };
}

export function readProfile(file: string): CpuProfile {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
}

export function formatProfile(s: ProfileSummary): string {
  const lines = [`busy ${s.busyMs} ms (idle ${s.idleMs} ms)`, '', 'by area (self time, share of busy):'];
  for (const a of s.areas.slice(0, 12)) lines.push(`  ${a.share.toFixed(1).padStart(5)}%  ${a.area}`);
  lines.push('', 'top functions (self time):');
  for (const t of s.top) lines.push(`  ${t.share.toFixed(1).padStart(5)}%  ${t.fn}  ${t.where}`);
  return lines.join('\n');
}
