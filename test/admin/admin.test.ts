/** Admin API error paths and auth: 401 without the bearer token, 404 unknown pool/server/endpoint, 405 wrong method, JSON errors, CSRF. */

import t, { type Test } from 'tap';
import { parse, stringify } from 'yaml';
import { startEchoBackends } from '../helpers/backend.js';
import { farmYaml, startBalancer } from '../helpers/balancer.js';
import type { Balancer } from '../../src/main.js';

const TOKEN = 's3cret-token';

async function call(b: Balancer, method: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; body: string; json: () => unknown }> {
  const res = await fetch(`http://127.0.0.1:${b.adminPort()}${path}`, { method, headers });
  const body = await res.text();
  return { status: res.status, headers: res.headers, body, json: () => JSON.parse(body) as unknown };
}

const errorCode = (r: { json: () => unknown }): string => (r.json() as { error: { code: string; message: string } }).error.code;

async function farm(t: Test, token = ''): Promise<Balancer> {
  const backends = await startEchoBackends(2, 'a');
  t.teardown(() => Promise.all(backends.map((b) => b.close())));
  const doc = parse(farmYaml({ servers: backends.map((be) => ({ name: be.name, url: be.url })) })) as { admin: Record<string, unknown> };
  doc.admin.token = token;
  return startBalancer(t, stringify(doc));
}

