/** One table of admin requests against a lone process and against `workers: 2`: the same statuses, error codes, messages and headers from both routers' single implementation. */

import t, { type Test } from 'tap';
import http from 'node:http';
import net from 'node:net';
import { startChildServer } from '../helpers/server-process.js';
import { waitFor } from '../helpers/wait.js';
import { clusterYaml, startInstance, type Instance } from '../cluster/helpers.js';

const TOKEN = 'sesame';
const AUTH = { authorization: `Bearer ${TOKEN}` };

interface Row {
  readonly method: string;
  readonly path: string;
  /** `port`: the admin port, for a same-origin header. */
  readonly headers?: (port: number) => Record<string, string>;
  readonly status: number;
  readonly code?: string;
  readonly allow?: string;
}

/** Every row answers the same in both modes. */
const ROWS: readonly Row[] = [
  { method: 'GET', path: '/nope', status: 404, code: 'WSLB_ERR_ADMIN_NOT_FOUND' },
  { method: 'POST', path: '/pools/p/servers/s1/reboot', status: 404, code: 'WSLB_ERR_ADMIN_NOT_FOUND' },
  { method: 'POST', path: '/pools/p/servers/s1/drain/x', headers: () => AUTH, status: 404, code: 'WSLB_ERR_ADMIN_NOT_FOUND' },
  { method: 'POST', path: '/status', status: 405, code: 'WSLB_ERR_ADMIN_METHOD', allow: 'GET, HEAD' },
  { method: 'DELETE', path: '/metrics', status: 405, code: 'WSLB_ERR_ADMIN_METHOD', allow: 'GET, HEAD' },
  { method: 'POST', path: '/healthz', status: 405, code: 'WSLB_ERR_ADMIN_METHOD', allow: 'GET, HEAD' },
  { method: 'POST', path: '/events', status: 405, code: 'WSLB_ERR_ADMIN_METHOD', allow: 'GET, HEAD' },
  { method: 'POST', path: '/', status: 405, code: 'WSLB_ERR_ADMIN_METHOD', allow: 'GET, HEAD' },
  { method: 'GET', path: '/reload', status: 405, code: 'WSLB_ERR_ADMIN_METHOD', allow: 'POST' },
  { method: 'PUT', path: '/pools/p/servers/s1/enable', status: 405, code: 'WSLB_ERR_ADMIN_METHOD', allow: 'POST' },
  // The token is checked before anything else of a POST: an unknown pool is not disclosed.
  { method: 'POST', path: '/pools/p/servers/s1/disable', status: 401, code: 'WSLB_ERR_ADMIN_UNAUTHORIZED' },
  { method: 'POST', path: '/pools/zz/servers/s1/drain', headers: () => ({ authorization: 'Bearer wrong' }), status: 401, code: 'WSLB_ERR_ADMIN_UNAUTHORIZED' },
  { method: 'POST', path: '/reload', status: 401, code: 'WSLB_ERR_ADMIN_UNAUTHORIZED' },
  { method: 'POST', path: '/pools/p/servers/s1/disable', headers: () => ({ ...AUTH, origin: 'http://evil.example' }), status: 403, code: 'WSLB_ERR_ADMIN_ORIGIN' },
  { method: 'POST', path: '/pools/p/servers/s1/disable', headers: () => ({ ...AUTH, origin: 'null' }), status: 403, code: 'WSLB_ERR_ADMIN_ORIGIN' },
  { method: 'POST', path: '/pools/zz/servers/s1/drain', headers: (port) => ({ ...AUTH, origin: `http://127.0.0.1:${port}` }), status: 404, code: 'WSLB_ERR_ADMIN_UNKNOWN_POOL' },
  { method: 'POST', path: '/pools/p/servers/zz/disable', headers: () => AUTH, status: 404, code: 'WSLB_ERR_ADMIN_UNKNOWN_SERVER' },
  { method: 'POST', path: '/pools/%E0%A4%A/servers/s1/drain', headers: () => AUTH, status: 400, code: 'WSLB_ERR_ADMIN_BAD_PATH' },
  { method: 'POST', path: '/pools/p/servers/s%31/disable', headers: () => AUTH, status: 204 },
  { method: 'POST', path: '/pools/p/servers/s1/enable', headers: () => AUTH, status: 204 },
  { method: 'POST', path: '/reload', headers: () => AUTH, status: 200 },
  { method: 'GET', path: '/healthz', status: 200 },
  { method: 'HEAD', path: '/status', status: 200 },
  { method: 'GET', path: '/status?x=1', status: 200 },
  { method: 'GET', path: '/metrics', status: 200 },
];

interface Answer { status: number; headers: http.IncomingHttpHeaders; body: string }

/** One request on its own connection (no agent): concurrent calls are concurrent requests. */
function request(port: number, method: string, path: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Writes `head` as is on a new connection; resolves with everything the server sent until it closed. */
function rawRequest(port: number, head: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(head));
    let got = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => { got += d; });
    socket.on('end', () => resolve(got));
    socket.on('error', reject);
  });
}

/** What a row is compared on across modes: status, Allow, WWW-Authenticate and the whole error body. */
interface Seen { row: string; status: number; allow?: string | undefined; authenticate?: string | undefined; error?: unknown }

