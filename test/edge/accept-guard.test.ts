/** The accept guard on a real listening server: an EMFILE accept error pauses and re-listens on the same port, logs once per episode, and close() cancels it. */

import t from 'tap';
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import type { Logger } from '../../src/log.js';
import { guardAccept, PAUSE_MS } from '../../src/edge/accept-guard.js';
import { waitFor } from '../helpers/wait.js';

function recorder(): { log: Logger; lines: { level: string; msg: string; fields: Record<string, unknown> }[] } {
  const lines: { level: string; msg: string; fields: Record<string, unknown> }[] = [];
  const at = (level: string) => (fields: Record<string, unknown>, msg: string) => { lines.push({ level, msg, fields }); };
  return { log: { warn: at('warn'), info: at('info'), error: at('error') } as unknown as Logger, lines };
}

const acceptError = (code: string) => Object.assign(new Error(`accept ${code}`), { code, syscall: 'accept' });
const connects = (port: number): Promise<boolean> => new Promise((resolve) => {
  const s = net.connect(port, '127.0.0.1');
  s.once('connect', () => { s.destroy(); resolve(true); });
  s.once('error', () => resolve(false));
});

t.test('pause, re-listen on the same port, log once', async (t) => {
  const server = http.createServer((_req, res) => res.end('ok'));
  const { log, lines } = recorder();
  const guard = guardAccept(server, log);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  t.teardown(() => { server.close(); server.closeAllConnections(); });

  const held = net.connect(port, '127.0.0.1');
  await once(server, 'connection');
  server.emit('error', acceptError('EMFILE'));
  t.ok(guard.paused);
  t.notOk(server.listening, 'the listening socket is closed');
  t.notOk(await connects(port), 'new connections are refused while paused');
  t.notOk(held.destroyed, 'an established connection is untouched');
  server.emit('error', acceptError('ENFILE'));
  t.equal(guard.pauses, 1, 'errors while paused do not pause again');
  await waitFor(t, () => server.listening, { ms: PAUSE_MS * 20, what: 'listening again' });
  t.equal((server.address() as net.AddressInfo).port, port, 'on the same port');
  t.ok(await connects(port));
  t.same(lines.map((l) => [l.level, l.msg]), [['warn', 'out of file descriptors: accepting paused'], ['info', 'accepting again']]);

  guard.exhausted('EMFILE');   // e.g. an upstream connect failed
  await waitFor(t, () => server.listening, { ms: PAUSE_MS * 20, what: 'listening again after the second pause' });
  t.equal(guard.pauses, 2);
  t.equal(lines.length, 2, 'a second pause within 10 s is counted, not logged');
  held.destroy();
});

t.test('close() during a pause cancels the re-listen; other errors are logged, not fatal', async (t) => {
  const server = net.createServer();
  const { log, lines } = recorder();
  const guard = guardAccept(server, log);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  server.emit('error', Object.assign(new Error('boom'), { code: 'EPERM' }));
  t.same(lines.map((l) => l.msg), ['listener error']);
  t.notOk(guard.paused);
  server.emit('error', acceptError('EMFILE'));
  server.close();
  await new Promise((r) => setTimeout(r, PAUSE_MS * 3));
  t.notOk(server.listening, 'stays closed');
});
