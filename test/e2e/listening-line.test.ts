/** The `listening` log line of each proxy listener says what it speaks: tls, http2, proxy_protocol. */

import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { startCli } from '../helpers/cli.js';
import { createTestCa } from '../helpers/certs.js';

t.test('a TLS listener and a PROXY protocol listener each say so', async (t) => {
  const ca = createTestCa('wslb listening CA');
  t.teardown(() => ca.remove());
  const cert = ca.issue('listener', ['127.0.0.1']);
  const dir = t.testdir({});
  const file = path.join(dir, 'c.yaml');
  fs.writeFileSync(file, stringify({
    listeners: [
      { port: 0, host: '127.0.0.1', tls: { cert: cert.cert, key: cert.key } },
      { port: 0, host: '127.0.0.1', proxy_protocol: true },
    ],
    admin: { port: 0, host: '127.0.0.1' },
    log: { level: 'info' },
  }));
  const cli = startCli(['run', '-c', file]);
  t.teardown(async () => { cli.child.kill('SIGTERM'); await cli.exited; });
  await cli.waitFor((l) => l['msg'] === 'listening' && l['kind'] === 'admin');
  const proxies = cli.lines.filter((l) => l['msg'] === 'listening' && l['kind'] === 'proxy');
  t.equal(proxies.length, 2);
  t.match(proxies[0], { address: '127.0.0.1', tls: true, http2: false, proxy_protocol: false });
  t.match(proxies[1], { address: '127.0.0.1', tls: false, http2: false, proxy_protocol: true });
  t.ok(proxies.every((l) => (l['port'] as number) > 0), 'real ports');
  t.notMatch(cli.lines.find((l) => l['kind'] === 'admin'), { tls: Boolean }, 'the admin line does not claim listener fields');
});
