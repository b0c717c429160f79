// The `claim:NAME` hash key: read from the grant the route's auth attached to the request; absent without a verified token.
import t from 'tap';
import { extractKey, parseKeySpec } from '../../src/balancing/hash-key.js';
import { setGrant } from '../../src/auth/grant.js';

t.test('claim:NAME reads the verified claims of this request only', async (t) => {
  const spec = parseKeySpec('claim:sub')!;
  t.same(spec, { kind: 'claim', name: 'sub' });
  t.same(parseKeySpec('claim:Tenant-ID'), { kind: 'claim', name: 'Tenant-ID' }, 'claim names keep their case');
  t.equal(parseKeySpec('claim:'), undefined);
  const req = { url: '/', headers: { 'x-sub': 'forged' } };
  t.equal(extractKey(spec, req, '1.2.3.4'), undefined, 'no verified token: no key (the fallback picks)');
  setGrant(req, { claims: { sub: 'alice', n: 7, admin: true, groups: ['a', 'b'], empty: '' } });
  t.equal(extractKey(spec, req, ''), 'alice');
  t.equal(extractKey({ kind: 'claim', name: 'n' }, req, ''), '7');
  t.equal(extractKey({ kind: 'claim', name: 'admin' }, req, ''), 'true');
  t.equal(extractKey({ kind: 'claim', name: 'groups' }, req, ''), '["a","b"]');
  t.equal(extractKey({ kind: 'claim', name: 'empty' }, req, ''), undefined, 'an empty claim is no key');
  t.equal(extractKey({ kind: 'claim', name: 'missing' }, req, ''), undefined);
  t.equal(extractKey(spec, { url: '/', headers: {} }, ''), undefined, 'another request has no grant');
});
