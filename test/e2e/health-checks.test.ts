/** Active health checks against child-process servers: SIGKILL and SIGSTOP detected in bounded time, recovery after rise, initial state, 503 when all are down. */

import t from 'tap';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { loadConfigText } from '../../src/config/load.js';
import { Balancer } from '../../src/main.js';
import { startBackend } from '../helpers/backend.js';
import { farmYaml, startBalancer } from '../helpers/balancer.js';
import { waitFor } from '../helpers/wait.js';
import { rawRequest, upgradeRequest } from '../helpers/raw-client.js';
import { connectNamed, startChildServer } from '../helpers/server-process.js';

const INTERVAL = 200;
// 1 s: a healthy child server answers a websocket check well within it even on a loaded machine (200 ms did not).
const TIMEOUT = 1000;
const FALL = 2;
// Scheduling on a loaded 2-core machine: the balancer's own event loop can stall for up to about a second.
const SLACK = 1500;
// Detection bounds from the contract (+10% jitter on each interval): a killed server refuses at once, so
// `fall` checks an interval apart; a stopped one makes each check wait its timeout, and the next check
// starts an interval after the previous one began, or when it ended if that is later.
const KILL_BOUND = INTERVAL * 1.1 * FALL + SLACK;
const STOP_BOUND = INTERVAL * 1.1 + TIMEOUT + (FALL - 1) * Math.max(INTERVAL * 1.1, TIMEOUT) + SLACK;

interface StatusServer { name: string; state: string; reason: string | null; rtt_ms: number; weight: number; effective_weight: number }

async function statusServers(b: Balancer): Promise<Record<string, StatusServer>> {
  const res = await fetch(`http://127.0.0.1:${b.adminPort()}/status`);
  const doc = (await res.json()) as { pools: Record<string, { servers: StatusServer[] }> };
  return Object.fromEntries(doc.pools['p']!.servers.map((s) => [s.name, s]));
}

const health = (check: string) => ({ health: { check, interval: `${INTERVAL}ms`, timeout: `${TIMEOUT}ms`, rise: 2, fall: FALL } });

t.test('SIGKILL: down within interval x fall + timeout, new clients go elsewhere, rises after restart', async (t) => {
  const servers = [await startChildServer(t, 'k-1'), await startChildServer(t, 'k-2'), await startChildServer(t, 'k-3')];
  const b = await startBalancer(t, { servers: servers.map((s) => ({ name: s.name, url: s.url })), pool: health('tcp') });
  const pool = b.runtime.pools.get('p')!;
  t.same(pool.servers.map((s) => s.state), ['up', 'up', 'up'], 'every server is up by the time the balancer listens');
  const victim = pool.server('k-1')!;

  const killedAt = performance.now();
  servers[0]!.kill('SIGKILL');
  await waitFor(t, () => victim.state === 'down', { ms: KILL_BOUND * 3, what: 'detected' });
  const detectMs = performance.now() - killedAt;
  t.ok(detectMs <= KILL_BOUND, `detected in ${detectMs.toFixed(0)} ms (bound ${KILL_BOUND} ms)`);
  t.match(victim.reason, /^health check failed: connect ECONNREFUSED/);

  const landed: string[] = [];
  for (let i = 0; i < 6; i++) {
    const [ws, name] = await connectNamed(b.proxyPort());
    landed.push(name);
    ws.close();
  }
  t.notOk(landed.includes('k-1'), `new clients avoid the dead server: ${landed.join(',')}`);

  await servers[0]!.restart();
  let sawRising = false;
  await waitFor(t, () => {
    if (/1 of 2 to rise/.test(victim.reason ?? '')) sawRising = true;
    return victim.state === 'up';
  }, { ms: 10_000, what: 'back up after restart' });
  t.ok(sawRising, 'one pass was not enough after a fall: rise=2 applied');
  const [ws, name] = await connectNamed(b.proxyPort());
  ws.close();
  t.ok(['k-1', 'k-2', 'k-3'].includes(name));
});

