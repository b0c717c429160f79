/** log.access for tunnels: one line per finished tunnel, compared field by field with what the client and the server saw (bytes counted frame by frame), for a close by the client, by the server, by the balancer (drain 1012, idle 1001, message rate 1008) and without a close frame; none for a refused handshake or with the log off; the verified token's sub. */

import t, { type Test } from 'tap';
import { startEchoBackend, type EchoBackend } from '../helpers/backend-ws.js';
import { closeCodeOf, closeFrame, frame, OP, RawWs } from '../helpers/ws-frames.js';
import { rawRequest, upgradeRequest } from '../helpers/raw-client.js';
import { stillFalseAfter, waitFor } from '../helpers/wait.js';
import { sign, secret, tempDir } from '../auth/helpers.js';
import type { Line } from '../helpers/log-capture.js';
import { FIELDS, startLogged, yamlWith, type Logged } from './helpers.js';
import { loadConfigText } from '../../src/config/load.js';

async function backend(t: Test): Promise<EchoBackend> {
  const b = await startEchoBackend({ name: 'b1' });
  t.teardown(() => b.close());
  return b;
}

async function open(t: Test, l: Logged, extra: string[] = []): Promise<RawWs> {
  const ws = await RawWs.open(l.b.proxyPort(0), '/', extra);
  t.teardown(() => ws.socket.destroy());
  return ws;
}

async function oneLine(t: Test, l: Logged): Promise<Line> {
  await waitFor(t, () => l.access().length === 1, { what: 'one access line' });
  return l.access()[0]!;
}

/** The line less duration_ms (checked for type), for a field-by-field comparison. */
function fields(t: Test, line: Line): Record<string, unknown> {
  t.same(Object.keys(line).filter((k) => k !== 'level' && k !== 'time' && k !== 'msg'), [...FIELDS], 'the documented fields, in order');
  t.equal(line.level, 30, 'info');
  t.type(line.duration_ms, 'number');
  t.ok((line.duration_ms as number) >= 0);
  const { level: _l, time: _t, msg: _m, duration_ms: _d, ...rest } = line;
  return rest;
}

const base = { kind: 'websocket', client: '127.0.0.1', route: 'r', pool: 'p', server: 'b1', status: 101, http_version: '1.1', user: null };

t.test('the client closes: bytes each way as sent and received, frame headers included', async (t) => {
  const be = await backend(t);
  const l = await startLogged(t, { servers: [{ name: 'b1', url: be.url }] });
  const ws = await open(t, l);
  ws.write(frame(OP.TEXT, 'hello'));          // 2 + 4 + 5 = 11
  ws.write(frame(OP.BINARY, Buffer.alloc(300)));   // 2 + 2 + 4 + 300 = 308
  ws.write(frame(OP.PING, 'p'));              // 2 + 4 + 1 = 7 (the server answers a pong: 2 + 1 = 3)
  await waitFor(t, () => ws.of(OP.TEXT).length === 1 && ws.of(OP.BINARY).length === 1 && ws.of(OP.PONG).length === 1, { what: 'two echoes and a pong' });
  ws.write(closeFrame(1000, 'done'));         // 2 + 4 + 2 + 4 = 12
  await waitFor(t, () => ws.closed, { what: 'the close handshake ran and the connection closed' });
  t.equal(ws.sent, 11 + 308 + 7 + 12);
  t.equal(ws.received, 7 + 304 + 3 + 8, 'echoes 7 + 304, pong 3, the server\'s close 8');
  const line = await oneLine(t, l);
  t.same(fields(t, line), {
    ...base, bytes_in: ws.sent, bytes_out: ws.received, messages_in: 2, messages_out: 2, close_code: 1000, close_by: 'client',
  });
});

t.test('the server closes with 4000', async (t) => {
  const be = await backend(t);
  const l = await startLogged(t, { servers: [{ name: 'b1', url: be.url }] });
  const ws = await open(t, l);
  ws.write(frame(OP.TEXT, 'x'));
  await waitFor(t, () => be.received.length === 1 && ws.of(OP.TEXT).length === 1, { what: 'one echo' });
  for (const c of be.wss.clients) c.close(4000, 'bye');
  await waitFor(t, () => ws.close !== undefined, { what: "the server's close frame" });
  ws.write(closeFrame(4000));
  await waitFor(t, () => ws.closed, { what: 'closed' });
  const line = await oneLine(t, l);
  t.same(fields(t, line), {
    ...base, bytes_in: 7 + 8, bytes_out: 3 + 7, messages_in: 1, messages_out: 1, close_code: 4000, close_by: 'server',
  });
  t.equal(line.bytes_in, ws.sent);
  t.equal(line.bytes_out, ws.received);
});

t.test('the balancer closes: a server drain (1012), its close frame counted out', async (t) => {
  const be = await backend(t);
  const l = await startLogged(t, { servers: [{ name: 'b1', url: be.url }] });
  const ws = await open(t, l);
  ws.write(frame(OP.TEXT, 'abc'));
  await waitFor(t, () => ws.of(OP.TEXT).length === 1, { what: 'one echo' });
  void l.b.runtime.drainServer(l.b.runtime.pools.get('p')!.server('b1')!, 0);
  await waitFor(t, () => ws.close !== undefined, { what: 'the balancer\'s close frame' });
  t.equal(closeCodeOf(ws.close!), 1012);
  // The balancer's close frame is followed by its FIN: the client leaves without answering.
  await waitFor(t, () => ws.closed, { what: 'closed' });
  const line = await oneLine(t, l);
  t.same(fields(t, line), {
    ...base, bytes_in: 9, bytes_out: 5 + 4, messages_in: 1, messages_out: 1, close_code: 1012, close_by: 'balancer',
  });
  t.equal(line.bytes_out, ws.received);
});

