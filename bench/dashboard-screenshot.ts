/**
 * `npm run dashboard:screenshot [-- OUT.png] [--seconds N]`: starts the demo farm and a balancer on
 * ephemeral 127.0.0.1 ports, drives some traffic (clients come and go, messages both ways, a few
 * bad requests, one server drained midway), opens the dashboard in Debian's headless Chromium and
 * writes a full-page PNG (default ./dashboard.png), so a person can look at it.
 */

import { existsSync } from 'node:fs';
import net from 'node:net';
import { resolve } from 'node:path';
import { chromium } from 'playwright-core';
import WebSocket from 'ws';
import { loadConfigText } from '../src/config/load.js';
import { startFarm } from '../src/demo/farm.js';
import { createLogger } from '../src/log.js';
import { Balancer } from '../src/main.js';

const CHROMIUM = '/usr/bin/chromium';
const args = process.argv.slice(2);
const secondsAt = args.indexOf('--seconds');
const seconds = secondsAt >= 0 ? Number(args[secondsAt + 1]) : 25;
const out = resolve(args.find((a, i) => !a.startsWith('--') && i !== secondsAt + 1) ?? 'dashboard.png');

if (!existsSync(CHROMIUM)) {
  process.stderr.write(`${CHROMIUM} is missing: apt-get install -y chromium\n`);
  process.exit(1);
}

const farm = await startFarm({ ports: [0, 0, 0] });
const config = loadConfigText(`
listeners: [{ port: 0, host: 127.0.0.1 }]
admin: { port: 0, host: 127.0.0.1 }
log: { level: silent }
pools:
  demo:
    algorithm: least-connections
    health: { check: tcp, interval: 1s }
    drain: 15s
    servers:
${farm.servers.map((s) => `      - { name: ${s.name}, url: "ws://127.0.0.1:${s.port}", weight: ${s.name === 'demo-1' ? 2 : 1} }`).join('\n')}
routes:
  - { name: rooms, match: { path: /room }, pool: demo, algorithm: round-robin }
  - { name: echo, match: { path: / }, pool: demo }
`, 'screenshot.yaml', {});
const balancer = new Balancer(config, createLogger('silent'));
await balancer.start();
const port = balancer.proxyPort();
const admin = `http://127.0.0.1:${balancer.adminPort()}/`;
process.stderr.write(`dashboard at ${admin} (${seconds} s of traffic)\n`);

const clients = new Set<WebSocket>();
const payload = Buffer.alloc(2048, 0x61);
const timers: NodeJS.Timeout[] = [];
const every = (ms: number, fn: () => void): void => { timers.push(setInterval(fn, ms)); };

// Clients arrive steadily and a few leave; each one chats.
every(250, () => {
  if (clients.size >= 48) return;
  const ws = new WebSocket(`ws://127.0.0.1:${port}${clients.size % 3 === 0 ? '/room' : '/'}`, { perMessageDeflate: false });
  ws.on('error', () => {});
  ws.on('open', () => clients.add(ws));
  ws.on('close', () => clients.delete(ws));
});
every(100, () => { for (const ws of clients) if (Math.random() < 0.3) ws.send(payload.subarray(0, 256 + Math.floor(Math.random() * 1792))); });
every(1500, () => { const first = clients.values().next().value; if (first && Math.random() < 0.6) first.close(Math.random() < 0.8 ? 1000 : 4001); });
// A few refused requests: a plain GET (426) and a malformed upgrade (400).
every(700, () => {
  const sock = net.connect(port, '127.0.0.1');
  sock.on('error', () => {});
  sock.end(Math.random() < 0.5 ? 'GET / HTTP/1.1\r\nHost: demo\r\n\r\n' : 'GET / HTTP/1.1\r\nHost: demo\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
  sock.resume();
});

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync', '--disable-quic'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1440, height: 1000 }, deviceScaleFactor: 1 });
  page.on('console', (m) => { if (m.type() === 'error') process.stderr.write(`console error: ${m.text()}\n`); });
  await page.goto(admin);
  await new Promise((r) => setTimeout(r, (seconds * 1000) / 2));
  await fetch(`${admin}pools/demo/servers/demo-3/drain`, { method: 'POST' });
  await new Promise((r) => setTimeout(r, (seconds * 1000) / 2));
  await page.screenshot({ path: out, fullPage: true });
  process.stdout.write(`${out}\n`);
} finally {
  for (const t of timers) clearInterval(t);
  await browser.close();
  for (const ws of clients) ws.terminate();
  balancer.destroy();
  await farm.close();
}
process.exit(0);