async function runTable(t: Test, inst: Instance): Promise<Seen[]> {
  const seen: Seen[] = [];
  for (const [i, row] of ROWS.entries()) {
    const sent = row.headers?.(inst.admin);
    // Header names only: the values may hold the admin port, which differs between modes.
    const name = `${i}: ${row.method} ${row.path}${sent ? ` (${Object.keys(sent).join(', ')})` : ''}`;
    const a = await request(inst.admin, row.method, row.path, sent);
    t.equal(a.status, row.status, name);
    const s: Seen = { row: name, status: a.status };
    if (row.code) {
      t.match(a.headers['content-type'], /^application\/json/, `${name}: JSON error`);
      const doc = JSON.parse(a.body) as { error: { code: string; message: string } };
      t.equal(doc.error.code, row.code, `${name}: code`);
      t.type(doc.error.message, 'string');
      s.error = doc;
    }
    if (row.allow) t.equal(a.headers['allow'], row.allow, `${name}: Allow`);
    if (row.status === 401) t.equal(a.headers['www-authenticate'], 'Bearer realm="wslb"', `${name}: WWW-Authenticate`);
    s.allow = a.headers['allow'];
    s.authenticate = a.headers['www-authenticate'];
    seen.push(s);
  }
  // HTTP/1.0 may omit Host: an Origin then has nothing to match, even one whose host is empty.
  const noHost = await rawRequest(inst.admin, `POST /pools/p/servers/s1/disable HTTP/1.0\r\nAuthorization: Bearer ${TOKEN}\r\nOrigin: file://\r\n\r\n`);
  t.match(noHost, /^HTTP\/1\.1 403 /, 'an Origin without a Host is refused');
  t.match(noHost, /"code":"WSLB_ERR_ADMIN_ORIGIN"/);
  seen.push({ row: 'POST without Host, Origin: file://', status: Number(noHost.slice(9, 12)), error: noHost.slice(noHost.indexOf('\r\n\r\n') + 4) });
  // Each refusal is logged (rate-limited: the first at once) with the path and the caller.
  const refused = await inst.cli.waitFor((l) => l['msg'] === 'admin unauthorized');
  t.match(refused, { path: '/pools/p/servers/s1/disable', client: '127.0.0.1', status: 401, reason: 'WSLB_ERR_ADMIN_UNAUTHORIZED' });
  return seen;
}

/** A warm render, then `n` concurrent /metrics and /status requests: more than 64 wait for the next render, the rest get 503 with it. */
async function storm(t: Test, inst: Instance, n: number): Promise<void> {
  t.equal((await request(inst.admin, 'GET', '/metrics')).status, 200, 'warm');
  const answers = await Promise.all(Array.from({ length: n }, (_, i) => request(inst.admin, 'GET', i % 2 ? '/status' : '/metrics')));
  const over = answers.filter((a) => a.status === 503);
  t.ok(over.length > 0, `${over.length} of ${n} over the bound`);
  t.equal(answers.filter((a) => a.status === 200).length + over.length, n, 'the others answered 200');
  for (const a of over) {
    t.equal(a.headers['retry-after'], '1');
    t.equal((JSON.parse(a.body) as { error: { code: string } }).error.code, 'WSLB_ERR_ADMIN_OVERLOADED');
  }
  t.equal((await request(inst.admin, 'GET', '/metrics')).status, 200, 'the slots came back');
}

/** SIGTERM with a shutdown grace: /healthz 503 `shutting down` while /status says so. */
async function graceHealth(t: Test, inst: Instance): Promise<void> {
  inst.cli.child.kill('SIGTERM');
  // Inside the 4 s grace, with room for a loaded machine: /status below must still find the grace phase.
  await waitFor(t, async () => (await request(inst.admin, 'GET', '/healthz')).status === 503, { ms: 2000, what: '/healthz turns 503' });
  const health = await request(inst.admin, 'GET', '/healthz');
  t.same({ status: health.status, body: health.body }, { status: 503, body: 'shutting down\n' });
  const doc = JSON.parse((await request(inst.admin, 'GET', '/status')).body) as { draining: boolean; shutting_down: { phase: string } | null };
  t.match(doc, { draining: true, shutting_down: { phase: 'grace' } });
  t.equal(await inst.cli.exited, 0, 'exit 0 after the grace and the drain');
}

async function start(t: Test, workers: number): Promise<Instance> {
  const back = await startChildServer(t, 's1');
  const extra = { ...(workers > 1 ? { workers } : {}), admin: { port: 0, host: '127.0.0.1', token: TOKEN }, timeouts: { drain: '200ms', shutdown_grace: '4s' } };
  return startInstance(t, clusterYaml([{ name: back.name, url: back.url }], extra), workers);
}

const seen: Record<string, Seen[]> = {};

for (const [mode, workers] of [['lone process', 1], ['workers: 2', 2]] as const) {
  t.test(`${mode}: the admin table`, async (t) => {
    const inst = await start(t, workers);
    seen[mode] = await runTable(t, inst);
    const restart = await request(inst.admin, 'GET', '/workers/restart');
    // The one endpoint that exists only in a tree: 405 there, unknown (404) in a lone process.
    t.equal(restart.status, workers > 1 ? 405 : 404, 'GET /workers/restart');
    await storm(t, inst, 200);
    await graceHealth(t, inst);
  });
}

t.test('both modes gave the same answers, row by row', async (t) => {
  t.ok(seen['lone process'] && seen['workers: 2'], 'both tables ran');
  t.same(seen['workers: 2'], seen['lone process']);
});
