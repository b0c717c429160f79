// Every kind of config error, located at the right line:col and path, and all of them reported at once.
import t from 'tap';
import { loadConfigFile, loadConfigText } from '../../src/config/load.js';
import { ConfigError, formatIssue, type ConfigIssue } from '../../src/config/types.js';

function issues(lines: string[], env: Record<string, string> = {}): readonly ConfigIssue[] {
  try {
    loadConfigText(lines.join('\n') + '\n', 'b.yaml', env);
  } catch (e) {
    if (e instanceof ConfigError) return e.issues;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

/** `line:col path` of each issue, the part of an issue that tests can rely on. */
const where = (list: readonly ConfigIssue[]) => list.map((i) => `${i.line}:${i.col} ${i.path}`);

const POOL = ['pools:', '  p:', '    servers: [{ name: s1, url: "ws://127.0.0.1:9001" }]'];

t.test('unknown key: at the key, at any depth', async (t) => {
  const got = issues(['listners: []', 'admin:', '  prot: 9090', ...POOL, '    helth: { check: tcp }']);
  t.same(where(got), ['1:1 listners', '3:3 admin.prot', '7:5 pools.p.helth']);
  t.match(got[0]!.message, 'unknown key "listners"');
});

t.test('bad duration: at the value', async (t) => {
  const got = issues(['timeouts:', '  connect: 3x', '  idle: 30', ...POOL, '    health: { interval: 0s }']);
  t.same(where(got), ['2:12 timeouts.connect', '3:9 timeouts.idle', '7:25 pools.p.health.interval']);
  t.match(got[1]!.message, /needs a unit/);
  t.match(got[2]!.message, /greater than 0/);
});

t.test('bad size and rate', async (t) => {
  const got = issues(['limits:', '  max_header_bytes: 16kb', '  handshakes_per_ip: 50/min', '  max_message_bytes: -1']);
  t.same(where(got), ['2:21 limits.max_header_bytes', '3:22 limits.handshakes_per_ip', '4:22 limits.max_message_bytes']);
});

t.test('unknown algorithm lists the known ones, at the name', async (t) => {
  const got = issues([...POOL, '    algorithm: robin', 'routes:', '  - pool: p', '    algorithm: { name: leastconn, key: x }']);
  t.same(where(got), ['4:16 pools.p.algorithm', '7:24 routes[0].algorithm.name']);
  t.equal(got[0]!.message, 'unknown algorithm "robin"; expected one of round-robin, least-connections, least-bandwidth, least-response-time, hash, p2c, random, custom-load');
});

t.test('the algorithm list can be passed in', async (t) => {
  const text = 'pools: { p: { algorithm: maglev, servers: [{ url: "ws://h:1" }] } }';
  t.equal(loadConfigText(text, 'b.yaml', {}, { algorithms: ['maglev'] }).pools['p']!.algorithm.name, 'maglev');
  t.throws(() => loadConfigText(text, 'b.yaml', {}), ConfigError);
});

t.test('bad algorithm shapes and hash options', async (t) => {
  const got = issues([
    ...POOL,
    '    algorithm: { name: hash, key: "body", balance_factor: 0.5 }',
    '  q:',
    '    servers: [{ url: "ws://h:1" }]',
    '    algorithm: { weight: 2 }',
    '  r:',
    '    servers: [{ url: "ws://h:1" }]',
    '    algorithm: { name: hash, module: ./x.js }',
  ]);
  t.same(where(got), ['4:35 pools.p.algorithm.key', '4:59 pools.p.algorithm.balance_factor', '7:16 pools.q.algorithm', '10:38 pools.r.algorithm.module']);
  t.match(got[2]!.message, /expected an algorithm name/);
});

t.test('missing required key: at the key of the mapping that should hold it', async (t) => {
  const got = issues(['listeners:', '  - host: 127.0.0.1', '  - port:', ...POOL, 'routes:', '  - name: r', '    match: { path: / }']);
  t.same(where(got), ['2:5 listeners[0].port', '3:5 listeners[1].port', '8:5 routes[0].pool']);
  t.equal(got[0]!.message, 'missing required key "port"');
  t.equal(got[1]!.message, '"port" needs a value');
});

t.test('route to an unknown pool: at the pool value, listing the pools', async (t) => {
  const got = issues([...POOL, 'routes:', '  - { pool: chat }']);
  t.same(where(got), ['5:13 routes[0].pool']);
  t.equal(got[0]!.message, 'unknown pool "chat"; defined pools: p');
  t.match(issues(['routes: [{ pool: chat }]'])[0]!.message, /no pools are defined/);
});

t.test('duplicate server names, route names and listeners', async (t) => {
  const got = issues([
    'listeners: [{ port: 80 }, { port: 80 }, { port: 0 }, { port: 0 }]',
    'pools:',
    '  p:',
    '    servers:',
    '      - { name: a, url: "ws://h:1" }',
    '      - { name: a, url: "ws://h:2" }',
    '      - { url: "ws://h:3" }',
    '      - { url: "ws://h:3" }',
    'routes:',
    '  - { pool: p, name: x }',
    '  - { pool: p, name: x }',
    '  - { pool: p, name: route-3 }',
    '  - { pool: p }',
  ]);
  t.same(where(got), [
    '1:35 listeners[1].port',
    '6:17 pools.p.servers[1].name',
    '8:16 pools.p.servers[3].url',
    '11:22 routes[1].name',
    '13:5 routes[3]',
  ]);
  t.match(got[1]!.message, 'duplicate server name "a"');
  t.match(got[2]!.message, 'duplicate server name "h:3"');
});

t.test('bad server urls', async (t) => {
  const got = issues([
    'pools:',
    '  p:',
    '    servers:',
    '      - { url: "http://h:1" }',
    '      - { url: "not a url" }',
    '      - { url: "ws://h:1/path" }',
    '      - { url: "ws://h:99999" }',
    '      - { name: "a b", url: "ws://h:1" }',
  ]);
  t.same(where(got), ['4:16 pools.p.servers[0].url', '5:16 pools.p.servers[1].url', '6:16 pools.p.servers[2].url', '7:16 pools.p.servers[3].url', '8:17 pools.p.servers[4].name']);
  t.match(got[0]!.message, /ws:\/\/ or wss:\/\//);
});

t.test('pools: servers xor discover, servers not empty', async (t) => {
  const got = issues([
    'pools:',
    '  none: { retries: 1 }',
    '  both:',
    '    servers: [{ url: "ws://h:1" }]',
    '    discover: { dns: h, port: 1 }',
    '  empty: { servers: [] }',
    '  "bad name": { servers: [{ url: "ws://h:1" }] }',
  ]);
  t.same(where(got), ['2:3 pools.none', '5:5 pools.both.discover', '6:21 pools.empty.servers', '7:3 pools.bad name']);
});

t.test('routes: match host and path, origins, affinity', async (t) => {
  const got = issues([
    ...POOL,
    'routes:',
    '  - pool: p',
    '    match: { host: "a b.com", path: chat }',
    '    origins: [https://ok.example.com, "https://x.com/path"]',
    '    affinity: { cookie: "a b" }',
    '    http: yes',
  ]);
  t.same(where(got), ['6:20 routes[0].match.host', '6:37 routes[0].match.path', '7:39 routes[0].origins[1]', '8:25 routes[0].affinity.cookie', '9:11 routes[0].http']);
  t.match(got[3]!.message, 'not a valid cookie name');
  t.match(got[4]!.message, 'expected boolean, got string "yes"');
});

t.test('wrong types and enums', async (t) => {
  const got = issues(['workers: 0', 'log: { level: loud }', 'listeners: { port: 80 }', 'admin: { port: 1.5 }', ...POOL, '    health: { check: ping }']);
  t.same(where(got), ['1:10 workers', '2:15 log.level', '3:12 listeners', '4:16 admin.port', '8:22 pools.p.health.check']);
  t.match(got[1]!.message, 'expected one of trace, debug, info');
  t.match(got[2]!.message, 'expected array, got a mapping');
  t.match(got[3]!.message, 'expected an integer');
});

t.test('the root must be a mapping', async (t) => {
  t.same(where(issues(['- a', '- b'])), ['1:1 (root)']);
});

t.test('YAML syntax errors keep their line:col', async (t) => {
  const got = issues(['admin:', '  port: [9090', 'timeouts: {}']);
  t.ok(got.length >= 1);
  t.equal(got[0]!.path, '(syntax)');
  t.same([got[0]!.line, got[0]!.col], [3, 1]);
  t.same(where(issues(['admin: 1', 'admin: 2'])), ['2:1 (syntax)'], 'duplicate keys are syntax errors');
});

t.test('several errors at once: all reported, in file order, formatted file:line:col path: message', async (t) => {
  let err: ConfigError | undefined;
  try {
    loadConfigText(['timeouts: { idle: forever }', 'bogus: 1', ...POOL, '    algorithm: robin', 'routes: [{ pool: nope }]'].join('\n'), 'conf/b.yaml', {});
  } catch (e) {
    err = e as ConfigError;
  }
  t.ok(err instanceof ConfigError);
  t.same(where(err!.issues), ['1:19 timeouts.idle', '2:1 bogus', '6:16 pools.p.algorithm', '7:18 routes[0].pool']);
  t.equal(err!.message.split('\n').length, 4);
  t.equal(err!.message.split('\n')[1], 'conf/b.yaml:2:1 bogus: unknown key "bogus"');
  t.equal(formatIssue(err!.issues[1]!), 'conf/b.yaml:2:1 bogus: unknown key "bogus"');
});

t.test('an unreadable file is a ConfigError', async (t) => {
  const dir = t.testdir({});
  t.throws(() => loadConfigFile(`${dir}/missing.yaml`, {}), { name: 'ConfigError', issues: [{ line: 1, col: 1, path: '(file)', message: /ENOENT/ }] });
});
