/** Smoke tests of the test backends: each mode answers exactly the way e2e tests expect it to. */

import t from 'tap';
import http from 'node:http';
import { WebSocket } from 'ws';
import { startBackend, startEchoBackends, SECRET_BODY, RAW_MODES } from './backend.js';
import { rawRequest, upgradeRequest, wsAccept, wsKey, parseResponse } from './raw-client.js';

function open(url: string, protocols: string[] = [], opts: WebSocket.ClientOptions = {}): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols, { perMessageDeflate: false, ...opts });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

function nextMessage(ws: WebSocket): Promise<{ data: Buffer; isBinary: boolean }> {
  return new Promise((resolve) => ws.once('message', (data, isBinary) => resolve({ data: data as Buffer, isBinary })));
}

function httpGet(port: number, path: string): Promise<{ status: number; body: string; server: string }> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, server: String(res.headers['x-server']) }));
    }).on('error', reject);
  });
}

t.test('echo: echoes text as text and binary as binary, logs handshakes, answers /whoami', async (t) => {
  const b = await startBackend({ name: 'alpha', handleProtocols: (p) => (p.has('chat') ? 'chat' : false) });
  t.teardown(() => b.close());
  t.equal(b.url, `ws://127.0.0.1:${b.port}`);
  const ws = await open(b.url + '/x?y=1', ['chat', 'other']);
  t.equal(ws.protocol, 'chat');
  ws.send('hello');
  let m = await nextMessage(ws);
  t.same([m.data.toString(), m.isBinary], ['hello', false]);
  ws.send(Buffer.from([1, 2, 3]));
  m = await nextMessage(ws);
  t.same([[...m.data], m.isBinary], [[1, 2, 3], true]);
  t.equal(b.connections, 1);
  t.equal(b.active, 1);
  t.equal(b.accepted, 1);
  t.equal(b.handshakes.length, 1);
  t.equal(b.handshakes[0]!['sec-websocket-protocol'], 'chat,other');
  t.same(b.received.map((x) => x.length), [5, 3]);
  const who = await httpGet(b.port, '/whoami');
  t.same(who, { status: 200, body: 'alpha', server: 'alpha' });
  t.equal(b.requests[0]!.url, '/whoami');
  const closed = new Promise((resolve) => ws.once('close', resolve));
  ws.close(1000);
  await closed;
});

t.test('echo: permessage-deflate only when asked', async (t) => {
  const [plain, deflate] = [await startBackend({ name: 'p' }), await startBackend({ name: 'd', perMessageDeflate: true })];
  t.teardown(async () => { await plain.close(); await deflate.close(); });
  const a = await open(plain.url, [], { perMessageDeflate: true });
  const b = await open(deflate.url, [], { perMessageDeflate: true });
  t.equal(a.extensions, '');
  t.match(b.extensions, /permessage-deflate/);
  b.send('x'.repeat(1000));
  t.equal((await nextMessage(b)).data.toString(), 'x'.repeat(1000));
  a.terminate();
  b.terminate();
});

t.test('startEchoBackends names them in order', async (t) => {
  const bs = await startEchoBackends(2, 'node');
  t.teardown(() => Promise.all(bs.map((b) => b.close())));
  t.same(bs.map((b) => b.name), ['node-1', 'node-2']);
  t.same(await Promise.all(bs.map((b) => httpGet(b.port, '/whoami').then((r) => r.body))), ['node-1', 'node-2']);
});

t.test('refuse: nobody listens, nothing accepted', async (t) => {
  const b = await startBackend({ mode: 'refuse' });
  await t.rejects(rawRequest(b.port, upgradeRequest()), { code: 'ECONNREFUSED' });
  t.equal(b.accepted, 0);
  await b.close();
});

t.test('silent: accepts, reads, never answers', async (t) => {
  const b = await startBackend({ mode: 'silent', name: 'mute' });
  t.teardown(() => b.close());
  const r = await rawRequest(b.port, upgradeRequest('/quiet'), { timeoutMs: 300 });
  t.equal(r.timedOut, true);
  t.equal(r.raw, '');
  t.equal(b.accepted, 1);
  t.equal(b.name, 'mute');
  t.equal(b.requests[0]!.url, '/quiet');
  t.ok(Buffer.concat(b.received).toString().startsWith('GET /quiet HTTP/1.1'));
});

