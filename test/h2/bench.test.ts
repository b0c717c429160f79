// wslb-bench --http2: echo and handshake as extended CONNECT streams over a few h2 connections per generator process (counts add up, never speed).
import t from 'tap';
import { startFarm } from '../../src/demo/farm.js';
import { startBalancer } from '../helpers/balancer.js';
import { DEFAULTS, type BenchOptions } from '../../bench/options.js';
import { runBench } from '../../bench/run.js';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runScript } from '../helpers/cli.js';
import { h2Yaml } from './farm.js';

t.test('echo and handshake over h2 through wslb', async (t) => {
  const farm = await startFarm({ ports: [0, 0, 0], tickMs: 1000 });
  t.teardown(() => farm.close());
  const b = await startBalancer(t, h2Yaml(t, { servers: farm.servers.map((s) => ({ name: s.name, url: `ws://127.0.0.1:${s.port}` })) }));
  const base = (o: Partial<BenchOptions>): BenchOptions => ({
    ...DEFAULTS, scenario: 'echo', urls: [`wss://localhost:${b.proxyPort()}/`], http2: true, h2Sessions: 2, insecure: true,
    warmupMs: 0, durationMs: 3000, drainMs: 1000, quiet: true, ...o,
  });

  const echo = await runBench(base({ connections: 6, inflight: 2, maxMessages: 300 }));
  t.equal(echo.connections.opened, 6);
  t.equal(echo.totals.sent, 300);
  t.equal(echo.totals.received, 300, 'every message came back');
  t.equal(b.runtime.http2.tunnelsTotal, 6, 'each connection an extended CONNECT');
  t.equal(b.runtime.http2.sessionsTotal, 2, 'over --h2-sessions connections');

  const hs = await runBench(base({ scenario: 'handshake', concurrency: 4, maxMessages: 40 }));
  t.equal(hs.totals.handshakes, 40, 'forty upgrades');
  t.equal(hs.errors.errors, undefined);
  t.equal(b.runtime.http2.tunnelsTotal, 46);
});

const BENCH = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../dist/bench/cli.js');

t.test('--http2 wants wss:// and is not --raw (usage errors)', async (t) => {
  const a = await runScript(BENCH, ['echo', '-u', 'ws://127.0.0.1:1/', '--http2', '-q']);
  t.match(a.stderr, /wss:\/\/ URLs only/);
  t.not(a.code, 0);
  const b = await runScript(BENCH, ['handshake', '-u', 'wss://127.0.0.1:1/', '--http2', '--raw', '-q']);
  t.match(b.stderr, /choose one/);
  t.not(b.code, 0);
});