t.test('GET endpoints', async (t) => {
  const b = await farm(t);
  const health = await call(b, 'GET', '/healthz');
  t.equal(health.status, 200);
  t.equal(health.body, 'ok\n');
  const status = await call(b, 'GET', '/status');
  t.equal(status.status, 200);
  t.match(status.json(), {
    draining: false, connections: 0,
    listeners: [{ kind: 'proxy', address: '127.0.0.1' }],
    routes: [{ name: 'r', pool: 'p', algorithm: 'round-robin' }],
    pools: { p: { servers: [{ name: 'a-1', state: 'up', reason: null, weight: 1, active: 0 }, { name: 'a-2' }] } },
  });
  const metrics = await call(b, 'GET', '/metrics');
  t.equal(metrics.status, 200);
  t.match(metrics.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
  t.match(metrics.body, /^wslb_server_up\{pool="p",server="a-1"\} 1$/m);
  const head = await call(b, 'HEAD', '/metrics');
  t.equal(head.status, 200);
  t.equal(head.body, '');
  const page = await call(b, 'GET', '/');
  t.equal(page.status, 200);
  t.match(page.headers.get('content-type'), /^text\/html/);
  t.match(page.headers.get('content-security-policy'), /script-src 'self'/);
  t.match(page.body, /<script src="dashboard.js" defer><\/script>/);
  t.notMatch(page.body, /https?:\/\//, 'no external URL in the page');
  const js = await call(b, 'GET', '/dashboard.js');
  t.match(js.headers.get('content-type'), /^text\/javascript/);
  t.doesNotThrow(() => new Function(js.body), 'the script parses');
  t.notMatch(js.body, /https?:\/\/(?!www\.w3\.org\/2000\/svg)/, 'no external URL in the script');
  const css = await call(b, 'GET', '/dashboard.css');
  t.match(css.headers.get('content-type'), /^text\/css/);
});

t.test('unknown endpoint, pool, server: 404 with a JSON error', async (t) => {
  const b = await farm(t);
  for (const [path, code] of [
    ['/nope', 'WSLB_ERR_ADMIN_NOT_FOUND'],
    ['/pools/zz/servers/a-1/drain', 'WSLB_ERR_ADMIN_UNKNOWN_POOL'],
    ['/pools/p/servers/zz/drain', 'WSLB_ERR_ADMIN_UNKNOWN_SERVER'],
    ['/pools/p/servers/a-1/reboot', 'WSLB_ERR_ADMIN_NOT_FOUND'],
    ['/pools/p/servers/a-1/drain/x', 'WSLB_ERR_ADMIN_NOT_FOUND'],
  ] as const) {
    const r = await call(b, 'POST', path);
    t.equal(r.status, 404, path);
    t.match(r.headers.get('content-type'), /^application\/json/);
    t.equal(errorCode(r), code, path);
    t.type((r.json() as { error: { message: string } }).error.message, 'string');
  }
  const bad = await call(b, 'POST', '/pools/%E0%A4%A/servers/a-1/drain');
  t.equal(bad.status, 400);
  t.equal(errorCode(bad), 'WSLB_ERR_ADMIN_BAD_PATH');
  // Names are percent-decoded.
  t.equal((await call(b, 'POST', '/pools/p/servers/a%2D1/disable')).status, 204);
});

t.test('wrong method: 405 with Allow', async (t) => {
  const b = await farm(t);
  for (const [method, path, allow] of [
    ['GET', '/pools/p/servers/a-1/drain', 'POST'],
    ['PUT', '/pools/p/servers/a-1/enable', 'POST'],
    ['DELETE', '/pools/p/servers/a-1/disable', 'POST'],
    ['GET', '/reload', 'POST'],
    ['POST', '/metrics', 'GET, HEAD'],
    ['POST', '/status', 'GET, HEAD'],
    ['POST', '/healthz', 'GET, HEAD'],
    ['POST', '/', 'GET, HEAD'],
    ['POST', '/events', 'GET, HEAD'],
  ] as const) {
    const r = await call(b, method, path);
    t.equal(r.status, 405, `${method} ${path}`);
    t.equal(r.headers.get('allow'), allow);
    t.equal(errorCode(r), 'WSLB_ERR_ADMIN_METHOD');
  }
});

t.test('admin.token set: POSTs need the bearer token, GETs do not', async (t) => {
  const b = await farm(t, TOKEN);
  const server = b.runtime.pools.get('p')!.server('a-1')!;
  for (const auth of [undefined, 'Bearer wrong', `Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(0, -1)}`, TOKEN, `Basic ${TOKEN}`, 'Bearer ', `Bearer ${TOKEN} extra`]) {
    const r = await call(b, 'POST', '/pools/p/servers/a-1/disable', auth === undefined ? {} : { Authorization: auth });
    t.equal(r.status, 401, `Authorization: ${auth}`);
    t.equal(r.headers.get('www-authenticate'), 'Bearer realm="wslb"');
    t.equal(errorCode(r), 'WSLB_ERR_ADMIN_UNAUTHORIZED');
  }
  t.equal(server.state, 'up', 'nothing changed');
  // Unknown pool without the token: 401, not 404 (existence is not disclosed).
  t.equal((await call(b, 'POST', '/pools/zz/servers/a-1/drain')).status, 401);
  t.equal((await call(b, 'POST', '/reload')).status, 401);
  t.equal((await call(b, 'POST', '/pools/zz/servers/a-1/drain', { Authorization: `Bearer ${TOKEN}` })).status, 404);
  const ok = await call(b, 'POST', '/pools/p/servers/a-1/disable', { Authorization: `bearer  ${TOKEN}` });
  t.equal(ok.status, 204);
  t.equal(ok.body, '');
  t.equal(server.state, 'disabled');
  for (const path of ['/status', '/metrics', '/healthz', '/']) t.equal((await call(b, 'GET', path)).status, 200, `GET ${path} is open`);
});

t.test('a POST from another origin is refused (CSRF), same origin is fine', async (t) => {
  const b = await farm(t);
  const evil = await call(b, 'POST', '/pools/p/servers/a-1/disable', { Origin: 'http://evil.example' });
  t.equal(evil.status, 403);
  t.equal(errorCode(evil), 'WSLB_ERR_ADMIN_ORIGIN');
  t.equal(b.runtime.pools.get('p')!.server('a-1')!.state, 'up');
  const same = await call(b, 'POST', '/pools/p/servers/a-1/disable', { Origin: `http://127.0.0.1:${b.adminPort()}` });
  t.equal(same.status, 204);
});

t.test('POST /reload answers 501 when the process has no reload hook', async (t) => {
  const { AdminServer } = await import('../../src/admin/server.js');
  const b = await farm(t);
  const admin = new AdminServer(b.runtime, () => []);
  const a = await admin.listen(0, '127.0.0.1');
  t.teardown(() => admin.close());
  const res = await fetch(`http://127.0.0.1:${a.port}/reload`, { method: 'POST' });
  t.equal(res.status, 501);
  t.match(await res.json(), { error: { code: 'WSLB_ERR_ADMIN_NO_RELOAD' } });
});