t.test('SIGSTOP: websocket check times out -> down; SIGCONT -> up after rise; the check feeds rtt', async (t) => {
  const servers = [await startChildServer(t, 'h-1'), await startChildServer(t, 'h-2')];
  const b = await startBalancer(t, { servers: servers.map((s) => ({ name: s.name, url: s.url })), pool: health('websocket') });
  const pool = b.runtime.pools.get('p')!;
  t.same(pool.servers.map((s) => s.state), ['up', 'up']);
  const before = await statusServers(b);
  t.ok(before['h-2']!.rtt_ms > 0, `rtt from the ping/pong: ${before['h-2']!.rtt_ms} ms`);

  const hung = pool.server('h-1')!;
  const stoppedAt = performance.now();
  servers[0]!.kill('SIGSTOP');
  await waitFor(t, () => hung.state === 'down', { ms: STOP_BOUND * 3, what: 'detected' });
  const detectMs = performance.now() - stoppedAt;
  t.ok(detectMs <= STOP_BOUND, `detected in ${detectMs.toFixed(0)} ms (bound ${STOP_BOUND} ms)`);
  t.match(hung.reason, `health check failed: timeout after ${TIMEOUT} ms`);
  const st = await statusServers(b);
  t.equal(st['h-1']!.state, 'down');
  t.match(st['h-1']!.reason, /timeout/);

  for (let i = 0; i < 4; i++) {
    const [ws, name] = await connectNamed(b.proxyPort());
    t.equal(name, 'h-2', 'the hung server gets no new client');
    ws.close();
  }

  const contAt = performance.now();
  servers[0]!.kill('SIGCONT');
  const RISE_BOUND = INTERVAL * 2 * 1.1 + TIMEOUT + SLACK;
  await waitFor(t, () => hung.state === 'up', { ms: RISE_BOUND * 3, what: 'back up' });
  const riseMs = performance.now() - contAt;
  t.ok(riseMs <= RISE_BOUND, `rose in ${riseMs.toFixed(0)} ms (bound ${RISE_BOUND} ms)`);
});

t.test('initial state: down until a check passes, with the reason in /status; all down -> 503 + Retry-After at once', async (t) => {
  const good = await startChildServer(t, 'ok-1');
  const refused = await startBackend({ mode: 'refuse' });
  const b = await startBalancer(t, {
    servers: [{ name: 'ok-1', url: good.url }, { name: 'gone', url: refused.url }],
    pool: { health: { check: 'http', interval: '1s', timeout: '2s' } },   // the child must pass its first check on a loaded machine
  });
  const st = await statusServers(b);
  t.equal(st['ok-1']!.state, 'up');
  t.equal(st['gone']!.state, 'down');
  t.match(st['gone']!.reason, /^health check failed: connect ECONNREFUSED/);

  const lone = await startBalancer(t, { servers: [{ name: 'gone', url: refused.url }], pool: { health: { check: 'tcp', interval: '3s' } } });
  const t0 = performance.now();
  const res = await rawRequest(lone.proxyPort(), upgradeRequest('/'), { timeoutMs: 10_000 });
  t.equal(res.status, 503);
  t.equal(res.headers['x-wslb-error'], 'WSLB_ERR_NO_SERVER');
  t.equal(res.headers['retry-after'], '3', 'Retry-After follows the check interval');
  // Not held until the next check (3 s) could bring a server up; the bound leaves room for a loaded machine.
  t.ok(performance.now() - t0 < 3000, 'answered at once, no hang');
  t.equal(refused.accepted, 0);
});

t.test('state changes are logged: "server state changed" with pool, server, from, to, reason', async (t) => {
  const child = await startChildServer(t, 'log-1');
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({ write(chunk: Buffer, _enc, cb) { for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l)); cb(); } });
  const config = loadConfigText(farmYaml({ servers: [{ name: 'log-1', url: child.url }], pool: health('tcp') }), 'test.yaml', {});
  const b = new Balancer(config, pino({ level: 'info', base: undefined }, sink));
  t.teardown(() => b.destroy());
  await b.start();
  child.kill('SIGKILL');
  await waitFor(t, () => b.runtime.pools.get('p')!.servers[0]!.state === 'down', { ms: KILL_BOUND * 3, what: 'the killed server is down' });
  const changes = lines.filter((l) => l['msg'] === 'server state changed');
  t.match(changes, [
    { level: 30, pool: 'p', server: 'log-1', from: 'unknown', to: 'up', reason: null },   // the first check's result
    { level: 40, pool: 'p', server: 'log-1', from: 'up', to: 'down', reason: /^health check failed: / },
  ]);
  t.equal(changes.length, 2);
});
