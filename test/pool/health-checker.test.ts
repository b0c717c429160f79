/** HealthChecker with a scripted probe: first check at once, rise/fall over time, reasons, membership sync, close and destroy. */

import t from 'tap';
import type { HealthConfig, PoolConfig } from '../../src/config/types.js';
import { HealthChecker, type CheckedPool } from '../../src/pool/health.js';
import type { Probe, ProbeResult } from '../../src/pool/probes.js';
import { Server } from '../../src/pool/server.js';
import { waitFor } from '../helpers/wait.js';


function cfg(name: string, port: number) {
  return { name, url: `ws://127.0.0.1:${port}`, host: '127.0.0.1', port, tls: false, weight: 1 };
}

function standIn(health: Partial<HealthConfig>, servers: Server[]): CheckedPool & { config: PoolConfig; ended: string[] } {
  const ended: string[] = [];
  const config = { name: 'p', slow_start: 0, health: { check: 'tcp', path: '/', interval: 20, timeout: 50, rise: 2, fall: 2, ...health } } as unknown as PoolConfig;
  return { name: 'p', config, servers, ended, outlier: { endEarly: (s) => { ended.push(s.name); s.status.setEjected(false); } } };
}

/** A probe answering from a per-server script (the last entry repeats); counts calls. */
function scripted(script: Record<string, (boolean | string)[]>, calls: Record<string, number>): Probe {
  return async (server) => {
    const i = calls[server.name] = (calls[server.name] ?? 0) + 1;
    const steps = script[server.name]!;
    const step = steps[Math.min(i - 1, steps.length - 1)]!;
    const r: ProbeResult = step === true ? { ok: true, rttMs: 2 } : { ok: false, reason: step === false ? 'connect ECONNREFUSED' : step };
    return r;
  };
}

t.test('start: every first check fires at once; start resolves with first results', async (t) => {
  const a = new Server('p', cfg('a', 1), { healthy: false });
  const b = new Server('p', cfg('b', 2), { healthy: false });
  const calls: Record<string, number> = {};
  const hc = new HealthChecker(standIn({ interval: 60_000 }, [a, b]), {
    random: () => 0.5, now: () => performance.now(), probe: scripted({ a: [true], b: [false] }, calls),
  });
  t.teardown(() => hc.destroy());
  const t0 = performance.now();
  await hc.start();
  t.ok(performance.now() - t0 < 30_000, 'did not wait for an interval (60 s)');
  t.same(calls, { a: 1, b: 1 });
  t.equal(a.state, 'up', 'one passing check at start marks a server up');
  t.equal(a.rtt, 2, 'probe round trips feed rtt');
  t.equal(b.state, 'down');
  t.equal(b.reason, 'health check failed: connect ECONNREFUSED');
});

t.test('fall then rise over real timers, with reasons while rising', async (t) => {
  const a = new Server('p', cfg('a', 1), { healthy: false });
  const calls: Record<string, number> = {};
  const states: string[] = [];
  a.status.listen((_s, from, to) => states.push(`${from}->${to}`));
  // up, then 2 failures (fall=2) -> down, a pass (1 of 2), then up.
  const hc = new HealthChecker(standIn({}, [a]), {
    random: () => 0.5, now: () => performance.now(), probe: scripted({ a: [true, true, 'timeout after 50 ms', 'timeout after 50 ms', true, true] }, calls),
  });
  t.teardown(() => hc.destroy());
  await hc.start();
  await waitFor(t, () => calls['a']! >= 4 && a.state === 'down', { what: 'a down after its fourth check' });
  t.equal(a.reason, 'health check failed: timeout after 50 ms');
  await waitFor(t, () => calls['a']! >= 5, { what: 'a fifth check ran' });
  t.equal(a.state, 'down', 'one pass is not enough after the first rise');
  t.match(a.reason, /1 of 2 to rise/);
  await waitFor(t, () => a.state === 'up', { what: 'a back up' });
  t.same(states, ['unknown->up', 'up->down', 'down->up'], 'the first result is reported from "unknown"');
});

