/** Report writers (table, JSON, HTML), bench:compare's medians and verdicts, and the profile summary. */

import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { encode, newHistogram, recordMs, summarize } from '../../bench/histogram.js';
import { DEFAULTS } from '../../bench/options.js';
import { parseStatTicks, sampleProcs } from '../../bench/proc.js';
import { renderHtml, writeHtml } from '../../bench/report/html.js';
import { readJson, writeJson } from '../../bench/report/json.js';
import { niceTicks } from '../../bench/report/svg.js';
import { formatProgress, formatTable } from '../../bench/report/table.js';
import type { BenchResult } from '../../bench/run.js';
import { serversFromStatus } from '../../bench/status.js';
import { areaOf, formatProfile, summarizeProfile } from '../../bench/compare/profile.js';
import { addDerived, markdownTable, median, medians, ratioPeers, verdicts, verdictTable, type RunFigures } from '../../bench/compare/summary.js';

function sample(): BenchResult {
  const h = newHistogram();
  const s = newHistogram();
  for (let i = 1; i <= 1000; i++) { recordMs(h, i / 100); recordMs(s, i / 200); }
  return {
    tool: 'wslb-bench', scenario: 'rate', date: '2026-01-01T00:00:00.000Z',
    machine: { cpus: 2, model: 'Test CPU', memoryMiB: 1024, node: 'v20.0.0', os: 'Linux' },
    options: { ...DEFAULTS, scenario: 'rate', rate: 1000, urls: ['ws://127.0.0.1:8080/<script>'] },
    processes: 2, window: { warmupMs: 1000, measuredMs: 1000, startedAt: 1, endedAt: 1001 },
    connections: { target: 10, opened: 10, failed: 0, openAtEnd: 10 },
    counts: { sent: 1000, received: 1000, late: 3, dropped: 0 }, totals: { sent: 2000, received: 2000, opened: 10 },
    errors: { 'http 503': 2 },
    throughput: { messagesPerSec: 1000, sentPerSec: 1000, handshakesPerSec: 0 },
    latency: { latency: summarize(h), service: summarize(s) },
    histograms: { latency: encode(h), service: encode(s) },
    watched: { pids: [1], cpuSeconds: 0.5, cpuUsPerMessage: 500, rssBaseKiB: 1024, rssPeakKiB: 2048, rssEndKiB: 2000 },
    servers: [{ pool: 'p', name: 'a', active: 4, total: 6 }, { pool: 'p', name: 'b', active: 4, total: 4 }],
    timeseries: [0, 1, 2].map((i) => ({ t: i, phase: i === 0 ? 'warmup' : 'measure', open: 10, counters: { received: 1000, sent: 1000 }, p50: 1, p99: 5 + i, cpu: 0.5, rssKiB: 2048 })),
  };
}

t.test('final table names the figures', async (t) => {
  const text = formatTable(sample());
  for (const s of ['wslb-bench rate', 'received (msg/s)', '1,000', 'late sends', '3 (> 2 ms behind schedule)', 'http 503: 2',
    'latency (from intended send)', 'service time', 'CPU per message (us)', '500.00', 'server p/a', 'active 4, total 6',
    'p50 (ms)', 'p99 (ms)', 'p99.9 (ms)', 'max (ms)', 'RSS base / peak (MiB)']) {
    t.match(text, s, s);
  }
  const p99 = String(summarize((() => { const h = newHistogram(); for (let i = 1; i <= 1000; i++) recordMs(h, i / 100); return h; })()).p99);
  t.match(text, p99, 'p99 of the merged histogram');
});

t.test('progress line', async (t) => {
  const r = sample();
  const line = formatProgress(r.timeseries[1]!, r.options, 6.5);
  t.match(line, /measure/);
  t.match(line, /msg\/s 1,000/);
  t.match(line, /p99 6\.000 ms/);
  t.match(line, /so far 6\.500/);
  t.match(line, /watched cpu 50%/);
});

