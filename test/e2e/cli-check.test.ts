/** `wslb check` refuses what `run` would fail on (TLS files, addresses bound twice), lists every error at once, and `run` refuses the same way. */

import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { createTestCa } from '../helpers/certs.js';
import { runCli } from '../helpers/cli.js';

const ca = createTestCa();
t.teardown(() => ca.remove());
const a = ca.issue('a', ['127.0.0.1']);
const b = ca.issue('b', ['127.0.0.1']);

t.test('check and run: TLS files, a key of another certificate, a port bound twice, a bad weight next to a bad url: all at once, exit 2', async (t) => {
  const dir = t.testdir({ 'a.crt': fs.readFileSync(a.cert), 'b.key': fs.readFileSync(b.key) });
  const file = path.join(dir, 'bad.yaml');
  fs.writeFileSync(file, [
    'listeners:',
    '  - port: 18443',
    '    host: 127.0.0.1',
    '    tls: { cert: ./a.crt, key: ./b.key }',
    '  - port: 18443',
    '    tls: { cert: ./missing.crt, key: ./b.key }',
    'admin: { port: 0, host: 127.0.0.1 }',
    'pools:',
    '  p:',
    '    servers: [{ url: "http://127.0.0.1:1", weight: 0 }]',
    '    tls: { ca: ./no-ca.pem }',
    'routes: [{ pool: p }]',
    '',
  ].join('\n'));
  const want = [
    `${file}:4:32 listeners[0].tls.key: this key does not match the certificate ${path.join(dir, 'a.crt')}`,
    `${file}:5:11 listeners[1].port: 0.0.0.0:18443 is also bound by listeners[0] (127.0.0.1:18443); 0.0.0.0 takes port 18443 on every address`,
    `${file}:6:18 listeners[1].tls.cert: cannot read ${path.join(dir, 'missing.crt')}: ENOENT (no such file)`,
    `${file}:10:22 pools.p.servers[0].url: server url must start with ws:// or wss://, got "http://127.0.0.1:1"`,
    `${file}:10:52 pools.p.servers[0].weight: must be >= 1, got 0`,
    `${file}:11:16 pools.p.tls.ca: cannot read ${path.join(dir, 'no-ca.pem')}: ENOENT (no such file)`,
  ];
  const check = await runCli(['check', '-c', file]);
  t.equal(check.code, 2);
  t.equal(check.stdout, '');
  t.same(check.stderr.trim().split('\n'), want);
  const run = await runCli(['run', '-c', file]);
  t.equal(run.code, 2, 'run refuses it with the config-error exit code');
  t.same(run.stderr.trim().split('\n'), want, 'and the same lines');
});

t.test('a good TLS listener passes check', async (t) => {
  const dir = t.testdir({
    'ok.yaml': `listeners: [{ port: 0, tls: { cert: ${a.cert}, key: ${a.key}, ca: ${ca.ca} } }]\nadmin: { port: 0 }\n` +
      'pools: { p: { servers: [{ url: "wss://127.0.0.1:1" }], tls: { ca: ' + ca.ca + ' } } }\nroutes: [{ pool: p }]\n',
  });
  const r = await runCli(['check', '-c', path.join(dir, 'ok.yaml')]);
  t.equal(r.stderr, '');
  t.equal(r.code, 0);
  t.equal(r.stdout, 'ok: 1 routes, 1 pools, 1 servers\n');
});
