// Two listeners, or a listener and the admin listener, that want the same host:port: refused at load, at the later port.
import t from 'tap';
import { loadConfigText } from '../../src/config/load.js';
import type { ConfigIssue } from '../../src/config/types.js';
import { configIssues } from '../helpers/config-issues.js';

function issues(lines: string[]): readonly ConfigIssue[] {
  return configIssues(() => loadConfigText(lines.join('\n') + '\n', 'b.yaml', {}));
}
const where = (list: readonly ConfigIssue[]) => list.map((i) => `${i.line}:${i.col} ${i.path}`);

t.test('0.0.0.0 overlaps every IPv4 address (and names) on the same port; :: overlaps everything', async (t) => {
  const got = issues([
    'listeners:',
    '  - { port: 8080 }',                       // 0.0.0.0
    '  - { port: 8080, host: 127.0.0.1 }',
    '  - { port: 8080, host: localhost }',
    '  - { port: 8080, host: "::1" }',          // IPv6: 0.0.0.0 does not take it
    '  - { port: 8081, host: 127.0.0.1 }',
    '  - { port: 8081, host: 127.0.0.2 }',      // another address: fine
    '  - { port: 8082, host: 127.0.0.1 }',
    '  - { port: 8082, host: "::" }',
  ]);
  t.same(where(got), ['3:13 listeners[1].port', '4:13 listeners[2].port', '9:13 listeners[7].port']);
  t.equal(got[0]!.message, '127.0.0.1:8080 is also bound by listeners[0] (0.0.0.0:8080); 0.0.0.0 takes port 8080 on every address');
});

t.test('port 0 never conflicts; the same address twice does', async (t) => {
  t.same(issues(['listeners: [{ port: 0 }, { port: 0 }, { port: 0, host: 127.0.0.1 }]', 'admin: { port: 0 }']), []);
  const got = issues(['listeners: [{ port: 80, host: "::1" }, { port: 80, host: "0:0::1" }]']);
  t.same(where(got), ['1:48 listeners[1].port'], 'IPv6 spellings of one address are one address');
});

t.test('a listener on the admin address: at admin.port when written, else at the listener', async (t) => {
  const written = issues(['listeners: [{ port: 9000 }]', 'admin: { port: 9000 }']);
  t.same(where(written), ['2:16 admin.port']);
  t.match(written[0]!.message, 'is also bound by listeners[0] (0.0.0.0:9000)');
  const dflt = issues(['listeners: [{ port: 9090, host: 127.0.0.1 }]']);
  t.same(where(dflt), ['1:21 listeners[0].port']);
  t.match(dflt[0]!.message, 'the default admin address; set admin.port');
  const onDefaultListener = issues(['admin: { port: 8080, host: 127.0.0.1 }']);
  t.same(where(onDefaultListener), ['1:16 admin.port']);
  t.match(onDefaultListener[0]!.message, 'the default listener (0.0.0.0:8080)');
  t.same(issues(['listeners: [{ port: 9090, host: 127.0.0.2 }]']), [], 'another address than the admin\'s');
});
