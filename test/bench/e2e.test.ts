/** Each wslb-bench scenario, briefly, through a real balancer in front of the demo farm: counts add up (never speed). */

import t from 'tap';
import http from 'node:http';
import type net from 'node:net';
import { startFarm } from '../../src/demo/farm.js';
import { startBalancer } from '../helpers/balancer.js';
import { DEFAULTS, type BenchOptions } from '../../bench/options.js';
import { runBench } from '../../bench/run.js';
import { decode } from '../../bench/histogram.js';

t.test('every scenario against the demo farm behind wslb', async (t) => {
  const farm = await startFarm({ ports: [0, 0, 0], tickMs: 100 });
  t.teardown(() => farm.close());
  const b = await startBalancer(t, {
    servers: farm.servers.map((s) => ({ name: s.name, url: `ws://127.0.0.1:${s.port}` })),
    limits: { max_connections_per_ip: 100_000, handshakes_per_ip: '100000/s' },
  });
  const url = `ws://127.0.0.1:${b.proxyPort()}/`;
  const base = (o: Partial<BenchOptions>): BenchOptions => ({
    ...DEFAULTS, scenario: 'echo', urls: [url], warmupMs: 200, durationMs: 1500, drainMs: 1000, quiet: true, ...o,
  });

  await t.test('echo: closed loop, a bounded number of messages, spread over two processes', async (t) => {
    const lines: string[] = [];
    const r = await runBench(base({ connections: 6, inflight: 2, maxMessages: 300, warmupMs: 0, durationMs: 5000, processes: 2,
      statusUrl: `http://127.0.0.1:${b.adminPort()}/status`, watchPids: [process.pid] }), { progress: (l) => lines.push(l) });
    t.equal(r.processes, 2);
    t.equal(r.connections.opened, 6);
    t.equal(r.totals.sent, 300, 'the budget is exact');
    t.equal(r.totals.received, 300, 'every message came back');
    t.equal(r.latency.latency!.count, 300, 'one latency per echo');
    t.equal(decode(r.histograms.latency!).totalCount, 300, 'the merged histogram holds them all');
    t.equal(r.errors.errors, undefined);
    t.ok(r.latency.latency!.p50 > 0 && r.latency.latency!.p50 <= r.latency.latency!.p99);
    t.same(r.servers?.map((s) => s.total).reduce((a, x) => a + x, 0), 6, '/status saw the six connections');
    t.ok(r.watched && r.watched.cpuSeconds >= 0 && r.watched.rssPeakKiB > 0);
    t.type(r.watched?.cpuUsPerMessage, 'number');
  });

  await t.test('rate: open loop sends on schedule; latency from intended time >= service time', async (t) => {
    const r = await runBench(base({ scenario: 'rate', connections: 5, rate: 200, durationMs: 3000, size: 32, binary: true }));
    const sent = r.counts.sent ?? 0;
    // About rate x the window as measured; the generator's own window may be shifted against it by up to
    // a second on a loaded machine (the open loop then sends what was due in one burst): +-200. A loop at
    // half or twice the rate is still far out.
    const expected = (200 * r.window.measuredMs) / 1000;
    t.ok(Math.abs(sent - expected) <= 200, `about ${Math.round(expected)} sent in the ${r.window.measuredMs} ms window (${sent})`);
    t.equal((r.totals.received ?? 0), r.totals.sent, 'every message answered');
    t.equal((r.counts.dropped ?? 0), 0);
    const l = r.latency.latency!;
    const s = r.latency.service!;
    t.equal(l.count, s.count);
    t.ok(l.max >= s.max && l.p50 >= s.p50, 'corrected latency is never below the raw service time');
    t.ok(r.latency.send_lag, 'send lag is reported');
  });

  await t.test('handshake: upgrades counted, each timed', async (t) => {
    const r = await runBench(base({ scenario: 'handshake', connections: 0, concurrency: 2, maxMessages: 40, warmupMs: 0, durationMs: 5000 }));
    t.equal(r.totals.handshakes, 40);
    t.equal(r.latency.latency!.count, 40);
    t.ok(r.throughput.handshakesPerSec > 0);
  });

  await t.test('handshake: source addresses, and errors counted by status or code', async (t) => {
    const r = await runBench(base({ scenario: 'handshake', connections: 0, concurrency: 1, maxMessages: 5, warmupMs: 0, durationMs: 3000,
      localAddresses: ['127.0.0.1', '127.0.0.2'] }));
    t.equal(r.totals.handshakes, 5, 'connections from --local-addresses work');
    const refuser = http.createServer();
    refuser.on('upgrade', (_req, socket: net.Socket) => socket.end('HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n'));
    await new Promise<void>((resolve) => refuser.listen(0, '127.0.0.1', resolve));
    t.teardown(() => { refuser.close(); });
    const port = (refuser.address() as net.AddressInfo).port;
    const bad = await runBench(base({ scenario: 'handshake', urls: [`ws://127.0.0.1:${port}/`, 'ws://127.0.0.1:1/'], connections: 0,
      concurrency: 1, maxMessages: 6, warmupMs: 0, durationMs: 3000 }));
    t.same(bad.errors, { 'http 503': 3, ECONNREFUSED: 3 }, 'round robin over the two URLs: three of each');
    t.equal(bad.totals.errors, 6);
    t.equal(bad.totals.handshakes, undefined);
  });

  await t.test('idle: ramp, hold with pings, all held', async (t) => {
    const r = await runBench(base({ scenario: 'idle', connections: 30, ramp: 300, pingMs: 200, warmupMs: 100, durationMs: 800, processes: 2, watchPids: [process.pid] }));
    t.equal(r.connections.openAtEnd, 30);
    t.equal(r.counts.dropped_connections, undefined);
    t.ok((r.totals.pings ?? 0) >= 30, `pings ${r.totals.pings}`);
    t.ok((r.totals.pongs ?? 0) > 0);
    t.type(r.watched?.rssPerConnectionKiB, 'number');
  });

  await t.test('broadcast: server ticks and published fan-out, lag from ts', async (t) => {
    const room = url.replace(/\/$/, '/room');
    // 2 s of 100 ms ticks to 6 clients, ~120: at least 30 leaves 1.5 s for stalls of a loaded machine (ticks missed are not made up).
    const ticks = await runBench(base({ scenario: 'broadcast', urls: [room], connections: 6, durationMs: 2000 }));
    t.ok((ticks.counts.received ?? 0) >= 6 * 5, `ticks received ${ticks.counts.received}`);
    t.equal(ticks.latency.latency!.count, ticks.counts.received);
    const pub = await runBench(base({ scenario: 'broadcast', urls: [url], connections: 6, publish: 20, maxMessages: 10, durationMs: 1500 }));
    t.equal(pub.totals.sent, 10);
    // Round robin put two clients on each server; each published message reaches its server's two.
    t.equal(pub.totals.received, 20, 'each published message reached every client of its server');
  });

  await t.test('no server answers: the run reports failures instead of hanging', async (t) => {
    const r = await runBench(base({ connections: 3, urls: ['ws://127.0.0.1:1/'], warmupMs: 0, durationMs: 200 }));
    t.equal(r.connections.failed, 3);
    t.equal(r.errors.ECONNREFUSED, 3);
    t.equal(r.totals.received, undefined);
  });
});
