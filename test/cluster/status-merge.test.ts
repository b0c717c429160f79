/** The primary's /status merge keeps what only some workers still list: a removed server draining there, a removed pool. */

import t from 'tap';
import { isWorkerStatusReply, mergeStatus } from '../../src/cluster/status-merge.js';
import type { ServerStatus } from '../../src/admin/status-document.js';
import { document, server, worker } from './status-docs.js';

const removed: Partial<ServerStatus> = { state: 'draining', reason: 'removed by reload', removed: true };

t.test('a removed server one worker still drains, and a pool only it still lists, stay in the merge', async (t) => {
  const merged = mergeStatus([
    worker(1, 3, { p: [server('a', 3)] }),   // its share of b and of pool q already drained
    worker(2, 9, { p: [server('a', 2), server('b', 4, removed)], q: [server('c', 3, removed)] }),
  ]);
  t.equal(merged.connections, 12);
  t.match(merged.pools['p']!.servers, [{ name: 'a', active: 5 }, { name: 'b', active: 4, ...removed }]);
  t.match(merged.pools['q']!.servers, [{ name: 'c', active: 3, ...removed }]);
  const listed = Object.values(merged.pools).flatMap((p) => p.servers).reduce((n, s) => n + s.active, 0);
  t.equal(listed, merged.connections, 'the listed servers add up to the connections');
});

t.test('a removed server is not summed into the new member of the same name', async (t) => {
  const merged = mergeStatus([
    worker(1, 3, { p: [server('a', 1), server('a', 2, removed)] }),
    worker(2, 4, { p: [server('a', 1), server('a', 3, removed)] }),
  ]);
  t.match(merged.pools['p']!.servers, [{ name: 'a', active: 2 }, { name: 'a', active: 5, removed: true }]);
  t.equal(merged.pools['p']!.servers.length, 2);
});

t.test('a server one worker ejected and another still uses is up for the tree (as wslb_server_up says)', async (t) => {
  const ejected: Partial<ServerStatus> = { state: 'ejected', reason: 'ejected: 3 consecutive upgrade failures' };
  const merged = mergeStatus([
    worker(1, 0, { p: [server('a', 0, ejected), server('b', 0, ejected)] }),
    worker(2, 1, { p: [server('a', 1), server('b', 0, ejected)] }),
  ]);
  t.match(merged.pools['p']!.servers, [{ name: 'a', state: 'up', reason: null, active: 1 }, { name: 'b', ...ejected }]);
});

t.test('counters since start are summed (answers by class too); a state hides another as in one process, up first', async (t) => {
  const merged = mergeStatus([
    worker(1, 0, { p: [server('a', 0, { state: 'ejected', reason: 'ejected: 1', ejections: 2, check_failures: 1, answers: { '5xx': 2 } }), server('b', 0, { state: 'down', reason: 'health' })] }),
    worker(2, 0, { p: [server('a', 0, { state: 'down', reason: 'health', ejections: 1, check_failures: 1, answers: { '5xx': 1, '4xx': 3 } }), server('b', 0, { state: 'disabled', reason: 'disabled by admin' })] }),
  ]);
  t.match(merged.pools['p']!.servers, [
    { name: 'a', state: 'ejected', reason: 'ejected: 1', ejections: 3, check_failures: 2, answers: { '5xx': 3, '4xx': 3 } },
    { name: 'b', state: 'disabled', reason: 'disabled by admin' },
  ]);
});

t.test('a worker reply is merged only when it has the document frame; anything else counts as no answer', async (t) => {
  const good = { status: document(1, { p: { algorithm: 'round-robin', servers: [server('a', 1)] } }), farm: { 'p/a': 1 } };
  t.ok(isWorkerStatusReply(good));
  t.ok(isWorkerStatusReply(JSON.parse(JSON.stringify(good))), 'as it crosses the IPC channel');
  for (const bad of [
    null, 'status', [], {}, { status: good.status }, { farm: {} },
    { ...good, status: { ...good.status, connections: '1' } },
    { ...good, status: { ...good.status, listeners: null } },
    { ...good, status: { ...good.status, pools: [] } },
    { ...good, status: { ...good.status, pools: { p: { algorithm: 'x', servers: {} } } } },
    { ...good, status: { ...good.status, pools: { p: null } } },
  ]) t.notOk(isWorkerStatusReply(bad), JSON.stringify(bad));
});
