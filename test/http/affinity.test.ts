/** Affinity decisions: cookie ids, re-pinning, session learning per preset. */

import t from 'tap';
import { Server } from '../../src/pool/server.js';
import { Affinity, serverId } from '../../src/http/affinity.js';

const server = (name: string): Server => new Server('p', { name, url: `ws://127.0.0.1:1/${name}`, host: '127.0.0.1', port: 1, tls: false, weight: 1 });
const req = (url: string, cookie?: string, method = 'GET') => ({ url, method, headers: cookie ? { cookie } : {} });

t.test('cookie', async (t) => {
  const [a, b] = [server('a'), server('b')];
  const aff = new Affinity({ kind: 'cookie', cookie: 'srv' }, () => 1000);
  t.equal(serverId(a), serverId(server('a')), 'stable across instances');
  t.not(serverId(a), serverId(b));
  t.equal(aff.pinned(req('/'), [a, b]), undefined, 'no cookie: pick');
  t.equal(aff.chosen(req('/'), b, false), `srv=${serverId(b)}; Path=/; HttpOnly; SameSite=Lax`);
  t.equal(aff.chosen(req('/'), b, true), `srv=${serverId(b)}; Path=/; HttpOnly; SameSite=Lax; Secure`, 'Secure on TLS');
  const withB = `x=1; srv=${serverId(b)}`;
  t.equal(aff.pinned(req('/', withB), [a, b]), b);
  t.equal(aff.chosen(req('/', withB), b, false), undefined, 'already pinned: no cookie');
  t.equal(aff.pinned(req('/', withB), [a]), undefined, 'pinned server not ready: pick again');
  t.match(aff.chosen(req('/', withB), a, false) ?? '', `srv=${serverId(a)};`, 're-pinned');
  t.equal(aff.pinned(req('/', 'srv=garbage'), [a, b]), undefined);
  t.ok(aff.sameAs({ kind: 'cookie', cookie: 'srv' }));
  t.notOk(aff.sameAs({ kind: 'cookie', cookie: 'other' }));
  t.notOk(aff.sameAs({ kind: 'engine.io' }));
});

t.test('engine.io: learnt from the handshake answer; a moved session is forgotten', async (t) => {
  const [a, b] = [server('a'), server('b')];
  const aff = new Affinity({ kind: 'engine.io' }, () => 1000);
  const hs = req('/socket.io/?EIO=4&transport=polling&t=1');
  t.ok(aff.watchesAnswer(hs));
  t.notOk(aff.watchesAnswer(req('/socket.io/?EIO=4&transport=polling&sid=s1')));
  aff.learn('s1', b);
  const poll = req('/socket.io/?EIO=4&transport=polling&sid=s1');
  t.equal(aff.pinned(poll, [a, b]), b);
  t.equal(aff.pinned(req('/socket.io/?EIO=4&transport=websocket&sid=s1'), [a, b]), b, 'the upgrade too');
  t.equal(aff.chosen(poll, b, false), undefined);
  t.equal(aff.pinned(poll, [a]), undefined, 'b down: pick again');
  aff.chosen(poll, a, false);
  t.equal(aff.sessions!.size, 0, 'moved: forgotten (the client re-handshakes)');
});

t.test('sockjs: learnt on first sight, re-pinned when moved', async (t) => {
  const [a, b] = [server('a'), server('b')];
  const aff = new Affinity({ kind: 'sockjs' }, () => 1000);
  const open = req('/echo/123/abc/xhr_streaming', undefined, 'POST');
  t.equal(aff.pinned(open, [a, b]), undefined);
  aff.chosen(open, b, false);
  t.equal(aff.pinned(req('/echo/123/abc/xhr_send', undefined, 'POST'), [a, b]), b);
  t.equal(aff.pinned(req('/echo/info'), [a, b]), undefined, 'no session: pick');
  aff.chosen(open, a, false);
  t.equal(aff.pinned(open, [a, b]), a);
  t.notOk(aff.watchesAnswer(open));
});
