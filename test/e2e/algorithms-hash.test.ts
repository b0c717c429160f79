/** hash end to end: the same key lands on the same server from two balancer instances, survives a server's absence, spreads a hot key with balance_factor, and falls back when the key is missing. */

import t, { type Test } from 'tap';
import { stringify } from 'yaml';
import type WebSocket from 'ws';
import { startEchoBackends } from '../helpers/backend.js';
import { startBalancer } from '../helpers/balancer.js';
import { closeAll, connectWho } from '../helpers/who.js';

const ROOMS = Array.from({ length: 16 }, (_, i) => `room-${i}`);

async function farm(t: Test) {
  const backends = await startEchoBackends(4, 'h');
  t.teardown(() => Promise.all(backends.map((b) => b.close())));
  const yaml = stringify({
    listeners: [{ port: 0, host: '127.0.0.1' }],
    admin: { port: 0, host: '127.0.0.1' },
    log: { level: 'silent' },
    limits: { handshakes_per_ip: '10000/s' },   // every test client is 127.0.0.1
    pools: { p: { algorithm: { name: 'hash', key: 'query:room' }, health: { check: 'none' }, servers: backends.map((s) => ({ name: s.name, url: s.url })) } },
    routes: [
      { name: 'bounded', match: { path: '/bounded' }, pool: 'p', algorithm: { name: 'hash', key: 'query:room', balance_factor: 1.25 } },
      { name: 'user', match: { path: '/user' }, pool: 'p', algorithm: { name: 'hash', key: 'header:X-User', fallback: 'least-connections' } },
      { name: 'byip', match: { path: '/byip' }, pool: 'p', algorithm: 'hash' },
      { name: 'plain', match: { path: '/' }, pool: 'p' },
    ],
  });
  return { backends, yaml };
}

/** Each room through `port`, one connection at a time (closed before the next). */
async function placement(port: number, backends: Parameters<typeof connectWho>[2]): Promise<string[]> {
  const out: string[] = [];
  for (const room of ROOMS) {
    const [ws, name] = await connectWho(port, `/chat?room=${room}`, backends);
    out.push(name);
    await closeAll([ws]);
  }
  return out;
}

t.test('two balancer instances with the same config send every room to the same server', async (t) => {
  const { backends, yaml } = await farm(t);
  const one = await startBalancer(t, yaml);
  const two = await startBalancer(t, yaml);
  const a = await placement(one.proxyPort(), backends);
  const b = await placement(two.proxyPort(), backends);
  t.same(a, b, a.join(' '));
  t.ok(new Set(a).size >= 3, 'sixteen rooms use most of the four servers');
  t.same(await placement(one.proxyPort(), backends), a, 'and again: stable over time');

  // A disabled server's rooms move to their next choice, the others stay; enabled again, they come back.
  const admin = (action: string) => fetch(`http://127.0.0.1:${one.adminPort()}/pools/p/servers/${a[0]}/${action}`, { method: 'POST' });
  t.equal((await admin('disable')).status, 204);
  const without = await placement(one.proxyPort(), backends);
  t.ok(ROOMS.every((_, i) => (a[i] === a[0] ? without[i] !== a[0] : without[i] === a[i])), `only ${a[0]}'s rooms moved: ${without.join(' ')}`);
  t.equal((await admin('enable')).status, 204);
  t.same(await placement(one.proxyPort(), backends), a, 'back where they were');
});

t.test('one hot room: balance_factor 1.25 caps each server at ceil(1.25 x average); plain hashing piles it on one', async (t) => {
  const { backends, yaml } = await farm(t);
  const b = await startBalancer(t, yaml);
  const pool = b.runtime.pools.get('p')!;
  const open: WebSocket[] = [];
  const bounded: string[] = [];
  for (let i = 0; i < 12; i++) { const [ws, n] = await connectWho(b.proxyPort(), '/bounded?room=hot', backends); open.push(ws); bounded.push(n); }
  t.ok(pool.servers.every((s) => s.active <= 4), `at most ceil(1.25 x 12 / 4) = 4 each: ${pool.servers.map((s) => s.active).join(' ')}`);
  t.ok(new Set(bounded).size >= 3, `spread: ${bounded.join(' ')}`);
  await closeAll(open.splice(0));
  const plain: string[] = [];
  for (let i = 0; i < 6; i++) { const [ws, n] = await connectWho(b.proxyPort(), '/plain?room=hot', backends); open.push(ws); plain.push(n); }
  t.equal(new Set(plain).size, 1, `without balance_factor the room stays on one server: ${plain[0]}`);
  t.equal(plain[0], bounded[0], 'the first bounded connection went to the same first choice');
  await closeAll(open);
});

t.test('a request without the key uses the fallback (least-connections here); with it, the hash', async (t) => {
  const { backends, yaml } = await farm(t);
  const b = await startBalancer(t, yaml);
  const open: WebSocket[] = [];
  const noKey: string[] = [];
  for (let i = 0; i < 4; i++) { const [ws, n] = await connectWho(b.proxyPort(), '/user', backends); open.push(ws); noKey.push(n); }
  t.same([...noKey].sort(), ['h-1', 'h-2', 'h-3', 'h-4'], 'least-connections spreads key-less clients one per server');
  const alice: string[] = [];
  for (let i = 0; i < 3; i++) { const [ws, n] = await connectWho(b.proxyPort(), '/user', backends, { 'X-User': 'alice' }); open.push(ws); alice.push(n); }
  t.equal(new Set(alice).size, 1, `alice always lands on ${alice[0]}`);
  const byIp: string[] = [];
  for (let i = 0; i < 3; i++) { const [ws, n] = await connectWho(b.proxyPort(), '/byip', backends); open.push(ws); byIp.push(n); }
  t.equal(new Set(byIp).size, 1, `hash without a key option hashes the client IP: ${byIp.join(' ')}`);
  await closeAll(open);
});
