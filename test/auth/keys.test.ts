// Key files for auth.jwt: what each kind of file becomes, the algorithms it allows, and every refusal with a message that says why.
import t from 'tap';
import { generateKeyPairSync } from 'node:crypto';
import { algorithmMismatch, KeyError, parseKeyBytes, parseKeySet, readKeyFile } from '../../src/auth/keys.js';
import { createTestCa } from '../helpers/certs.js';
import { ecPair, rsaPair, tempDir } from './helpers.js';

const parse = (content: string | Buffer) => parseKeyBytes(Buffer.from(content), 'k');
const refused = (content: string | Buffer): string => {
  try {
    parse(content);
  } catch (e) {
    if (e instanceof KeyError) return e.message;
    throw e;
  }
  throw new Error('expected a KeyError');
};

t.test('an HMAC secret: its bytes, one trailing line end ignored, HS* allowed by length', async (t) => {
  const s = 'x'.repeat(40);
  for (const text of [s, `${s}\n`, `${s}\r\n`]) {
    const m = parse(text);
    t.equal(m.kind, 'secret');
    if (m.kind === 'secret') t.equal(Buffer.from(m.secret).toString(), s, JSON.stringify(text.slice(-2)));
    t.same(m.algorithms, ['HS256']);
  }
  const two = parse(`${s}\n\n`);
  t.equal(two.kind === 'secret' && two.secret.length, 41, 'only one line end is dropped');
  t.same(parse('y'.repeat(64)).algorithms, ['HS256', 'HS384', 'HS512']);
  t.match(refused('short\n'), /5 bytes; HS256 needs at least 32/);
  t.match(refused(''), /is empty/);
  t.match(refused('\n'), /is empty/);
});

t.test('a binary secret that starts with "{" stays a secret; JSON with a typo is an error', async (t) => {
  const bin = Buffer.concat([Buffer.from('{'), Buffer.from([0xff, 0xfe, 0x80]), Buffer.alloc(40, 7)]);
  t.equal(parse(bin).kind, 'secret');
  t.match(refused('{ "keys": [ }'), /not valid JSON/);
});

t.test('PEM: public keys and certificates by type; private keys refused', async (t) => {
  const rsa = rsaPair('r');
  const ec = ecPair('e');
  const m = parse(rsa.pem);
  t.equal(m.kind, 'public');
  t.same(m.algorithms, ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512']);
  t.same(parse(ec.pem).algorithms, ['ES256']);
  const ed = generateKeyPairSync('ed25519').publicKey.export({ format: 'pem', type: 'spki' }).toString();
  t.same(parse(ed).algorithms, ['EdDSA', 'Ed25519']);
  t.match(refused(rsa.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString()), /holds a private key/);
  t.match(refused(ec.privateKey.export({ format: 'pem', type: 'sec1' }).toString()), /holds a private key/);
  t.match(refused('-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n'), /not a PEM public key/);
  const small = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'pem', type: 'spki' }).toString();
  t.match(refused(small), /1024 bits; at least 2048/);
  const ca = createTestCa();
  t.teardown(() => ca.remove());
  t.same(parse(ca.caPem).algorithms, ['ES256'], 'a certificate gives its public key');
});

t.test('JWKS: a set or one JWK; algorithms from alg or key type; unusable keys refused in a file', async (t) => {
  const rsa = rsaPair('r');
  const ec = ecPair('e');
  const set = parse(JSON.stringify({ keys: [rsa.jwk, ec.jwk] }));
  t.equal(set.kind, 'jwks');
  t.same([...set.algorithms].sort(), ['ES256', 'RS256']);
  const noAlg = { ...rsa.jwk };
  delete noAlg['alg'];
  t.same(parse(JSON.stringify(noAlg)).algorithms, ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'], 'one JWK without alg');
  t.match(refused(JSON.stringify({ keys: [{ kty: 'oct', k: 'c2VjcmV0' }] })), /secret \(oct\) key/);
  t.match(refused(JSON.stringify({ keys: [rsa.privateKey.export({ format: 'jwk' })] })), /private key material/);
  t.match(refused(JSON.stringify({ keys: [{ ...ec.jwk, alg: 'RS256' }] })), /"alg": "RS256" does not fit/);
  t.match(refused(JSON.stringify({ keys: [{ kty: 'RSA', n: 'AQAB', e: 'AQAB', kid: 'bad' }] })), /kid "bad"/);
  t.match(refused(JSON.stringify({ keys: [] })), /no usable signing key/);
  t.match(refused(JSON.stringify({ keys: [{ ...ec.jwk, use: 'enc' }] })), /no usable signing key/);
  t.match(refused('{ "nokeys": 1 }'), /"keys" list/);
});

t.test('a fetched set skips what it cannot use and keeps the rest', async (t) => {
  const ec = ecPair('good');
  const { set, skipped } = parseKeySet({ keys: [{ kty: 'oct', k: 'eA' }, { ...ec.jwk }, { ...ec.jwk, kid: 'enc', use: 'enc' }] }, 'url', 'lenient');
  t.equal(set.jwks.keys.length, 1);
  t.equal(skipped.length, 2);
  t.throws(() => parseKeySet({ keys: [{ kty: 'oct', k: 'eA' }] }, 'url', 'lenient'), /no usable signing key/);
});

t.test('readKeyFile names the file and the errno', async (t) => {
  const d = tempDir(t);
  t.throws(() => readKeyFile(`${d.dir}/missing.pem`), /cannot read .*missing\.pem: ENOENT/);
  t.equal(readKeyFile(d.write('s', 'z'.repeat(32))).kind, 'secret');
});

t.test('algorithmMismatch: an HMAC secret never for an asymmetric alg, nor the reverse', async (t) => {
  const secret = parse('q'.repeat(32));
  const rsa = parse(rsaPair('r').pem);
  t.equal(algorithmMismatch('HS256', secret), null);
  t.match(algorithmMismatch('HS512', secret)!, /at least 64 bytes/);
  t.match(algorithmMismatch('RS256', secret)!, /needs a public key; keys holds an HMAC secret/);
  t.equal(algorithmMismatch('PS256', rsa), null);
  t.match(algorithmMismatch('HS256', rsa)!, /needs an HMAC secret file; keys holds an RSA public key/);
  t.match(algorithmMismatch('ES256', rsa)!, /does not fit/);
});
