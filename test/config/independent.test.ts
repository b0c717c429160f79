// Independent mistakes never hide each other: for every pair of the errors below, one load reports both.
import t from 'tap';
import { stringify } from 'yaml';
import { loadConfigText } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/types.js';

const base = () => ({
  listeners: [{ port: 8080, host: '127.0.0.1', trusted_proxies: ['10.0.0.0/8'] }],
  admin: { port: 9090 },
  timeouts: { idle: '1h' },
  limits: { handshakes_per_ip: '50/s' },
  pools: {
    p: {
      algorithm: 'round-robin',
      health: { check: 'tcp', interval: '2s' },
      outlier: { failures: 5 },
      servers: [{ name: 'a', url: 'ws://127.0.0.1:1', weight: 1 }, { name: 'b', url: 'ws://127.0.0.1:2' }],
    },
    q: {
      algorithm: 'custom-load',
      servers: [{ url: 'ws://127.0.0.1:3' }],
      load: { source: 'snmp', interval: '1s', oids: { cpu: '1.3.6.1.4.1.2021.10.1.3.1' } },
    },
  },
  routes: [{ pool: 'p', match: { path: '/' }, origins: ['https://app.example.com'] }, { pool: 'q', affinity: 'sockjs' }],
  log: { level: 'info' },
  workers: 1,
  cluster: { redis: 'redis://127.0.0.1:6379' },
});

type Mut = [string, (c: ReturnType<typeof base>) => void];
const MUTATIONS: Mut[] = [
  ['listeners[0].port', (c) => { (c.listeners[0] as Record<string, unknown>).port = 'x'; }],
  ['listeners[0].trusted_proxies[0]', (c) => { c.listeners[0]!.trusted_proxies[0] = 'not-a-cidr'; }],
  ['admin.port', (c) => { c.admin.port = -1; }],
  ['timeouts.idle', (c) => { c.timeouts.idle = 'forever'; }],
  ['limits.handshakes_per_ip', (c) => { c.limits.handshakes_per_ip = '5/min'; }],
  ['pools.p.algorithm', (c) => { c.pools.p.algorithm = 'robin'; }],
  ['pools.p.health.interval', (c) => { c.pools.p.health.interval = '0s'; }],
  ['pools.p.outlier.failures', (c) => { c.pools.p.outlier.failures = 0; }],
  ['pools.p.servers[0].url', (c) => { c.pools.p.servers[0]!.url = 'http://127.0.0.1:1'; }],
  ['pools.p.servers[0].weight', (c) => { c.pools.p.servers[0]!.weight = 0; }],
  ['pools.p.servers[1].name', (c) => { c.pools.p.servers[1]!.name = 'a b'; }],
  ['pools.q.load.oids', (c) => { delete (c.pools.q.load as Record<string, unknown>).oids; }],
  ['pools.q.load.interval', (c) => { c.pools.q.load.interval = '0s'; }],
  ['routes[0].pool', (c) => { c.routes[0]!.pool = 'nope'; }],
  ['routes[0].match.path', (c) => { c.routes[0]!.match!.path = 'no-slash'; }],
  ['routes[0].origins[0]', (c) => { c.routes[0]!.origins![0] = 'app.example.com'; }],
  ['routes[1].affinity', (c) => { c.routes[1]!.affinity = 'socket.io'; }],
  ['log.level', (c) => { c.log.level = 'loud'; }],
  ['workers', (c) => { c.workers = 0; }],
  ['cluster.redis', (c) => { c.cluster.redis = 'http://127.0.0.1:6379'; }],
];

function paths(c: unknown): string[] {
  try {
    loadConfigText(stringify(c), 'b.yaml', {});
  } catch (e) {
    if (e instanceof ConfigError) return e.issues.map((i) => i.path);
    throw e;
  }
  return [];
}

t.test('the base config is valid and each mistake alone is found', async (t) => {
  t.same(paths(base()), []);
  for (const [path, mutate] of MUTATIONS) {
    const c = base();
    mutate(c);
    t.same(paths(c), [path], path);
  }
});

t.test('every pair of mistakes: both reported in one load', async (t) => {
  const missed: string[] = [];
  for (let i = 0; i < MUTATIONS.length; i++) {
    for (let j = i + 1; j < MUTATIONS.length; j++) {
      const c = base();
      MUTATIONS[i]![1](c);
      MUTATIONS[j]![1](c);
      const got = paths(c);
      for (const want of [MUTATIONS[i]![0], MUTATIONS[j]![0]]) if (!got.includes(want)) missed.push(`${want} hidden by ${want === MUTATIONS[i]![0] ? MUTATIONS[j]![0] : MUTATIONS[i]![0]}`);
    }
  }
  t.same(missed, [], 'no error hides another');
});
