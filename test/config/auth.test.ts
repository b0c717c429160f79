// routes[].auth in balancer.yaml: defaults, every shape error and cross-key rule at its line:col, key files read and matched to the algorithms (with `files`, as check, start and reload do), and `wslb check` printing them.
import t from 'tap';
import path from 'node:path';
import { loadConfigText } from '../../src/config/load.js';
import type { ConfigIssue } from '../../src/config/types.js';
import { configIssues } from '../helpers/config-issues.js';
import { runCli } from '../helpers/cli.js';
import { rsaPair, tempDir } from '../auth/helpers.js';

function issues(lines: string[], opts: { files?: boolean; file?: string } = {}): readonly ConfigIssue[] {
  return configIssues(() => loadConfigText(lines.join('\n') + '\n', opts.file ?? 'b.yaml', {}, { files: opts.files ?? false }));
}
const where = (list: readonly ConfigIssue[]) => list.map((i) => `${i.line}:${i.col} ${i.path}`);
const POOL = ['pools:', '  p:', '    servers: [{ url: "ws://127.0.0.1:9001" }]', 'routes:'];

t.test('defaults of a jwt block, and of a forward block', async (t) => {
  const cfg = loadConfigText([...POOL, '  - pool: p', '    auth: { jwt: { keys: /k/secret } }', '  - pool: p',
    '    auth: { forward: { url: "http://127.0.0.1:7000/check" } }'].join('\n'), '/etc/b.yaml', {});
  t.same(cfg.routes[0]!.auth, {
    jwt: { keys: '/k/secret', jwks_refresh: 600_000, jwks_cooldown: 30_000, jwks_timeout: 3000, clock_skew: 0,
      from: ['header', 'protocol'], claims_to_headers: {}, close_on_expiry: false },
  });
  t.same(cfg.routes[1]!.auth, { forward: { url: 'http://127.0.0.1:7000/check', copy: [], timeout: 1000, cache: 0, concurrency: 64 } });
  t.equal(cfg.routes[0]!.http, false);
  const rel = loadConfigText([...POOL, '  - pool: p', '    auth: { jwt: { keys: ./jwks.json } }'].join('\n'), '/etc/wslb/b.yaml', {});
  t.equal(rel.routes[0]!.auth!.jwt!.keys, '/etc/wslb/jwks.json', 'relative to the config file');
});

t.test('shape errors, each at its value or key', async (t) => {
  const lines = [...POOL,
    '  - pool: p',
    '    auth: {}',
    '  - pool: p',
    '    auth: { jwt: { keys: k }, forward: { url: "http://a/" } }',
    '  - pool: p',
    '    auth: { jwt: { algorithms: [RS256] } }',
    '  - pool: p',
    '    auth: { jwt: { keys: k, jwks_url: "http://a/", jwks_timeout: 1s } }',
    '  - pool: p',
    '    auth: { jwt: { keys: k, jwks_refresh: 1m } }',
    '  - pool: p',
    '    auth: { jwt: { jwks_url: "ftp://a/", algorithms: [none, HS256, RS1] } }',
    '  - pool: p',
    '    auth: { jwt: { keys: k, from: [header, body, query:t, header], claims_to_headers: { sub: Host, role: "X Role" } } }',
    '  - pool: p',
    '    auth: { forward: { url: "not a url", copy: [Connection], timeout: 0s, cach: 1s } }',
    '  - pool: p',
    '    auth: { jwt: { keys: k, close_on_expiry: yes please, clock_skew: 30 } }',
  ];
  const got = issues(lines);
  // line:col of the n-th occurrence of `needle` on 1-based line `line`.
  const at = (line: number, needle: string, n = 1): string => {
    let col = -1;
    for (let i = 0; i < n; i++) col = lines[line - 1]!.indexOf(needle, col + 1);
    return `${line}:${col + 1}`;
  };
  const want: [string, string][] = [
    [at(6, 'auth'), 'routes[0].auth'],
    [at(8, 'forward'), 'routes[1].auth.forward'],
    [at(10, 'jwt'), 'routes[2].auth.jwt'],
    [at(12, 'jwks_url'), 'routes[3].auth.jwt.jwks_url'],
    [at(14, 'jwks_refresh'), 'routes[4].auth.jwt.jwks_refresh'],
    [at(16, '"ftp'), 'routes[5].auth.jwt.jwks_url'],
    [at(16, 'none'), 'routes[5].auth.jwt.algorithms[0]'],
    [at(16, 'HS256'), 'routes[5].auth.jwt.algorithms[1]'],
    [at(16, 'RS1'), 'routes[5].auth.jwt.algorithms[2]'],
    [at(18, 'body'), 'routes[6].auth.jwt.from[1]'],
    [at(18, 'header', 2), 'routes[6].auth.jwt.from[3]'],
    [at(18, 'Host'), 'routes[6].auth.jwt.claims_to_headers.sub'],
    [at(18, '"X Role"'), 'routes[6].auth.jwt.claims_to_headers.role'],
    [at(20, '"not a url"'), 'routes[7].auth.forward.url'],
    [at(20, 'Connection'), 'routes[7].auth.forward.copy[0]'],
    [at(20, '0s'), 'routes[7].auth.forward.timeout'],
    [at(20, 'cach'), 'routes[7].auth.forward.cach'],
    [at(22, 'yes please'), 'routes[8].auth.jwt.close_on_expiry'],
    [at(22, '30'), 'routes[8].auth.jwt.clock_skew'],
  ];
  t.same(where(got), want.map(([pos, p]) => `${pos} ${p}`));
  const msg = (p: string) => got.find((i) => i.path === p)!.message;
  t.equal(msg('routes[0].auth'), 'auth needs "jwt" or "forward"');
  t.equal(msg('routes[1].auth.forward'), 'give "jwt" or "forward", not both');
  t.equal(msg('routes[2].auth.jwt'), 'jwt needs "keys" (a key file) or "jwks_url"');
  t.equal(msg('routes[3].auth.jwt.jwks_url'), 'give "keys" or "jwks_url", not both');
  t.equal(msg('routes[4].auth.jwt.jwks_refresh'), '"jwks_refresh" applies only with "jwks_url"');
  t.equal(msg('routes[5].auth.jwt.algorithms[0]'), 'alg "none" (unsigned tokens) is never accepted');
  t.match(msg('routes[5].auth.jwt.algorithms[1]'), /HS256 needs an HMAC secret file in "keys"/);
  t.match(msg('routes[5].auth.jwt.algorithms[2]'), /unknown JWS algorithm "RS1"/);
  t.match(msg('routes[6].auth.jwt.from[3]'), /listed twice/);
  t.match(msg('routes[6].auth.jwt.claims_to_headers.sub'), /set by the balancer/);
  t.match(msg('routes[6].auth.jwt.claims_to_headers.role'), /not a valid header name/);
});

