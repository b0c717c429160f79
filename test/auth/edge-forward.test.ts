// routes[].auth.forward through a real balancer: a pass sends the service's copy headers to the server (the client's own dropped), its 401/403 are relayed, a silent service is a 503, answers cached per credentials; no server contacted on any refusal.
import t from 'tap';
import { startBalancer } from '../helpers/balancer.js';
import { startEchoBackend } from '../helpers/backend-ws.js';
import { openWs } from '../helpers/hardening.js';
import { rawRequest, upgradeRequest } from '../helpers/raw-client.js';
import { startAuthService } from './helpers.js';

t.test('pass, 401, 403, timeout and the cache per credentials', async (t) => {
  const backend = await startEchoBackend({ name: 'b1' });
  t.teardown(() => backend.close());
  const svc = await startAuthService(t);
  const b = await startBalancer(t, {
    servers: [{ name: 'b1', url: `ws://127.0.0.1:${backend.port}` }],
    // 2 s: a local service answers at once, and a loaded machine must not turn its slow answer into a 503.
    route: { auth: { forward: { url: svc.url, copy: ['X-User-Id'], timeout: '2s', cache: '1m' } } },
  });
  const port = b.proxyPort();

  const denied = await rawRequest(port, upgradeRequest('/', ['Authorization: Bearer nope']));
  t.equal(denied.status, 401, "the service's 401 relayed");
  t.equal(denied.headers['www-authenticate'], 'Bearer realm="test"', 'with its WWW-Authenticate');
  t.equal(denied.headers['x-wslb-error'], 'WSLB_ERR_AUTH');
  const forbidden = await rawRequest(port, upgradeRequest('/', ['Authorization: Bearer forbidden']));
  t.equal(forbidden.status, 403, "the service's 403 relayed");
  t.equal(forbidden.headers['x-wslb-error'], 'WSLB_ERR_AUTH_FORBIDDEN');
  t.equal(forbidden.headers['www-authenticate'], undefined);

  svc.decide(() => ({ status: 200, delayMs: 30_000 }));   // silent far past the 2 s timeout
  const slow = await rawRequest(port, upgradeRequest('/', ['Authorization: Bearer slow']), { timeoutMs: 10_000 });
  t.equal(slow.status, 503, 'a silent service: 503');
  t.equal(slow.headers['x-wslb-error'], 'WSLB_ERR_AUTH_UNAVAILABLE');
  svc.decide(() => ({ status: 500 }));
  const broken = await rawRequest(port, upgradeRequest('/', ['Authorization: Bearer x']));
  t.equal(broken.status, 503, 'a failing service: 503');
  t.equal(backend.accepted, 0, 'no refusal contacted the server');

  svc.decide((h) => (h.authorization?.startsWith('Bearer good-') ? { status: 204, headers: { 'X-User-Id': h.authorization.slice(12) } } : { status: 401 }));
  const asked = svc.requests.length;
  for (let i = 0; i < 3; i++) {
    const ws = await openWs(`ws://127.0.0.1:${port}/room?i=${i}`, { headers: { authorization: 'Bearer good-alice', 'x-user-id': 'mallory' } });
    ws.close();
    t.equal(backend.handshakes.at(-1)!['x-user-id'], 'alice', `connection ${i}: the service's X-User-Id replaced the client's`);
  }
  t.equal(svc.requests.length, asked + 1, 'three connections with the same credentials: the service asked once');
  const bob = await openWs(`ws://127.0.0.1:${port}/room`, { headers: { authorization: 'Bearer good-bob' } });
  bob.close();
  t.equal(svc.requests.length, asked + 2, 'other credentials: asked again');
  t.equal(backend.handshakes.at(-1)!['x-user-id'], 'bob', 'never the cached answer of another user');
  const sub = svc.requests.at(-1)!;
  t.equal(sub['x-forwarded-uri'], '/room');
  t.equal(sub['x-forwarded-proto'], 'http');
});
