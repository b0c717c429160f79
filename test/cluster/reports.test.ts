/** Server reports from the primary's checks and pollers: every server at a worker's hello, then only what changed for it, everything again after a reload; a worker applies them as its own checks and poller would have. */

import type { Worker } from 'node:cluster';
import t from 'tap';
import { PrimaryChecks } from '../../src/cluster/primary-checks.js';
import type { ServerReport, ToWorker } from '../../src/cluster/protocol.js';
import { ReportApplier } from '../../src/cluster/worker-role.js';
import { loadConfigText } from '../../src/config/load.js';
import { createLogger } from '../../src/log.js';
import type { Pool } from '../../src/pool/pool.js';
import { Server } from '../../src/pool/server.js';
import { farmYaml } from '../helpers/balancer.js';
import { waitFor } from '../helpers/wait.js';

const names = (reports: readonly ServerReport[]): string[] => reports.map((r) => `${r.pool}/${r.server}`);

t.test('the primary sends each worker every report at its hello, then what changed for it, then everything after a reload', async (t) => {
  const yaml = farmYaml({ servers: [{ name: 'a', url: 'ws://127.0.0.1:1' }, { name: 'b', url: 'ws://127.0.0.1:2' }] });
  const config = loadConfigText(yaml, 'test.yaml', {});
  const sent: { w: Worker; m: ToWorker }[] = [];
  const checks = new PrimaryChecks(config, createLogger('silent'), (w, m) => sent.push({ w, m }));
  t.teardown(() => checks.close());
  await checks.ready();
  const w1 = { id: 1 } as Worker;
  const w2 = { id: 2 } as Worker;
  const reportsTo = (w: Worker): (readonly ServerReport[])[] => sent.filter((x) => x.w === w && x.m.t === 'servers').map((x) => (x.m as Extract<ToWorker, { t: 'servers' }>).reports);

  checks.welcome(w1);
  t.same(reportsTo(w1), [[
    { pool: 'p', server: 'a', healthy: true, reason: null },
    { pool: 'p', server: 'b', healthy: true, reason: null },
  ]], 'hello: every server, no load report where no poller runs');
  checks.start(() => [w1, w2]);
  await waitFor(t, () => reportsTo(w2).length === 1, { ms: 2000, what: 'a worker that did not say hello gets everything at the next tick' });
  t.same(names(reportsTo(w2)[0]!), ['p/a', 'p/b']);
  t.equal(reportsTo(w1).length, 1, 'nothing changed for w1: nothing sent');

  const a = checks.pools.get('p')!.server('a')!;
  a.status.setHealthy(false, 'health check failed: refused');
  await waitFor(t, () => reportsTo(w1).length === 2 && reportsTo(w2).length === 2, { ms: 2000, what: 'the change reaches both' });
  t.same(reportsTo(w1)[1], [{ pool: 'p', server: 'a', healthy: false, reason: 'health check failed: refused' }], 'only the server that changed');

  checks.forget(w2);
  checks.resend();
  await waitFor(t, () => reportsTo(w1).length === 3, { ms: 2000, what: 'after a reload: every report again' });
  t.same(names(reportsTo(w1)[2]!), ['p/a', 'p/b']);
});

t.test('a polled pool\'s reports carry its load report', async (t) => {
  const yaml = farmYaml({ servers: [{ name: 'a', url: 'ws://127.0.0.1:1' }], algorithm: 'custom-load' });
  const config = loadConfigText(yaml, 'test.yaml', {});
  const checks = new PrimaryChecks(config, createLogger('silent'), () => {});
  t.teardown(() => checks.close());
  await checks.ready();
  t.match(checks.reports(), [{ pool: 'p', server: 'a', healthy: true, load: { load: Number, stale: Boolean, weight: 1, drain: false } }]);
});

t.test('a worker applies the reports: health when it changed or was unknown, load, weight and a report\'s drain (never undoing an admin one)', async (t) => {
  const server = (name: string, weight = 1) => new Server('p', { name, url: `ws://127.0.0.1:1/${name}`, host: '127.0.0.1', port: 1, tls: false, weight }, { healthy: false });
  const a = server('a', 2);
  const b = server('b');
  const pools = new Map([['p', { name: 'p', servers: [a, b], server: (n: string) => [a, b].find((s) => s.name === n) } as unknown as Pool]]);
  const changes: string[] = [];
  for (const s of [a, b]) s.status.listen((srv, from, to) => changes.push(`${srv.name} ${from}->${to}`));
  const applier = new ReportApplier();
  const load = { load: 0.4, stale: false, error: null, weight: 2, drain: false };
  applier.apply(pools, [{ pool: 'p', server: 'a', healthy: true, reason: null, load }, { pool: 'p', server: 'b', healthy: false, reason: 'health check failed: x' }]);
  t.same(changes, ['a unknown->up', 'b unknown->down'], 'a first report is a first result, down ones included');
  t.same([a.load, a.loadStale, b.reason], [0.4, false, 'health check failed: x']);
  applier.apply(pools, [{ pool: 'p', server: 'b', healthy: false, reason: 'health check failed: y' }]);
  t.equal(changes.length, 2, 'the same health again: nothing happens');

  applier.apply(pools, [{ pool: 'p', server: 'a', healthy: true, reason: null, load: { ...load, weight: 7, drain: true } }]);
  t.same([a.baseWeight, a.draining, a.reason], [7, true, 'load report: drain']);
  applier.apply(pools, [{ pool: 'p', server: 'a', healthy: true, reason: null, load }]);
  t.same([a.baseWeight, a.draining, a.reason], [2, false, null], 'undone when the report no longer asks');

  b.status.setDraining(true, 'drained by admin');   // an admin drain
  applier.apply(pools, [{ pool: 'p', server: 'b', healthy: false, reason: null, load: { ...load, weight: 1 } }]);
  t.equal(b.draining, true, 'an admin drain is not the report\'s to undo');
  applier.apply(pools, [{ pool: 'p', server: 'gone', healthy: true, reason: null }]);
  t.pass('an unknown server is skipped');
});