t.test('a websocket check pass ends an ejection early; other checks do not', async (t) => {
  for (const check of ['websocket', 'http'] as const) {
    const a = new Server('p', cfg('a', 1));
    const pool = standIn({ check }, [a]);
    const hc = new HealthChecker(pool, { random: () => 0.5, now: () => performance.now(), probe: scripted({ a: [true] }, {}) });
    a.status.setEjected(true, 'ejected: test');
    await hc.start();
    hc.destroy();
    t.same(pool.ended, check === 'websocket' ? ['a'] : [], check);
  }
});

t.test('sync follows membership; check none marks servers up and schedules nothing', async (t) => {
  const a = new Server('p', cfg('a', 1), { healthy: false });
  const servers = [a];
  const pool = standIn({ interval: 60_000 }, servers);
  const calls: Record<string, number> = {};
  const hc = new HealthChecker(pool, { random: () => 0.5, now: () => performance.now(), probe: scripted({ a: [true], b: [false] }, calls) });
  t.teardown(() => hc.destroy());
  await hc.sync();
  t.same(calls, {}, 'nothing runs before start');
  await hc.start();
  const b = new Server('p', cfg('b', 2), { healthy: false });
  servers.push(b);
  await hc.sync();
  t.same(calls, { a: 1, b: 1 }, 'a new member is checked at once');
  servers.shift();
  (pool.config as { health: HealthConfig }).health = { ...pool.config.health, check: 'none' };
  await hc.sync();
  t.equal(b.state, 'up', 'a reload to check none brings servers up at once');
  t.same(calls, { a: 1, b: 1 }, 'and probes nothing more');
});

t.test('check none: servers come up without probing', async (t) => {
  const a = new Server('p', cfg('a', 1), { healthy: false });
  let probed = 0;
  const hc = new HealthChecker(standIn({ check: 'none' }, [a]), { random: Math.random, now: () => performance.now(), probe: async () => { probed++; return { ok: true }; } });
  await hc.start();
  t.equal(a.state, 'up');
  t.equal(probed, 0);
  await hc.close();
});

t.test('close waits for checks in flight; destroy aborts them; neither reschedules', async (t) => {
  const a = new Server('p', cfg('a', 1), { healthy: false });
  let calls = 0;
  let aborted = 0;
  const slow: Probe = (_s, _c, signal) => new Promise((resolve) => {
    calls++;
    const timer = setTimeout(() => resolve({ ok: true }), 80);
    signal.addEventListener('abort', () => { aborted++; clearTimeout(timer); resolve({ ok: false, reason: 'aborted' }); });
  });
  const hc = new HealthChecker(standIn({}, [a]), { random: () => 0.5, now: () => performance.now(), probe: slow });
  void hc.start();
  const t0 = performance.now();
  await hc.close();
  t.ok(performance.now() - t0 >= 60, 'close waited for the probe');
  t.equal(a.state, 'up', 'its result still counts');
  await new Promise((r) => setTimeout(r, 60));
  t.equal(calls, 1, 'nothing scheduled after close');
  await hc.start();
  t.equal(calls, 1, 'a closed checker does not start again');

  const b = new Server('p', cfg('b', 2), { healthy: false });
  const hc2 = new HealthChecker(standIn({}, [b]), { random: () => 0.5, now: () => performance.now(), probe: slow });
  const first = hc2.start();
  hc2.destroy();
  await first;
  t.equal(aborted, 1);
  t.equal(b.state, 'down', 'an aborted check does not count');
});

t.test('a probe that throws counts as a failure', async (t) => {
  const a = new Server('p', cfg('a', 1), { healthy: false });
  const hc = new HealthChecker(standIn({}, [a]), { random: () => 0.5, now: () => performance.now(), probe: async () => { throw new Error('kaput'); } });
  t.teardown(() => hc.destroy());
  await hc.start();
  t.equal(a.reason, 'health check failed: kaput');
});
