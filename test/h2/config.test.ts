// listeners[].http2: off by default, refused without tls at its key, a restart-only key, named in the "listening" line.
import t from 'tap';
import { loadConfigText } from '../../src/config/load.js';
import type { ConfigIssue } from '../../src/config/types.js';
import { configIssues } from '../helpers/config-issues.js';
import { restartRequired } from '../../src/config/restart-required.js';
import { Balancer } from '../../src/main.js';
import { captureLog, tick } from '../helpers/log-capture.js';
import { h2Yaml } from './farm.js';

function issues(text: string): readonly ConfigIssue[] {
  return configIssues(() => loadConfigText(text, 'b.yaml', {}), { expectError: true });
}

t.test('default off; without tls it is an error at the key', async (t) => {
  t.equal(loadConfigText('listeners: [{ port: 1 }]\n', 'b.yaml', {}).listeners[0]!.http2, false);
  const got = issues('listeners:\n  - port: 8443\n    http2: true\n');
  t.same(got.map((i) => `${i.line}:${i.col} ${i.path}`), ['3:12 listeners[0].http2']);
  t.match(got[0]!.message, /needs tls/);
});

t.test('turning it on or off needs a restart', async (t) => {
  const dir = t.testdir({ 'c.pem': 'x', 'k.pem': 'x' });
  const yaml = (on: boolean): string => `listeners: [{ port: 8443, tls: { cert: ${dir}/c.pem, key: ${dir}/k.pem }, http2: ${on} }]\n`;
  t.same(restartRequired(loadConfigText(yaml(false), 'b.yaml', {}), loadConfigText(yaml(true), 'b.yaml', {})), ['listeners[0].http2']);
});

t.test('the listening line says http2: true', async (t) => {
  const { log, lines } = captureLog();
  const b = new Balancer(loadConfigText(h2Yaml(t, { servers: [{ name: 'x', url: 'ws://127.0.0.1:1' }] }), 'test.yaml', {}), log);
  await b.start();
  t.teardown(() => b.destroy());
  await tick();
  t.match(lines.find((l) => l.msg === 'listening' && l['kind'] === 'proxy'), { tls: true, http2: true });
});
