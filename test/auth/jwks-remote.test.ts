// jwks_url against a real local endpoint: rotation (a new kid picked up on first sight, the old one dropped), an endpoint down or slow at start and later up, the last good set kept while it fails, and the cooldown between fetches.
import t from 'tap';
import { JwtVerifier, type JwtVerdict } from '../../src/auth/jwt.js';
import type { JwtAuthConfig } from '../../src/config/types.js';
import { createLogger } from '../../src/log.js';
import { sleep } from '../helpers/wait.js';
import { ecPair, rsaPair, sign, startJwksServer } from './helpers.js';

const log = createLogger('silent');

function config(url: string, more: Partial<JwtAuthConfig> = {}): JwtAuthConfig {
  return {
    jwks_url: url, jwks_refresh: 600_000, jwks_cooldown: 100, jwks_timeout: 3000, clock_skew: 0,   // timeout generous: a loaded machine must not fail a fetch that is not the point of the test
    from: ['header'], claims_to_headers: {}, close_on_expiry: false, ...more,
  };
}

const check = async (v: JwtVerifier, token: string): Promise<JwtVerdict> => v.verify(token);

t.test('rotation: a new kid is fetched when first seen, the dropped kid refused after the next fetch', async (t) => {
  const a = rsaPair('a');
  const b = ecPair('b');
  const jwks = await startJwksServer(t, [a]);
  const v = new JwtVerifier(config(jwks.url), log);
  const tokenA = await sign(a);
  t.ok((await check(v, tokenA)).ok, 'kid a verifies');
  t.equal(jwks.hits, 1, 'one fetch for the first token');
  t.ok((await check(v, tokenA)).ok);
  t.equal(jwks.hits, 1, 'no fetch for a known kid');

  jwks.set([b]);
  await sleep(150);   // past the cooldown
  const tokenB = await sign(b);
  t.ok((await check(v, tokenB)).ok, 'kid b, unknown until now, verifies after one refetch');
  t.equal(jwks.hits, 2);
  const gone = await check(v, tokenA);
  t.notOk(gone.ok, 'kid a no longer in the set: refused although its verdict was cached under the old set');
  if (!gone.ok) t.equal(gone.code, 'WSLB_ERR_AUTH');
});

t.test('unknown kids refetch at most once per cooldown', async (t) => {
  const a = rsaPair('a');
  const jwks = await startJwksServer(t, [a]);
  const v = new JwtVerifier(config(jwks.url, { jwks_cooldown: 60_000 }), log);
  t.ok((await check(v, await sign(a))).ok);
  for (let i = 0; i < 5; i++) t.notOk((await check(v, await sign(ecPair(`x${i}`)))).ok, `random kid ${i} refused`);
  t.equal(jwks.hits, 1, 'no refetch within the cooldown, whatever the kids');
});

t.test('endpoint down at start: 503 (unavailable), then keys once it is up', async (t) => {
  const a = rsaPair('a');
  const jwks = await startJwksServer(t, [a]);
  await jwks.stop();
  const v = new JwtVerifier(config(jwks.url), log);
  const token = await sign(a);
  const down = await check(v, token);
  t.notOk(down.ok);
  if (!down.ok) t.equal(down.code, 'WSLB_ERR_AUTH_UNAVAILABLE', 'no key set yet: unavailable, not a bad token');
  await jwks.start();
  await sleep(150);
  t.ok((await check(v, token)).ok, 'verified once the endpoint answers');
});

t.test('endpoint slow at start: the wait is bounded by jwks_timeout, then keys once it is fast', async (t) => {
  const a = rsaPair('a');
  const jwks = await startJwksServer(t, [a]);
  jwks.delay(30_000);
  // 1 s: short against the 30 s answer, long enough for the fast fetch after it on a loaded machine.
  const v = new JwtVerifier(config(jwks.url, { jwks_timeout: 1000 }), log);
  const token = await sign(a);
  const started = Date.now();
  const slow = await check(v, token);
  t.notOk(slow.ok);
  if (!slow.ok) t.equal(slow.code, 'WSLB_ERR_AUTH_UNAVAILABLE');
  // The answer would take 30 s; the bound leaves the 1 s timeout room for a loaded machine.
  t.ok(Date.now() - started < 10_000, 'the handshake did not wait for the slow answer');
  jwks.delay(0);
  await sleep(150);
  t.ok((await check(v, token)).ok);
});

t.test('the last good set is kept while the endpoint fails', async (t) => {
  const a = rsaPair('a');
  const jwks = await startJwksServer(t, [a]);
  const v = new JwtVerifier(config(jwks.url, { jwks_refresh: 50 }), log);
  t.ok((await check(v, await sign(a))).ok);
  jwks.fail(true);
  await sleep(150);
  t.ok((await check(v, await sign(a, { jti: '1' }))).ok, 'stale set, refresh failing: still verifies');
  await sleep(150);
  t.ok((await check(v, await sign(a, { jti: '2' }))).ok, 'and again');
  t.ok(jwks.hits >= 2, 'refreshes were attempted');
});
