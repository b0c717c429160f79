/** flood: the demo farm's flood command, heavy downloaders that stop reading closed by wslb's stall limit, the probe's latency before and during. */

import t from 'tap';
import { WebSocket, type RawData } from 'ws';
import { FLOOD_TURN_BYTES, floodStats, startFarm } from '../../src/demo/farm.js';
import { startBalancer } from '../helpers/balancer.js';
import { DEFAULTS, type BenchOptions } from '../../bench/options.js';
import { formatTable, heavyEnds } from '../../bench/report/table.js';
import { runBench } from '../../bench/run.js';
import { FLOOD_COMMAND } from '../../bench/scenarios/flood.js';
import { figuresOf } from '../../bench/compare/summary.js';

t.test('the farm floods a client that asks: binary messages of the size asked, until it closes', async (t) => {
  const farm = await startFarm({ ports: [0] });
  t.teardown(() => farm.close());
  const ws = new WebSocket(`ws://127.0.0.1:${farm.servers[0]!.port}/`, { perMessageDeflate: false });
  const sizes: number[] = [];
  ws.on('message', (d: RawData, binary: boolean) => { if (binary) sizes.push((d as Buffer).length); });
  await new Promise((r) => ws.once('open', r));
  ws.send('flood:1000');
  await new Promise<void>((resolve) => { const check = (): void => { if (sizes.length >= 50) resolve(); else setTimeout(check, 10); }; check(); });
  ws.close();
  await new Promise((r) => ws.once('close', r));
  t.ok(sizes.every((n) => n === 1000), 'every message has the size asked for');
  t.equal(FLOOD_COMMAND, 'flood:65536');

  // Not a flood command: echoed like any other message.
  const echo = new WebSocket(`ws://127.0.0.1:${farm.servers[0]!.port}/`, { perMessageDeflate: false });
  const got: string[] = [];
  echo.on('message', (d: RawData, binary: boolean) => { if (!binary) got.push(d.toString()); });
  await new Promise((r) => echo.once('open', r));
  for (const m of ['flood:0', 'flood:99999999', 'flood:x']) echo.send(m);
  await new Promise<void>((resolve) => { const check = (): void => { if (got.length >= 4) resolve(); else setTimeout(check, 10); }; check(); });
  echo.terminate();
  t.same(got.slice(1), ['flood:0', 'flood:99999999', 'flood:x'], 'out-of-range sizes are echoed, not flooded');
});

t.test('the farm\'s flooding connections take turns: one loop turn sends at most FLOOD_TURN_BYTES (+ one message) over all of them, and every one gets its share', async (t) => {
  const farm = await startFarm({ ports: [0] });
  t.teardown(() => farm.close());
  const size = 65536;
  const n = 40;                                         // 40 x 64 KiB per turn without the budget: 2.5 MiB
  t.ok(n * size > FLOOD_TURN_BYTES + size, 'enough connections to pass the budget in one turn');
  const received = new Array<number>(n).fill(0);
  const clients = await Promise.all(Array.from({ length: n }, async (_, i) => {
    const ws = new WebSocket(`ws://127.0.0.1:${farm.servers[0]!.port}/`, { perMessageDeflate: false });
    ws.on('message', (_d: RawData, binary: boolean) => { if (binary) received[i]!++; });
    await new Promise((r) => ws.once('open', r));
    return ws;
  }));
  t.teardown(() => { for (const ws of clients) ws.terminate(); });
  floodStats.maxTurnBytes = 0;
  const turns = floodStats.turns;
  for (const ws of clients) ws.send(`flood:${size}`);
  await new Promise<void>((resolve) => { const check = (): void => { if (received.every((k) => k >= 20)) resolve(); else setTimeout(check, 10); }; check(); });
  t.ok(floodStats.turns - turns >= (20 * n * size) / (FLOOD_TURN_BYTES + size), `the work was split over ${floodStats.turns - turns} turns`);
  t.ok(floodStats.maxTurnBytes < FLOOD_TURN_BYTES + size, `at most ${FLOOD_TURN_BYTES + size} bytes in one turn (max ${floodStats.maxTurnBytes})`);
  t.ok(floodStats.maxTurnBytes >= FLOOD_TURN_BYTES, 'and the budget was reached: the turns were full');
  t.ok(received.every((k) => k >= 20), 'every connection got messages (oldest waiting first)');
});

