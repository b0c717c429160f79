// JwtVerifier with key files: claims checks, clock skew, the algorithm allowlist (alg confusion, none), and the per-token cache (one signature check per token, ended at exp + skew).
import t, { type Test } from 'tap';
import { JwtVerifier, type JwtVerdict } from '../../src/auth/jwt.js';
import type { JwtAuthConfig } from '../../src/config/types.js';
import { createLogger } from '../../src/log.js';
import { ecPair, rsaPair, secret, sign, tempDir, unsigned } from './helpers.js';

const log = createLogger('silent');

function config(keys: string, more: Partial<JwtAuthConfig> = {}): JwtAuthConfig {
  return {
    keys, jwks_refresh: 600_000, jwks_cooldown: 30_000, jwks_timeout: 3000, clock_skew: 0,
    from: ['header'], claims_to_headers: {}, close_on_expiry: false, ...more,
  };
}

const verdict = async (v: JwtVerdict | Promise<JwtVerdict>): Promise<JwtVerdict> => v;
const ok = async (t: Test, v: JwtVerdict | Promise<JwtVerdict>, what: string) => t.ok((await verdict(v)).ok, what);
const refused = async (t: Test, v: JwtVerdict | Promise<JwtVerdict>, why: RegExp, what: string) => {
  const r = await verdict(v);
  t.notOk(r.ok, what);
  if (!r.ok) { t.equal(r.code, 'WSLB_ERR_AUTH'); t.match(r.why, why, `${what}: why`); }
};

const sec = (): number => Math.floor(Date.now() / 1000);

t.test('HMAC secret file: issuer, audience, exp and nbf with clock skew', async (t) => {
  const d = tempDir(t);
  const key = secret();
  const file = d.write('secret', Buffer.concat([key, Buffer.from('\n')]));
  const v = new JwtVerifier(config(file, { issuer: 'https://idp', audience: 'chat', clock_skew: 30_000 }), log);
  await ok(t, v.verify(await sign(key, { iss: 'https://idp', aud: ['x', 'chat'] })), 'aud list containing chat');
  await refused(t, v.verify(await sign(key, { iss: 'https://other', aud: 'chat' })), /iss/, 'wrong issuer');
  await refused(t, v.verify(await sign(key, { iss: 'https://idp', aud: 'other' })), /aud/, 'wrong audience');
  await refused(t, v.verify(await sign(key, { aud: 'chat' })), /iss/, 'no issuer');
  await ok(t, v.verify(await sign(key, { iss: 'https://idp', aud: 'chat', exp: sec() - 10 })), 'expired 10 s ago, within 30 s skew');
  await refused(t, v.verify(await sign(key, { iss: 'https://idp', aud: 'chat', exp: sec() - 40 })), /exp/, 'expired past the skew');
  await ok(t, v.verify(await sign(key, { iss: 'https://idp', aud: 'chat', nbf: sec() + 10 })), 'nbf 10 s ahead, within skew');
  await refused(t, v.verify(await sign(key, { iss: 'https://idp', aud: 'chat', nbf: sec() + 60 })), /nbf/, 'nbf past the skew');
  await refused(t, v.verify(await sign(secret(), { iss: 'https://idp', aud: 'chat' })), /signature/, 'another secret');
});

t.test('the algorithm allowlist: alg confusion and alg none are refused', async (t) => {
  const d = tempDir(t);
  const rsa = rsaPair('r1');
  const pemFile = d.write('pub.pem', rsa.pem);
  const v = new JwtVerifier(config(pemFile), log);
  await ok(t, v.verify(await sign(rsa)), 'RS256 with the public key');
  // The classic confusion: an HS256 token whose HMAC key is the server's own public key PEM.
  const confused = await sign(new Uint8Array(Buffer.from(rsa.pem)), {}, { alg: 'HS256' });
  await refused(t, v.verify(confused), /alg/, 'HS256 signed with the RSA public key');
  await refused(t, v.verify(unsigned()), /alg|Unsupported|JWS/, 'alg none');
  const only = new JwtVerifier(config(pemFile, { algorithms: ['PS256'] }), log);
  await refused(t, only.verify(await sign(rsa)), /alg/, 'RS256 outside algorithms: [PS256]');
  const secretFile = d.write('s', secret());
  const hmac = new JwtVerifier(config(secretFile), log);
  await refused(t, hmac.verify(await sign(rsa)), /alg/, 'an RS256 token against an HMAC secret');
});

t.test('a JWKS file: the kid picks the key; two keys without kid are both tried', async (t) => {
  const d = tempDir(t);
  const a = ecPair('a');
  const b = rsaPair('b');
  const v = new JwtVerifier(config(d.write('jwks.json', JSON.stringify({ keys: [a.jwk, b.jwk] }))), log);
  await ok(t, v.verify(await sign(a)), 'ES256 kid a');
  await ok(t, v.verify(await sign(b)), 'RS256 kid b');
  await refused(t, v.verify(await sign(ecPair('c'))), /no applicable key|matching/i, 'unknown kid');
  const c = ecPair('c');
  const e = ecPair('e');
  const strip = (p: typeof c) => { const j = { ...p.jwk }; delete j['kid']; return j; };
  const both = new JwtVerifier(config(d.write('two.json', JSON.stringify({ keys: [strip(c), strip(e)] }))), log);
  await ok(t, both.verify(await sign(e, {}, { kid: undefined })), 'no kid: the second key verifies');
  await refused(t, both.verify(await sign(ecPair('x'), {}, { kid: undefined })), /signature/, 'no kid, no key verifies');
});

t.test('the cache: a second check of a token is synchronous and ends at exp + skew', async (t) => {
  const d = tempDir(t);
  const key = secret();
  let now = Date.now();
  const v = new JwtVerifier(config(d.write('s', key), { clock_skew: 5000 }), log, () => now);
  const exp = Math.floor(now / 1000) + 60;
  const token = await sign(key, { exp });
  const first = v.verify(token);
  t.ok(first instanceof Promise, 'first check is a real verification');
  const r = await first;
  t.ok(r.ok);
  if (r.ok) t.equal(r.expiresAt, exp * 1000 + 5000, 'expiresAt = exp + skew');
  const again = v.verify(token);
  t.notOk(again instanceof Promise, 'second check answered from the cache');
  t.ok((again as JwtVerdict).ok);
  now = exp * 1000 + 4999;
  t.ok((v.verify(token) as JwtVerdict).ok, 'still valid 1 ms before exp + skew');
  now = exp * 1000 + 5000;
  const after = v.verify(token);
  t.ok(after instanceof Promise, 'the cache entry ended at exp + skew');
  t.notOk((await after).ok, 'and the token is refused from then on');
  const bad = await sign(secret());
  await v.verify(bad);
  t.notOk(v.verify(bad) instanceof Promise, 'a bad signature is remembered too');
});

t.test('concurrent checks of one token share one verification', async (t) => {
  const d = tempDir(t);
  const key = secret();
  const v = new JwtVerifier(config(d.write('s', key)), log);
  const token = await sign(key);
  const a = v.verify(token);
  const b = v.verify(token);
  t.equal(a, b, 'the same promise');
  t.ok((await a).ok);
});
