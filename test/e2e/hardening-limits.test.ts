/** Admission limits end to end: max_connections (503), max_connections_per_ip and handshakes_per_ip (429) from several loopback source addresses, always with Retry-After, never closing a tunnel to make room. */

import t from 'tap';
import type WebSocket from 'ws';
import { startBackend } from '../helpers/backend.js';
import { startBalancer } from '../helpers/balancer.js';
import { waitFor } from '../helpers/wait.js';
import { echo, openWs } from '../helpers/hardening.js';

interface Refusal { status: number; headers: Record<string, string> }
const refusal = (p: Promise<WebSocket>): Promise<Refusal | WebSocket> =>
  p.then((ws) => ws, (e: Refusal) => e);
const isWs = (x: Refusal | WebSocket): x is WebSocket => typeof (x as WebSocket).send === 'function';

t.test('max_connections: 503 with Retry-After; open tunnels are never closed to make room', async (t) => {
  const backend = await startBackend({ name: 'b1' });
  t.teardown(() => backend.close());
  const b = await startBalancer(t, { servers: [{ name: 'b1', url: backend.url }], limits: { max_connections: 2 } });
  const url = `ws://127.0.0.1:${b.proxyPort()}/`;
  const w1 = await openWs(url);
  const w2 = await openWs(url);
  const r = await refusal(openWs(url));
  t.notOk(isWs(r));
  t.equal((r as Refusal).status, 503);
  t.equal((r as Refusal).headers['x-wslb-error'], 'WSLB_ERR_OVER_CAPACITY');
  t.ok(Number((r as Refusal).headers['retry-after']) >= 1, 'Retry-After');
  t.equal(backend.connections, 2, 'the refused client never reached a server');
  t.equal(await echo(w1, 'a'), 'a', 'first tunnel untouched');
  t.equal(await echo(w2, 'b'), 'b', 'second tunnel untouched');
  w1.close();
  await waitFor(t, () => b.runtime.connections < 2, { ms: 5000, what: 'the closed tunnel freed its slot' });
  const w3 = await openWs(url);
  t.equal(await echo(w3, 'c'), 'c', 'room again once one closed');
  w2.close();
  w3.close();
});

t.test('max_connections_per_ip from several loopback source addresses', async (t) => {
  const backend = await startBackend({ name: 'b1' });
  t.teardown(() => backend.close());
  const b = await startBalancer(t, { servers: [{ name: 'b1', url: backend.url }], limits: { max_connections_per_ip: 2 } });
  const url = `ws://127.0.0.1:${b.proxyPort()}/`;
  const from = (localAddress: string) => openWs(url, { localAddress });
  const capped = [await from('127.0.0.2'), await from('127.0.0.2')];
  const r = await refusal(from('127.0.0.2'));
  t.notOk(isWs(r), 'third connection from 127.0.0.2 refused');
  t.equal((r as Refusal).status, 429);
  t.equal((r as Refusal).headers['x-wslb-error'], 'WSLB_ERR_IP_CAP');
  t.ok(Number((r as Refusal).headers['retry-after']) >= 1);
  const others = [await from('127.0.0.3'), await from('127.0.0.3'), await from('127.0.0.4'), await from('127.0.0.4')];
  t.equal(others.length, 4, 'the other addresses are unaffected');
  for (const ws of [...capped, ...others]) t.equal(await echo(ws, 'x'), 'x');
  t.equal(b.runtime.admission.connections('127.0.0.2'), 2);
  capped[0]!.close();
  await waitFor(t, () => b.runtime.admission.connections('127.0.0.2') === 1, { ms: 5000, what: 'a closed tunnel frees its slot' });
  const again = await from('127.0.0.2');
  t.equal(await echo(again, 'y'), 'y');
  for (const ws of [capped[1]!, again, ...others]) ws.close();
});

t.test('handshakes_per_ip: a token bucket per address, 429 with Retry-After', async (t) => {
  const backend = await startBackend({ name: 'b1' });
  t.teardown(() => backend.close());
  const b = await startBalancer(t, { servers: [{ name: 'b1', url: backend.url }], limits: { handshakes_per_ip: '2/s' } });
  const url = `ws://127.0.0.1:${b.proxyPort()}/`;
  const started = performance.now();
  const burst = await Promise.all(Array.from({ length: 10 }, () => refusal(openWs(url, { localAddress: '127.0.0.5' }))));
  const seconds = (performance.now() - started) / 1000;
  const opened = burst.filter(isWs);
  const refused = burst.filter((x): x is Refusal => !isWs(x));
  // 2 tokens at once, 2 more per second of the burst's duration (generous: the machine may be slow).
  t.ok(opened.length >= 2 && opened.length <= 2 + Math.ceil(2 * seconds) + 1, `opened ${opened.length} in ${seconds.toFixed(2)} s`);
  t.ok(refused.length > 0);
  for (const r of refused) {
    t.equal(r.status, 429);
    t.equal(r.headers['x-wslb-error'], 'WSLB_ERR_RATE');
    t.ok(Number(r.headers['retry-after']) >= 1);
  }
  const other = await openWs(url, { localAddress: '127.0.0.6' });
  t.equal(await echo(other, 'z'), 'z', 'another address has its own bucket');
  await new Promise((r) => setTimeout(r, 1100));
  const later = await openWs(url, { localAddress: '127.0.0.5' });
  t.equal(await echo(later, 'w'), 'w', 'the bucket refills');
  for (const ws of [...opened, other, later]) ws.close();
});
