// Defaults, the demo balancer.yaml, a full example using every key, freezing and the summary.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { loadConfigFile, loadConfigText } from '../../src/config/load.js';
import { configJsonSchema, KNOWN_ALGORITHMS } from '../../src/config/schema.js';
import { summarize } from '../../src/config/summary.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

t.test('an empty file gives every default, no pools and no routes', async (t) => {
  const c = loadConfigText('# nothing here\n', 'b.yaml', {});
  t.equal(c.file, resolve('b.yaml'));
  t.same(c.listeners, [{ port: 8080, host: '0.0.0.0', proxy_protocol: false, trusted_proxies: [], http2: false }]);
  t.same(c.admin, { port: 9090, host: '127.0.0.1', token: '' });
  t.same(c.timeouts, { connect: 3000, handshake: 10_000, idle: 3_600_000, fin: 10_000, http: 60_000, drain: 30_000, shutdown_grace: 0 });
  t.same(c.limits, {
    max_connections: 100_000, max_connections_per_ip: 1000, handshakes_per_ip: 50,
    max_header_bytes: 16 * 1024, max_message_bytes: 16 * 1024 * 1024, max_buffered_bytes: 1024 * 1024,
    stall: 30_000, messages_per_second: 0, bytes_per_second: 0,
  });
  t.same(c.pools, {});
  t.same(c.routes, []);
  t.same(c.log, { level: 'info', access: false });
  t.equal(c.workers, 1);
  t.equal(c.cluster, undefined);
  t.equal(summarize(c), 'ok: 0 routes, 0 pools, 0 servers');
});

t.test('pool, server and route defaults', async (t) => {
  const c = loadConfigText([
    'pools:',
    '  p:',
    '    servers:',
    '      - { url: "ws://10.0.0.1" }',
    '      - { url: "wss://[::1]:9443", name: v6, weight: 3 }',
    'routes:',
    '  - pool: p',
    '    match: { host: "*.Example.COM" }',
    '  - { pool: p, name: second, match: { path: /chat } }',
    'workers: auto',
    'listeners: [{ port: 0 }]',
    '',
  ].join('\n'), 'b.yaml', {});
  const p = c.pools['p']!;
  t.equal(p.name, 'p');
  t.same(p.algorithm, { name: 'round-robin', options: {} });
  t.equal(p.retries, 2);
  t.same(p.health, { check: 'tcp', path: '/', interval: 2000, timeout: 1000, rise: 2, fall: 3 });
  t.equal(p.slow_start, 0);
  t.same(p.servers, [
    { name: '10.0.0.1:80', url: 'ws://10.0.0.1', host: '10.0.0.1', port: 80, tls: false, weight: 1 },
    { name: 'v6', url: 'wss://[::1]:9443', host: '::1', port: 9443, tls: true, weight: 3 },
  ]);
  t.same(c.routes[0], { name: 'route-0', match: { host: '*.example.com' }, pool: 'p', allow_missing_origin: true, http: false });
  t.equal(c.routes[1]!.name, 'second');
  t.equal(c.workers, 'auto');
  t.equal(c.listeners[0]!.port, 0, 'port 0 = ephemeral');
  t.equal(summarize(c), 'ok: 2 routes, 1 pools, 2 servers');
});

t.test('the result is deep-frozen', async (t) => {
  const c = loadConfigText('pools: { p: { servers: [{ url: "ws://h:1" }] } }', 'b.yaml', {});
  t.ok(Object.isFrozen(c));
  t.ok(Object.isFrozen(c.pools['p']!.servers[0]));
  t.ok(Object.isFrozen(c.pools['p']!.health));
  t.throws(() => { (c.admin as { port: number }).port = 1; }, TypeError);
});