t.test('flood through wslb: stalled heavy readers closed with 1008, the probe measured before and during', async (t) => {
  const farm = await startFarm({ ports: [0, 0] });
  t.teardown(() => farm.close());
  const servers = farm.servers.map((s) => ({ name: s.name, url: `ws://127.0.0.1:${s.port}` }));
  const b = await startBalancer(t, { servers, limits: { max_buffered_bytes: '64KiB', stall: '300ms' } });
  const base: BenchOptions = {
    // The window stays 1.5 s: the heavy readers resume at its end and must read their 1008 within the
    // balancer's 2 s close wait. The probe runs at 100/s so that its counts below hold when a loaded
    // machine shifts the windows by up to a second.
    ...DEFAULTS, scenario: 'flood', heavy: 3, connections: 4, probeRate: 100, warmupMs: 1500, durationMs: 1500, drainMs: 2000,
    quiet: true, watchPids: [process.pid],
  };
  // The control probe goes straight to the farm at the probe's times.
  const r = await runBench({ ...base, urls: [`ws://127.0.0.1:${b.proxyPort()}/`], controlUrl: servers[1]!.url });
  t.equal(r.connections.opened, 4, 'three heavy and the probe');
  t.equal(r.totals.heavy_closed_1008, 3, 'wslb closed each stalled reader with 1008');
  t.equal(r.totals.heavy_open_at_end, 0);
  t.ok(r.latency.baseline!.count >= 50, `baseline round trips (${r.latency.baseline?.count} of about 150)`);
  t.ok(r.latency.latency!.count >= 50, `round trips during the flood (${r.latency.latency?.count} of about 150)`);
  t.equal(r.totals.dropped_connections, undefined, 'the probe stayed up');
  t.match(heavyEnds(r.totals), 'close 1008: 3');
  const f = figuresOf(r);
  t.equal(f.heavy1008, 3);
  t.equal(f.heavyOpen, 0);
  t.type(f.baseP99, 'number');
  t.type(f.rssPeakMiB, 'number');
  t.ok(r.latency.control_before!.count >= 50 && r.latency.control!.count >= 50, `the control probe measured before and during (${r.latency.control_before?.count}, ${r.latency.control?.count})`);
  t.ok(Math.abs(r.latency.control!.count - r.latency.latency!.count) <= 2, 'at the probe\'s times: as many round trips');
  t.equal(r.connections.opened, 4, 'the control is not counted among the target\'s connections');
  t.equal(f.controlP99, r.latency.control!.p99);
  t.equal(f.p99OverControl, Math.round((r.latency.latency!.p99 - r.latency.control!.p99) * 1000) / 1000);
  t.match(formatTable(r), /control probe, during the flood\s+\d+/);

  // Direct to the farm nothing closes them: they are reported still open.
  const d = await runBench({ ...base, urls: [servers[0]!.url], drainMs: 500, watchPids: [] });
  t.equal(d.totals.heavy_open_at_end, 3);
  t.match(heavyEnds(d.totals), 'still open: 3');
  t.equal(d.latency.control, undefined, 'no control unless asked');

  // A control that cannot connect fails the run with its URL.
  await t.rejects(runBench({ ...base, urls: [servers[0]!.url], controlUrl: 'ws://127.0.0.1:1/', durationMs: 200, warmupMs: 200, drainMs: 200 }), /control probe could not open ws:\/\/127\.0\.0\.1:1\//);
});
