/** Slow start through a real balancer: a recovered server ramps its weight, so least-connections does not send it the whole wave. */

import t from 'tap';
import type WebSocket from 'ws';
import type { Balancer } from '../../src/main.js';
import { startBalancer } from '../helpers/balancer.js';
import { waitFor } from '../helpers/wait.js';
import { connectNamed, startChildServer } from '../helpers/server-process.js';

async function wave(b: Balancer, n: number): Promise<{ sockets: WebSocket[]; names: string[] }> {
  const sockets: WebSocket[] = [];
  const names: string[] = [];
  for (let i = 0; i < n; i++) {
    const [ws, name] = await connectNamed(b.proxyPort());
    sockets.push(ws);
    names.push(name);
  }
  return { sockets, names };
}

/**
 * The most clients least-connections can have given z in one wave: it picks z only while
 * z.active / z.weight <= a.active, so z's last pick had z.active - 1 <= weight x a.active, and the
 * weight only grows during the ramp: bounded by the weight and a's count read after the wave. Read
 * after the wave, whatever time the wave took on a loaded machine.
 */
function rampedShare(onZ: number, weightAfter: number, aActive: number): boolean {
  return onZ - 1 <= weightAfter * aActive + 1e-9;   // the picks compare in floating point
}

async function weights(b: Balancer): Promise<Record<string, [number, number]>> {
  const res = await fetch(`http://127.0.0.1:${b.adminPort()}/status`);
  const doc = (await res.json()) as { pools: { p: { servers: { name: string; weight: number; effective_weight: number }[] } } };
  return Object.fromEntries(doc.pools.p.servers.map((s) => [s.name, [s.weight, s.effective_weight]]));
}

for (const slowStart of ['6s', '0s']) {
  t.test(`least-connections, slow_start ${slowStart}: the reconnect wave after a recovery`, async (t) => {
    const a = await startChildServer(t, 'a');
    const z = await startChildServer(t, 'z');
    const b = await startBalancer(t, {
      algorithm: 'least-connections',
      servers: [{ name: 'a', url: a.url }, { name: 'z', url: z.url }],
      // timeout 1 s: with fall 1, a check timed out by a stall of this process would take a server down (and restart z's ramp).
      pool: { health: { check: 'tcp', interval: '100ms', timeout: '1s', rise: 1, fall: 1 }, slow_start: slowStart },
    });
    const pool = b.runtime.pools.get('p')!;
    const zs = pool.server('z')!;
    t.same(await weights(b), { a: [1, 1], z: [1, 1] }, 'members present at start begin at full weight');

    z.kill('SIGKILL');
    await waitFor(t, () => zs.state === 'down', { ms: 10_000, what: 'z down after its kill' });
    const first = await wave(b, 20);
    t.teardown(() => { for (const s of first.sockets) s.terminate(); });
    t.ok(first.names.every((n) => n === 'a'), 'while z is down everyone lands on a');

    await z.restart();
    await waitFor(t, () => zs.state === 'up', { ms: 10_000, what: 'z up after its restart' });
    // Read at once: a 6 s ramp is below half its weight for 3 s.
    const [w, eff] = (await weights(b))['z']!;
    const second = await wave(b, 20);
    t.teardown(() => { for (const s of second.sockets) s.terminate(); });
    const onZ = second.names.filter((n) => n === 'z').length;
    if (slowStart === '0s') {
      t.equal(onZ, 20, 'without slow start the empty server takes the whole wave');
      return;
    }
    const weightAfter = zs.weight;
    const aActive = pool.server('a')!.active;
    t.ok(onZ >= 1 && onZ < 20 && rampedShare(onZ, weightAfter, aActive),
      `with slow start z takes ${onZ} of 20: no more than its ramped weight allows (${weightAfter.toFixed(2)} x a's ${aActive})`);
    t.equal(w, 1, '/status weight is the configured one');
    t.ok(eff < 0.5, `effective_weight ramps: ${eff}`);
    await waitFor(t, () => zs.weight === 1, { ms: 15_000, what: 'full weight after the window' });
    const third = await wave(b, 10);
    t.teardown(() => { for (const s of third.sockets) s.terminate(); });
    t.ok(third.names.filter((n) => n === 'z').length >= 8, 'at full weight z catches up');
  });
}

t.test('least-connections, slow_start 6s: a server down at start ramps when it comes up later', async (t) => {
  const a = await startChildServer(t, 'a');
  const z = await startChildServer(t, 'z');
  z.kill('SIGKILL');   // its port stays known: restart() binds it again
  await new Promise((r) => z.process.once('exit', r));
  const b = await startBalancer(t, {
    algorithm: 'least-connections',
    servers: [{ name: 'a', url: a.url }, { name: 'z', url: z.url }],
    pool: { health: { check: 'tcp', interval: '100ms', timeout: '1s', rise: 1, fall: 1 }, slow_start: '6s' },
  });
  const zs = b.runtime.pools.get('p')!.server('z')!;
  t.equal(zs.state, 'down', 'z failed its first check');
  const first = await wave(b, 20);
  t.teardown(() => { for (const s of first.sockets) s.terminate(); });
  t.ok(first.names.every((n) => n === 'a'), 'while z is down everyone lands on a');

  await z.restart();
  await waitFor(t, () => zs.state === 'up', { ms: 10_000, what: 'z came up after the listeners opened' });
  const [w, eff] = (await weights(b))['z']!;
  t.equal(w, 1);
  t.ok(eff < 0.5, `effective_weight ramps from its first readiness: ${eff}`);
  const second = await wave(b, 20);
  t.teardown(() => { for (const s of second.sockets) s.terminate(); });
  const onZ = second.names.filter((n) => n === 'z').length;
  const weightAfter = zs.weight;
  const aActive = b.runtime.pools.get('p')!.server('a')!.active;
  t.ok(onZ >= 1 && onZ < 20 && rampedShare(onZ, weightAfter, aActive),
    `z takes a ramped share of the wave: ${onZ} of 20, no more than its weight allows (${weightAfter.toFixed(2)} x a's ${aActive})`);
});
