import { resolve } from 'node:path';
import t from 'tap';
import { createBalancer, defaultDeps } from '../../src/balancing/index.js';
import { checkModules, instantiateModule, startBalancers } from '../../src/balancing/module.js';
import { loadConfigFile } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/types.js';
import { deps, sv } from '../helpers/servers.js';

const EXAMPLE = resolve(import.meta.dirname, '../../examples/algorithm-module.js');

t.test('the example module: fill first up to capacity x weight, then fewest active / weight', async (t) => {
  const b = createBalancer({ name: 'module', module: EXAMPLE, options: { capacity: 2 } }, deps([0.9]));
  t.equal(b.name, 'module', 'named "module" until started');
  t.equal(b.pick({ servers: [sv('a')], clientAddress: '' }), undefined, 'picks nothing before start');
  await b.start!();
  t.equal(b.name, 'fill-first');
  const servers = [sv('a', { active: 2 }), sv('b', { active: 1 }), sv('c')];
  t.equal(b.pick({ servers, clientAddress: '' }), servers[1], 'returns the real server object, not the frozen copy');
  const full = [sv('a', { active: 2 }), sv('b', { active: 3 }), sv('c', { active: 2 })];
  t.equal(b.pick({ servers: full, clientAddress: '' })?.name, 'a', 'all full: fewest active, tie r=0.9 keeps the first');
  b.close!();
});

t.test('modules see frozen views, the key and the client address; foreign answers are errors', async (t) => {
  const dir = t.testdir({
    'mutate.js': 'export default () => ({ name: "m", pick(ctx) { ctx.servers[0].active = 99; return ctx.servers[0]; } });',
    'echo.js': 'export default (o) => ({ name: "e", pick(ctx) { globalThis.__seen = { key: ctx.key, ip: ctx.clientAddress, n: ctx.servers.length, opt: o.x }; return undefined; } });',
    'foreign.js': 'export default () => ({ name: "f", pick: () => ({ name: "a" }) });',
    'none.js': 'export default () => ({ name: "n", pick: () => null });',
  });
  const start = async (file: string, options = {}) => {
    const b = createBalancer({ name: 'module', module: resolve(dir, file), options }, defaultDeps);
    await b.start!();
    return b;
  };
  const a = sv('a');
  await t.rejects(start('mutate.js').then((b) => b.pick({ servers: [a], clientAddress: '' })), TypeError, 'assigning to a frozen view throws in a module (strict mode)');
  t.equal(a.active, 0);
  t.equal((await start('echo.js', { x: 1 })).pick({ servers: [a], key: 'room', clientAddress: '10.0.0.9' }), undefined);
  t.same((globalThis as Record<string, unknown>)['__seen'], { key: 'room', ip: '10.0.0.9', n: 1, opt: 1 });
  await t.rejects((async () => (await start('foreign.js')).pick({ servers: [a], clientAddress: '' }))(), /not one of ctx.servers/);
  t.equal((await start('none.js')).pick({ servers: [a], clientAddress: '' }), undefined, 'null means none');
});

t.test('instantiateModule says what is wrong', async (t) => {
  const dir = t.testdir({
    'syntax.js': 'export default (',
    'noexport.js': 'export const x = 1;',
    'throws.js': 'export default () => { throw new Error("bad option"); };',
    'nopick.js': 'export default () => ({ name: "x" });',
    'noname.js': 'export default () => ({ pick() {} });',
    'cjs.cjs': 'module.exports = () => ({ name: "cjs", pick: (ctx) => ctx.servers[0] });',
  });
  const f = (n: string) => resolve(dir, n);
  await t.rejects(instantiateModule(f('syntax.js'), {}, defaultDeps), /cannot load algorithm module/);
  await t.rejects(instantiateModule(f('noexport.js'), {}, defaultDeps), /must default-export a factory/);
  await t.rejects(instantiateModule(f('throws.js'), {}, defaultDeps), /the factory threw: bad option/);
  await t.rejects(instantiateModule(f('nopick.js'), {}, defaultDeps), /must return \{ name: string, pick\(ctx\) \}/);
  await t.rejects(instantiateModule(f('noname.js'), {}, defaultDeps), /must return/);
  t.equal((await instantiateModule(f('cjs.cjs'), {}, defaultDeps)).name, 'cjs', 'CommonJS modules work too');
});

t.test('checkModules and startBalancers place errors at the module: key of the config file', async (t) => {
  const dir = t.testdir({
    'bad.js': 'export default () => ({ name: "bad" });',
    'good.js': 'export default () => ({ name: "good", pick: (ctx) => ctx.servers[0] });',
    'balancer.yaml': [
      'pools:',
      '  p:',
      '    algorithm: { module: ./good.js }',
      '    servers: [{ url: "ws://127.0.0.1:1" }]',
      'routes:',
      '  - pool: p',
      '    algorithm:',
      '      module: ./bad.js',
      '',
    ].join('\n'),
  });
  const config = loadConfigFile(resolve(dir, 'balancer.yaml'), {});
  const issues = await checkModules(config, defaultDeps);
  t.same(issues.map((i) => `${i.line}:${i.col} ${i.path}`), ['8:15 routes[0].algorithm.module']);
  t.match(issues[0]!.message, /must return/);

  const good = createBalancer(config.pools['p']!.algorithm, defaultDeps);
  const bad = createBalancer(config.routes[0]!.algorithm!, defaultDeps);
  const err = await startBalancers(config, [
    { balancer: good, path: ['pools', 'p', 'algorithm'] },
    { balancer: bad, path: ['routes', 0, 'algorithm'] },
  ]).catch((e: unknown) => e);
  t.type(err, ConfigError);
  t.same((err as ConfigError).issues.map((i) => `${i.line}:${i.col} ${i.path}`), ['8:15 routes[0].algorithm.module']);
  t.equal(good.name, 'good', 'the good one started');
});
