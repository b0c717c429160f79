/** bench:workers' helpers: summing /proc readings over a process tree (each process once) and the workers:2/workers:1 table. */

import t from 'tap';
import { parseStatusRssKiB, sumReadings, uniqueTree } from '../../bench/proc.js';
import type { BenchResult } from '../../bench/run.js';
import type { RunFigures } from '../../bench/compare/summary.js';
import { medianOf, perRep, workerFigures, workerRows, workersTable } from '../../bench/compare/workers-summary.js';

/** A /proc/PID/stat line with utime and stime (fields 14 and 15); the comm has spaces and a ')' to parse past. */
const stat = (pid: number, utime: number, stime: number): string =>
  `${pid} (node (worker) x) S 1 ${pid} ${pid} 0 -1 4194304 100 0 0 0 ${utime} ${stime} 0 0 20 0 11 0 500 1000000 2000`;
const status = (rss: number | null): string => `Name:\tnode\nState:\tS (sleeping)\n${rss === null ? '' : `VmRSS:\t  ${rss} kB\n`}Threads:\t11\n`;

t.test('uniqueTree counts a primary named with its workers once', async (t) => {
  const trees: Record<number, number[]> = { 10: [10, 11, 12], 11: [11], 12: [12], 20: [20] };
  const tree = (p: number): number[] => trees[p] ?? [];
  t.same(uniqueTree([10, 11, 12], tree).sort(), [10, 11, 12]);
  t.same(uniqueTree([10, 20], tree).sort(), [10, 11, 12, 20]);
  t.same(uniqueTree([99], tree), [], 'a pid that is gone');
});

t.test('sumReadings adds utime+stime and VmRSS over processes', async (t) => {
  t.equal(parseStatusRssKiB(status(51234)), 51234);
  t.equal(parseStatusRssKiB(status(null)), 0, 'a zombie has no VmRSS');
  t.same(sumReadings([
    { stat: stat(10, 100, 50), status: status(80_000) },
    { stat: stat(11, 300, 20), status: status(60_000) },
    { stat: stat(12, 7, 3), status: status(null) },
  ]), { ticks: 480, rssKiB: 140_000 });
  t.same(sumReadings([]), { ticks: 0, rssKiB: 0 });
});

function result(scenario: 'handshake' | 'idle', over: Partial<BenchResult>): BenchResult {
  return {
    tool: 'wslb-bench', scenario, date: '', machine: { cpus: 2, model: '', memoryMiB: 0, node: '', os: '' },
    options: {} as BenchResult['options'], processes: 1, window: { warmupMs: 0, measuredMs: 1000, startedAt: 0, endedAt: 0 },
    connections: { target: 0, opened: 0, failed: 0, openAtEnd: 0 }, counts: {}, totals: {}, errors: {},
    throughput: { messagesPerSec: 0, sentPerSec: 0, handshakesPerSec: 0 }, latency: {}, histograms: {}, timeseries: [],
    ...over,
  };
}

t.test('workerFigures keeps handshake and idle figures of the whole tree', async (t) => {
  const hs = workerFigures(result('handshake', {
    throughput: { messagesPerSec: 0, sentPerSec: 0, handshakesPerSec: 1200 }, totals: { errors: 2 },
    latency: { latency: { count: 1, min: 1, mean: 5, p50: 5, p90: 9, p99: 20, p999: 30, max: 40 } },
    watched: { pids: [1, 2, 3], cpuSeconds: 3, cpuUsPerHandshake: 500, rssBaseKiB: 0, rssPeakKiB: 0, rssEndKiB: 0 },
  }));
  t.same(hs, { perSec: 1200, p50: 5, p99: 20, cpuUsPerUpgrade: 500, errors: 2 });
  const idle = workerFigures(result('idle', {
    connections: { target: 15_000, opened: 15_000, failed: 0, openAtEnd: 10_000 },
    watched: { pids: [1], cpuSeconds: 1, rssBaseKiB: 200_000, rssPeakKiB: 300_000, rssEndKiB: 260_000, rssPerConnectionKiB: 6 },
  }));
  t.same(idle, { held: 10_000, failed: 0, kibPerConn: 6, kibPerConnPeak: 10, treeRssMiB: 253.9 });
});

t.test('medians, per-repetition values and the workers:2/workers:1 ratio', async (t) => {
  const runs: RunFigures[] = [];
  const add = (target: string, rep: number, perSec: number | null, held: number): void => {
    runs.push({ target, rep, scenario: 'handshake', figures: { perSec } });
    runs.push({ target, rep, scenario: 'idle-target', figures: { held } });
  };
  add('workers:1', 1, 1000, 9990); add('workers:1', 2, 1200, 9991); add('workers:1', 3, 1100, 9990);
  add('workers:2', 1, 1500, 15_000); add('workers:2', 2, null, 15_000); add('workers:2', 3, 1300, 14_000);
  t.same(perRep(runs, 'workers:2', 'handshake.perSec'), [1500, null, 1300]);
  t.equal(medianOf(runs, 'workers:1', 'handshake.perSec'), 1100);
  t.equal(medianOf(runs, 'workers:2', 'handshake.perSec'), 1400, 'a failed run is left out');
  t.equal(medianOf(runs, 'workers:2', 'idle-common.held'), null);
  const table = workersTable(runs, workerRows(9900, 15_000));
  t.match(table, /\| handshakes\/s \| 1100 \| 1400 \| 1\.27x \| 1000 \/ 1200 \/ 1100 \| 1500 \/ - \/ 1300 \|/);
  t.match(table, /\| idle held of 15,000 \| 9990 \| 15000 \| 1\.50x \|/);
  t.notMatch(table, /idle held of 9,900/, 'rows without figures are left out');
});
