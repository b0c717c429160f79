/** Test helpers for process trees and instances: a balancer CLI child from a YAML object, its admin calls, a Redis child on its own port. */

import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Test } from 'tap';
import { stringify } from 'yaml';
import { startCli, type RunningCli } from '../helpers/cli.js';
import { startChildServer } from '../helpers/server-process.js';
import { waitFor } from '../helpers/wait.js';
import WebSocket from 'ws';

export interface Instance { cli: RunningCli; proxy: number; admin: number; file: string }

/** How long a stopping instance may drain (timeouts.drain is 1 s in clusterYaml) before it is killed. */
const STOP_MS = 10_000;

/** A 3-server least-connections farm config (health checks off unless `pool` says otherwise). */
export function clusterYaml(servers: { name: string; url: string }[], extra: Record<string, unknown> = {}, pool: Record<string, unknown> = {}): string {
  return stringify({
    listeners: [{ port: 0, host: '127.0.0.1' }],
    admin: { port: 0, host: '127.0.0.1' },
    log: { level: 'info' },
    timeouts: { drain: '1s' },
    limits: { handshakes_per_ip: 100_000, max_connections_per_ip: 100_000 },   // every test client is 127.0.0.1
    pools: { p: { algorithm: 'least-connections', health: { check: 'none' }, servers, ...pool } },
    routes: [{ name: 'r', match: { path: '/' }, pool: 'p' }],
    ...extra,
  });
}

/**
 * Starts `wslb run` on a temp config, with coverage on (src/cluster runs only in such children;
 * test/helpers/cli.ts says how it merges); resolves once the proxy and admin ports are logged.
 * Stopped at test end with SIGTERM (every process drains and exits: their coverage is written),
 * killed if still there after STOP_MS.
 */
export async function startInstance(t: Test, yaml: string, workers = 1): Promise<Instance> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wslb-cluster-'));
  const file = path.join(dir, 'balancer.yaml');
  fs.writeFileSync(file, yaml);
  const cli = startCli(['run', '-c', file], {}, { coverage: true });
  t.teardown(async () => {
    if (cli.child.exitCode === null && cli.child.signalCode === null) {
      cli.child.kill('SIGTERM');
      const timer = setTimeout(() => cli.child.kill('SIGKILL'), STOP_MS);   // workers see the IPC channel close and exit on their own
      await cli.exited;
      clearTimeout(timer);
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const proxy = await cli.waitFor((l) => l['msg'] === 'listening' && l['kind'] === 'proxy', 30_000);
  const admin = await cli.waitFor((l) => l['msg'] === 'listening' && l['kind'] === 'admin', 30_000);
  if (workers > 1) {
    // Counted too: `every` over a list the primary has not filled yet would pass at once.
    const ready = async (): Promise<boolean> => {
      const list = (await status(admin['port'] as number))['workers'] as { ready: boolean }[];
      return list.length === workers && list.every((w) => w.ready);
    };
    await waitFor(t, ready, { ms: 15_000, what: `all ${workers} workers ready` });
  }
  return { cli, proxy: proxy['port'] as number, admin: admin['port'] as number, file };
}

export async function status(admin: number): Promise<Record<string, unknown>> {
  const res = await fetch(`http://127.0.0.1:${admin}/status`);
  return (await res.json()) as Record<string, unknown>;
}

export async function post(admin: number, p: string): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${admin}${p}`, { method: 'POST' });
  await res.text();
  return res.status;
}

/** Per-server `field` of pool p in a /status document. */
export function servers(doc: Record<string, unknown>, field = 'active'): Record<string, unknown> {
  const pool = (doc['pools'] as Record<string, { servers: Record<string, unknown>[] }>)['p']!;
  return Object.fromEntries(pool.servers.map((s) => [s['name'] as string, s[field]]));
}

async function freePort(): Promise<number> {
  const s = net.createServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

export interface RedisChild { readonly port: number; stop(): Promise<void>; start(): Promise<void> }

/** A throwaway redis-server on its own port (no persistence), stopped at test end. */
export async function startRedis(t: Test): Promise<RedisChild> {
  const port = await freePort();
  let child: ChildProcess | null = null;
  const start = async (): Promise<void> => {
    const c = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'], { stdio: ['ignore', 'pipe', 'inherit'] });
    child = c;
    let out = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('redis-server did not start')), 5000);
      c.stdout!.on('data', (d: Buffer) => { out += d.toString(); if (out.includes('Ready to accept connections')) { clearTimeout(timer); resolve(); } });
      c.once('exit', (code) => { clearTimeout(timer); reject(new Error(`redis-server exited ${code}: ${out}`)); });
    });
  };
  const stop = async (): Promise<void> => {
    const c = child;
    child = null;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    c.kill('SIGKILL');
    await once(c, 'exit');
  };
  await start();
  t.teardown(stop);
  return { port, stop, start };
}

export interface RedisFarm { redis: RedisChild; a: Instance; b: Instance; clients: WebSocket[] }

/**
 * Three child servers s1-s3, a throwaway Redis, and two instances `a` and `b` sharing it
 * (clusterYaml plus `extra` and `pool`), each with `workers` workers; `clients` are terminated at test end.
 */
export async function redisFarm(t: Test, opts: { extra?: Record<string, unknown>; pool?: Record<string, unknown>; workers?: number } = {}): Promise<RedisFarm> {
  const redis = await startRedis(t);
  const backs = await Promise.all(['s1', 's2', 's3'].map((n) => startChildServer(t, n)));
  const list = backs.map((b) => ({ name: b.name, url: b.url }));
  const workers = opts.workers ?? 1;
  const cfg = (name: string): string => clusterYaml(list, { ...(workers > 1 ? { workers } : {}), ...opts.extra, cluster: { redis: `redis://127.0.0.1:${redis.port}`, name } }, opts.pool);
  const [a, b] = await Promise.all([startInstance(t, cfg('a'), workers), startInstance(t, cfg('b'), workers)]);
  const clients: WebSocket[] = [];
  t.teardown(() => { for (const c of clients) c.terminate(); });
  return { redis, a, b, clients };
}

export async function scrape(admin: number): Promise<string> {
  return (await fetch(`http://127.0.0.1:${admin}/metrics`)).text();
}

/** The sum of every series of `name` whose label text contains each of `match` (e.g. `server="s1"`). */
export function metricSum(text: string, name: string, ...match: string[]): number {
  let n = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!match.every((m) => line.includes(m))) continue;
    n += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return n;
}
