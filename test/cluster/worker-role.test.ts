/** A worker's Balancer in process, built with the worker's parts: it never starts health checks on the pools the primary checks (a reload's new pool included), listens once the primary's first reports arrive, and shares through its tables from construction. */

import net from 'node:net';
import { once } from 'node:events';
import t from 'tap';
import { parse, stringify } from 'yaml';
import type { FromWorker } from '../../src/cluster/protocol.js';
import { WorkerRole } from '../../src/cluster/worker-role.js';
import { loadConfigText } from '../../src/config/load.js';
import { Balancer } from '../../src/main.js';
import { farmYaml } from '../helpers/balancer.js';
import { captureLog } from '../helpers/log-capture.js';
import { stillFalseAfter, waitFor } from '../helpers/wait.js';

/** How long checks at `interval: 100ms` would surely have connected, had any started. */
const QUIET_MS = 600;

t.test('a worker starts no health checks on the primary\'s pools, not even on a pool a reload adds', async (t) => {
  // A server that counts connections: a tcp health check is one connection.
  let connections = 0;
  const counter = net.createServer((s) => { connections++; s.destroy(); }).listen(0, '127.0.0.1');
  await once(counter, 'listening');
  t.teardown(() => counter.close());
  const url = `ws://127.0.0.1:${(counter.address() as net.AddressInfo).port}`;
  const health = { check: 'tcp', interval: '100ms', timeout: '100ms', rise: 1, fall: 1 };
  const yaml = farmYaml({ servers: [{ name: 'a', url }], pool: { health } });

  const { log, lines } = captureLog();
  const sent: FromWorker[] = [];
  let role: WorkerRole | undefined;
  const b = new Balancer(loadConfigText(yaml, 'test.yaml', {}), log, { admin: false, role: (rt) => (role = new WorkerRole(rt, 1, log, (m) => sent.push(m))) });
  const parts = role!;
  t.teardown(() => { b.destroy(); });
  t.equal(b.runtime.admission.shared, parts.tables.ip, 'the admission check reads the shared per-IP counts');
  t.equal(b.runtime.http.sessionShare, parts.tables.affinity, 'the HTTP fallback reads the shared sessions');
  await waitFor(t, () => sent.some((m) => m.t === 'tables'), { ms: 2000, what: 'its tables tick to the primary before it listens' });

  let listening = false;
  const started = b.start().then(() => { listening = true; });
  t.ok(await stillFalseAfter(() => listening, 300), 'it does not listen before the primary\'s first reports');
  parts.reports([{ pool: 'p', server: 'a', healthy: true, reason: null }]);
  await started;
  t.equal(b.runtime.pools.get('p')!.server('a')!.state, 'up', 'the server is up by the primary\'s report');
  t.ok(await stillFalseAfter(() => connections > 0, QUIET_MS), 'no health check of its own');

  const doc = parse(yaml) as { pools: Record<string, unknown> };
  doc.pools['q'] = { health, servers: [{ name: 'c', url }] };
  const next = stringify(doc);
  const outcome = await b.reload({}, () => loadConfigText(next, 'test.yaml', {}));
  t.ok(outcome.ok, 'reloaded');
  t.ok(b.runtime.pools.has('q'), 'with the new pool');
  t.ok(await stillFalseAfter(() => connections > 0, QUIET_MS), 'the new pool starts no checks either');
  t.notOk(lines.some((l) => l.msg === 'server state changed'), 'health lines are the primary\'s');
});