t.test('JSON holds every figure and the histograms, and reads back', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wslb-bench-test-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'sub/dir/r.json');
  writeJson(file, sample());
  const back = readJson(file);
  t.same(back, JSON.parse(JSON.stringify(sample())));
});

t.test('HTML is self-contained, escaped, with the charts', async (t) => {
  const html = renderHtml(sample());
  t.match(html, /^<!doctype html>/);
  t.notMatch(html, /<script/i, 'no script at all');
  t.notMatch(html, /(src|href)=["']https?:/i, 'nothing fetched from elsewhere');
  t.match(html, '&lt;script&gt;', 'user text is escaped');
  const svgs = html.match(/<svg /g) ?? [];
  t.equal(svgs.length, 5, 'percentiles, latency over time, throughput, watched processes, per-server');
  for (const title of ['Latency by percentile', 'Latency over time', 'Messages per second', 'Watched processes', 'Connections per server']) t.match(html, title);
  t.notMatch(html, /NaN|undefined|Infinity/);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wslb-bench-test-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  writeHtml(path.join(dir, 'r.html'), sample());
  t.equal(fs.readFileSync(path.join(dir, 'r.html'), 'utf8'), html);
  const empty = renderHtml({ ...sample(), histograms: {}, latency: {}, timeseries: [], servers: undefined });
  t.match(empty, /no data/);
});

t.test('axis ticks are round and cover the maximum', async (t) => {
  t.same(niceTicks(10), [0, 2, 4, 6, 8, 10]);
  t.same(niceTicks(0), [0, 1]);
  const ticks = niceTicks(737);
  t.ok(ticks.at(-1)! >= 737);
  t.ok(ticks.length >= 4 && ticks.length <= 7);
});

t.test('/status servers', async (t) => {
  t.same(serversFromStatus({ pools: { chat: { servers: [{ name: 'a', active: 1, total: 2 }, {}] } } }),
    [{ pool: 'chat', name: 'a', active: 1, total: 2 }, { pool: 'chat', name: '?', active: 0, total: 0 }]);
  t.same(serversFromStatus({}), []);
});

t.test('/proc readings', async (t) => {
  t.equal(parseStatTicks('123 (node (x) y) S 1 2 3 4 5 6 7 8 9 10 70 30 0 0'), 100, 'utime + stime, process names with parentheses');
  const s = sampleProcs([process.pid]);
  t.ok(s.rssKiB > 1000 && s.cpuSeconds > 0);
  t.same(sampleProcs([2 ** 22 + 12345]).rssKiB, 0, 'a vanished pid counts as nothing');
});

t.test('compare: medians, p99 added over direct, ratios and verdicts', async (t) => {
  t.equal(median([3, 1, 2]), 2);
  t.equal(median([4, 1, 2, 3]), 2.5);
  t.equal(median([]), null);
  const runs: RunFigures[] = [];
  for (const rep of [1, 2, 3]) {
    const k = rep;   // a different noise per repetition
    runs.push({ target: 'direct', rep, scenario: 'rate', figures: { p99: 2 + k } });
    runs.push({ target: 'wslb', rep, scenario: 'rate', figures: { p99: 4 + k } });
    runs.push({ target: 'haproxy', rep, scenario: 'rate', figures: { p99: 3 + k } });
    runs.push({ target: 'wslb', rep, scenario: 'echo', figures: { cpuUsPerMsg: 10 + k, msgsPerSec: 100 } });
    runs.push({ target: 'haproxy', rep, scenario: 'echo', figures: { cpuUsPerMsg: 8, msgsPerSec: 100 } });
    runs.push({ target: 'wslb', rep, scenario: 'idle', figures: { kibPerConn: 5, held: 10 } });
    runs.push({ target: 'wslb', rep, scenario: 'handshake', figures: { perSec: 65, cpuUsPerUpgrade: 220 } });
    runs.push({ target: 'haproxy', rep, scenario: 'handshake', figures: { perSec: 100, cpuUsPerUpgrade: null } });
    runs.push({ target: 'floor-l7', rep, scenario: 'handshake', figures: { perSec: 80, cpuUsPerUpgrade: 200 } });
    runs.push({ target: 'wslb', rep, scenario: 'broadcast', figures: { cpuUsPerMsg: 12.6 } });
    runs.push({ target: 'haproxy', rep, scenario: 'broadcast', figures: { cpuUsPerMsg: 10 } });
    runs.push({ target: 'wslb', rep, scenario: 'flood', figures: { p99Added: 4 + k, p99OverControl: 3 } });
    runs.push({ target: 'haproxy', rep, scenario: 'flood', figures: { p99Added: 2, p99OverControl: 1.5 } });
  }
  t.same(addDerived(runs).filter((r) => r.target === 'wslb' && r.scenario === 'rate').map((r) => r.figures.p99Added), [2, 2, 2]);
  const m = medians(runs);
  t.equal(m.wslb!['echo.cpuUsPerMsg'], 12);
  t.equal(m.haproxy!['rate.p99Added'], 1);
  t.equal(m.haproxy!['handshake.cpuUsPerUpgrade'], null, 'nulls are left out of the median');
  const vs = verdicts(m, 10_000);
  // 220/200 = 1.1x the floor (met); 65/100 = 0.65x HAProxy (met); 12.6/10 = 1.26x (missed); echo 1.5x (met); rate; flood +6 ms (missed); 5 KiB (met).
  t.same(vs.map((v) => v.met), [true, true, false, true, false, false, true], 'bounds are inclusive');
  t.equal(vs[5]!.measured, 'wslb +6.00 ms, HAProxy +2.00 ms; over the control probe: wslb +3.00 ms, HAProxy +1.50 ms');
  t.match(vs[0]!.measured, '1.100x floor-l7', 'ratios judged against a bound show three decimals');
  t.match(vs[0]!.target, 'Node L7 floor');
  t.match(vs[6]!.target, '10,000');
  t.same(verdicts({}, 0).map((v) => v.met), [null, null, null, null, null, null, null], 'nothing measured, nothing judged');
  const md = markdownTable(m, ['direct', 'wslb', 'haproxy']);
  t.match(md, '| echo proxy CPU us/msg | - | 12.0 | 8.00 | 1.50x |');
  t.match(md, '| handshakes/s | - | 65.0 | 100 | 0.65x |');
  t.match(md, "| flood: probe p99 over the control's ms (what the proxy added) | - | 3.00 | 1.50 |  |", 'a difference, not given a ratio');
  t.notMatch(md, 'reference', 'no reference named when none ran');
  t.match(verdictTable(vs), '| **no** |');
  // With the floor: its column is marked a reference, named under the table, and wslb gets a ratio to it and to HAProxy only.
  const withFloor = markdownTable(m, ['wslb', 'haproxy', 'floor-l7']);
  t.match(withFloor, '| figure (median) | wslb | haproxy | floor-l7 (ref) | wslb/haproxy | wslb/floor-l7 |');
  t.match(withFloor, '| proxy CPU us/upgrade | 220 | - | 200 | | 1.10x |'.replace('| |', '|  |'));
  t.match(withFloor, "floor-l7 (ref): reference: Node's floor, not a product");
  t.same(ratioPeers(['direct', 'wslb', 'nginx', 'http-proxy']), ['nginx', 'http-proxy'], 'without HAProxy or the floor: every peer');
  t.same(ratioPeers(['wslb', 'haproxy', 'nginx', 'floor-l7', 'floor-l4']), ['haproxy', 'floor-l7']);
  t.same(ratioPeers(['wslb', 'wslb-base', 'haproxy', 'floor-l7']), ['wslb-base', 'haproxy', 'floor-l7'], 'before/after in one run: a ratio to the tree before');
});

t.test('profile summary: self time by function and by area, idle left out', async (t) => {
  const node = (id: number, functionName: string, url: string, hitCount: number, children: number[] = []) =>
    ({ id, callFrame: { functionName, url, lineNumber: 9 }, hitCount, children });
  const prof = {
    startTime: 0, endTime: 100_000,
    nodes: [
      node(1, '(root)', '', 0, [2, 3, 4, 5, 6]),
      node(2, '(idle)', '', 50),
      node(3, 'clientOnData', 'file:///x/dist/src/tunnel/tunnel.js', 20),
      node(4, 'writeGeneric', 'node:internal/stream_base_commons', 20),
      node(5, '(garbage collector)', '', 5),
      node(6, 'scan', 'file:///x/dist/src/tunnel/frame-scanner.js', 5),
    ],
  };
  const s = summarizeProfile(prof, 3);
  t.equal(s.idleMs, 50);
  t.equal(s.busyMs, 50);
  t.same(s.top.map((x) => x.fn), ['clientOnData', 'writeGeneric', '(garbage collector)']);
  t.equal(s.top[0]!.share, 40);
  t.equal(s.top[0]!.where, 'dist/src/tunnel/tunnel.js:10');
  t.same(s.areas.map((a) => a.area), ['wslb tunnel/', 'node:stream_base_commons', 'GC']);
  t.equal(areaOf('file:///r/node_modules/ws/lib/receiver.js', 'x'), 'ws');
  t.equal(areaOf('', 'writev'), 'native writev');
  t.equal(areaOf('file:///r/dist/src/runtime.js', 'onUpgraded'), 'wslb runtime');
  t.match(formatProfile(s), /40\.0%  clientOnData/);

  // With samples: each sample's time is the gap to the next; a window keeps only its samples.
  const timed = { ...prof, samples: [3, 3, 4, 4, 2, 2], timeDeltas: [0, 1000, 1000, 1000, 1000, 1000] };
  const all = summarizeProfile(timed);
  t.same(all.top.map((x) => [x.fn, x.selfMs]), [['clientOnData', 2], ['writeGeneric', 2]]);
  const late = summarizeProfile(timed, 5, 2, 10);
  t.same(late.top.map((x) => [x.fn, x.selfMs]), [['writeGeneric', 2]], 'samples before 2 ms left out');
  t.equal(late.idleMs, 1);
});

t.test('merge: runs of one commit, one scenario each, joined into one table with verdicts and per-repetition figures', async (t) => {
  const { mergeResults } = await import('../../bench/compare/merge.js');
  const file = (scenario: string, figs: Record<string, Record<string, number>>) => ({
    name: `/x/compare-${scenario}.json`,
    data: {
      date: '2026-01-01', commit: 'abc1234', command: `npm run bench:compare -- --scenarios ${scenario}`, reps: 1, sizes: { idle: { connections: 2000 } },
      medians: Object.fromEntries(Object.entries(figs).map(([target, f]) => [target, Object.fromEntries(Object.entries(f).map(([k, v]) => [`${scenario}.${k}`, v]))])),
      runs: Object.entries(figs).map(([target, f]) => ({ target, rep: 1, scenario, figures: f })),
    },
  });
  const md = mergeResults([
    file('handshake', { wslb: { perSec: 70, cpuUsPerUpgrade: 300 }, haproxy: { perSec: 100, cpuUsPerUpgrade: 60 }, 'floor-l7': { perSec: 80, cpuUsPerUpgrade: 150 } }),
    file('echo', { wslb: { cpuUsPerMsg: 12 }, haproxy: { cpuUsPerMsg: 8 } }),
  ]);
  t.match(md, 'commit abc1234; 2 run(s)');
  t.match(md, '| proxy CPU us/upgrade | 300 | 60.0 | 150 | 5.00x | 2.00x |');
  t.match(md, '| echo proxy CPU us/msg | 12.0 | 8.00 | - | 1.50x |');
  t.match(md, '| 2.000x floor-l7 | **no** |');
  t.match(md, '| handshake.cpuUsPerUpgrade | 300 | 60 | 150 |');
});
