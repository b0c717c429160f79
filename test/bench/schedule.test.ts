/** Open-loop scheduling, coordinated-omission correction, in-flight bookkeeping and how a run is split over processes. */

import t from 'tap';
import { newHistogram, recordMs, summarize } from '../../bench/histogram.js';
import { DEFAULTS, autoProcesses, parseAddresses, parseDuration, parseRate, parseSize, shareOf, type BenchOptions } from '../../bench/options.js';
import { makeJobs } from '../../bench/run.js';
import { InFlight, OpenLoopSchedule, openLoopTimes, phaseOffsetMs } from '../../bench/schedule.js';

t.test('messages are due at start + offset + n / rate', async (t) => {
  const s = new OpenLoopSchedule(1000, 100);          // 1 per ms from t=100
  t.equal(s.intendedAt(0), 100);
  t.equal(s.intendedAt(5), 105);
  t.equal(s.dueBy(99.9), 0);
  t.equal(s.dueBy(100), 1);
  t.equal(s.dueBy(104.999), 5);
  t.equal(s.dueBy(105), 6);
  t.equal(s.dueBy(1100), 1001, 'a generator that wakes late owes every message it missed');
  t.throws(() => new OpenLoopSchedule(0, 0));
});

t.test('P processes sending R/P each, with phase offsets, make one even stream of R', async (t) => {
  const R = 3000;
  const P = 3;
  const times: number[] = [];
  for (let w = 0; w < P; w++) {
    const s = new OpenLoopSchedule(R / P, 0, phaseOffsetMs(w, R));
    for (let n = 0; n < 100; n++) times.push(s.intendedAt(n));
  }
  times.sort((a, b) => a - b);
  for (let i = 1; i < times.length; i++) t.ok(Math.abs(times[i]! - times[i - 1]! - 1000 / R) < 1e-9, `gap ${i}`);
});

t.test('coordinated omission: a stall shows in every delayed message, not once', async (t) => {
  // 1000 msg/s planned from t=0; the generator (or the target) stalls 100 ms, then sends the
  // 100 overdue messages at t=100; each is answered 0.5 ms after it is sent.
  const s = new OpenLoopSchedule(1000, 0);
  const corrected = newHistogram();
  const service = newHistogram();
  const lag = newHistogram();
  for (let n = 0; n < 200; n++) {
    const intended = s.intendedAt(n);
    const sent = Math.max(intended, 100);
    const r = openLoopTimes(intended, sent, sent + 0.5);
    recordMs(corrected, r.latency);
    recordMs(service, r.service);
    recordMs(lag, r.sendLag);
  }
  t.equal(summarize(service).p99, 0.5, 'service time alone hides the stall');
  t.ok(summarize(corrected).p50 <= 1.5, 'half the messages were never delayed');
  t.ok(Math.abs(summarize(corrected).max - 100.5) < 0.1, `max ${summarize(corrected).max}: the first delayed message waited the whole stall`);
  // Sorted: 100 x 0.5 ms, then 1.5, 2.5, ... 100.5 ms: the 180th value is 80.5 ms.
  t.ok(Math.abs(summarize(corrected).p90 - 80.5) < 0.1, `p90 ${summarize(corrected).p90}: every delayed message counts`);
  t.equal(summarize(lag).count, 200);
  t.ok(Math.abs(summarize(lag).max - 100) < 0.1, 'send lag reports the stall as the generator saw it');
});

t.test('in-flight ring keeps order across growth and wrap-around', async (t) => {
  const q = new InFlight(2);
  const out = { intended: 0, sent: 0, measured: false };
  let next = 0;
  let expect = 0;
  for (let round = 0; round < 50; round++) {
    for (let k = 0; k < (round % 5) + 1; k++) { q.push(next, next + 0.5, next % 2 === 0); next++; }
    for (let k = 0; k < (round % 3) + 1 && q.size > 0; k++) {
      t.ok(q.shift(out));
      if (out.intended !== expect || out.sent !== expect + 0.5 || out.measured !== (expect % 2 === 0)) t.fail(`entry ${expect}`);
      expect++;
    }
  }
  while (q.shift(out)) t.equal(out.intended, expect++);
  t.equal(expect, next);
  t.notOk(q.shift(out), 'empty');
});

const opts = (o: Partial<BenchOptions>): BenchOptions => ({ ...DEFAULTS, scenario: 'rate', ...o });

t.test('a run is split over processes: connections, rate and budget add up; offsets interleave', async (t) => {
  const jobs = makeJobs(opts({ connections: 1001, rate: 10_000, maxMessages: 7, ramp: 600 }), 3);
  t.same(jobs.map((j) => j.connections), [334, 334, 333]);
  t.same(jobs.map((j) => j.firstConnection), [0, 334, 668]);
  t.ok(Math.abs(jobs.reduce((s, j) => s + j.rate, 0) - 10_000) < 1e-6, 'rates sum to the aggregate');
  t.same(jobs.map((j) => j.maxMessages), [3, 2, 2]);
  t.same(jobs.map((j) => j.ramp), [200, 200, 200]);
  t.same(jobs.map((j) => j.offsetMs), [0, 0.1, 0.2]);
  const hs = makeJobs({ ...opts({ rate: 90 }), scenario: 'handshake', connections: 0 }, 3);
  t.same(hs.map((j) => j.rate), [30, 30, 30], 'handshake rate is split evenly (no connections to weigh by)');
});

t.test('option parsers', async (t) => {
  t.equal(parseDuration('500ms'), 500);
  t.equal(parseDuration('3s'), 3000);
  t.equal(parseDuration('2m'), 120_000);
  t.throws(() => parseDuration('1.5'), /a duration needs a unit/, 'a bare number is refused, as in the config');
  t.equal(parseDuration('0'), 0, 'except 0');
  t.throws(() => parseDuration('soon'));
  t.equal(parseRate('500/s'), 500);
  t.throws(() => parseRate('60/m'), /per second/, 'only /s, as in the config');
  t.equal(parseRate('0'), 0, '0 is off where an option allows it');
  t.throws(() => parseRate('20'), /per second/, 'a bare number is refused');
  t.throws(() => parseRate('fast'));
  t.equal(parseSize('64'), 64);
  t.equal(parseSize('1KiB'), 1024);
  t.equal(parseSize('2MiB'), 2 * 1024 * 1024);
  t.equal(parseSize('1KB'), 1000);
  t.throws(() => parseSize('big'));
  t.same(parseAddresses('127.0.0.1-127.0.0.3'), ['127.0.0.1', '127.0.0.2', '127.0.0.3']);
  t.same(parseAddresses('127.0.0.5-6,127.0.0.9'), ['127.0.0.5', '127.0.0.6', '127.0.0.9']);
  t.throws(() => parseAddresses('127.0.0.9-127.0.0.2'));
  t.throws(() => parseAddresses('localhost'));
  t.same([0, 1, 2].map((i) => shareOf(10, i, 3)), [4, 3, 3]);
  t.equal(autoProcesses({ processes: 0, connections: 20_000, scenario: 'idle' }), 3);
  t.equal(autoProcesses({ processes: 0, connections: 20_000, scenario: 'handshake' }), 1);
  t.equal(autoProcesses({ processes: 5, connections: 1, scenario: 'echo' }), 5);
});
