#!/usr/bin/env node
/** Joins bench:compare results of one commit run scenario by scenario (each file one run, so each row's ratios stay within one run) into one Markdown report. */
// Usage: node dist/bench/compare/merge.js FILE.json... > report.md

import fs from 'node:fs';
import path from 'node:path';
import { markdownTable, verdicts, verdictTable, type Medians, type RunFigures } from './summary.js';

interface ResultFile { date: string; commit?: string; command: string; reps: number; medians: Medians; runs: RunFigures[]; sizes: { idle?: { connections?: number } } }

const ORDER = ['direct', 'wslb', 'wslb-base', 'haproxy', 'nginx', 'http-proxy', 'floor-l7', 'floor-l4'];

export function mergeResults(files: { name: string; data: ResultFile }[]): string {
  const m: Medians = {};
  for (const { data } of files) {
    for (const [target, figs] of Object.entries(data.medians)) Object.assign((m[target] ??= {}), figs);
  }
  const targets = ORDER.filter((t) => m[t]).concat(Object.keys(m).filter((t) => !ORDER.includes(t)));
  const commits = [...new Set(files.map((f) => f.data.commit ?? 'unknown'))];
  const idle = files.find((f) => f.data.sizes.idle?.connections)?.data.sizes.idle?.connections ?? 0;
  const lines = [
    `commit ${commits.join(', ')}; ${files.length} run(s), each one scenario with every target in it (ratios are within a run):`,
    '',
    ...files.map((f) => `- \`${path.basename(f.name)}\` (${f.data.date}, medians of ${f.data.reps}): \`${f.data.command}\``),
    '',
    markdownTable(m, targets),
    '',
    verdictTable(verdicts(m, idle)),
    '',
    'Per repetition (CPU and memory figures):',
    '',
    ...spreads(files.flatMap((f) => f.data.runs), targets),
  ];
  return lines.join('\n');
}

const SPREAD_KEYS = ['handshake.cpuUsPerUpgrade', 'handshake.perSec', 'echo.cpuUsPerMsg', 'rate.cpuUsPerMsg', 'broadcast.cpuUsPerMsg', 'idle.kibPerConn', 'flood.p99', 'flood.rssPeakMiB'];

function spreads(runs: RunFigures[], targets: string[]): string[] {
  const out = [`| figure | ${targets.join(' | ')} |`, `|---|${targets.map(() => '---').join('|')}|`];
  for (const key of SPREAD_KEYS) {
    const [scenario, fig] = key.split('.') as [string, string];
    const cells = targets.map((t) => runs.filter((r) => r.target === t && r.scenario === scenario).sort((a, b) => a.rep - b.rep)
      .map((r) => r.figures[fig]).map((v) => (v == null ? '-' : String(Math.round(v * 10) / 10))).join(' / ') || '-');
    if (cells.some((c) => c !== '-')) out.push(`| ${key} | ${cells.join(' | ')} |`);
  }
  return out;
}

if (process.argv[1] && /merge\.[jt]s$/.test(process.argv[1])) {
  const names = process.argv.slice(2);
  if (names.length === 0) {
    process.stderr.write('usage: merge FILE.json...\n');
    process.exit(2);
  }
  process.stdout.write(mergeResults(names.map((name) => ({ name, data: JSON.parse(fs.readFileSync(name, 'utf8')) as ResultFile }))) + '\n');
}