t.test('balancer.yaml at the repo top loads: the demo farm', async (t) => {
  const c = loadConfigFile(resolve(repo, 'balancer.yaml'), {});
  t.equal(summarize(c), 'ok: 1 routes, 1 pools, 3 servers');
  t.same(c.listeners.map((l) => [l.host, l.port]), [['0.0.0.0', 8080]]);
  t.same([c.admin.host, c.admin.port, c.admin.token], ['127.0.0.1', 9090, '']);
  const demo = c.pools['demo']!;
  t.equal(demo.algorithm.name, 'round-robin');
  t.equal(demo.health.check, 'tcp');
  t.same(demo.servers.map((s) => [s.name, s.host, s.port]), [
    ['demo-1', '127.0.0.1', 9001], ['demo-2', '127.0.0.1', 9002], ['demo-3', '127.0.0.1', 9003],
  ]);
  t.same(c.routes.map((r) => [r.name, r.match.path, r.pool]), [['demo', '/', 'demo']]);
  t.equal(loadConfigFile(resolve(repo, 'balancer.yaml'), { WSLB_ADMIN_TOKEN: 's3cret' }).admin.token, 's3cret');
});

t.test('every commented-out key of balancer.yaml is valid once uncommented', async (t) => {
  // Uncomment lines of the form "# key: value  # explanation" and single-line flow values.
  const text = readFileSync(resolve(repo, 'balancer.yaml'), 'utf8')
    .split('\n')
    .map((l) => {
      const m = /^(\s*)# ((workers|cluster|tls|outlier|rebalance|max_handshakes_per_second|drain|send_proxy|host|algorithm|origins|affinity): .*)$/.exec(l);
      return m ? `${m[1]}${m[2]}` : l;
    })
    .join('\n');
  t.not(text, readFileSync(resolve(repo, 'balancer.yaml'), 'utf8'));
  const dir = t.testdir({ 'balancer.yaml': text, tls: { 'server.crt': '', 'server.key': '' }, 'ca.pem': '' });
  const c = loadConfigFile(resolve(dir, 'balancer.yaml'), {});
  t.equal(c.listeners[0]!.tls?.cert, resolve(dir, 'tls/server.crt'), 'tls paths are resolved from the config folder');
  t.equal(c.pools['demo']!.tls?.ca, resolve(dir, 'ca.pem'));
  t.equal(c.pools['demo']!.send_proxy, 'v2');
  t.same(c.routes[0]!.affinity, { kind: 'cookie', cookie: 'wslb_srv' });
  t.same(c.routes[0]!.origins, ['https://app.example.com']);
  t.equal(c.cluster?.redis, 'redis://127.0.0.1:6379');
});

t.test('a full example using every key loads', async (t) => {
  const dir = t.testdir({ 'ca.pem': '' });
  const c = loadConfigText(FULL_EXAMPLE, resolve(dir, 'balancer.yaml'), {});
  const chat = c.pools['chat']!;
  t.same(chat.algorithm, { name: 'least-connections', options: {} });
  t.same(chat.health, { check: 'websocket', path: '/', interval: 2000, timeout: 1000, rise: 2, fall: 3 });
  t.same(chat.outlier, { failures: 5, ejection: 10_000, max_ejected_percent: 50 });
  t.equal(chat.slow_start, 30_000);
  t.same(chat.load, { source: 'http', path: '/load', interval: 1000, stale_after: 3000, community: 'public', score: { cpu: 0.5, memory: 0.2, connections: 0.3 } });
  t.same(chat.rebalance, { tolerance: 1.25, max_closes_per_second: 20 });
  t.equal(chat.max_handshakes_per_second, 500);
  t.equal(chat.drain, 30_000);
  t.same(chat.tls, { ca: resolve(dir, 'ca.pem'), servername: 'chat.internal', reject_unauthorized: true });
  t.same(c.pools['found']!.discover, { dns: 'chat.default.svc.cluster.local', port: 9001, refresh: 5000, resolver: '127.0.0.1:5353' });
  t.same(c.pools['found']!.servers, []);
  // stale_after unset: the poller uses 3 x interval ("older than 3 intervals").
  t.same(c.pools['snmp']!.load, { source: 'snmp', path: '/load', interval: 1000, port: 161, community: 'public', oids: { cpu: '1.3.6.1.4.1.2021.10.1.3.1' } });
  t.same(c.routes[0], {
    name: 'chat', match: { host: 'chat.example.com', path: '/chat' }, pool: 'chat',
    algorithm: { name: 'hash', options: { key: 'query:room', balance_factor: 1.25 } },
    origins: ['https://app.example.com'], affinity: { kind: 'cookie', cookie: 'wslb_srv' },
    allow_missing_origin: true, http: false,
  });
  t.same(c.routes[1], {
    name: 'route-1', match: { path: '/socket.io/' }, pool: 'chat', http: true,
    affinity: { kind: 'engine.io' }, allow_missing_origin: true,
  });
  t.same(c.listeners[1], { port: 8443, host: '0.0.0.0', proxy_protocol: true, trusted_proxies: ['10.0.0.0/8'], http2: false });
  t.same(c.cluster, { redis: 'redis://127.0.0.1:6379', name: 'wslb-a' });
  t.same(c.log, { level: 'info', access: false });
});

