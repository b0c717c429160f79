/** TLS: wss:// and https:// terminated on a listener, certificates re-read on reload without dropping tunnels, and TLS to wss:// servers with per-pool ca/servername/reject_unauthorized. */

import t from 'tap';
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import tls from 'node:tls';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { startBackend } from '../helpers/backend.js';
import { startBalancer } from '../helpers/balancer.js';
import { createTestCa } from '../helpers/certs.js';
import { balancerFromFile, echo, farmWith, openWs } from '../helpers/hardening.js';

const ca1 = createTestCa('wslb test CA 1');
const ca2 = createTestCa('wslb test CA 2');
t.teardown(() => { ca1.remove(); ca2.remove(); });

/** The certificate a TLS server presents on 127.0.0.1:port (its fingerprint), and whether `ca` verifies it. */
function presented(port: number, ca: Buffer): Promise<{ fingerprint: string; authorized: boolean; error?: string }> {
  return new Promise((resolve) => {
    const s = tls.connect({ host: '127.0.0.1', port, ca, rejectUnauthorized: false }, () => {
      resolve({ fingerprint: s.getPeerCertificate().fingerprint256, authorized: s.authorized, ...(s.authorizationError ? { error: String(s.authorizationError) } : {}) });
      s.destroy();
    });
    s.on('error', (err) => resolve({ fingerprint: '', authorized: false, error: err.message }));
  });
}

const fingerprintOf = (pem: Buffer): string => new X509Certificate(pem).fingerprint256;

t.test('a TLS listener terminates wss:// and https://, with X-Forwarded-Proto', async (t) => {
  const backend = await startBackend({ name: 'b1' });
  t.teardown(() => backend.close());
  const cert = ca1.issue('listener-a', ['127.0.0.1', 'localhost']);
  const b = await startBalancer(t, farmWith({
    servers: [{ name: 'b1', url: backend.url }],
    route: { http: true },
  }, { tls: { cert: cert.cert, key: cert.key } }));
  const port = b.proxyPort();

  const ws = await openWs(`wss://127.0.0.1:${port}/chat`, { ca: ca1.caPem });
  t.equal(await echo(ws, 'over tls'), 'over tls');
  t.equal(backend.handshakes.at(-1)?.['x-forwarded-proto'], 'wss');
  ws.close();

  const body = await new Promise<string>((resolve, reject) => {
    https.get({ host: '127.0.0.1', port, path: '/plain', ca: ca1.caPem }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => { text += c; });
      res.on('end', () => resolve(text));
    }).on('error', reject);
  });
  t.equal(body, 'b1', 'plain HTTPS proxied on an http: true route');
  t.equal(backend.requests.at(-1)?.headers['x-forwarded-proto'], 'https');

  const untrusted = await openWs(`wss://127.0.0.1:${port}/`, { ca: ca2.caPem }).then(() => 'opened', (e: Error) => e.message);
  t.match(untrusted, /certificate|self.signed|verify/i, 'a client that does not trust the CA refuses the connection');

  // Plain HTTP on the TLS port: the TLS layer refuses it, the balancer stays up.
  const plain = await fetch(`http://127.0.0.1:${port}/`).then(() => 'answered', () => 'refused');
  t.equal(plain, 'refused');
  t.equal(await echo(await openWs(`wss://127.0.0.1:${port}/`, { ca: ca1.caPem }), 'still up'), 'still up');
});

t.test('certificates are re-read on reload; open tunnels survive', async (t) => {
  const backend = await startBackend({ name: 'b1' });
  t.teardown(() => backend.close());
  const first = ca1.issue('listener-r', ['127.0.0.1']);
  const cert = `${first.cert}.live`;
  const key = `${first.key}.live`;
  fs.copyFileSync(first.cert, cert);
  fs.copyFileSync(first.key, key);
  const yaml = farmWith({ servers: [{ name: 'b1', url: backend.url }] }, { tls: { cert, key } });
  const { b } = await balancerFromFile(t, yaml);
  const port = b.proxyPort();
  const ws = await openWs(`wss://127.0.0.1:${port}/`, { ca: ca1.caPem });
  t.equal(await echo(ws, 'before'), 'before');
  t.equal((await presented(port, ca1.caPem)).fingerprint, fingerprintOf(first.pem));

  // Rotate: a certificate from another CA at the same paths, then SIGHUP's path.
  const second = ca2.issue('listener-r2', ['127.0.0.1']);
  fs.copyFileSync(second.cert, cert);
  fs.copyFileSync(second.key, key);
  t.same(await b.reload(), { ok: true, summary: 'ok: 1 routes, 1 pools, 1 servers', restartRequired: [] });
  const now = await presented(port, ca2.caPem);
  t.equal(now.fingerprint, fingerprintOf(second.pem), 'new handshakes get the new certificate');
  t.ok(now.authorized);
  t.equal(await echo(ws, 'after'), 'after', 'the tunnel opened before the reload is untouched');
  const ws2 = await openWs(`wss://127.0.0.1:${port}/`, { ca: ca2.caPem });
  t.equal(await echo(ws2, 'new'), 'new');

  // A broken certificate file on reload: the reload is refused, the current certificate stays.
  fs.writeFileSync(cert, 'not a certificate');
  t.equal((await b.reload()).ok, false, 'a certificate that does not load fails the reload');
  t.equal((await presented(port, ca2.caPem)).fingerprint, fingerprintOf(second.pem), 'kept the working certificate');
  ws.close();
  ws2.close();
});