t.test('claim:NAME needs the route to verify tokens, on the route or on its pool', async (t) => {
  const ok = [...POOL, '  - pool: p', '    algorithm: { name: hash, key: "claim:sub" }', '    auth: { jwt: { keys: /k } }'];
  t.same(issues(ok), []);
  const got = issues([
    'pools:',
    '  p: { servers: [{ url: "ws://h:1" }] }',
    '  q: { servers: [{ url: "ws://h:2" }], algorithm: { name: hash, key: "claim:tenant" } }',   // 3
    'routes:',
    '  - pool: p',
    '    algorithm: { name: hash, key: "claim:sub" }',                                         // 6
    '  - { name: open, pool: q }',                                                            // 7
    '  - pool: q',
    '    auth: { jwt: { keys: /k } }',
  ]);
  t.same(where(got), ['3:70 pools.q.algorithm.key', '6:35 routes[0].algorithm.key'], 'at the "claim:..." values');
  t.match(got[0]!.message, /claim:tenant needs tokens verified by the route \(auth.jwt\); route "open" uses this pool/);
  t.same(issues(['pools: { p: { servers: [{ url: "ws://h:1" }], algorithm: { name: hash, key: "claim:" } } }']).length, 1, 'claim: without a name');
});

t.test('key files (files: true): unreadable, private, and algorithms that do not fit the key', async (t) => {
  const d = tempDir(t);
  const rsa = rsaPair('r');
  d.write('pub.pem', rsa.pem);
  d.write('priv.pem', rsa.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString());
  d.write('secret', 'k'.repeat(32) + '\n');
  const file = path.join(d.dir, 'b.yaml');
  const lines = [...POOL,
    '  - pool: p',
    '    auth: { jwt: { keys: missing.pem } }',                               // 6
    '  - pool: p',
    '    auth: { jwt: { keys: priv.pem } }',                                  // 8
    '  - pool: p',
    '    auth: { jwt: { keys: pub.pem, algorithms: [RS256, HS256, ES256] } }',  // 10
    '  - pool: p',
    '    auth: { jwt: { keys: secret, algorithms: [HS256, RS256, HS384] } }',   // 12
  ];
  const got = issues(lines, { files: true, file });
  const at = (line: number, needle: string): string => `${line}:${lines[line - 1]!.indexOf(needle) + 1}`;
  t.same(where(got), [
    `${at(6, 'missing.pem')} routes[0].auth.jwt.keys`,
    `${at(8, 'priv.pem')} routes[1].auth.jwt.keys`,
    `${at(10, 'HS256')} routes[2].auth.jwt.algorithms[1]`,
    `${at(10, 'ES256')} routes[2].auth.jwt.algorithms[2]`,
    `${at(12, 'RS256')} routes[3].auth.jwt.algorithms[1]`,
    `${at(12, 'HS384')} routes[3].auth.jwt.algorithms[2]`,
  ], 'each at its value');
  t.match(got[0]!.message, /cannot read .*missing\.pem: ENOENT/);
  t.match(got[1]!.message, /holds a private key/);
  t.match(got[2]!.message, /HS256 needs an HMAC secret file; keys holds an RSA public key/);
  t.match(got[4]!.message, /RS256 needs a public key; keys holds an HMAC secret/);
  t.match(got[5]!.message, /HS384 needs an HMAC secret of at least 48 bytes/);
  t.same(issues(lines, { files: false, file }), [], 'without files the keys are not read');
});

t.test('wslb check prints an unreadable key file at its line:col and exits 2', async (t) => {
  const d = tempDir(t);
  const file = d.write('b.yaml', [...POOL, '  - pool: p', '    auth:', '      jwt:', '        keys: ./nope.json', ''].join('\n'));
  const r = await runCli(['check', '-c', file]);
  t.equal(r.code, 2);
  t.match(r.stderr.trim(), new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:8:15 routes\\[0\\]\\.auth\\.jwt\\.keys: cannot read .*nope\\.json: ENOENT`));
});
