import t from 'tap';
import { extractKey, parseKeySpec } from '../../src/balancing/hash-key.js';
import { needsOf } from '../../src/balancing/index.js';

const req = (url: string, headers: Record<string, string | string[]> = {}) => ({ url, headers });

t.test('parseKeySpec', async (t) => {
  t.same(parseKeySpec('ip'), { kind: 'ip' });
  t.same(parseKeySpec('path'), { kind: 'path' });
  t.same(parseKeySpec('header:X-User'), { kind: 'header', name: 'x-user' }, 'header names are case-insensitive');
  t.same(parseKeySpec('cookie:SID'), { kind: 'cookie', name: 'SID' }, 'cookie names are not');
  t.same(parseKeySpec('query:room'), { kind: 'query', name: 'room' });
  for (const bad of ['', 'host', 'header:', 'query:a b', 'cookie:a:b']) t.equal(parseKeySpec(bad), undefined, bad);
});

t.test('extractKey: a table of requests', async (t) => {
  const cases: [string, ReturnType<typeof req>, string | undefined][] = [
    ['ip', req('/'), '10.1.2.3'],
    ['path', req('/chat/room?x=1'), '/chat/room'],
    ['path', req('/plain'), '/plain'],
    ['header:X-User', req('/', { 'x-user': 'alice' }), 'alice'],
    ['header:X-User', req('/', { 'x-user': ['a', 'b'] }), 'a, b'],
    ['header:X-User', req('/'), undefined],
    ['header:X-User', req('/', { 'x-user': '' }), undefined],
    ['cookie:sid', req('/', { cookie: 'a=1; sid=xyz; b=2' }), 'xyz'],
    ['cookie:sid', req('/', { cookie: 'sid="quoted"' }), 'quoted'],
    ['cookie:sid', req('/', { cookie: 'sidx=1; xsid=2; novalue' }), undefined],
    ['cookie:sid', req('/', { cookie: 'sid=first; sid=second' }), 'first'],
    ['cookie:sid', req('/'), undefined],
    ['query:room', req('/chat?room=lobby&x=1'), 'lobby'],
    ['query:room', req('/chat?room=a%20b'), 'a b'],
    ['query:room', req('/chat?room=%zz'), '%zz'],
    ['query:room', req('/chat?room='), undefined],
    ['query:room', req('/chat?other=1'), undefined],
    ['query:room', req('/chat'), undefined],
  ];
  for (const [spec, r, want] of cases) t.equal(extractKey(parseKeySpec(spec)!, r, '10.1.2.3'), want, `${spec} ${r.url} ${JSON.stringify(r.headers)}`);
  t.equal(extractKey({ kind: 'path' }, { headers: {} } as never, ''), undefined, 'no url: no key');
});

t.test('needsOf(...).key: the key option; hash without one hashes the client IP; others have none', async (t) => {
  t.same(needsOf({ name: 'hash', options: {} }).key, { kind: 'ip' });
  t.same(needsOf({ name: 'hash', options: { key: 'query:room' } }).key, { kind: 'query', name: 'room' });
  t.same(needsOf({ name: 'module', module: '/x.js', options: { key: 'path' } }).key, { kind: 'path' });
  t.equal(needsOf({ name: 'module', module: '/x.js', options: {} }).key, undefined);
  t.equal(needsOf({ name: 'round-robin', options: {} }).key, undefined);
});
