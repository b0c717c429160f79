/** custom-load end to end: real HTTP load endpoints and real SNMP agents, including failed, hung and stale reports, drain and weight. */

import t from 'tap';
import type WebSocket from 'ws';
import { startLoadBackend, type LoadBackend } from '../helpers/load-backend.js';
import { startSnmpAgent, LA_LOAD_1 } from '../helpers/snmp-agent.js';
import { startBalancer } from '../helpers/balancer.js';
import { waitFor } from '../helpers/wait.js';
import { closeAll, connectWho } from '../helpers/who.js';

interface StatusServer { name: string; state: string; reason: string | null; effective_weight: number; load: number; load_stale: boolean; load_error: string | null }
async function status(port: number): Promise<Record<string, StatusServer>> {
  const st = await (await fetch(`http://127.0.0.1:${port}/status`)).json() as { pools: { p: { servers: StatusServer[] } } };
  return Object.fromEntries(st.pools.p.servers.map((s) => [s.name, s]));
}

t.test('http: JSON and bare-number reports, a 500, a hung endpoint, drain and weight', async (t) => {
  const a = await startLoadBackend('a', { load: { kind: 'json', body: { cpu: 0.8, memory: 0.2 } } });   // 0.5
  const b = await startLoadBackend('b', { load: { kind: 'json', body: { cpu: 0.1, memory: 0.1 } } });   // 0.1
  const c = await startLoadBackend('c', { load: { kind: 'text', body: '50\n' } });                      // bare: 0.5
  const backends: LoadBackend[] = [a, b, c];
  t.teardown(() => Promise.all(backends.map((x) => x.close())));
  const bal = await startBalancer(t, {
    limits: { handshakes_per_ip: '10000/s' },
    algorithm: 'custom-load',
    servers: backends.map((s) => ({ name: s.name, url: s.url })),
    // 500 ms: a poll's timeout is the interval and staleness 3 intervals; at 100 ms a stall of this
    // process made a healthy report late or stale between polls, and the picks below changed.
    pool: { load: { source: 'http', path: '/load', interval: '500ms', score: { cpu: 0.5, memory: 0.5 } } },
  });
  const pool = bal.runtime.pools.get('p')!;
  const srv = (n: string) => pool.server(n)!;
  await waitFor(t, () => pool.servers.every((s) => !s.loadStale), { ms: 10_000, what: 'first reports in' });
  t.same(pool.servers.map((s) => Math.round(s.load * 100) / 100), [0.5, 0.1, 0.5]);

  const open: WebSocket[] = [];
  const go = async () => { const [ws, n] = await connectWho(bal.proxyPort(), '/', backends); open.push(ws); return n; };
  t.same([await go(), await go(), await go()], ['b', 'b', 'b'], 'the lowest score wins every time (reports do not move between polls)');

  // A failing endpoint: stale at the next poll, shown in /status; b falls back to least connections.
  b.load = { kind: 'status', status: 500 };
  await waitFor(t, () => srv('b').loadStale, { ms: 10_000, what: 'b stale after a 500' });
  const st = await status(bal.adminPort());
  t.same([st['b']!.load_stale, st['b']!.load_error, st['a']!.load_stale], [true, 'load endpoint answered 500', false]);
  // b as stale: mean fresh load 0.5 x (3 + 1) / (mean share 1 + 1) = 1.0, above a and c (0.5).
  t.same([await go(), await go()].sort(), ['a', 'c']);

  // A hung endpoint times out after the interval; b recovers.
  c.load = { kind: 'hang' };
  b.load = { kind: 'json', body: { cpu: 0.1, memory: 0.1 } };
  await waitFor(t, () => srv('c').loadStale && !srv('b').loadStale, { ms: 10_000, what: 'c stale (no answer), b fresh again' });
  t.equal(srv('c').loadError, 'load endpoint silent for 500 ms');
  t.equal(await go(), 'b', 'b reports 0.1 again; c as stale scores 0.3 x 2 / (5/3 + 1) = 0.225');

  // drain: true takes b out (state draining, reason says why) until a report without it.
  b.load = { kind: 'json', body: { cpu: 0.1, memory: 0.1, drain: true } };
  await waitFor(t, () => srv('b').draining, { ms: 10_000, what: 'b draining after a report with drain: true' });
  t.same([(await status(bal.adminPort()))['b']!.state, (await status(bal.adminPort()))['b']!.reason], ['draining', 'load report: drain']);
  t.not(await go(), 'b', 'no new client on a server whose report says drain');
  b.load = { kind: 'json', body: { cpu: 0.1, memory: 0.1 } };
  await waitFor(t, () => !srv('b').draining, { ms: 10_000, what: 'undrained by the next report' });

  // weight: N divides the score: a at 0.5 / 10 = 0.05 beats b's 0.1.
  a.load = { kind: 'json', body: { cpu: 0.8, memory: 0.2, weight: 10 } };
  await waitFor(t, () => srv('a').weight === 10, { ms: 10_000, what: 'a\'s reported weight applied' });
  t.equal((await status(bal.adminPort()))['a']!.effective_weight, 10);
  t.equal(await go(), 'a');
  await closeAll(open);
});

