/** Test helper: runs a deployment's balancer.yaml through the real CLI on loopback, with its in-cluster DNS and Redis names pointed at local counting servers. */

import type { Test } from 'tap';
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import path from 'node:path';
import { isMap, parseDocument } from 'yaml';
import { runCli, startCli } from '../helpers/cli.js';
import { startDnsServer } from '../helpers/dns-server.js';

export interface Probe { name: string; path: string; port: string | number }

/** A value for every `${VAR}` the text needs (no default given), as the orchestrator would set it. */
export function configEnv(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const m of text.matchAll(/(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g)) env[m[1]!] = `test-${m[1]!.toLowerCase()}`;
  return env;
}

/** A TCP server that counts connections and never answers (a Redis that is not there). */
async function countingServer(t: Test): Promise<{ port: number; accepted: () => number }> {
  let n = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => { n++; sockets.add(s); s.on('error', () => {}); s.on('close', () => sockets.delete(s)); });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => { for (const s of sockets) s.destroy(); server.close(); });
  return { port: (server.address() as net.AddressInfo).port, accepted: () => n };
}

/** The config with every DNS discovery and the Redis URL aimed at local servers; `live` also moves the listeners to loopback port 0 and logs at info. */
function rewrite(text: string, dnsPort: number, redisPort: number, live: boolean): string {
  const doc = parseDocument(text);
  const pools = doc.get('pools');
  if (isMap(pools)) {
    for (const pair of pools.items) {
      const name = String((pair.key as { value?: unknown }).value ?? pair.key);
      if (doc.hasIn(['pools', name, 'discover'])) doc.setIn(['pools', name, 'discover', 'resolver'], `127.0.0.1:${dnsPort}`);
    }
  }
  if (doc.hasIn(['cluster', 'redis'])) doc.setIn(['cluster', 'redis'], `redis://127.0.0.1:${redisPort}`);
  if (live) {
    const listeners = doc.get('listeners');
    const n = listeners && typeof listeners === 'object' && 'items' in listeners ? (listeners.items as unknown[]).length : 0;
    for (let i = 0; i < n; i++) { doc.setIn(['listeners', i, 'host'], '127.0.0.1'); doc.setIn(['listeners', i, 'port'], 0); }
    doc.setIn(['admin', 'host'], '127.0.0.1');
    doc.setIn(['admin', 'port'], 0);
    doc.setIn(['log', 'level'], 'info');
  }
  return doc.toString();
}

/** `wslb check` on the config, its DNS and Redis names aimed at local servers: passes, and asks neither. */
export async function noLookups(t: Test, text: string, env: Record<string, string>): Promise<void> {
  const dns = await startDnsServer();
  t.teardown(() => dns.close());
  const redis = await countingServer(t);
  const dir = t.testdir({ 'c.yaml': rewrite(text, dns.port, redis.port, false) });
  const r = await runCli(['check', '-c', path.join(dir, 'c.yaml')], env);
  t.equal(r.code, 0, 'wslb check exits 0 with the lookups aimed here', { stderr: r.stderr });
  t.equal(dns.queries, 0, 'wslb check sent no DNS query');
  t.equal(redis.accepted(), 0, 'wslb check opened no Redis connection');
}

/**
 * Runs the config (workers and all) on loopback and GETs each path from its admin listener with no
 * credentials, as a kubelet probe does. Returns the statuses; also checks that the same rewrite does
 * reach the local DNS and Redis servers when running, which is what makes `noLookups` meaningful.
 */
export async function probeLive(t: Test, text: string, env: Record<string, string>, paths: string[]): Promise<number[]> {
  const dns = await startDnsServer();
  t.teardown(() => dns.close());
  const redis = await countingServer(t);
  const dir = t.testdir({ 'c.yaml': rewrite(text, dns.port, redis.port, true) });
  const cli = startCli(['run', '-c', path.join(dir, 'c.yaml')], env);
  t.teardown(async () => {
    if (cli.child.exitCode !== null) return;
    cli.child.kill('SIGTERM');
    // A second signal aborts the drain (and any shutdown grace): the test does not wait them out.
    const timer = setTimeout(() => cli.child.kill('SIGTERM'), 1500);
    await cli.exited;
    clearTimeout(timer);
  });
  const admin = await cli.waitFor((l) => l.msg === 'listening' && l.kind === 'admin', 15_000);
  const statuses: number[] = [];
  for (const p of paths) {
    const res = await new Promise<http.IncomingMessage>((resolve, reject) =>
      http.get({ host: '127.0.0.1', port: admin.port as number, path: p }, resolve).on('error', reject));
    res.resume();
    statuses.push(res.statusCode ?? 0);
  }
  const start = Date.now();
  while ((dns.queries === 0 || redis.accepted() === 0) && Date.now() - start < 15_000) await new Promise((r) => setTimeout(r, 20));   // generous: a loaded machine
  t.ok(dns.queries > 0, 'running, the config does query the local DNS server');
  if (/redis/.test(text)) t.ok(redis.accepted() > 0, 'running, the config does connect to the local Redis');
  return statuses;
}
