/** workers: 2: the tree's health-check failures (counted by the primary, which runs the checks), ejections and answers (each worker's, summed) and server states agree between /metrics and /status. */

import t from 'tap';
import { parse, stringify } from 'yaml';
import WebSocket from 'ws';
import { once } from 'node:events';
import fs from 'node:fs';
import { connectNamed, startChildServer } from '../helpers/server-process.js';
import { clusterYaml, metricSum, scrape, startInstance, status } from './helpers.js';
import { waitFor } from '../helpers/wait.js';

type ServerDoc = Record<string, unknown>;

async function server(admin: number, pool: string, name: string): Promise<ServerDoc> {
  const doc = await status(admin);
  return (doc['pools'] as Record<string, { servers: ServerDoc[] }>)[pool]!.servers.find((s) => s['name'] === name)!;
}

/** One upgrade through the balancer on `path`; resolves with the HTTP status it was refused with (101 never happens here). */
async function refusedWith(port: number, path: string): Promise<number> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`);
  const [, res] = await Promise.race([once(ws, 'unexpected-response'), once(ws, 'open').then(() => [null, { statusCode: 101 }])]) as [unknown, { statusCode: number }];
  ws.terminate();
  return res.statusCode;
}

/** `wslb_server_state` of one server: the states whose series is 1. */
function states(text: string, pool: string, name: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/^wslb_server_state\{([^}]*)\} 1$/gm)) {
    const labels = m[1]!;
    if (labels.includes(`pool="${pool}"`) && labels.includes(`server="${name}"`)) out.push(/state="(\w+)"/.exec(labels)![1]!);
  }
  return out;
}

t.test('health-check failures are the primary\'s counts, in /metrics and /status alike', async (t) => {
  const up = await startChildServer(t, 'up');
  const dead = await startChildServer(t, 'dead');
  dead.kill('SIGKILL');
  await new Promise((r) => dead.process.once('exit', r));
  // timeout 1 s: 'up' must keep 0 failed checks, which a stall of the primary during a 100 ms check broke; 'dead' is refused at once.
  const health = { check: 'tcp', interval: '100ms', timeout: '1s', rise: 1, fall: 1 };
  const inst = await startInstance(t, clusterYaml([{ name: 'up', url: up.url }, { name: 'dead', url: dead.url }], { workers: 2 }, { health }), 2);

  await waitFor(t, async () => metricSum(await scrape(inst.admin), 'wslb_health_check_failures_total', 'server="dead"') >= 3, { ms: 5000, what: 'failures counted in /metrics' });
  const text = await scrape(inst.admin);
  const counted = metricSum(text, 'wslb_health_check_failures_total', 'server="dead"');
  const shown = (await server(inst.admin, 'p', 'dead'))['check_failures'] as number;
  t.ok(shown >= counted, `/status check_failures (${shown}) is the same count, read a little later than /metrics (${counted})`);
  t.ok(shown < counted + 20, 'not one count per worker on top');
  t.equal(metricSum(text, 'wslb_health_check_failures_total', 'server="up"'), 0, 'a passing server has none');
  t.equal((await server(inst.admin, 'p', 'up'))['check_failures'], 0);
  t.same(states(text, 'p', 'dead'), ['down'], 'wslb_server_state: one state');
  t.equal(metricSum(text, 'wslb_server_up', 'server="dead"'), 0);
  t.equal((await server(inst.admin, 'p', 'dead'))['state'], 'down');
});

t.test('a server a reload removed keeps its failure count while it drains, then leaves /metrics', async (t) => {
  const backs = await Promise.all(['s1', 's2'].map((n) => startChildServer(t, n)));
  const list = backs.map((b) => ({ name: b.name, url: b.url }));
  const pool = { drain: '4s', health: { check: 'http', path: '/', interval: '100ms', timeout: '100ms', rise: 1, fall: 1 } };
  const inst = await startInstance(t, clusterYaml(list, { workers: 2 }, pool), 2);
  const clients: WebSocket[] = [];
  t.teardown(() => { for (const c of clients) c.terminate(); });
  for (let i = 0; i < 6; i++) clients.push((await connectNamed(inst.proxy))[0]);
  backs[1]!.kill('SIGSTOP');   // its tunnels stay open; its health checks time out
  const failures = async (): Promise<number> => metricSum(await scrape(inst.admin), 'wslb_health_check_failures_total', 'server="s2"');
  await waitFor(t, async () => (await failures()) >= 3, { ms: 5000, what: 'failures counted' });
  const before = await failures();

  fs.writeFileSync(inst.file, clusterYaml(list.slice(0, 1), { workers: 2 }, pool));
  const res = await fetch(`http://127.0.0.1:${inst.admin}/reload`, { method: 'POST' });
  t.equal(res.status, 200);
  t.ok(await failures() >= before, 'the counter does not go down while s2 drains');
  const s2 = await server(inst.admin, 'p', 's2');
  t.match(s2, { removed: true, state: 'draining' });
  t.ok((s2['check_failures'] as number) >= before, `/status keeps its count (${String(s2['check_failures'])})`);
  await waitFor(t, async () => !(await scrape(inst.admin)).includes('server="s2"'), { ms: 10_000, what: 'gone once drained in every worker' });
});

