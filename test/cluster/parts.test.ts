/** The cluster's pure parts in-process: worker count, crash backoff, message tagging, /status merge, Redis URL redaction. */

import t from 'tap';
import os from 'node:os';
import { workerCount } from '../../src/cluster/primary.js';
import { isOurs, tag } from '../../src/cluster/protocol.js';
import { redact } from '../../src/cluster/redis-link.js';
import { mergeStatus, type WorkerStatus } from '../../src/cluster/status-merge.js';
import { crashDelay } from '../../src/cluster/supervisor.js';
import { document, server as serverDoc, slot } from './status-docs.js';

t.test('workerCount: a number as is, auto = one per core', async (t) => {
  t.equal(workerCount(3), 3);
  t.equal(workerCount('auto'), Math.max(1, os.availableParallelism()));
});

t.test('crashDelay: 100 ms doubling per crash in a row, at most 10 s', async (t) => {
  t.same([0, 1, 2, 3, 4, 7, 8, 50].map(crashDelay), [100, 100, 200, 400, 800, 6400, 10_000, 10_000]);
});

t.test('tag and isOurs: only tagged objects with a string `t` are ours', async (t) => {
  const m = tag({ t: 'ready' });
  t.same(m, { t: 'ready', wslb: 1 });
  t.ok(isOurs(m));
  for (const other of [null, undefined, 'ready', 1, { t: 'ready' }, { wslb: 1 }, { t: 2, wslb: 1 }, { t: 'x', wslb: true }, { type: 'prom-client:getMetricsReq' }]) {
    t.notOk(isOurs(other), JSON.stringify(other) ?? String(other));
  }
});

t.test('mergeStatus sums per-server counters and connections, reads the rest from the first worker', async (t) => {
  const server = (name: string, n: number) => serverDoc(name, n, {
    rtt_ms: 1.5, total: 10 * n, bytes_in: 100 * n, bytes_out: 200 * n, messages_in: n, messages_out: 2 * n, bandwidth_bps: 0.5 * n,
  });
  const doc = (n: number, extraPool = false) => document(2 * n, {
    p: { algorithm: 'least-connections', servers: [server('a', n), server('b', n)] },
    ...(extraPool ? { q: { algorithm: 'random', servers: [server('c', n)] } } : {}),
  }, {
    listeners: [{ kind: 'proxy', address: '127.0.0.1', port: 8080 }],
    routes: [{ name: 'r', pool: 'p', algorithm: 'least-connections', match: { path: '/' } }],
  });
  const workers: WorkerStatus[] = [
    { slot: slot(1), status: doc(1), farm: {} },
    { slot: slot(2), status: doc(2, true), farm: {} },   // a pool the first does not know (mid-reload, or draining there): kept as it lists it
    { slot: slot(3), status: doc(3), farm: {} },
  ];
  const first = structuredClone(workers[0]!.status);
  const m = mergeStatus(workers);
  t.equal(m.connections, 12);
  t.same(Object.keys(m.pools), ['p', 'q']);
  t.match(m.pools['q']!.servers, [{ name: 'c', active: 2 }]);
  t.match(m.pools['p']!.servers[0], { name: 'a', state: 'up', rtt_ms: 1.5, active: 6, total: 60, bytes_in: 600, bytes_out: 1200, messages_in: 6, messages_out: 12, bandwidth_bps: 3 });
  t.same(workers[0]!.status, first, 'the first worker\'s document is not modified');
  t.same(mergeStatus([]), { connections: 0, listeners: [], routes: [], pools: {} });
});

t.test('redact hides the Redis password', async (t) => {
  t.equal(redact('redis://user:hunter2@127.0.0.1:6379/0'), 'redis://user:***@127.0.0.1:6379/0');
  t.equal(redact('redis://127.0.0.1:6379'), 'redis://127.0.0.1:6379');
  t.equal(redact('not a url'), 'redis://?');
});
