// routes[].match.transport: websocket | http | any, located errors for a bad value and for transport: http without http: true.
import t from 'tap';
import { loadConfigText } from '../../src/config/load.js';
import type { ConfigIssue } from '../../src/config/types.js';
import { configIssues } from '../helpers/config-issues.js';

const POOL = ['pools:', '  p:', '    servers: [{ name: s1, url: "ws://127.0.0.1:9001" }]'];

function issues(lines: string[]): readonly ConfigIssue[] {
  return configIssues(() => loadConfigText(lines.join('\n') + '\n', 'b.yaml', {}), { expectError: true });
}

t.test('accepted values; absent stays absent (any)', async (t) => {
  const c = loadConfigText([...POOL, 'routes:',
    '  - { name: a, pool: p, match: { path: /live, transport: websocket } }',
    '  - { name: b, pool: p, http: true, match: { path: /live, transport: http } }',
    '  - { name: c, pool: p, match: { transport: any } }',
    '  - { name: d, pool: p }',
  ].join('\n'), 'b.yaml', {});
  t.same(c.routes.map((r) => r.match.transport), ['websocket', 'http', 'any', undefined]);
  t.same(c.routes[3]!.match, {});
});

t.test('a bad value: at the value, listing the choices', async (t) => {
  const got = issues([...POOL, 'routes:', '  - pool: p', '    match: { path: /x, transport: ws }']);
  t.same(got.map((i) => `${i.line}:${i.col} ${i.path}`), ['6:35 routes[0].match.transport']);
  t.equal(got[0]!.message, 'expected one of websocket, http, any, got "ws"');
});

t.test('transport: http needs http: true', async (t) => {
  const got = issues([...POOL, 'routes:', '  - pool: p', '    match: { transport: http }']);
  t.same(got.map((i) => `${i.line}:${i.col} ${i.path}`), ['6:25 routes[0].match.transport']);
  t.match(got[0]!.message, /needs http: true/);
});
