/** Algorithms across a reload: unchanged ones keep their instance and state (pool- and route-level alike); replaced and removed ones are closed, once. */

import { resolve } from 'node:path';
import t, { type Test } from 'tap';
import { stringify } from 'yaml';
import { loadConfigText } from '../../src/config/load.js';
import { createLogger } from '../../src/log.js';
import { Runtime } from '../../src/runtime.js';

const servers = [{ name: 'a', url: 'ws://127.0.0.1:1', weight: 5 }, { name: 'b', url: 'ws://127.0.0.1:2' }, { name: 'c', url: 'ws://127.0.0.1:3' }];

function yaml(opts: { pool?: unknown; route?: unknown; routeName?: string; poolName?: string; idle?: string }): string {
  const poolName = opts.poolName ?? 'p';
  return stringify({
    listeners: [{ port: 0, host: '127.0.0.1' }],
    log: { level: 'silent' },
    ...(opts.idle ? { timeouts: { idle: opts.idle } } : {}),
    pools: { [poolName]: { algorithm: opts.pool ?? 'round-robin', health: { check: 'none' }, servers } },
    routes: [{ name: opts.routeName ?? 'r', pool: poolName, ...(opts.route ? { algorithm: opts.route } : {}) }],
  });
}

function runtime(t: Test, text: string): Runtime {
  const rt = new Runtime(loadConfigText(text, 'test.yaml', {}), createLogger('silent'));
  t.teardown(() => {
    rt.stop();
    rt.tunnels.stop();
    rt.telemetry.stop();
    for (const p of rt.pools.values()) p.destroy();
  });
  return rt;
}

/** n picks by the route's algorithm over its pool's ready servers. */
function picks(rt: Runtime, n: number): string {
  const route = rt.routes[0]!;
  let out = '';
  for (let i = 0; i < n; i++) out += route.balancer.pick({ servers: route.pool.ready(), clientAddress: '127.0.0.1' })?.name ?? '-';
  return out;
}

t.test('an unchanged route-level round-robin keeps its position across a reload', async (t) => {
  // Smooth weighted round robin over weights 5,1,1 runs a a b a c a a.
  const rt = runtime(t, yaml({ route: 'round-robin' }));
  t.equal(picks(rt, 3), 'aab');
  const before = rt.routes[0]!.balancer;
  rt.applyConfig(loadConfigText(yaml({ route: 'round-robin', idle: '5m' }), 'test.yaml', {}));
  t.equal(rt.routes[0]!.balancer, before, 'the same instance');
  t.equal(picks(rt, 4), 'acaa', 'the sequence goes on where it was (a new instance would start over: aaba)');
});

t.test('a route-level algorithm is rebuilt when its config, its pool or its route name changes', async (t) => {
  const rt = runtime(t, yaml({ route: 'round-robin' }));
  const first = rt.routes[0]!.balancer;
  rt.applyConfig(loadConfigText(yaml({ route: 'least-connections' }), 'test.yaml', {}));
  t.not(rt.routes[0]!.balancer, first);
  t.equal(rt.routes[0]!.balancer.name, 'least-connections');
  const second = rt.routes[0]!.balancer;
  rt.applyConfig(loadConfigText(yaml({ route: 'least-connections', poolName: 'q' }), 'test.yaml', {}));
  t.not(rt.routes[0]!.balancer, second, 'another pool: another instance');
  const third = rt.routes[0]!.balancer;
  rt.applyConfig(loadConfigText(yaml({ route: 'least-connections', poolName: 'q', routeName: 'r2' }), 'test.yaml', {}));
  t.not(rt.routes[0]!.balancer, third, 'another route: another instance');
});

t.test('an unchanged pool-level algorithm keeps its instance; a route without its own uses it', async (t) => {
  const rt = runtime(t, yaml({}));
  t.equal(picks(rt, 3), 'aab');
  rt.applyConfig(loadConfigText(yaml({ idle: '5m' }), 'test.yaml', {}));
  t.equal(rt.routes[0]!.balancer, rt.pools.get('p')!.balancer);
  t.equal(picks(rt, 4), 'acaa');
});

t.test('replaced and removed { module } algorithms are closed once; kept ones are not', async (t) => {
  const dir = t.testdir({
    'closing.js': 'export default (o) => ({ name: "closing-" + o.tag, pick: (ctx) => ctx.servers[0], close() { (globalThis.__wslbClosed ??= []).push(o.tag); } });\n',
  });
  const closed = (): string[] => ((globalThis as Record<string, unknown>)['__wslbClosed'] as string[] | undefined) ?? [];
  (globalThis as Record<string, unknown>)['__wslbClosed'] = [];
  const mod = (tag: string) => ({ module: resolve(dir, 'closing.js'), tag });

  const rt = runtime(t, yaml({ pool: mod('pool-1'), route: mod('route-1') }));
  await rt.loadAlgorithms();
  t.same([rt.pools.get('p')!.balancer.name, rt.routes[0]!.balancer.name], ['closing-pool-1', 'closing-route-1']);

  rt.applyConfig(loadConfigText(yaml({ pool: mod('pool-1'), route: mod('route-1'), idle: '5m' }), 'test.yaml', {}));
  t.same(closed(), [], 'unchanged: nothing closed');

  rt.applyConfig(loadConfigText(yaml({ pool: mod('pool-2'), route: mod('route-1') }), 'test.yaml', {}));
  t.same(closed(), ['pool-1'], 'the replaced pool-level module is closed');
  t.equal(rt.pools.get('p')!.balancer.name, 'closing-pool-2');

  rt.applyConfig(loadConfigText(yaml({ pool: mod('pool-2') }), 'test.yaml', {}));
  t.same(closed(), ['pool-1', 'route-1'], 'the route dropped its own algorithm: closed');

  rt.applyConfig(loadConfigText(yaml({ pool: 'round-robin', poolName: 'q' }), 'test.yaml', {}));
  t.same(closed(), ['pool-1', 'route-1', 'pool-2'], 'the pool left the config: its algorithm is closed');

  rt.stop();
  t.same(closed(), ['pool-1', 'route-1', 'pool-2'], 'stop closes what is in force (a round-robin), not the closed ones again');
});