t.test('ejections and answers are each worker\'s, summed; a server one worker ejected is still up for the tree, in one state', async (t) => {
  const up = await startChildServer(t, 'up');
  const bad = await startChildServer(t, 'bad', 'fail-upgrade');
  const doc = parse(clusterYaml([{ name: 'up', url: up.url }], { workers: 2 })) as Record<string, unknown>;
  doc['pools'] = {
    ...(doc['pools'] as object),
    q: { algorithm: 'round-robin', health: { check: 'none' }, outlier: { failures: 1, ejection: '60s', max_ejected_percent: 100 }, servers: [{ name: 'bad', url: bad.url }] },
  };
  doc['routes'] = [{ name: 'bad', match: { path: '/bad' }, pool: 'q' }, ...(doc['routes'] as object[])];
  const inst = await startInstance(t, stringify(doc), 2);

  t.equal(await refusedWith(inst.proxy, '/bad'), 500, 'the first upgrade fails at the server and ejects it in that worker');
  const one = await scrape(inst.admin);
  t.equal(metricSum(one, 'wslb_server_ejections_total', 'server="bad"'), 1);
  t.same(states(one, 'q', 'bad'), ['up'], 'wslb_server_state: up while the other worker still sends to it (one state, not two)');
  t.equal(metricSum(one, 'wslb_server_up', 'server="bad"'), 1);
  t.equal((await server(inst.admin, 'q', 'bad'))['state'], 'up');

  // The primary hands connections to its workers in turn: the other worker ejects it too.
  await waitFor(t, async () => {
    await refusedWith(inst.proxy, '/bad');
    return metricSum(await scrape(inst.admin), 'wslb_server_ejections_total', 'server="bad"') >= 2;
  }, { ms: 5000, what: 'both workers ejected it' });
  const both = await scrape(inst.admin);
  t.same(states(both, 'q', 'bad'), ['ejected']);
  t.equal(metricSum(both, 'wslb_server_up', 'server="bad"'), 0);
  const s = await server(inst.admin, 'q', 'bad');
  t.equal(s['state'], 'ejected');
  t.equal(s['ejections'], metricSum(both, 'wslb_server_ejections_total', 'server="bad"'), '/status ejections: the sum over workers');
  t.equal((s['answers'] as Record<string, number>)['5xx'], metricSum(both, 'wslb_server_responses_total', 'server="bad"', 'class="5xx"'), '/status answers: the sum over workers');
  t.ok((s['answers'] as Record<string, number>)['5xx']! >= 2);
});
