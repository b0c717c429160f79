// Token sources in the order `from` gives, and the request edits: bearer.* subprotocol entries removed (the header dropped when none is left), headers dropped and added in rawHeaders and headers alike.
import t from 'tap';
import type { IncomingHttpHeaders } from 'node:http';
import { addHeader, dropHeaders, headerSafe } from '../../src/auth/request-edit.js';
import { findToken, parseSources, stripProtocolTokens } from '../../src/auth/token-source.js';

function req(url: string, raw: string[]): { url: string; rawHeaders: string[]; headers: IncomingHttpHeaders } {
  const headers: IncomingHttpHeaders = {};
  for (let i = 0; i < raw.length; i += 2) {
    const k = raw[i]!.toLowerCase();
    headers[k] = headers[k] === undefined ? raw[i + 1]! : `${String(headers[k])}${k === 'cookie' ? '; ' : ', '}${raw[i + 1]!}`;
  }
  return { url, rawHeaders: [...raw], headers };
}

const all = parseSources(['header', 'protocol', 'query:access_token', 'cookie:token']);

t.test('the first source that carries a token decides', async (t) => {
  const r = req('/x?access_token=Q', ['Authorization', 'Bearer H', 'Sec-WebSocket-Protocol', 'chat, bearer.P', 'Cookie', 'a=1; token=C']);
  t.same(findToken(all, r, true), { token: 'H', source: 'header' });
  t.same(findToken(parseSources(['protocol', 'header']), r, true), { token: 'P', source: 'protocol' });
  t.same(findToken(parseSources(['query:access_token', 'header']), r, true), { token: 'Q', source: 'query:access_token' });
  t.same(findToken(parseSources(['cookie:token']), r, true), { token: 'C', source: 'cookie:token' });
});

t.test('what does not carry a token: other schemes, empty values, protocol on plain HTTP', async (t) => {
  t.equal(findToken(all, req('/', ['Authorization', 'Basic dTpw']), true), null, 'Basic is not a bearer token');
  t.equal(findToken(all, req('/', ['Authorization', 'Bearer ']), true), null);
  t.same(findToken(all, req('/', ['Authorization', 'bearer  T ']), true), { token: 'T', source: 'header' }, 'scheme case-insensitive');
  t.equal(findToken(all, req('/?access_token=', ['Cookie', 'token=']), true), null);
  t.equal(findToken(all, req('/', ['Sec-WebSocket-Protocol', 'bearer.']), true), null);
  t.equal(findToken(all, req('/', ['Sec-WebSocket-Protocol', 'bearer.T']), false), null, 'no subprotocols on plain HTTP');
  t.same(findToken(all, req('/', ['Authorization', 'Basic x', 'Cookie', 'token=C']), true), { token: 'C', source: 'cookie:token' });
});

t.test('stripProtocolTokens: bearer entries out, the header gone when nothing is left', async (t) => {
  const r = req('/', ['Host', 'h', 'Sec-WebSocket-Protocol', 'chat', 'Sec-WebSocket-Protocol', 'bearer.T, v2']);
  stripProtocolTokens(r);
  t.equal(r.headers['sec-websocket-protocol'], 'chat, v2');
  t.same(r.rawHeaders, ['Host', 'h', 'Sec-WebSocket-Protocol', 'chat, v2']);
  const only = req('/', ['Sec-WebSocket-Protocol', 'bearer.T', 'Host', 'h']);
  stripProtocolTokens(only);
  t.equal(only.headers['sec-websocket-protocol'], undefined);
  t.same(only.rawHeaders, ['Host', 'h']);
  const none = req('/', ['Sec-WebSocket-Protocol', 'chat']);
  stripProtocolTokens(none);
  t.same(none.rawHeaders, ['Sec-WebSocket-Protocol', 'chat'], 'untouched without a bearer entry');
});

t.test('dropHeaders and addHeader keep rawHeaders and headers in step', async (t) => {
  const r = req('/', ['X-User-Id', 'forged', 'Host', 'h', 'x-user-id', 'again']);
  dropHeaders(r, new Set(['x-user-id']));
  t.same(r.rawHeaders, ['Host', 'h']);
  t.equal(r.headers['x-user-id'], undefined);
  addHeader(r, 'X-User-Id', 'alice');
  t.same(r.rawHeaders, ['Host', 'h', 'X-User-Id', 'alice']);
  t.equal(r.headers['x-user-id'], 'alice');
  t.ok(headerSafe('alice smith\t1'));
  t.notOk(headerSafe('a\r\nX-Evil: 1'));
  t.notOk(headerSafe('José'));
});
