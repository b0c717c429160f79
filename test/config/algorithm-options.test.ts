// Options of each built-in algorithm: normalized, and every mistake located at the option.
import t from 'tap';
import { loadConfigText } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/types.js';

const pool = (algorithm: string, extra = '') => `pools:\n  p:\n    algorithm: ${algorithm}\n    servers: [{ url: "ws://h:1" }]\n${extra}`;
const issues = (text: string) => {
  const err = t.throws(() => loadConfigText(text, 'b.yaml', {})) as ConfigError;
  return err.issues.map((i) => `${i.line}:${i.col} ${i.path}: ${i.message}`);
};

t.test('valid options are normalized (durations to ms)', async (t) => {
  const alg = (a: string) => loadConfigText(pool(a), 'b.yaml', {}).pools['p']!.algorithm;
  t.same(alg('{ name: least-bandwidth, window: 2s }'), { name: 'least-bandwidth', options: { window: 2000 } });
  t.same(alg('{ name: hash, key: "cookie:sid", balance_factor: 1.5, fallback: least-connections }'),
    { name: 'hash', options: { key: 'cookie:sid', balance_factor: 1.5, fallback: 'least-connections' } });
  t.same(alg('{ name: p2c, choices: 3 }'), { name: 'p2c', options: { choices: 3 } });
  t.same(alg('{ name: random }'), { name: 'random', options: {} });
});

t.test('each mistake is an error at the option, with the expected values', async (t) => {
  t.same(issues(pool('{ name: random, spread: 2 }')), ['3:40 pools.p.algorithm.spread: algorithm "random" takes no options, got "spread"']);
  t.same(issues(pool('{ name: hash, keys: ip }')), ['3:36 pools.p.algorithm.keys: unknown option "keys" for algorithm "hash"; expected key, balance_factor, fallback']);
  t.match(issues(pool('{ name: least-bandwidth, window: 10 }'))[0], /^3:49 pools\.p\.algorithm\.window: a duration needs a unit/);
  t.match(issues(pool('{ name: least-bandwidth, window: 0s }'))[0], /window must be greater than 0/);
  t.match(issues(pool('{ name: hash, fallback: hash }'))[0], /fallback must name another algorithm: one of round-robin, .*custom-load; got "hash"/);
  t.match(issues(pool('{ name: hash, fallback: robin }'))[0], /fallback must name another algorithm/);
  t.match(issues(pool('{ name: hash, key: host }'))[0], /invalid hash key "host"/);
  t.match(issues(pool('{ name: hash, balance_factor: 1 }'))[0], /balance_factor must be a number greater than 1/);
  t.match(issues(pool('{ name: p2c, choices: 1 }'))[0], /choices must be an integer >= 2, got 1/);
  t.match(issues(pool('{ name: p2c, choices: 2.5 }'))[0], /choices must be an integer >= 2/);
});

t.test('a module takes any options; a `key` among them is checked', async (t) => {
  const dir = t.testdir({ 'm.js': 'export default () => ({ name: "m", pick: () => undefined });' });
  const text = (opts: string) => `pools:\n  p:\n    algorithm: { module: ./m.js${opts} }\n    servers: [{ url: "ws://h:1" }]\n`;
  t.same(loadConfigText(text(', anything: [1, 2], key: "query:room"'), `${dir}/b.yaml`, {}).pools['p']!.algorithm.options, { anything: [1, 2], key: 'query:room' });
  const err = t.throws(() => loadConfigText(text(', key: nope'), `${dir}/b.yaml`, {})) as ConfigError;
  t.match(err.issues[0]!.message, /invalid hash key "nope"/);
});

t.test('load: stale_after defaults to 3 intervals (unset here), snmp needs oids', async (t) => {
  const p = loadConfigText(pool('custom-load', '    load: { interval: 200ms }\n'), 'b.yaml', {}).pools['p']!;
  t.same(p.load, { source: 'http', path: '/load', interval: 200, community: 'public' });
  t.match(issues(pool('custom-load', '    load: { source: snmp }\n'))[0], /source: snmp needs oids/);
});
