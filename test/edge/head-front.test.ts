/** The listener's front: clean upgrade heads skip node:http; split heads, keep-alive upgrades and plain requests still go through it; silent and FIN-only sockets end as before. */

import t from 'tap';
import net from 'node:net';
import { loadConfigText } from '../../src/config/load.js';
import { Listener } from '../../src/edge/listener.js';
import { createLogger } from '../../src/log.js';
import { Runtime } from '../../src/runtime.js';
import { startBackend } from '../helpers/backend.js';
import { farmYaml } from '../helpers/balancer.js';
import { waitFor } from '../helpers/wait.js';
import { upgradeRequest, wsAccept, wsKey } from '../helpers/raw-client.js';
import type { Test } from 'tap';

/** One Listener on port 0 over its own Runtime, with a count of Node's 'upgrade' events. */
async function listenerFor(t: Test, yaml: string): Promise<{ port: number; rt: Runtime; listener: Listener; nodeUpgrades: () => number }> {
  const config = loadConfigText(yaml, 'test.yaml', {});
  const rt = new Runtime(config, createLogger('silent'));
  const listener = new Listener(rt, config.listeners[0]!);
  let upgrades = 0;
  listener.server.on('upgrade', () => { upgrades++; });
  const { port } = await listener.listen();
  t.teardown(async () => {
    listener.server.closeAllConnections();
    rt.tunnels.destroyAll();
    await listener.close();
    rt.tunnels.stop();
    rt.stop();
    for (const p of rt.pools.values()) p.destroy();
  });
  return { port, rt, listener, nodeUpgrades: () => upgrades };
}

/** Connects, writes `parts` (waiting `gapMs` between them) and collects bytes until the first response head. */
function exchange(port: number, parts: string[], gapMs = 0): Promise<{ head: string; socket: net.Socket }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let got = '';
    const timer = setTimeout(() => { socket.destroy(); reject(new Error(`no answer; got ${JSON.stringify(got)}`)); }, 3000);
    socket.on('error', reject);
    socket.on('data', (c: Buffer) => {
      got += c.toString('latin1');
      const end = got.indexOf('\r\n\r\n');
      if (end === -1) return;
      clearTimeout(timer);
      socket.removeAllListeners('data');
      resolve({ head: got.slice(0, end), socket });
    });
    socket.on('connect', async () => {
      for (const [i, p] of parts.entries()) {
        if (i > 0 && gapMs) await new Promise((r) => setTimeout(r, gapMs));
        socket.write(Buffer.from(p, 'latin1'));
      }
    });
  });
}

t.test('a clean upgrade head never reaches node:http; the tunnel carries the bytes sent with it', async (t) => {
  const backend = await startBackend({ name: 'b1' });
  t.teardown(() => backend.close());
  const l = await listenerFor(t, farmYaml({ servers: [{ name: 'b1', url: backend.url }] }));
  const key = wsKey();
  // A masked text frame "hi" in the same write as the head.
  const frame = Buffer.from([0x81, 0x82, 1, 2, 3, 4, 'h'.charCodeAt(0) ^ 1, 'i'.charCodeAt(0) ^ 2]).toString('latin1');
  const { head, socket } = await exchange(l.port, [upgradeRequest('/x', [], key) + frame]);
  t.teardown(() => socket.destroy());
  t.match(head, /^HTTP\/1\.1 101 /);
  t.match(head, new RegExp(`Sec-WebSocket-Accept: ${wsAccept(key).replace(/[+/]/g, '\\$&')}`));
  await waitFor(t, () => backend.received.some((b) => b.toString() === 'hi'), { what: 'the frame sent with the head reached the server' });
  t.equal(l.nodeUpgrades(), 0, "node:http emitted no 'upgrade': the fast path took it");
});

t.test('a head split over two reads, and a keep-alive request followed by an upgrade, go through node:http and still upgrade', async (t) => {
  const backend = await startBackend({ name: 'b1' });
  t.teardown(() => backend.close());
  const l = await listenerFor(t, farmYaml({ servers: [{ name: 'b1', url: backend.url }], route: { http: true } }));
  const req = upgradeRequest('/split');
  const split = await exchange(l.port, [req.slice(0, 20), req.slice(20)], 30);
  split.socket.destroy();
  t.match(split.head, /^HTTP\/1\.1 101 /, 'split head upgraded');
  t.equal(l.nodeUpgrades(), 1, "through Node's 'upgrade'");

  const plain = 'GET /plain HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n';
  const ka = await exchange(l.port, [plain]);
  t.match(ka.head, /^HTTP\/1\.1 200 /, 'the plain request was proxied');
  t.notMatch(ka.head, /Connection: close/i, 'and the connection kept alive');
  const second = await new Promise<string>((resolve) => {
    let got = '';
    ka.socket.on('data', (c: Buffer) => { got += c.toString('latin1'); if (/HTTP\/1\.1 101 [^]*\r\n\r\n/.test(got)) resolve(got); });
    ka.socket.write(upgradeRequest('/after-keep-alive'));
  });
  ka.socket.destroy();
  t.match(second, /HTTP\/1\.1 101 /, 'the upgrade on the kept-alive socket switched protocols');
  t.equal(l.nodeUpgrades(), 2, "through Node's 'upgrade' event");
});

t.test('a socket that sends nothing is answered 408 after the handshake timeout; one that only sends FIN is closed unanswered', async (t) => {
  const l = await listenerFor(t, farmYaml({ servers: [{ name: 'b1', url: 'ws://127.0.0.1:9' }], timeouts: { handshake: '300ms' } }));
  const t0 = performance.now();
  const silent = await exchange(l.port, []);
  silent.socket.destroy();
  t.match(silent.head, /^HTTP\/1\.1 408 /);
  t.match(silent.head, /X-Wslb-Error: WSLB_ERR_HEAD_TIMEOUT/);
  // The 300 ms timeout plus room for a loaded machine; the default timeout it must not fall back to is 10 s.
  t.ok(performance.now() - t0 < 3000, 'at the 300 ms timeout, not at the 10 s default');
  t.equal(l.listener.headFront.waiting, 0, 'nothing left waiting');

  const fin = await new Promise<{ bytes: number; closed: boolean }>((resolve) => {
    const s = net.connect(l.port, '127.0.0.1');
    let bytes = 0;
    s.on('data', (c: Buffer) => { bytes += c.length; });
    s.on('error', () => undefined);
    s.on('connect', () => s.end());
    s.on('close', () => resolve({ bytes, closed: true }));
  });
  t.same(fin, { bytes: 0, closed: true }, 'closed without an answer');
  t.equal(l.rt.routeStats.get('')?.rejections.get('WSLB_ERR_MALFORMED') ?? 0, 0, 'and not counted as malformed');
});