t.test('a listener whose certificate cannot be loaded does not start', async (t) => {
  const yaml = farmWith({ servers: [{ name: 'b1', url: 'ws://127.0.0.1:1' }] }, { tls: { cert: '/nonexistent/x.crt', key: '/nonexistent/x.key' } });
  await t.rejects(startBalancer(t, yaml), /tls cert \/nonexistent\/x\.crt: ENOENT/);
});

/** A wss:// echo server with `cert`. */
async function tlsBackend(cert: { cert: string; key: string }): Promise<{ url: string; close(): Promise<void>; upgrades: number }> {
  const server = https.createServer({ cert: fs.readFileSync(cert.cert), key: fs.readFileSync(cert.key) });
  const wss = new WebSocketServer({ server, perMessageDeflate: false });
  let upgrades = 0;
  wss.on('connection', (ws) => { upgrades++; ws.on('message', (d, bin) => ws.send(d, { binary: bin })); });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `wss://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get upgrades() { return upgrades; },
    close: async () => { for (const c of wss.clients) c.terminate(); server.closeAllConnections(); await new Promise((r) => server.close(r)); },
  };
}

t.test('TLS to wss:// servers: pool ca, servername and reject_unauthorized', async (t) => {
  const backend = await tlsBackend(ca1.issue('upstream', ['backend.internal', '127.0.0.1']));
  t.teardown(() => backend.close());
  const servers = [{ name: 's1', url: backend.url }];
  const cases: [string, Record<string, unknown> | undefined, boolean][] = [
    ['ca + servername', { ca: ca1.ca, servername: 'backend.internal' }, true],
    ['ca, IP SAN', { ca: ca1.ca }, true],
    ['no pool tls: system CAs refuse a private CA', undefined, false],
    ['wrong ca', { ca: ca2.ca }, false],
    ['wrong servername', { ca: ca1.ca, servername: 'other.internal' }, false],
    ['reject_unauthorized: false', { reject_unauthorized: false }, true],
  ];
  for (const [name, poolTls, ok] of cases) {
    const b = await startBalancer(t, { servers, retries: 0, ...(poolTls ? { pool: { tls: poolTls } } : {}) });
    const url = `ws://127.0.0.1:${b.proxyPort()}/`;
    if (ok) {
      const ws = await openWs(url);
      t.equal(await echo(ws, name), name, `${name}: tunnelled over TLS`);
      ws.close();
    } else {
      const err = await openWs(url).then(() => null, (e: { status?: number }) => e);
      t.equal(err?.status, 502, `${name}: 502`);
      t.equal(b.runtime.pools.get('p')!.servers[0]!.connectFailures, 1, `${name}: counted as a connect failure`);
    }
    b.destroy();
  }
});

t.test('plain-HTTP fallbacks to https:// servers use the pool tls too', async (t) => {
  const cert = ca1.issue('http-upstream', ['backend.internal', '127.0.0.1']);
  const server = https.createServer({ cert: fs.readFileSync(cert.cert), key: fs.readFileSync(cert.key) }, (_req, res) => res.end('over-tls'));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => { server.closeAllConnections(); server.close(); });
  const url = `wss://127.0.0.1:${(server.address() as AddressInfo).port}`;
  for (const [poolTls, status] of [[{ ca: ca1.ca, servername: 'backend.internal' }, 200], [{ ca: ca2.ca }, 502]] as const) {
    const b = await startBalancer(t, { servers: [{ name: 's1', url }], retries: 0, route: { http: true }, pool: { tls: poolTls } });
    const res = await fetch(`http://127.0.0.1:${b.proxyPort()}/x`);
    t.equal(res.status, status, `ca ${poolTls.ca === ca1.ca ? 'right' : 'wrong'}: ${status}`);
    if (status === 200) t.equal(await res.text(), 'over-tls');
    else await res.text();
    b.destroy();
  }
});
