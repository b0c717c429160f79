// The algorithm value: names, option objects, and user modules resolved against the config file's folder.
import { resolve } from 'node:path';
import t from 'tap';
import { loadConfigFile, loadConfigText } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/types.js';

const pool = (algorithm: string) => `pools:\n  p:\n    algorithm: ${algorithm}\n    servers: [{ url: "ws://h:1" }]\n`;

t.test('name, { name, ...options } and every known name', async (t) => {
  for (const n of ['round-robin', 'least-connections', 'least-bandwidth', 'least-response-time', 'hash', 'p2c', 'random', 'custom-load']) {
    t.same(loadConfigText(pool(n), 'b.yaml', {}).pools['p']!.algorithm, { name: n, options: {} }, n);
  }
  t.same(loadConfigText(pool('{ name: p2c, choices: 3 }'), 'b.yaml', {}).pools['p']!.algorithm, { name: 'p2c', options: { choices: 3 } });
  for (const key of ['ip', 'path', 'header:X-User', 'cookie:sid', 'query:room']) {
    t.same(loadConfigText(pool(`{ name: hash, key: "${key}" }`), 'b.yaml', {}).pools['p']!.algorithm.options, { key }, key);
  }
});

t.test('{ module } is resolved relative to the config file, not the cwd, and must exist', async (t) => {
  const dir = t.testdir({
    conf: {
      'balancer.yaml': pool('{ module: ./algos/mine.js, spread: 2 }'),
      algos: { 'mine.js': 'export default () => ({ name: "mine", pick: (ctx) => ctx.servers[0] });\n' },
    },
  });
  const c = loadConfigFile(resolve(dir, 'conf/balancer.yaml'), {});
  t.same(c.pools['p']!.algorithm, { name: 'module', module: resolve(dir, 'conf/algos/mine.js'), options: { spread: 2 } });

  const abs = resolve(dir, 'conf/algos/mine.js');
  t.equal(loadConfigText(pool(`{ module: "${abs}" }`), 'elsewhere/b.yaml', {}).pools['p']!.algorithm.module, abs, 'absolute paths stay');

  t.throws(() => loadConfigText(pool('{ module: ./nope.js }'), resolve(dir, 'conf/balancer.yaml'), {}), {
    name: 'ConfigError',
    issues: [{ line: 3, col: 26, path: 'pools.p.algorithm.module', message: `algorithm module not found: ${resolve(dir, 'conf/nope.js')}` }],
  });
});

t.test('per-route override', async (t) => {
  const c = loadConfigText(pool('least-connections') + 'routes:\n  - { pool: p, algorithm: random }\n  - { pool: p }\n', 'b.yaml', {});
  t.same(c.routes[0]!.algorithm, { name: 'random', options: {} });
  t.equal(c.routes[1]!.algorithm, undefined, 'no override: the pool\'s applies');
});

t.test('an anchored bad value is reported at the value, and again at each alias', async (t) => {
  const text = 'pools:\n  p:\n    algorithm: &a robin\n    servers: [{ url: "ws://h:1" }]\nroutes:\n  - { pool: p, algorithm: *a }\n';
  const err = t.throws(() => loadConfigText(text, 'b.yaml', {})) as ConfigError;
  t.same(err.issues.map((i) => `${i.line}:${i.col} ${i.path}`), ['3:19 pools.p.algorithm', '6:27 routes[0].algorithm']);
});
