// The TLS files a config names: unreadable, not PEM, a certificate and a key that do not match, a broken CA bundle; each at its value.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { loadConfigText } from '../../src/config/load.js';
import { ConfigError, type ConfigIssue } from '../../src/config/types.js';
import { createTestCa } from '../helpers/certs.js';

const ca = createTestCa();
t.teardown(() => ca.remove());
const good = ca.issue('good', ['127.0.0.1']);
const other = ca.issue('other', ['127.0.0.1']);

function issues(text: string, file: string): readonly ConfigIssue[] {
  try {
    loadConfigText(text, file, {}, { files: true });
  } catch (e) {
    if (e instanceof ConfigError) return e.issues;
    throw e;
  }
  return [];
}
const where = (list: readonly ConfigIssue[]) => list.map((i) => `${i.line}:${i.col} ${i.path}`);
const POOL = 'pools: { p: { servers: [{ url: "ws://127.0.0.1:1" }] } }';

t.test('a good certificate, key and CA pass, relative to the config folder', async (t) => {
  const dir = t.testdir({ 'ca.pem': ca.caPem, tls: { 'server.crt': fs.readFileSync(good.cert), 'server.key': fs.readFileSync(good.key) } });
  const text = [
    'listeners: [{ port: 0, tls: { cert: tls/server.crt, key: tls/server.key, ca: ca.pem } }]',
    POOL.replace('}] } }', '}], tls: { ca: ./ca.pem } } }'),
  ].join('\n');
  t.same(issues(text, path.join(dir, 'b.yaml')), []);
});

t.test('unreadable files: every one reported at its value, with the resolved path and the reason', async (t) => {
  const dir = t.testdir({ 'a-dir': {} });
  const text = [
    'listeners:',
    '  - port: 0',
    '    tls: { cert: missing.crt, key: missing.key, ca: a-dir }',
    POOL.replace('}] } }', '}], tls: { ca: /nonexistent/ca.pem } } }'),
  ].join('\n');
  const got = issues(text, path.join(dir, 'b.yaml'));
  t.same(where(got), ['3:18 listeners[0].tls.cert', '3:36 listeners[0].tls.key', '3:53 listeners[0].tls.ca', '4:66 pools.p.tls.ca']);
  t.equal(got[0]!.message, `cannot read ${path.join(dir, 'missing.crt')}: ENOENT (no such file)`);
  t.match(got[2]!.message, 'EISDIR (is a directory)');
  t.match(got[3]!.message, '/nonexistent/ca.pem: ENOENT');
});

t.test('a certificate that is not its key\'s: at the key', async (t) => {
  const text = `listeners: [{ port: 0, tls: { cert: ${good.cert}, key: ${other.key} } }]\n${POOL}\n`;
  const got = issues(text, 'b.yaml');
  t.same(got.map((i) => i.path), ['listeners[0].tls.key']);
  t.equal(got[0]!.col, text.indexOf(other.key) + 1);
  t.match(got[0]!.message, `does not match the certificate ${good.cert}`);
});

t.test('not PEM: cert, key and CA each say which', async (t) => {
  const dir = t.testdir({ 'x.crt': 'not a certificate', 'x.key': 'not a key', 'ca.pem': 'nothing here', 'bad-ca.pem': '-----BEGIN CERTIFICATE-----\nabc\n-----END CERTIFICATE-----\n' });
  const text = [
    'listeners:',
    '  - { port: 0, tls: { cert: x.crt, key: x.key, ca: ca.pem } }',
    '  - { port: 0, tls: { cert: x.crt, key: x.key, ca: bad-ca.pem } }',
    POOL,
  ].join('\n');
  const got = issues(text, path.join(dir, 'b.yaml'));
  t.same(where(got), [
    '2:29 listeners[0].tls.cert', '2:41 listeners[0].tls.key', '2:52 listeners[0].tls.ca',
    '3:29 listeners[1].tls.cert', '3:41 listeners[1].tls.key', '3:52 listeners[1].tls.ca',
  ]);
  t.match(got[0]!.message, 'is not a PEM certificate');
  t.match(got[1]!.message, 'is not a PEM private key');
  t.match(got[2]!.message, 'holds no PEM certificate');
  t.match(got[5]!.message, 'certificate 1 of 1');
});

t.test('file checks run next to schema errors elsewhere, and only when asked (loadConfigText without files: true)', async (t) => {
  const text = `listeners: [{ port: 0, tls: { cert: /nonexistent/a.crt, key: ${good.key} } }]\ntimeouts: { idle: forever }\n${POOL}\n`;
  t.same(where(issues(text, 'b.yaml')), ['1:37 listeners[0].tls.cert', '2:19 timeouts.idle']);
  const without = (() => { try { loadConfigText(text, 'b.yaml', {}); return []; } catch (e) { return (e as ConfigError).issues.map((i) => i.path); } })();
  t.same(without, ['timeouts.idle'], 'without files: only the schema error');
  const ok = text.replace('timeouts: { idle: forever }\n', '');
  t.equal(loadConfigText(ok, 'b.yaml', {}).listeners[0]!.tls?.cert, '/nonexistent/a.crt', 'without files: the listener finds out');
});
