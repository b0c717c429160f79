/** A reload whose listener certificates do not load is a failed reload: 400 with the located reason, result="error", nothing swapped (old certificates and old pools stay). */

import t from 'tap';
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import tls from 'node:tls';
import { parse, stringify } from 'yaml';
import { startBackend } from '../helpers/backend.js';
import { createTestCa } from '../helpers/certs.js';
import { balancerFromFile, farmWith } from '../helpers/hardening.js';

const ca = createTestCa('wslb reload CA');
t.teardown(() => ca.remove());

/** The fingerprint of the certificate served on 127.0.0.1:port. */
function presented(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => { resolve(s.getPeerCertificate().fingerprint256); s.destroy(); });
    s.on('error', reject);
  });
}

async function postReload(admin: number): Promise<{ status: number; body: { result?: string; error?: { code: string; errors: string[] } } }> {
  const res = await fetch(`http://127.0.0.1:${admin}/reload`, { method: 'POST' });
  return { status: res.status, body: (await res.json()) as { result?: string; error?: { code: string; errors: string[] } } };
}

t.test('a key that does not load, or does not match, fails the reload; fixed, the new certificate is served', async (t) => {
  const backend = await startBackend({ name: 'b1' });
  t.teardown(() => backend.close());
  const first = ca.issue('first', ['127.0.0.1']);
  const second = ca.issue('second', ['127.0.0.1']);
  const cert = `${first.cert}.live`;
  const key = `${first.key}.live`;
  fs.copyFileSync(first.cert, cert);
  fs.copyFileSync(first.key, key);
  const yaml = farmWith({ servers: [{ name: 'b1', url: backend.url }] }, { tls: { cert, key } });
  const { b, rewrite } = await balancerFromFile(t, yaml);
  const port = b.proxyPort();
  const admin = b.adminPort();
  const firstPrint = new X509Certificate(first.pem).fingerprint256;
  t.equal(await presented(port), firstPrint);

  // The new file also adds a server: a refused reload must not apply that either.
  const doc = parse(yaml) as { pools: { p: { servers: unknown[] } } };
  doc.pools.p.servers.push({ name: 'b2', url: 'ws://127.0.0.1:1' });
  rewrite(stringify(doc));
  const broken: [string, () => void, RegExp][] = [
    ['a key file that is not a key', () => fs.writeFileSync(key, 'not a key'), /balancer\.yaml:\d+:\d+ listeners\[0\]\.tls\.key: /],
    ['the certificate rotated without its key', () => { fs.copyFileSync(second.cert, cert); fs.copyFileSync(first.key, key); }, /balancer\.yaml:\d+:\d+ listeners\[0\]\.tls\.key: .*does not match/],
    ['a missing key file', () => fs.rmSync(key), /balancer\.yaml:\d+:\d+ listeners\[0\]\.tls\.key: /],
  ];
  for (const [name, breakIt, reason] of broken) {
    breakIt();
    const r = await postReload(admin);
    t.equal(r.status, 400, `${name}: 400`);
    t.equal(r.body.error?.code, 'WSLB_ERR_ADMIN_RELOAD');
    t.match(r.body.error?.errors[0], reason, `${name}: the reason, at the key`);
    t.equal(await presented(port), firstPrint, `${name}: the running certificate stays`);
    t.same(b.runtime.pools.get('p')!.servers.map((s) => s.name), ['b1'], `${name}: nothing else applied`);
  }
  const metrics = async () => (await (await fetch(`http://127.0.0.1:${admin}/metrics`)).text());
  t.match(await metrics(), /^wslb_config_reloads_total\{result="error"\} 3$/m);
  t.match(await metrics(), /^wslb_config_reloads_total\{result="ok"\} 0$/m);

  fs.copyFileSync(second.key, key);
  const ok = await postReload(admin);
  t.equal(ok.status, 200);
  t.equal(ok.body.result, 'ok');
  t.equal(await presented(port), new X509Certificate(second.pem).fingerprint256, 'the rotated certificate is served');
  t.same(b.runtime.pools.get('p')!.servers.map((s) => s.name), ['b1', 'b2']);
});
