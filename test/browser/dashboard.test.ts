/**
 * The dashboard end to end in headless Debian Chromium (playwright-core, no downloaded browser):
 * loads without console errors, shows the farm, follows connections live, and its buttons drain
 * and disable servers (asking for the admin token when one is set). Chromium missing is a failure.
 */

import t, { type Test } from 'tap';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { parse, stringify } from 'yaml';
import WebSocket from 'ws';
import { startEchoBackends, type EchoBackend } from '../helpers/backend.js';
import { farmYaml, startBalancer } from '../helpers/balancer.js';
import type { Balancer } from '../../src/main.js';
import { clusterYaml, startInstance } from '../cluster/helpers.js';
import { connectNamed, startChildServer } from '../helpers/server-process.js';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync', '--disable-quic'];

let browser: Browser | undefined;

t.before(async () => {
  if (!existsSync(CHROMIUM)) return;   // each test fails below with the reason
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true });
});
t.teardown(() => browser?.close());

async function farm(t: Test, opts: { token?: string; n?: number } = {}): Promise<{ b: Balancer; backends: EchoBackend[] }> {
  const backends = await startEchoBackends(opts.n ?? 3, 'web');
  t.teardown(() => Promise.all(backends.map((be) => be.close())));
  const doc = parse(farmYaml({ servers: backends.map((be) => ({ name: be.name, url: be.url })), pool: { drain: '300ms' } })) as { admin: Record<string, unknown> };
  if (opts.token) doc.admin.token = opts.token;
  return { b: await startBalancer(t, stringify(doc)), backends };
}

/** Opens the dashboard and records every console error and uncaught page error. */
async function openPage(t: Test, b: Pick<Balancer, 'adminPort'>): Promise<{ page: Page; errors: string[] }> {
  if (!browser) throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium; .ci/run does)`);
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  t.teardown(() => context.close());
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('requestfailed', (r) => { if (!r.url().endsWith('/events')) errors.push(`requestfailed: ${r.url()}`); });
  const res = await page.goto(`http://127.0.0.1:${b.adminPort()}/`);
  if (res?.status() !== 200) throw new Error(`dashboard answered ${res?.status()}`);
  return { page, errors };
}

const cell = (page: Page, server: string, field: string) => page.locator(`section[data-pool="p"] tr[data-server="${server}"] [data-field="${field}"]`);

const connect = async (port: number): Promise<WebSocket> => {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: false });
  await once(ws, 'open');
  return ws;
};

t.test('chromium is installed', async (t) => {
  t.ok(existsSync(CHROMIUM), `${CHROMIUM} exists (Debian package chromium)`);
  t.ok(browser, 'and launches');
});

t.test('loads with no console errors, shows the farm, follows connections live', async (t) => {
  const { b, backends } = await farm(t);
  const { page, errors } = await openPage(t, b);
  await page.locator('#live.on').waitFor({ timeout: 10_000 });
  for (const be of backends) {
    await cell(page, be.name, 'state').filter({ hasText: 'up' }).waitFor({ timeout: 10_000 });
    t.equal(await cell(page, be.name, 'active').textContent(), '0', `${be.name} idle`);
    t.equal(await cell(page, be.name, 'url').textContent(), be.url);
  }
  t.match(await page.locator('#routes tr[data-route="r"]').textContent(), /r.*p.*round-robin/);
  t.match(await page.locator('section[data-pool="p"] h2').textContent(), /round-robin.*3\/3 up/);

  const clients = [];
  for (let i = 0; i < 6; i++) clients.push(await connect(b.proxyPort()));
  // Pushed within about a second; round-robin spreads 6 tunnels 2-2-2.
  await page.locator('#connections').filter({ hasText: /^6$/ }).waitFor({ timeout: 10_000 });
  for (const be of backends) await cell(page, be.name, 'active').filter({ hasText: /^2$/ }).waitFor({ timeout: 10_000 });
  // The charts drew one line per server.
  await page.waitForFunction(() => document.querySelectorAll('section[data-pool="p"] svg[data-chart="active"] polyline').length === 3, undefined, { timeout: 10_000 });
  t.equal(await page.locator('section[data-pool="p"] svg[data-chart="bandwidth"] polyline').count(), 3);

  for (const ws of clients) ws.close(1000);
  await page.locator('#connections').filter({ hasText: /^0$/ }).waitFor({ timeout: 10_000 });
  await page.locator('#closes li[data-key="1000"]').waitFor({ timeout: 10_000 });
  t.match(await page.locator('#closes li[data-key="1000"] .total').textContent(), /^6$/);
  t.same(errors, [], 'no console or page errors');
});

