/** Wildcard Origin entries (`https://*.example.com`): what they match after normalisation, the config errors for bad ones, and a balancer answering 403 / 101 by them. */

import t from 'tap';
import type { IncomingMessage } from 'node:http';
import { loadConfigText } from '../../src/config/load.js';
import { ConfigError, type ConfigIssue } from '../../src/config/types.js';
import { originAllowed } from '../../src/edge/origin.js';
import { startBackend } from '../helpers/backend.js';
import { startBalancer } from '../helpers/balancer.js';
import { rawRequest, upgradeRequest } from '../helpers/raw-client.js';

const POOL = 'pools: { p: { servers: [{ url: "ws://127.0.0.1:1" }] } }';

function load(origins: string[]) {
  return loadConfigText([POOL, 'routes:', '  - pool: p', `    origins: [${origins.map((o) => JSON.stringify(o)).join(', ')}]`].join('\n'), 'b.yaml', {});
}

function issues(origins: string[]): readonly ConfigIssue[] {
  try {
    load(origins);
  } catch (e) {
    if (e instanceof ConfigError) return e.issues;
    throw e;
  }
  return [];
}

const req = (origin: string): IncomingMessage => ({ rawHeaders: ['Origin', origin] }) as unknown as IncomingMessage;

t.test('entries are normalised like exact ones (case, IDN, default port)', async (t) => {
  const c = load(['HTTPS://*.Example.COM:443', 'https://*.Bücher.example', 'http://*.example.com:80', 'https://*.example.com:8443']);
  t.same(c.routes[0]!.origins, ['https://*.example.com', 'https://*.xn--bcher-kva.example', 'http://*.example.com', 'https://*.example.com:8443']);
});

t.test('what https://*.example.com matches', async (t) => {
  const route = load(['https://*.example.com']).routes[0]!;
  const table: [string, boolean][] = [
    ['https://app.example.com', true],
    ['https://a.b.c.example.com', true],            // any depth
    ['https://APP.Example.com:443', true],          // normalised like the entry
    ['https://x-y.example.com', true],
    ['https://example.com', false],                 // the apex is not a subdomain
    ['https://evil-example.com', false],
    ['https://evilexample.com', false],
    ['https://example.com.evil.net', false],
    ['https://app.example.com.evil.net', false],
    ['https://app.example.co', false],
    ['http://app.example.com', false],              // another scheme
    ['wss://app.example.com', false],
    ['https://app.example.com:8443', false],        // another port
    ['https://*.example.com', false],               // not a real origin
    ['https://[::1]', false],
    ['null', false],
  ];
  for (const [origin, want] of table) t.equal(originAllowed(route, req(origin)), want, `${origin} -> ${want}`);

  const ported = load(['https://*.example.com:8443', 'https://exact.example.org']).routes[0]!;
  t.ok(originAllowed(ported, req('https://app.example.com:8443')), 'an explicit port matches that port');
  t.notOk(originAllowed(ported, req('https://app.example.com')), '... and not the default one');
  t.ok(originAllowed(ported, req('https://exact.example.org')), 'exact entries still match next to wildcards');
  t.notOk(originAllowed(ported, req('https://sub.exact.example.org')), 'an exact entry is not a wildcard');

  const idn = load(['https://*.bücher.example']).routes[0]!;
  t.ok(originAllowed(idn, req('https://shop.xn--bcher-kva.example')), 'IDN entry matches the punycode Origin');
  t.ok(originAllowed(idn, req('https://shop.BÜCHER.example')), 'and a Unicode Origin after normalisation');
});

t.test('bad wildcards are config errors at the entry, with file:line:col', async (t) => {
  const bad = ['https://*', 'https://a.*.com', '*.example.com', 'https://*.com', 'https://*example.com', 'https://*.*.example.com',
    'https://x.*', 'https://*.example.com/path', 'https://*.', 'https://*..com', 'https://*.1.2.3.4', '*'];
  for (const o of bad) {
    const got = issues([o]);
    t.equal(got.length, 1, `${o}: one error`);
    t.match(got[0], { file: /b\.yaml$/, line: 4, col: 15, path: 'routes[0].origins[0]' }, `${o}: located at the entry`);
    t.match(got[0]!.message, /invalid origin/, `${o}: says why`);
  }
  t.match(issues(['https://a.*.com'])[0]!.message, /first label/);
  t.match(issues(['https://*.com'])[0]!.message, /two labels/);
  const second = issues(['https://ok.example.com', 'https://*']);
  t.match(second, [{ line: 4, path: 'routes[0].origins[1]' }], 'the second entry is the one named');
});

t.test('through the balancer: 403 for a non-matching Origin, 101 for a subdomain, no server contacted on 403', async (t) => {
  const backend = await startBackend({ name: 'b1' });
  t.teardown(() => backend.close());
  const b = await startBalancer(t, { servers: [{ name: 'b1', url: backend.url }], route: { origins: ['https://*.example.com'], allow_missing_origin: false } });
  for (const origin of ['https://example.com', 'https://evil-example.com', 'https://example.com.evil.net']) {
    const res = await rawRequest(b.proxyPort(), upgradeRequest('/', [`Origin: ${origin}`]));
    t.equal(res.status, 403, `${origin}: 403`);
    t.equal(res.headers['x-wslb-error'], 'WSLB_ERR_ORIGIN');
  }
  t.equal(backend.accepted, 0, 'no server contacted for the refusals');
  const ok = await rawRequest(b.proxyPort(), upgradeRequest('/', ['Origin: https://chat.app.example.com']), { untilHead: true });
  t.equal(ok.status, 101, 'a subdomain is upgraded');
});
