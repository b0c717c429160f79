/** Headless Chromium loads a page from the Socket.IO farm through the balancer; its socket.io client, forced to polling, round-trips messages. */

import t from 'tap';
import fs from 'node:fs';
import { chromium } from 'playwright-core';
import { startBalancer } from '../helpers/balancer.js';
import { redisSkip } from '../helpers/redis.js';
import { startSocketIoFarm } from '../http/socketio-farm.js';

const CHROMIUM = '/usr/bin/chromium';   // Debian's package (.ci/run installs it)
// The farm's Socket.IO servers share rooms through the Redis adapter on 127.0.0.1:6379.
const skip = fs.existsSync(CHROMIUM) ? await redisSkip() : `no ${CHROMIUM}`;
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync', '--disable-quic'];

interface PageResult { error?: string; transport?: string; got?: { server: string; data: number }[] }

for (const affinity of [{ cookie: 'wslb_srv' }, 'engine.io'] as const) {
  t.test(`browser, polling only, affinity ${JSON.stringify(affinity)}`, { timeout: 60_000, skip }, async (t) => {
    const farm = await startSocketIoFarm(t, 3, 'b');
    const b = await startBalancer(t, { algorithm: 'round-robin', servers: farm, route: { http: true, affinity } });
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
    t.teardown(() => browser.close());
    const results: PageResult[] = [];
    // Three pages, so round-robin alone would have spread each page's requests over the farm.
    for (let i = 0; i < 3; i++) {
      const context = await browser.newContext();
      const page = await context.newPage();
      const response = await page.goto(`http://127.0.0.1:${b.proxyPort()}/`);
      t.equal(response?.status(), 200, 'page served through the balancer');
      results.push(await page.evaluate(() => (window as unknown as { result: Promise<PageResult> }).result));
      await context.close();
    }
    for (const r of results) {
      t.equal(r.error, undefined, 'connected');
      t.equal(r.transport, 'polling');
      t.same(r.got?.map((g) => g.data), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 'every message round-tripped');
      t.equal(new Set(r.got?.map((g) => g.server)).size, 1, 'all on one server');
    }
    t.equal(farm.reduce((n, s) => n + s.sessionUnknown, 0), 0, 'zero "Session ID unknown"');
  });
}
