/**
 * Headless Chromium (Debian's, through playwright-core) loads a page over https from a TLS
 * listener offering h2, then opens `new WebSocket('wss://<same origin>')`: the page came over h2
 * and the WebSocket went over that connection as an extended CONNECT (the balancer counted an
 * HTTP/2 tunnel, and no HTTP/1.1 upgrade), echoing messages. Chromium missing is a failure.
 */

import t from 'tap';
import http from 'node:http';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { chromium } from 'playwright-core';
import { startEchoBackends } from '../helpers/backend.js';
import { startBalancer } from '../helpers/balancer.js';
import { h2Yaml } from './farm.js';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--ignore-certificate-errors'];

/** Opens a WebSocket on the page's own origin, echoes five messages, reports how the page itself came. */
const PAGE = `<!doctype html><html><head><title>wslb h2</title></head><body><script>
window.result = new Promise((resolve) => {
  const ws = new WebSocket('wss://' + location.host + '/ws');
  const got = [];
  ws.onerror = () => resolve({ error: 'websocket error' });
  ws.onopen = () => ws.send('m0');
  ws.onmessage = (e) => {
    got.push(e.data);
    if (got.length < 5) ws.send('m' + got.length);
    else { ws.close(1000); resolve({ got, page: performance.getEntriesByType('navigation')[0].nextHopProtocol }); }
  };
});
</script></body></html>`;

t.test('a page over h2 opens a same-origin WebSocket that rides the h2 connection', { timeout: 60_000 }, async (t) => {
  t.ok(existsSync(CHROMIUM), `${CHROMIUM} exists (Debian package chromium)`);
  const web = http.createServer((_req, res) => { res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }); res.end(PAGE); });
  web.listen(0, '127.0.0.1');
  await once(web, 'listening');
  t.teardown(() => new Promise<void>((r) => { web.closeAllConnections(); web.close(() => r()); }));
  const [echo] = await startEchoBackends(1, 'ws');
  t.teardown(() => echo!.close());
  const b = await startBalancer(t, h2Yaml(t, { servers: [{ name: 'ws-1', url: echo!.url }] }, {
    pools: {
      p: { health: { check: 'none' }, servers: [{ name: 'ws-1', url: echo!.url }] },
      web: { health: { check: 'none' }, servers: [{ name: 'web-1', url: `ws://127.0.0.1:${(web.address() as AddressInfo).port}` }] },
    },
    routes: [
      { name: 'ws', match: { path: '/ws', transport: 'websocket' }, pool: 'p' },
      { name: 'page', match: { path: '/' }, pool: 'web', http: true },
    ],
  }));

  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true });
  t.teardown(() => browser.close());
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  const page = await context.newPage();
  const response = await page.goto(`https://localhost:${b.proxyPort()}/`);
  t.equal(response?.status(), 200, 'page served through the balancer');
  const result = await page.evaluate(() => (window as unknown as { result: Promise<{ error?: string; got?: string[]; page?: string }> }).result);
  t.equal(result.error, undefined, 'the WebSocket opened');
  t.same(result.got, ['m0', 'm1', 'm2', 'm3', 'm4'], 'five messages echoed');
  t.equal(result.page, 'h2', 'the page came over h2');
  t.equal(b.runtime.http2.tunnelsTotal, 1, 'the balancer saw the WebSocket as an HTTP/2 extended CONNECT');
  t.equal(echo!.connections, 1, 'one tunnel reached the server');
  t.equal(b.runtime.http2.sessionsTotal, 1, 'over the one h2 connection the page came on');
  await context.close();
});
