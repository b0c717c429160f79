/**
 * The shaped accept on real listening servers: installed where Node's onconnection is the one it
 * copies, and again after a re-listen; an accepted socket is the same as one Node's own function
 * builds (options, no-delay, server fields, connection count, the diagnostics channel); past
 * maxConnections Node's own function drops the connection; a handle whose onconnection is not
 * Node's keeps it.
 */

import t from 'tap';
import diagnostics from 'node:diagnostics_channel';
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import { fingerprint, NODE_ONCONNECTION, shapeAccepts } from '../../src/edge/shaped-accept.js';
import { waitFor } from '../helpers/wait.js';

type Handle = { onconnection: (...args: never[]) => unknown };
const handleOf = (s: net.Server): Handle => (s as unknown as { _handle: Handle })._handle;

async function listen(server: net.Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as net.AddressInfo).port;
}

/** The accepted socket's state that Node's onconnection decides. */
function accepted(s: net.Socket): Record<string, unknown> {
  const sym = (name: string): unknown => {
    const k = Object.getOwnPropertySymbols(s).find((x) => x.description === name);
    return k === undefined ? 'absent' : (s as unknown as Record<symbol, unknown>)[k];
  };
  const owned = s as net.Socket & { server: unknown; _server: unknown };
  return {
    allowHalfOpen: s.allowHalfOpen,
    readableHighWaterMark: s.readableHighWaterMark,
    writableHighWaterMark: s.writableHighWaterMark,
    readableFlowing: s.readableFlowing,
    noDelay: sym('kSetNoDelay'),
    keepAlive: sym('kSetKeepAlive'),
    keepAliveDelay: sym('kSetKeepAliveInitialDelay'),
    ownServer: owned.server === owned._server,
    decodeStrings: (s as unknown as { _writableState: { decodeStrings: boolean } })._writableState.decodeStrings,
    autoDestroy: (s as unknown as { _readableState: { autoDestroy: boolean } })._readableState.autoDestroy,
    emitClose: (s as unknown as { _readableState: { emitClose: boolean } })._readableState.emitClose,
  };
}

async function acceptOne(server: net.Server, port: number): Promise<{ server: net.Socket; client: net.Socket }> {
  const got = once(server, 'connection') as Promise<[net.Socket]>;
  const client = net.connect(port, '127.0.0.1');
  client.on('error', () => {});
  const [socket] = await got;
  return { server: socket, client };
}

t.test("installed where Node's onconnection is the one copied, and the sockets are Node's", async (t) => {
  const probe = net.createServer();
  await listen(probe);
  const nodeOwn = fingerprint(handleOf(probe).onconnection);
  probe.close();
  t.equal(nodeOwn, NODE_ONCONNECTION, "this Node's onconnection is the one shaped-accept.ts copied (if not: compare the copy with lib/net.js, then update the fingerprint)");

  for (const opts of [{}, { keepAlive: true, keepAliveInitialDelay: 3000, highWaterMark: 4096, noDelay: false }]) {
    const plain = http.createServer(opts);
    const shaped = http.createServer(opts);
    const installed = shapeAccepts(shaped);
    const plainPort = await listen(plain);
    const shapedPort = await listen(shaped);
    t.teardown(() => { plain.close(); shaped.close(); plain.closeAllConnections(); shaped.closeAllConnections(); });
    t.ok(installed(), 'the copy is installed');
    t.equal(installed(), nodeOwn === NODE_ONCONNECTION);
    t.not(handleOf(shaped).onconnection, handleOf(plain).onconnection);

    const seen: unknown[] = [];
    const onSocket = (m: unknown): void => { seen.push((m as { socket: unknown }).socket); };
    diagnostics.subscribe('net.server.socket', onSocket);
    const a = await acceptOne(plain, plainPort);
    const b = await acceptOne(shaped, shapedPort);
    diagnostics.unsubscribe('net.server.socket', onSocket);
    t.same(accepted(b.server), accepted(a.server), `the same socket as Node builds (${JSON.stringify(opts)})`);
    t.equal((b.server as net.Socket & { server: unknown }).server, shaped);
    t.ok(seen.includes(b.server), "published on 'net.server.socket' like Node's");

    // Counted like Node's: getConnections sees it, and close() waits for it.
    const count = (s: net.Server): Promise<number> => new Promise((r) => s.getConnections((_e, n) => r(n)));
    t.equal(await count(shaped), 1);
    let closed = false;
    shaped.close(() => { closed = true; });
    await new Promise((r) => setTimeout(r, 50));
    t.notOk(closed, 'close() waits for the open connection');
    b.client.destroy();
    await waitFor(t, () => closed, { what: 'the server closed after its connection' });
    t.equal(await count(shaped), 0);
    a.client.destroy();
  }
});

t.test('a re-listen installs it on the new handle; past maxConnections Node drops', async (t) => {
  const server = net.createServer();
  const installed = shapeAccepts(server);
  const port = await listen(server);
  t.teardown(() => server.close());
  const first = handleOf(server);
  t.ok(installed());
  net.Server.prototype.close.call(server);
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  t.not(handleOf(server), first, 'a new handle');
  t.ok(installed(), 'shaped again');

  server.maxConnections = 1;
  const kept = await acceptOne(server, port);
  const dropped = once(server, 'drop');
  const extra = net.connect(port, '127.0.0.1');
  extra.on('error', () => {});
  const [data] = await dropped as [{ remotePort: number }];
  t.equal(data.remotePort, extra.localPort, "Node's own onconnection dropped the connection past the limit");
  await once(extra, 'close');
  kept.client.destroy();
  kept.server.destroy();
});

t.test("a handle whose onconnection is not Node's keeps it", async (t) => {
  const server = net.createServer();
  let calls = 0;
  // Registered first: replaces Node's function before shapeAccepts looks at it.
  server.on('listening', () => {
    const handle = handleOf(server);
    const own = handle.onconnection;
    handle.onconnection = function wrapped(this: unknown, ...args: never[]) { calls++; return own.apply(this, args); };
  });
  const installed = shapeAccepts(server);
  const port = await listen(server);
  t.teardown(() => server.close());
  t.notOk(installed(), 'not installed over another function');
  const c = await acceptOne(server, port);
  t.equal(calls, 1, 'the other function still accepts');
  c.client.destroy();
  c.server.destroy();
});