t.test('the balancer closes an idle tunnel (1001)', async (t) => {
  const be = await backend(t);
  const l = await startLogged(t, { servers: [{ name: 'b1', url: be.url }], timeouts: { idle: '200ms' } });
  const ws = await open(t, l);
  await waitFor(t, () => ws.close !== undefined, { what: 'closed for idleness' });
  t.equal(closeCodeOf(ws.close!), 1001);
  const line = await oneLine(t, l);
  t.same(fields(t, line), { ...base, bytes_in: 0, bytes_out: 4, messages_in: 0, messages_out: 0, close_code: 1001, close_by: 'balancer' });
});

t.test('the balancer closes over the message rate (1008): only the messages let through count', async (t) => {
  const be = await backend(t);
  const l = await startLogged(t, { servers: [{ name: 'b1', url: be.url }], limits: { messages_per_second: 2 } });
  const started = performance.now();
  const ws = await open(t, l);
  // Two tokens, plus one per 500 ms a loaded machine may let pass between the 101 and the burst: 12 run the bucket dry.
  const burst = Buffer.concat(Array.from({ length: 12 }, (_, i) => frame(OP.TEXT, `m${i}`)));
  ws.write(burst);
  await waitFor(t, () => ws.close !== undefined, { what: 'closed' });
  const refilled = Math.floor(((performance.now() - started) / 1000) * 2);
  ws.socket.end();
  const line = await oneLine(t, l);
  t.equal(line.close_code, 1008);
  t.equal(line.close_by, 'balancer');
  const through = line.messages_in as number;
  t.ok(through >= 2 && through <= 2 + refilled, `only the messages let through count (${through}: 2 tokens, ${refilled} refilled)`);
  t.equal(line.bytes_in, burst.length, 'every byte read from the client counts, the refused frame too');
  t.equal(line.bytes_out, ws.received, 'what the client got (its close frame, maybe echoes)');
});

t.test('no close frame: the client resets, close_code 1006 by the client', async (t) => {
  const be = await backend(t);
  const l = await startLogged(t, { servers: [{ name: 'b1', url: be.url }] });
  const ws = await open(t, l);
  ws.write(frame(OP.TEXT, 'zz'));
  await waitFor(t, () => ws.of(OP.TEXT).length === 1, { what: 'one echo' });
  ws.socket.resetAndDestroy();
  const line = await oneLine(t, l);
  t.same(fields(t, line), { ...base, bytes_in: 8, bytes_out: 4, messages_in: 1, messages_out: 1, close_code: 1006, close_by: 'client' });
});

t.test('no line with log.access off, none for a refused handshake', async (t) => {
  const be = await backend(t);
  const off = await startLogged(t, { servers: [{ name: 'b1', url: be.url }] }, false);
  const ws = await open(t, off);
  ws.write(closeFrame(1000));
  await waitFor(t, () => ws.closed, { what: 'closed' });
  t.ok(await stillFalseAfter(() => off.access().length > 0, 200), 'no access line with log.access: false');

  const on = await startLogged(t, { servers: [{ name: 'b1', url: be.url }], route: { match: { path: '/only' } } });
  const r = await rawRequest(on.b.proxyPort(0), upgradeRequest('/elsewhere'));
  t.equal(r.status, 404);
  t.ok(await stillFalseAfter(() => on.access().length > 0, 200), 'a refused handshake gets no access line');
});

t.test('reload: turning log.access on applies to tunnels opened after it; turning it off silences every tunnel at once', async (t) => {
  const be = await backend(t);
  const spec = { servers: [{ name: 'b1', url: be.url }] };
  const l = await startLogged(t, spec, false);
  const reload = async (access: boolean): Promise<void> => {
    const out = await l.b.reload(process.env, () => loadConfigText(yamlWith(spec, { log: { level: 'info', access } }), 'test.yaml', {}));
    t.ok(out.ok, `reloaded with access: ${access}`);
  };
  const before = await open(t, l);
  await reload(true);
  const after = await open(t, l);
  const later = await open(t, l);
  before.write(closeFrame(1000, 'before'));
  after.write(closeFrame(1000, 'after'));
  await waitFor(t, () => before.closed && after.closed, { what: 'both closed' });
  await waitFor(t, () => l.access().length === 1, { what: 'one line' });
  t.equal(l.access()[0]!.bytes_in, after.sent, 'the line is the tunnel opened after the reload');
  await reload(false);
  later.write(closeFrame(1000));
  await waitFor(t, () => later.closed, { what: 'closed' });
  t.ok(await stillFalseAfter(() => l.access().length > 1, 200), 'no line once the log is off again');
});

t.test("user: the verified token's sub", async (t) => {
  const be = await backend(t);
  const d = tempDir(t);
  const key = secret();
  const l = await startLogged(t, { servers: [{ name: 'b1', url: be.url }], route: { auth: { jwt: { keys: d.write('secret', key) } } } });
  const token = await sign(key, { sub: 'alice' });
  const ws = await open(t, l, [`Authorization: Bearer ${token}`]);
  ws.write(closeFrame(1000));
  const line = await oneLine(t, l);
  t.equal(line.user, 'alice');
  t.equal(line.close_by, 'client');
});
