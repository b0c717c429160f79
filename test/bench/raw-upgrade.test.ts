/** handshake --raw: the raw-TCP cycle (upgrade, close handshake, FIN) against real servers, its failures by kind, and the scenario's CPU per cycle. */

import t from 'tap';
import http from 'node:http';
import type net from 'node:net';
import { startFarm } from '../../src/demo/farm.js';
import { startBalancer } from '../helpers/balancer.js';
import { DEFAULTS, type BenchOptions } from '../../bench/options.js';
import { findClose, rawCycle, rawTarget } from '../../bench/raw-upgrade.js';
import { runBench } from '../../bench/run.js';

async function listen(s: http.Server): Promise<number> {
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  return (s.address() as net.AddressInfo).port;
}

t.test('findClose skips other frames (7-bit, 16-bit and 64-bit lengths) and waits for a whole close frame', async (t) => {
  const text = Buffer.concat([Buffer.from([0x81, 3]), Buffer.from('abc')]);
  const mid = Buffer.concat([Buffer.from([0x82, 126, 0x01, 0x00]), Buffer.alloc(256)]);
  const big = Buffer.concat([Buffer.from([0x82, 127, 0, 0, 0, 0, 0, 0, 0x01, 0x00]), Buffer.alloc(256)]);
  const close = Buffer.from([0x88, 2, 0x03, 0xe8]);
  const all = Buffer.concat([text, mid, big, close]);
  t.equal(findClose(all, 0), all.length, 'just past the close frame');
  t.equal(findClose(all.subarray(0, all.length - 1), 0), -1, 'a close frame cut short is not complete');
  t.equal(findClose(Buffer.concat([text, mid]), 0), -1, 'no close frame');
  t.equal(findClose(all.subarray(0, text.length + 3), 0), -1, 'a 16-bit length cut short');
  t.equal(findClose(Buffer.concat([Buffer.alloc(5), close]), 5), 5 + close.length, 'starts at the offset given');
});

t.test('rawTarget refuses wss:// and builds the fixed request', async (t) => {
  t.throws(() => rawTarget('wss://127.0.0.1:1/'), /only ws:\/\//);
  const r = rawTarget('ws://127.0.0.1:8080/chat?x=1');
  t.match(r.request.toString(), /^GET \/chat\?x=1 HTTP\/1\.1\r\nHost: 127\.0\.0\.1:8080\r\n/);
});

t.test('rawCycle: a full cycle through wslb, and each failure by its kind', async (t) => {
  const farm = await startFarm({ ports: [0] });
  t.teardown(() => farm.close());
  const b = await startBalancer(t, { servers: [{ name: 'demo-1', url: `ws://127.0.0.1:${farm.servers[0]!.port}` }] });
  const ok = await rawCycle(rawTarget(`ws://127.0.0.1:${b.proxyPort()}/`), 5000);
  t.equal(ok.error, undefined, 'upgrade, close handshake and FIN all done');
  t.ok(ok.upgradeMs! > 0 && ok.upgradeMs! <= ok.cycleMs, 'the upgrade is timed to the 101, inside the cycle');

  const refuser = http.createServer();
  refuser.on('upgrade', (_req, socket: net.Socket) => socket.end('HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n'));
  const refPort = await listen(refuser);
  t.teardown(() => { refuser.close(); });
  const refused = await rawCycle(rawTarget(`ws://127.0.0.1:${refPort}/`), 5000);
  t.equal(refused.error, 'http 503');
  t.equal(refused.upgradeMs, undefined);

  // A 101 and then a FIN without a close frame.
  const rude = http.createServer();
  rude.on('upgrade', (_req, socket: net.Socket) => socket.end('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n'));
  const rudePort = await listen(rude);
  t.teardown(() => { rude.close(); });
  const noClose = await rawCycle(rawTarget(`ws://127.0.0.1:${rudePort}/`), 5000);
  t.equal(noClose.error, 'no close frame');
  t.type(noClose.upgradeMs, 'number', 'the upgrade itself worked');

  // A 101 and then silence: the cycle gives up at its timeout.
  const silent = http.createServer();
  const held: net.Socket[] = [];
  silent.on('upgrade', (_req, socket: net.Socket) => { held.push(socket); socket.write('HTTP/1.1 101 Switching Protocols\r\n\r\n'); });
  const silentPort = await listen(silent);
  t.teardown(() => { for (const s of held) s.destroy(); silent.close(); });
  t.equal((await rawCycle(rawTarget(`ws://127.0.0.1:${silentPort}/`), 200)).error, 'timeout');
  t.equal((await rawCycle(rawTarget('ws://127.0.0.1:1/'), 2000)).error, 'ECONNREFUSED');
});

t.test('handshake --raw: every upgrade is a full cycle; CPU per cycle of the watched process', async (t) => {
  const farm = await startFarm({ ports: [0, 0] });
  t.teardown(() => farm.close());
  const b = await startBalancer(t, { servers: farm.servers.map((s) => ({ name: s.name, url: `ws://127.0.0.1:${s.port}` })) });
  const opts: BenchOptions = {
    ...DEFAULTS, scenario: 'handshake', urls: [`ws://127.0.0.1:${b.proxyPort()}/`], connections: 0, raw: true, concurrency: 4,
    maxMessages: 60, warmupMs: 0, durationMs: 10_000, drainMs: 2000, quiet: true, watchPids: [process.pid],
  };
  const r = await runBench(opts);
  t.equal(r.totals.handshakes, 60, 'the budget is exact');
  t.equal(r.totals.cycles, 60, 'each one closed cleanly: close frame both ways, then FIN');
  t.equal(r.totals.errors, undefined);
  t.equal(r.latency.latency!.count, 60);
  t.type(r.watched?.cpuUsPerHandshake, 'number', 'CPU per upgrade cycle');
});
