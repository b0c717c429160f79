/** log.access for plain-HTTP exchanges on an `http: true` route: a GET and a POST (body bytes each way), an SSE stream ended by a drain (by the balancer), a long poll the client gives up (by the client, no status); refusals before any server get no line. */

import t, { type Test } from 'tap';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { stillFalseAfter, waitFor } from '../helpers/wait.js';
import type { Line } from '../helpers/log-capture.js';
import { FIELDS, startLogged, type Logged } from './helpers.js';

const EVENT = 'event: tick\ndata: {"n":1}\n\n';

/** An HTTP server named `b1`: /events streams two events and stays open, /poll never answers, anything else answers "hello" after reading the body. */
async function server(t: Test): Promise<{ url: string; polls: () => number }> {
  let polls = 0;
  const s = http.createServer((req, res) => {
    if (req.url === '/events') {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(EVENT);
      res.write(EVENT);
      return;
    }
    if (req.url === '/poll') { polls++; return; }
    req.resume();
    req.on('end', () => { res.writeHead(200, { 'content-type': 'text/plain' }); res.end('hello'); });
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  t.teardown(() => { s.closeAllConnections(); s.close(); });
  return { url: `ws://127.0.0.1:${(s.address() as AddressInfo).port}`, polls: () => polls };
}

async function logged(t: Test, access = true): Promise<{ l: Logged; polls: () => number; port: number }> {
  const be = await server(t);
  const l = await startLogged(t, { servers: [{ name: 'b1', url: be.url }], route: { http: true, match: { path: '/' } } }, access);
  return { l, polls: be.polls, port: l.b.proxyPort(0) };
}

/** One request; resolves with the status and the body bytes the client received. */
function request(port: number, method: string, path: string, body = ''): Promise<{ status: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, agent: false, headers: body ? { 'content-length': Buffer.byteLength(body) } : {} }, (res) => {
      let bytes = 0;
      res.on('data', (c: Buffer) => { bytes += c.length; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function lines(t: Test, l: Logged, n: number): Promise<Line[]> {
  await waitFor(t, () => l.access().length === n, { what: `${n} access line(s)` });
  return l.access();
}

function fields(t: Test, line: Line): Record<string, unknown> {
  t.same(Object.keys(line).filter((k) => k !== 'level' && k !== 'time' && k !== 'msg'), [...FIELDS], 'the documented fields, in order');
  t.type(line.duration_ms, 'number');
  const { level: _l, time: _t, msg: _m, duration_ms: _d, ...rest } = line;
  return rest;
}

const base = {
  kind: 'http', client: '127.0.0.1', route: 'r', pool: 'p', server: 'b1', http_version: '1.1',
  messages_in: null, messages_out: null, close_code: null, user: null,
};

t.test('a GET and a POST: status and body bytes each way, ended by the server', async (t) => {
  const { l, port } = await logged(t);
  const get = await request(port, 'GET', '/a');
  const post = await request(port, 'POST', '/b', 'abcdefghij');
  t.same([get, post], [{ status: 200, bytes: 5 }, { status: 200, bytes: 5 }]);
  const [a, b] = await lines(t, l, 2);
  t.same(fields(t, a!), { ...base, status: 200, bytes_in: 0, bytes_out: 5, close_by: 'server' });
  t.same(fields(t, b!), { ...base, status: 200, bytes_in: 10, bytes_out: 5, close_by: 'server' });
});

t.test('an SSE stream ended by a server drain: by the balancer, the event bytes out', async (t) => {
  const { l, port } = await logged(t);
  let got = 0;
  let ended = false;
  const req = http.get({ host: '127.0.0.1', port, path: '/events', agent: false }, (res) => {
    res.on('data', (c: Buffer) => { got += c.length; });
    res.on('end', () => { ended = true; });
  });
  req.on('error', () => {});
  t.teardown(() => req.destroy());
  await waitFor(t, () => got === 2 * EVENT.length, { what: 'two events' });
  void l.b.runtime.drainServer(l.b.runtime.pools.get('p')!.server('b1')!, 0);
  await waitFor(t, () => ended, { what: 'the stream ended cleanly' });
  const [line] = await lines(t, l, 1);
  t.same(fields(t, line!), { ...base, status: 200, bytes_in: 0, bytes_out: got, close_by: 'balancer' });
});

t.test('a long poll the client gives up: by the client, no status', async (t) => {
  const { l, port, polls } = await logged(t);
  const req = http.get({ host: '127.0.0.1', port, path: '/poll', agent: false });
  req.on('error', () => {});
  await waitFor(t, () => polls() === 1, { what: 'the poll reached the server' });
  req.destroy();
  const [line] = await lines(t, l, 1);
  t.same(fields(t, line!), { ...base, status: null, bytes_in: 0, bytes_out: 0, close_by: 'client' });
});

t.test('no line for a request refused before any server, nor with the log off', async (t) => {
  const { l, port } = await logged(t);
  l.b.runtime.draining = true;   // admission refuses: 503, no server contacted
  t.equal((await request(port, 'GET', '/x')).status, 503);
  l.b.runtime.draining = false;
  t.ok(await stillFalseAfter(() => l.access().length > 0, 200), 'a refusal gets no access line');

  const off = await logged(t, false);
  t.equal((await request(off.port, 'GET', '/y')).status, 200);
  t.ok(await stillFalseAfter(() => off.l.access().length > 0, 200), 'log.access: false writes none');
});
