// limits.messages_per_second, limits.bytes_per_second, routes[].limits and log.access: defaults, accepted forms, and errors located at file:line:col.
import t from 'tap';
import { loadConfigText } from '../../src/config/load.js';
import type { ConfigIssue } from '../../src/config/types.js';
import { configIssues } from '../helpers/config-issues.js';

const POOL = ['pools:', '  p:', '    servers: [{ name: s1, url: "ws://127.0.0.1:9001" }]', 'routes:', '  - pool: p'];

function load(lines: string[]) {
  return loadConfigText(lines.join('\n') + '\n', 'b.yaml', {});
}

function issues(lines: string[]): readonly ConfigIssue[] {
  return configIssues(() => load(lines), { expectError: true });
}

const at = (got: readonly ConfigIssue[]): string[] => got.map((i) => `${i.file}:${i.line}:${i.col} ${i.path}`);

t.test('defaults: both limits off, no access log, no route limits', async (t) => {
  const c = load(POOL);
  t.equal(c.limits.messages_per_second, 0);
  t.equal(c.limits.bytes_per_second, 0);
  t.equal(c.log.access, false);
  t.equal(c.routes[0]!.limits, undefined);
});

t.test('accepted forms', async (t) => {
  const cases: [string, string, number][] = [
    ['messages_per_second', '100/s', 100], ['messages_per_second', '100', 100], ['messages_per_second', '"0/s"', 0],
    ['messages_per_second', '0', 0], ['messages_per_second', '2.5/s', 2.5],
    ['bytes_per_second', '1MiB/s', 1048576], ['bytes_per_second', '64KiB', 65536], ['bytes_per_second', '1048576', 1048576],
    ['bytes_per_second', '0', 0], ['bytes_per_second', '"0/s"', 0], ['bytes_per_second', '1 MB / s', 1_000_000],
  ];
  for (const [key, value, want] of cases) {
    const c = load([...POOL, 'limits:', `  ${key}: ${value}`]);
    t.equal(c.limits[key as 'messages_per_second' | 'bytes_per_second'], want, `${key}: ${value}`);
  }
  const c = load([...POOL, '    limits: { messages_per_second: 5/s, bytes_per_second: 16KiB/s }', 'log:', '  access: true']);
  t.same(c.routes[0]!.limits, { messages_per_second: 5, bytes_per_second: 16384 });
  t.equal(c.log.access, true);
  const one = load([...POOL, '    limits: { bytes_per_second: 1KiB }']);
  t.same(one.routes[0]!.limits, { bytes_per_second: 1024 }, 'a key left out stays out (the global value applies)');
});

t.test('bad values: located at the value', async (t) => {
  const cases: [string[], string, RegExp][] = [
    [['limits:', '  messages_per_second: -1'], 'b.yaml:7:24 limits.messages_per_second', /0 \(off\) or more/],
    [['limits:', '  messages_per_second: 0.5'], 'b.yaml:7:24 limits.messages_per_second', /at least 1\/s/],
    [['limits:', '  messages_per_second: 10/m'], 'b.yaml:7:24 limits.messages_per_second', /per second/],
    [['limits:', '  messages_per_second: [1]'], 'b.yaml:7:24 limits.messages_per_second', /expected a rate/],
    [['limits:', '  bytes_per_second: fast'], 'b.yaml:7:21 limits.bytes_per_second', /expected bytes per second/],
    [['limits:', '  bytes_per_second: -5'], 'b.yaml:7:21 limits.bytes_per_second', /expected bytes per second/],
    [['    limits: { messages_per_second: nope }'], 'b.yaml:6:36 routes[0].limits.messages_per_second', /invalid rate/],
    [['    limits: { max_connections: 5 }'], 'b.yaml:6:15 routes[0].limits.max_connections', /max_connections|unrecognized/i],
    [['log:', '  access: yes'], 'b.yaml:7:11 log.access', /boolean/],
  ];
  for (const [extra, where, message] of cases) {
    const got = issues([...POOL, ...extra]);
    t.same(at(got), [where], extra.join(' '));
    t.match(got[0]?.message, message);
  }
});
