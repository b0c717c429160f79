// match.transport end to end: upgrades and plain HTTP on one path go to different pools (and algorithms); a request no route accepts for its transport gets 404.
import t from 'tap';
import http from 'node:http';
import { stringify } from 'yaml';
import { startEchoBackends } from '../helpers/backend.js';
import { startBalancer } from '../helpers/balancer.js';
import { echo, openWs } from '../helpers/hardening.js';

function get(port: number, path: string): Promise<{ status: number; body: string; error?: string }> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, ...(res.headers['x-wslb-error'] ? { error: String(res.headers['x-wslb-error']) } : {}) }));
    }).on('error', reject);
  });
}

t.test('one path, two routes: upgrades to one pool, plain HTTP to the other', async (t) => {
  const [w1, w2, h1] = await startEchoBackends(3, 'x');
  t.teardown(() => Promise.all([w1!.close(), w2!.close(), h1!.close()]));
  const b = await startBalancer(t, stringify({
    listeners: [{ port: 0, host: '127.0.0.1' }],
    admin: { port: 0, host: '127.0.0.1' },
    log: { level: 'silent' },
    limits: { handshakes_per_ip: '1000000/s' },
    pools: {
      ws: { algorithm: 'least-connections', health: { check: 'none' }, servers: [{ name: 'w1', url: w1!.url }, { name: 'w2', url: w2!.url }] },
      web: { health: { check: 'none' }, servers: [{ name: 'h1', url: h1!.url }] },
    },
    routes: [
      { name: 'live-ws', match: { path: '/live', transport: 'websocket' }, pool: 'ws', algorithm: 'round-robin' },
      { name: 'live-http', match: { path: '/live', transport: 'http' }, pool: 'web', http: true },
      { name: 'ws-only', match: { path: '/ws', transport: 'websocket' }, pool: 'ws' },
      { name: 'http-only', match: { path: '/poll', transport: 'http' }, pool: 'web', http: true },
    ],
  }));
  const port = b.proxyPort();

  const a = await openWs(`ws://127.0.0.1:${port}/live`);
  const c = await openWs(`ws://127.0.0.1:${port}/live`);
  t.equal(await echo(a, 'one'), 'one');
  t.equal(await echo(c, 'two'), 'two');
  t.equal(w1!.connections + w2!.connections, 2, 'both upgrades went to the websocket pool');
  t.equal(w1!.connections, 1, 'spread by the route\'s round-robin');
  t.equal(h1!.connections, 0);
  a.close();
  c.close();

  const plain = await get(port, '/live/poll?t=1');
  t.same(plain, { status: 200, body: 'x-3' }, 'plain HTTP on the same path went to the http pool');
  t.equal(w1!.requests.length + w2!.requests.length, 0);

  const noHttp = await get(port, '/ws');
  t.same([noHttp.status, noHttp.error], [404, 'WSLB_ERR_NO_ROUTE'], 'plain request on a websocket-only path: 404 as if no route matched');
  const noWs = await openWs(`ws://127.0.0.1:${port}/poll`).then(() => 0, (e: { status: number; headers: Record<string, string> }) => [e.status, e.headers['x-wslb-error']]);
  t.same(noWs, [404, 'WSLB_ERR_NO_ROUTE'], 'upgrade on an http-only path: 404');
  t.equal(h1!.connections, 0, 'no server contacted for the refused upgrade');
});
