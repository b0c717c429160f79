// Malformed tokens in every source against a running balancer: truncated, wrong segment counts, huge, non-JSON headers, alg confusion (HS256 signed with the RSA public key), alg none in any case, and seeded byte mutations of a good token. Never a 101, never a server contacted, the balancer still serving afterwards.
import t from 'tap';
import { startBalancer } from '../helpers/balancer.js';
import { startEchoBackend } from '../helpers/backend-ws.js';
import { openWs } from '../helpers/hardening.js';
import { rawRequest, upgradeRequest } from '../helpers/raw-client.js';
import { prng } from '../fuzz/mutate.js';
import { rsaPair, sign, tempDir } from './helpers.js';

const b64 = (v: unknown): string => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

t.test('malformed tokens: no crash, no 101, no server contacted', async (t) => {
  const backend = await startEchoBackend({ name: 'b1' });
  t.teardown(() => backend.close());
  const d = tempDir(t);
  const rsa = rsaPair('k1');
  const b = await startBalancer(t, {
    servers: [{ name: 'b1', url: `ws://127.0.0.1:${backend.port}` }],
    limits: { max_header_bytes: '64KiB' },
    route: { auth: { jwt: { keys: d.write('pub.pem', rsa.pem), from: ['header', 'protocol', 'query:t', 'cookie:c'] } } },
  });
  const port = b.proxyPort();
  const good = await sign(rsa);
  const [h, p, s] = good.split('.') as [string, string, string];
  const exp = Math.floor(Date.now() / 1000) + 3600;

  const tokens: [string, string][] = [
    ['empty segments', '..'],
    ['one segment', h],
    ['two segments', `${h}.${p}`],
    ['four segments', `${good}.${s}`],
    ['five segments (JWE shape)', `${h}.${p}.${s}.${s}.${s}`],
    ['no signature', `${h}.${p}.`],
    ['huge (40 KB payload)', `${h}.${b64({ sub: 'x'.repeat(30_000), exp })}.${s}`],
    ['header not JSON', `${b64('not json')}.${p}.${s}`],
    ['header a JSON list', `${b64(['alg', 'RS256'])}.${p}.${s}`],
    ['header not base64url', `%%%.${p}.${s}`],
    ['payload not JSON', `${h}.${b64('{"sub":')}.${s}`],
    ['payload a number', `${h}.${b64(42)}.${s}`],
    ['exp a string', `${h}.${b64({ sub: 'a', exp: 'never' })}.${s}`],
    ['signature not base64url', `${h}.${p}.!!!`],
    ['alg none', `${b64({ alg: 'none' })}.${p}.`],
    ['alg None', `${b64({ alg: 'None' })}.${p}.`],
    ['alg NONE with the old signature', `${b64({ alg: 'NONE' })}.${p}.${s}`],
    ['alg missing', `${b64({ typ: 'JWT' })}.${p}.${s}`],
    ['crit unknown', `${b64({ alg: 'RS256', kid: 'k1', crit: ['x'], x: 1 })}.${p}.${s}`],
    ['b64 false', `${b64({ alg: 'RS256', kid: 'k1', b64: false, crit: ['b64'] })}.${p}.${s}`],
    ['embedded jwk', `${b64({ alg: 'RS256', jwk: rsa.jwk })}.${p}.${s}`],
    ['jku to elsewhere', `${b64({ alg: 'RS256', jku: 'http://127.0.0.1:1/jwks' })}.${p}.${s}`],
    ['alg confusion: HS256 signed with the RSA public key', await sign(new Uint8Array(Buffer.from(rsa.pem)), {}, { alg: 'HS256' })],
    ['alg confusion: HS256 signed with the DER public key', await sign(new Uint8Array(rsa.publicKey.export({ format: 'der', type: 'spki' })), {}, { alg: 'HS256' })],
  ];
  const rnd = prng(1234);
  for (let i = 0; i < 60; i++) {
    const chars = [...good];
    const kind = Math.floor(rnd() * 3);
    const at = Math.floor(rnd() * chars.length);
    if (kind === 0) tokens.push([`truncated at ${at}`, good.slice(0, at)]);
    else if (kind === 1) { chars[at] = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.'[Math.floor(rnd() * 65)]!; tokens.push([`char ${at} changed`, chars.join('')]); }
    else { chars.splice(at, 1); tokens.push([`char ${at} deleted`, chars.join('')]); }
  }

  const statuses = new Map<number, number>();
  const sources = [
    (tok: string) => upgradeRequest('/', [`Authorization: Bearer ${tok}`]),
    (tok: string) => upgradeRequest('/', [`Sec-WebSocket-Protocol: chat, bearer.${tok}`]),
    (tok: string) => upgradeRequest(`/?t=${encodeURIComponent(tok)}`),
    (tok: string) => upgradeRequest('/', [`Cookie: c=${tok}`]),
  ];
  let n = 0;
  for (const [what, tok] of tokens) {
    if (tok === good) continue;   // a mutation that changed nothing
    const src = sources[n++ % sources.length]!;
    const r = await rawRequest(port, src(tok), { timeoutMs: 1000 });
    statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
    if (r.status === 101 || r.status === 0) t.fail(`${what}: status ${r.status}`);
  }
  t.pass(`${n} malformed tokens answered: ${[...statuses].map(([k, v]) => `${v} x ${k}`).join(', ')}`);
  t.equal(backend.accepted, 0, 'no TCP connection reached the server');
  const ws = await openWs(`ws://127.0.0.1:${port}/`, { headers: { authorization: `Bearer ${good}` } });
  ws.close();
  t.equal(backend.connections, 1, 'the balancer still serves a good token');
});