t.test('snmp: v2c GET of laLoad.1 from an agent on each server host; changes, garbage and a dead agent', async (t) => {
  const s2 = await startLoadBackend('s2', { host: '127.0.0.2' });
  const s3 = await startLoadBackend('s3', { host: '127.0.0.3' });
  const backends = [s2, s3];
  const ag2 = await startSnmpAgent('127.0.0.2', 0, '0.90');
  const ag3 = await startSnmpAgent('127.0.0.3', ag2.port, '0.20');   // one `load.port` for the pool
  let ag2Open = true;
  t.teardown(async () => {
    await Promise.all(backends.map((x) => x.close()));
    await ag3.close();
    if (ag2Open) await ag2.close();
  });
  const bal = await startBalancer(t, {
    limits: { handshakes_per_ip: '10000/s' },
    algorithm: 'custom-load',
    servers: backends.map((s) => ({ name: s.name, url: s.url })),
    pool: { load: { source: 'snmp', port: ag2.port, community: 'public', oids: { la1: LA_LOAD_1 }, score: { la1: 1 }, interval: '500ms' } },   // as above
  });
  const pool = bal.runtime.pools.get('p')!;
  const srv = (n: string) => pool.server(n)!;
  await waitFor(t, () => pool.servers.every((s) => !s.loadStale), { ms: 10_000, what: 'both agents answered' });
  t.same([srv('s2').load, srv('s3').load], [0.9, 0.2]);

  const open: WebSocket[] = [];
  const go = async () => { const [ws, n] = await connectWho(bal.proxyPort(), '/', backends); open.push(ws); return n; };
  t.same([await go(), await go()], ['s3', 's3']);
  ag3.setLoad('0.95');
  await waitFor(t, () => srv('s3').load === 0.95, { ms: 10_000, what: 'the next poll sees the change' });
  t.equal(await go(), 's2');

  ag3.setLoad('n/a');
  await waitFor(t, () => srv('s3').loadStale, { ms: 10_000, what: 'a value that is not a number is a failed report' });
  t.match(srv('s3').loadError, /is not a number/);
  ag3.setLoad('0.30');
  await waitFor(t, () => !srv('s3').loadStale, { ms: 10_000, what: 's3 fresh again after a numeric report' });

  await ag2.close();
  ag2Open = false;
  await waitFor(t, () => srv('s2').loadStale, { ms: 10_000, what: 'a dead agent: the GET times out, the server goes stale' });
  const st = await status(bal.adminPort());
  t.same([st['s2']!.load_stale, st['s3']!.load_stale], [true, false]);
  t.match(st['s2']!.load_error, /timed out/);
  await closeAll(open);
});
