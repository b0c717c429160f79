// ForwardAuth against a real local auth service: the subrequest's headers, pass/401/403/timeout/failure verdicts, the cache per credentials, and bounded concurrency.
import t, { type Test } from 'tap';
import type { IncomingHttpHeaders } from 'node:http';
import { ForwardAuth, type ForwardVerdict } from '../../src/auth/forward.js';
import type { ForwardAuthConfig } from '../../src/config/types.js';
import { startAuthService } from './helpers.js';

function req(headers: IncomingHttpHeaders, url = '/chat?room=1') {
  const rawHeaders: string[] = [];
  for (const [k, v] of Object.entries(headers)) rawHeaders.push(k, String(v));
  return { url, method: 'GET', headers, rawHeaders };
}
const info = { peer: '127.0.0.9', tls: false };

// The subrequest timeout is generous: a local service answers at once, and on a loaded machine a
// short one would turn a slow answer into a 503. The test of the timeout sets its own.
function forward(t: Test, url: string, more: Partial<ForwardAuthConfig> = {}): ForwardAuth {
  const f = new ForwardAuth({ url, copy: ['X-User-Id'], timeout: 3000, cache: 0, concurrency: 8, ...more });
  t.teardown(() => f.close());
  return f;
}

t.test('the subrequest carries the credentials, Origin and X-Forwarded-* with the URI', async (t) => {
  const svc = await startAuthService(t);
  const f = forward(t, svc.url);
  const v = await f.check(req({ host: 'chat.example', authorization: 'Bearer good-alice', cookie: 's=1', origin: 'https://app', 'x-forwarded-for': '10.0.0.1', 'x-other': 'no' }), info);
  t.same(v, { ok: true, copy: [['X-User-Id', 'alice']] });
  const h = svc.requests[0]!;
  t.equal(h.authorization, 'Bearer good-alice');
  t.equal(h.cookie, 's=1');
  t.equal(h.origin, 'https://app');
  t.equal(h['x-forwarded-for'], '10.0.0.1, 127.0.0.9');
  t.equal(h['x-forwarded-proto'], 'http');
  t.equal(h['x-forwarded-host'], 'chat.example');
  t.equal(h['x-forwarded-uri'], '/chat?room=1');
  t.equal(h['x-forwarded-method'], 'GET');
  t.equal(h['x-other'], undefined, 'other client headers are not sent');
});

t.test('401 and 403 are relayed with WWW-Authenticate; other answers, failures and timeouts are 503', async (t) => {
  const svc = await startAuthService(t);
  const f = forward(t, svc.url);
  t.same(await f.check(req({ authorization: 'Bearer nope' }), info),
    { ok: false, code: 'WSLB_ERR_AUTH', headers: [['WWW-Authenticate', 'Bearer realm="test"']], why: 'auth service answered 401' });
  const forbidden = await f.check(req({ authorization: 'Bearer forbidden' }), info) as Extract<ForwardVerdict, { ok: false }>;
  t.equal(forbidden.code, 'WSLB_ERR_AUTH_FORBIDDEN');
  t.same(forbidden.headers, [], 'no WWW-Authenticate when the service sent none');
  svc.decide(() => ({ status: 302, headers: { location: '/login' } }));
  t.match(await f.check(req({}), info), { ok: false, code: 'WSLB_ERR_AUTH_UNAVAILABLE' });
  // A service that would answer after 30 s, asked with a 500 ms timeout: the verdict comes at the
  // timeout, long before the answer (the bound leaves room for a loaded machine).
  svc.decide(() => ({ status: 200, delayMs: 30_000 }));
  const short = forward(t, svc.url, { timeout: 500 });
  const started = Date.now();
  t.match(await short.check(req({}), info), { ok: false, code: 'WSLB_ERR_AUTH_UNAVAILABLE', why: 'no answer in time' });
  t.ok(Date.now() - started < 10_000, 'answered at the timeout, not after the service');
  const down = forward(t, 'http://127.0.0.1:1/check');
  t.match(await down.check(req({}), info), { ok: false, code: 'WSLB_ERR_AUTH_UNAVAILABLE' });
});

t.test('the cache: per credentials, never shared, never for anonymous requests, not for failures', async (t) => {
  const svc = await startAuthService(t);
  const f = forward(t, svc.url, { cache: 60_000 });
  const alice = req({ authorization: 'Bearer good-alice' });
  t.match(await f.check(alice, info), { ok: true });
  const again = f.check(req({ authorization: 'Bearer good-alice' }), info);
  t.notOk(again instanceof Promise, 'same credentials: answered from the cache');
  t.same(again, { ok: true, copy: [['X-User-Id', 'alice']] });
  t.same(await f.check(req({ authorization: 'Bearer good-bob' }), info), { ok: true, copy: [['X-User-Id', 'bob']] }, 'other credentials: asked again');
  t.match(await f.check(req({ authorization: 'Bearer good-alice', cookie: 'x=1' }), info), { ok: true }, 'a cookie added: other credentials');
  t.equal(svc.requests.length, 3);
  t.match(await f.check(req({ authorization: 'Bearer nope' }), info), { ok: false, code: 'WSLB_ERR_AUTH' });
  t.notOk(f.check(req({ authorization: 'Bearer nope' }), info) instanceof Promise, 'a refusal is cached too');
  await f.check(req({}), info);
  await f.check(req({}), info);
  t.equal(svc.requests.length, 6, 'anonymous requests are never cached');
  svc.decide(() => ({ status: 500 }));
  await f.check(req({ authorization: 'Bearer x500' }), info);
  svc.decide(() => ({ status: 200 }));
  t.match(await f.check(req({ authorization: 'Bearer x500' }), info), { ok: true }, 'a failure is not cached');
});

t.test('bounded concurrency: at most `concurrency` subrequests at once, the rest wait', async (t) => {
  const svc = await startAuthService(t);
  svc.decide(() => ({ status: 200, delayMs: 50 }));
  const f = forward(t, svc.url, { concurrency: 3, timeout: 5000 });
  const all = await Promise.all(Array.from({ length: 12 }, (_, i) => f.check(req({ authorization: `Bearer ${i}` }), info)));
  t.ok(all.every((v) => v.ok), 'all passed');
  t.equal(svc.maxInFlight, 3, 'never more than 3 at the service');
  t.same(f.load, { active: 0, waiting: 0 });
});