t.test('the drain button drains a server: 1012 to its clients, state draining, no new tunnels', async (t) => {
  const { b, backends } = await farm(t, { n: 2 });
  const { page, errors } = await openPage(t, b);
  const clients = [];
  for (let i = 0; i < 4; i++) clients.push(await connect(b.proxyPort()));
  await cell(page, 'web-1', 'active').filter({ hasText: /^2$/ }).waitFor({ timeout: 10_000 });
  const codes = clients.map((ws) => new Promise<number>((r) => ws.on('close', (code: number) => r(code))));

  const drain = page.locator('tr[data-server="web-1"] button[data-action="drain"]');
  await drain.click();
  t.equal(await drain.textContent(), 'Confirm?', 'asks for a second click');
  t.equal(b.runtime.pools.get('p')!.server('web-1')!.state, 'up', 'nothing happens on the first click');
  await drain.click();
  // The toast first: it is removed 5 s after it appears, which the waits below could outlast on a loaded machine.
  await page.locator('#toasts .toast.ok').filter({ hasText: 'drain: p/web-1' }).waitFor({ timeout: 10_000 });
  await cell(page, 'web-1', 'state').filter({ hasText: 'draining' }).waitFor({ timeout: 10_000 });
  t.equal(await cell(page, 'web-1', 'reason').textContent(), 'drained by admin');
  await cell(page, 'web-1', 'active').filter({ hasText: /^0$/ }).waitFor({ timeout: 10_000 });
  t.equal(await cell(page, 'web-2', 'active').textContent(), '2', 'the other server keeps its tunnels');
  const closed = await Promise.race([Promise.all(codes.filter((_, i) => i % 2 === 0)), new Promise<number[]>((r) => setTimeout(() => r([]), 10_000))]);
  t.same(closed, [1012, 1012], 'web-1 clients closed with 1012');
  t.ok(await drain.isDisabled(), 'drain disabled while draining');

  const enable = page.locator('tr[data-server="web-1"] button[data-action="enable"]');
  await enable.click();
  await cell(page, 'web-1', 'state').filter({ hasText: 'up' }).waitFor({ timeout: 10_000 });
  t.equal(backends.length, 2);
  for (const ws of clients) ws.terminate();
  t.same(errors, [], 'no console or page errors');
});

t.test('with admin.token set, a button asks for the token and then succeeds', async (t) => {
  const { b } = await farm(t, { token: 'tok-123', n: 2 });
  const { page, errors } = await openPage(t, b);
  await page.locator('#lock').filter({ hasText: 'token required' }).waitFor({ state: 'visible', timeout: 10_000 });
  const disable = page.locator('tr[data-server="web-2"] button[data-action="disable"]');
  await disable.click();
  await disable.click();
  await page.locator('#token-dialog[open]').waitFor({ timeout: 10_000 });
  await page.fill('#token-input', 'wrong');
  await page.click('#token-dialog button[value="ok"]');
  await page.locator('#toasts .toast.err').filter({ hasText: 'missing or wrong bearer token' }).waitFor({ timeout: 10_000 });
  t.equal(b.runtime.pools.get('p')!.server('web-2')!.state, 'up', 'wrong token: nothing changed');

  await disable.click();
  await disable.click();
  await page.locator('#token-dialog[open]').waitFor({ timeout: 10_000 });
  await page.fill('#token-input', 'tok-123');
  await page.click('#token-dialog button[value="ok"]');
  await cell(page, 'web-2', 'state').filter({ hasText: 'disabled' }).waitFor({ timeout: 10_000 });
  t.equal(b.runtime.pools.get('p')!.server('web-2')!.state, 'disabled');
  // The token is remembered for the session: enable goes through without asking.
  await page.locator('tr[data-server="web-2"] button[data-action="enable"]').click();
  await cell(page, 'web-2', 'state').filter({ hasText: 'up' }).waitFor({ timeout: 10_000 });
  // 401 answers show up as "Failed to load resource" console lines: expected here, nothing else.
  t.same(errors.filter((e) => !/status of 401/.test(e)), [], 'no other console or page errors');
});

t.test('workers: 2: the primary\'s dashboard follows the tunnels of both workers', async (t) => {
  const backs = await Promise.all(['c1', 'c2', 'c3'].map((n) => startChildServer(t, n)));
  const inst = await startInstance(t, clusterYaml(backs.map((be) => ({ name: be.name, url: be.url })), { workers: 2 }), 2);
  const { page, errors } = await openPage(t, { adminPort: () => inst.admin });
  await page.locator('#live.on').waitFor({ timeout: 10_000 });
  for (const be of backs) await cell(page, be.name, 'state').filter({ hasText: 'up' }).waitFor({ timeout: 10_000 });
  const clients: WebSocket[] = [];
  t.teardown(() => { for (const ws of clients) ws.terminate(); });
  const per: Record<string, number> = { c1: 0, c2: 0, c3: 0 };
  for (let i = 0; i < 6; i++) {
    const [ws, name] = await connectNamed(inst.proxy);
    clients.push(ws);
    per[name]!++;
  }
  await page.locator('#connections').filter({ hasText: /^6$/ }).waitFor({ timeout: 10_000 });
  for (const be of backs) await cell(page, be.name, 'active').filter({ hasText: new RegExp(`^${per[be.name]}$`) }).waitFor({ timeout: 10_000 });
  await page.waitForFunction(() => document.querySelectorAll('section[data-pool="p"] svg[data-chart="active"] polyline').length === 3, undefined, { timeout: 10_000 });
  for (const ws of clients) ws.close(1000);
  await page.locator('#connections').filter({ hasText: /^0$/ }).waitFor({ timeout: 10_000 });
  t.same(errors, [], 'no console or page errors');
});
