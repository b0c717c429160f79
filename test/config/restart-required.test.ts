/** restartRequired: which changed keys a reload cannot apply, by path, against the config a process started with. */

import t from 'tap';
import { loadConfigText } from '../../src/config/load.js';
import { ownedByPrimary, restartRequired } from '../../src/config/restart-required.js';

const base = {
  listeners: [{ port: 8080, host: '127.0.0.1' }],
  admin: { port: 9090, token: 'a' },
  pools: { p: { servers: [{ name: 'a', url: 'ws://127.0.0.1:1' }] } },
  routes: [{ pool: 'p' }],
};
const load = (over: Record<string, unknown>) => loadConfigText(JSON.stringify({ ...base, ...over }), 'b.yaml', {});
const running = load({});

t.test('each key that needs a restart is named; what applies in place is not', async (t) => {
  const cases: [string, Record<string, unknown>, string[]][] = [
    ['nothing changed', {}, []],
    ['pools, routes, timeouts, other limits and log apply', {
      pools: { p: { algorithm: 'random', servers: [{ name: 'b', url: 'ws://127.0.0.1:2' }] } },
      timeouts: { idle: '5m', shutdown_grace: '10s' }, limits: { max_connections: 5 }, log: { level: 'debug' },
    }, []],
    ['listener port and host', { listeners: [{ port: 8081, host: '0.0.0.0' }] }, ['listeners[0].port', 'listeners[0].host']],
    ['proxy_protocol and trusted_proxies', { listeners: [{ port: 8080, host: '127.0.0.1', proxy_protocol: true, trusted_proxies: ['10.0.0.0/8'] }] }, ['listeners[0].proxy_protocol', 'listeners[0].trusted_proxies']],
    ['TLS turned on', { listeners: [{ port: 8080, host: '127.0.0.1', tls: { cert: '/x.crt', key: '/x.key' } }] }, ['listeners[0].tls']],
    ['a listener added', { listeners: [{ port: 8080, host: '127.0.0.1' }, { port: 8443 }] }, ['listeners[1]']],
    ['admin port and token', { admin: { port: 9091, token: 'b' } }, ['admin.port', 'admin.token']],
    ['max_header_bytes', { limits: { max_header_bytes: '32KiB' } }, ['limits.max_header_bytes']],
    ['workers', { workers: 2 }, ['workers']],
    ['cluster added', { cluster: { redis: 'redis://127.0.0.1:6379' } }, ['cluster']],
  ];
  for (const [name, over, want] of cases) t.same(restartRequired(running, load(over)), want, name);
});

t.test('certificate paths change in place; TLS turned off does not', async (t) => {
  const tls = load({ listeners: [{ port: 8080, host: '127.0.0.1', tls: { cert: '/a.crt', key: '/a.key' } }] });
  t.same(restartRequired(tls, load({ listeners: [{ port: 8080, host: '127.0.0.1', tls: { cert: '/b.crt', key: '/b.key', ca: '/ca.pem' } }] })), []);
  t.same(restartRequired(tls, running), ['listeners[0].tls']);
  t.same(restartRequired(load({ cluster: { redis: 'redis://127.0.0.1:1', name: 'a' } }), load({ cluster: { redis: 'redis://127.0.0.1:2', name: 'a' } })), ['cluster.redis']);
});

t.test('keys a cluster primary owns', async (t) => {
  t.same(['admin.port', 'workers', 'cluster', 'cluster.name', 'listeners[0].port', 'limits.max_header_bytes', 'adminx'].map(ownedByPrimary),
    [true, true, true, true, false, false, false]);
});
