/** Plain-HTTP fallbacks follow the route's Origin allowlist, like upgrades do. */

import t from 'tap';
import { startEchoBackends } from '../helpers/backend.js';
import { startBalancer } from '../helpers/balancer.js';

t.test('an http route with origins: allowed origin proxied, foreign origin 403, none allowed by default', async (t) => {
  const [backend] = await startEchoBackends(1, 'o');
  t.teardown(() => backend!.close());
  const b = await startBalancer(t, {
    servers: [{ name: 'o-1', url: backend!.url }],
    route: { http: true, origins: ['https://app.example.com'] },
  });
  const get = (origin?: string) => fetch(`http://127.0.0.1:${b.proxyPort()}/poll`, { headers: origin ? { Origin: origin } : {} });
  const ok = await get('https://app.example.com');
  t.equal(ok.status, 200);
  t.equal(await ok.text(), 'o-1');
  const bad = await get('https://app.example.com.evil.net');
  t.equal(bad.status, 403);
  t.equal(bad.headers.get('x-wslb-error'), 'WSLB_ERR_ORIGIN');
  await bad.text();
  const none = await get();
  t.equal(none.status, 200, 'no Origin: allowed (allow_missing_origin defaults to true)');
  await none.text();
  t.equal(backend!.requests.length, 2, 'the refused request never reached the server');
});