t.test('status-426-keepalive: answers a pipelined second request with the secret', async (t) => {
  const b = await startBackend({ mode: 'status-426-keepalive' });
  t.teardown(() => b.close());
  // The window must hold both answers even on a loaded machine; the connection must still be open at its end.
  const r = await rawRequest(b.port, upgradeRequest() + 'GET /internal HTTP/1.1\r\nHost: x\r\n\r\n', { timeoutMs: 1500 });
  t.equal(r.status, 426);
  t.equal(r.headers['connection'], 'keep-alive');
  t.equal(r.timedOut, true, 'kept alive');
  t.match(r.body, /^upgrade required/);
  t.ok(r.raw.includes(SECRET_BODY));
  t.same(b.requests.map((q) => q.url), ['/', '/internal']);
});

t.test('bad-accept: 101 with an accept that does not match the key', async (t) => {
  const b = await startBackend({ mode: 'bad-accept' });
  t.teardown(() => b.close());
  const key = wsKey();
  const r = await rawRequest(b.port, upgradeRequest('/', [], key), { untilHead: true });
  t.equal(r.status, 101);
  t.equal(r.headers['upgrade'], 'websocket');
  t.not(r.headers['sec-websocket-accept'], wsAccept(key));
  await t.rejects(open(b.url), /Invalid Sec-WebSocket-Accept/);
});

t.test('h2c: 101 switching to h2c with a correct accept', async (t) => {
  const b = await startBackend({ mode: 'h2c' });
  t.teardown(() => b.close());
  const key = wsKey();
  const r = await rawRequest(b.port, upgradeRequest('/', [], key), { untilHead: true });
  t.equal(r.status, 101);
  t.equal(r.headers['upgrade'], 'h2c');
  t.equal(r.headers['sec-websocket-accept'], wsAccept(key));
});

t.test('unoffered-protocol: picks a subprotocol nobody offered', async (t) => {
  const b = await startBackend({ mode: 'unoffered-protocol' });
  t.teardown(() => b.close());
  const key = wsKey();
  const r = await rawRequest(b.port, upgradeRequest('/', ['Sec-WebSocket-Protocol: chat'], key), { untilHead: true });
  t.equal(r.headers['sec-websocket-accept'], wsAccept(key));
  t.equal(r.headers['sec-websocket-protocol'], 'nope');
  t.equal(b.handshakes[0]!['sec-websocket-protocol'], 'chat');
  await t.rejects(open(b.url, ['chat']), /invalid subprotocol/);
});

t.test('bare-101: status 101 and no upgrade headers', async (t) => {
  const b = await startBackend({ mode: 'bare-101' });
  t.teardown(() => b.close());
  const r = await rawRequest(b.port, upgradeRequest(), { untilHead: true });
  t.equal(r.status, 101);
  t.same(r.headers, {});
});

t.test('status-500: a 500 with body boom, then close', async (t) => {
  const b = await startBackend({ mode: 'status-500' });
  t.teardown(() => b.close());
  const r = await rawRequest(b.port, upgradeRequest());
  t.equal(r.status, 500);
  t.equal(r.body, 'boom');
  t.equal(r.timedOut, false);
});

t.test('hello-with-101: the first frame arrives with the 101 and a close is answered', async (t) => {
  const b = await startBackend({ mode: 'hello-with-101' });
  t.teardown(() => b.close());
  const ws = new WebSocket(b.url, { perMessageDeflate: false });
  const first = await nextMessage(ws);
  t.same([first.data.toString(), first.isBinary], ['hi', false]);
  const code = await new Promise((resolve) => { ws.once('close', resolve); ws.close(1000); });
  t.equal(code, 1005, 'empty close frame from the server');
  t.equal(b.accepted, 1);
});

t.test('every raw mode is listed and parseResponse tolerates garbage', async (t) => {
  t.equal(RAW_MODES.length, 9);
  t.same(parseResponse('garbage'), { status: 0, headers: {}, body: '', raw: 'garbage', timedOut: false });
  const r = parseResponse('HTTP/1.1 200 OK\r\nA: 1\r\na: 2\r\nbad\r\n\r\nz');
  t.same([r.status, r.headers, r.body], [200, { a: '1, 2' }, 'z']);
});
