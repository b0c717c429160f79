/**
 * Sockets keep one hidden class. Node's Socket constructor adds to its options copy exactly the
 * fields SOCKET_DEFAULTS holds, with those values (read from Node's own source, so a Node that
 * changes them fails here). Through a real balancer, the listener builds its sockets with shaped
 * options, a client socket has every wslb field from its accept on and a server socket from its
 * connect on, in the order the shape gives, and no field is added later.
 */

import t from 'tap';
import diagnostics from 'node:diagnostics_channel';
import net from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { startBalancer } from '../helpers/balancer.js';
import { waitFor } from '../helpers/wait.js';
import { connectOptions, shapeClient, shapeUpstream, SOCKET_DEFAULTS } from '../../src/tunnel/socket-shape.js';
import { SHARED_READ } from '../../src/tunnel/upstream-read.js';

const wslbKeys = (s: object): string[] => Object.keys(s).filter((k) => k.startsWith('wslb'));

t.test("the fields Node's Socket constructor adds to its copy of the options", async (t) => {
  const m = /options = \{ \.\.\.options \};([\s\S]*?)stream\.Duplex\.call/.exec(net.Socket.toString());
  if (!t.ok(m, "Node's Socket constructor copies its options with a spread (if not, socket-shape.ts's reason is gone: measure again)")) return;
  const added = [...m![1]!.matchAll(/options\.(\w+) = ([^;]+);/g)].map(([, k, v]) => [k!, v!] as const);
  t.same(added.map(([k]) => k), Object.keys(SOCKET_DEFAULTS), 'the same fields, in the same order');
  for (const [k, v] of added) {
    const expected = k === 'allowHalfOpen' ? 'Boolean(options.allowHalfOpen)' : String(SOCKET_DEFAULTS[k as keyof typeof SOCKET_DEFAULTS]);
    t.equal(v, expected, `options.${k}`);
  }
  t.equal(Boolean(undefined), SOCKET_DEFAULTS.allowHalfOpen, 'allowHalfOpen: what Node makes of an absent one');

  const plain = connectOptions('127.0.0.1', 9) as unknown as Record<string, unknown>;
  t.same(plain, { host: '127.0.0.1', port: 9, ...SOCKET_DEFAULTS });
  const shared = connectOptions('127.0.0.1', 9, SHARED_READ) as unknown as Record<string, unknown>;
  t.equal(shared.onread, SHARED_READ);
  for (const k of Object.keys(SOCKET_DEFAULTS)) t.equal(shared[k], SOCKET_DEFAULTS[k as keyof typeof SOCKET_DEFAULTS], `onread options: ${k}`);
});

t.test('through a balancer: every field from the start, one order, none added later', async (t) => {
  const backend = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise<void>((r) => backend.once('listening', () => r()));
  backend.on('connection', (ws) => {
    ws.send('hello');   // a greeting, now or right after the 101: bytes that may come before the tunnel reads
    ws.on('message', (data, binary) => ws.send(data, { binary }));
  });
  t.teardown(() => backend.close());
  const backendPort = (backend.address() as net.AddressInfo).port;
  const b = await startBalancer(t, { servers: [{ name: 's', url: `ws://127.0.0.1:${backendPort}` }] });
  const port = b.proxyPort();

  const clients: { socket: net.Socket; atAccept: string[] }[] = [];
  const servers: { socket: net.Socket; atConnect: string[] | null }[] = [];
  const onAccept = (m: unknown): void => {
    const socket = (m as { socket: net.Socket }).socket;
    if (socket.localPort === port) clients.push({ socket, atAccept: wslbKeys(socket) });
  };
  const onConnect = (m: unknown): void => {
    const socket = (m as { socket: net.Socket }).socket;
    const entry: { socket: net.Socket; atConnect: string[] | null } = { socket, atConnect: null };
    servers.push(entry);
    // Registered before the balancer's own listener: the fields as they are when the connect completes.
    socket.once('connect', () => { entry.atConnect = wslbKeys(socket); });
  };
  diagnostics.subscribe('net.server.socket', onAccept);
  diagnostics.subscribe('net.client.socket', onConnect);
  t.teardown(() => { diagnostics.unsubscribe('net.server.socket', onAccept); diagnostics.unsubscribe('net.client.socket', onConnect); });

  const opened: WebSocket[] = [];
  for (let i = 0; i < 4; i++) {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
    t.teardown(() => ws.terminate());
    const got: string[] = [];
    ws.on('message', (d) => got.push(String(d)));
    await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject); });
    ws.send(`m${i}`);
    await waitFor(t, () => got.includes(`m${i}`), { what: `the echo through tunnel ${i}` });
    opened.push(ws);
  }

  const freshClient = new net.Socket();
  shapeClient(freshClient);
  const freshServer = new net.Socket();
  shapeUpstream(freshServer);
  const clientOrder = wslbKeys(freshClient);
  const serverOrder = wslbKeys(freshServer);

  t.equal(clients.length, 4, 'four accepted client sockets');
  const listening = (clients[0]?.socket as (net.Socket & { server?: { _handle?: { wslbShaped?: boolean } } }) | undefined)?.server;
  t.equal(listening?._handle?.wslbShaped, true, "the listener builds its sockets with shaped options (src/edge/shaped-accept.ts)");
  for (const [i, c] of clients.entries()) {
    t.same(c.atAccept, clientOrder, `client ${i}: every field as it is accepted`);
    t.same(wslbKeys(c.socket), clientOrder, `client ${i}: no field added on the way to its tunnel`);
  }
  const upstream = servers.filter((s) => s.socket.remotePort === backendPort);
  t.equal(upstream.length, 4, 'four server sockets');
  for (const [i, s] of upstream.entries()) {
    t.same(s.atConnect, serverOrder, `server socket ${i}: every field as it connects`);
    t.same(wslbKeys(s.socket), serverOrder, `server socket ${i}: no field added on the way to its tunnel`);
  }
});