t.test('JSON Schema for editors', async (t) => {
  const s = configJsonSchema();
  t.equal(s['type'], 'object');
  t.equal(s['additionalProperties'], false);
  t.match(s['properties'], { listeners: {}, admin: {}, timeouts: {}, limits: {}, pools: {}, routes: {}, workers: {}, cluster: {}, log: {} });
  t.match(JSON.stringify(s), KNOWN_ALGORITHMS.join(', '));
});

const FULL_EXAMPLE = `
workers: 1
cluster: { redis: redis://127.0.0.1:6379, name: wslb-a }
log: { level: info }
listeners:
  - port: 8080
    host: 0.0.0.0
    proxy_protocol: false
  - port: 8443
    proxy_protocol: true
    trusted_proxies: [10.0.0.0/8]
admin:
  port: 9090
  host: 127.0.0.1
  token: \${WSLB_ADMIN_TOKEN:-}
timeouts: { connect: 3s, handshake: 10s, idle: 1h, fin: 10s, http: 60s, drain: 30s }
limits:
  max_connections: 100000
  max_connections_per_ip: 1000
  handshakes_per_ip: 50/s
  max_header_bytes: 16KiB
  max_message_bytes: 16MiB
  max_buffered_bytes: 1MiB
pools:
  chat:
    algorithm: least-connections
    retries: 2
    health: { check: websocket, path: /, interval: 2s, timeout: 1s, rise: 2, fall: 3 }
    outlier: { failures: 5, ejection: 10s, max_ejected_percent: 50 }
    slow_start: 30s
    servers:
      - { name: chat-1, url: ws://10.0.0.11:9001, weight: 2 }
      - { name: chat-2, url: ws://10.0.0.12:9001 }
    load:
      source: http
      path: /load
      interval: 1s
      stale_after: 3s
      score: { cpu: 0.5, memory: 0.2, connections: 0.3 }
    rebalance: { tolerance: 1.25, max_closes_per_second: 20 }
    max_handshakes_per_second: 500
    drain: 30s
    send_proxy: v2
    tls: { ca: ./ca.pem, servername: chat.internal, reject_unauthorized: true }
  found:
    discover: { dns: chat.default.svc.cluster.local, port: 9001, refresh: 5s, resolver: "127.0.0.1:5353" }
  snmp:
    algorithm: custom-load
    servers: [{ url: ws://10.0.0.13:9001 }]
    load: { source: snmp, port: 161, community: public, oids: { cpu: 1.3.6.1.4.1.2021.10.1.3.1 } }
routes:
  - name: chat
    match: { host: chat.example.com, path: /chat }
    pool: chat
    algorithm: { name: hash, key: "query:room", balance_factor: 1.25 }
    origins: [https://app.example.com]
    affinity: { cookie: wslb_srv }
  - match: { path: /socket.io/ }
    pool: chat
    http: true
    affinity: engine.io
    allow_missing_origin: true
`;
