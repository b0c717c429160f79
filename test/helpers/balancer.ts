/** Test helper: an in-process balancer on 127.0.0.1 port 0 built from a YAML-shaped object, stopped at test end. */

import type { Test } from 'tap';
import { stringify } from 'yaml';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfigFile, loadConfigText } from '../../src/config/load.js';
import { createLogger } from '../../src/log.js';
import { Balancer } from '../../src/main.js';

export interface FarmSpec {
  servers: { name: string; url: string; weight?: number }[];
  algorithm?: string | Record<string, unknown>;
  retries?: number;
  timeouts?: Record<string, string>;
  limits?: Record<string, string | number>;
  route?: Record<string, unknown>;
  pool?: Record<string, unknown>;
}

/** One listener, one pool `p`, one route `r` on `/` (unless `route` overrides), health checks off. */
export function farmYaml(spec: FarmSpec): string {
  return stringify({
    listeners: [{ port: 0, host: '127.0.0.1' }],
    admin: { port: 0, host: '127.0.0.1' },
    log: { level: process.env.WSLB_TEST_LOG ?? 'silent' },
    ...(spec.timeouts ? { timeouts: spec.timeouts } : {}),
    // Tests open many connections from 127.0.0.1: per-IP limits off unless a test sets them.
    limits: { handshakes_per_ip: '1000000/s', max_connections_per_ip: 1000000, ...spec.limits },
    pools: {
      p: {
        algorithm: spec.algorithm ?? 'round-robin',
        retries: spec.retries ?? 2,
        health: { check: 'none' },
        servers: spec.servers.map((s) => ({ name: s.name, url: s.url, ...(s.weight ? { weight: s.weight } : {}) })),
        ...spec.pool,
      },
    },
    routes: [{ name: 'r', match: { path: '/' }, pool: 'p', ...spec.route }],
  });
}

export async function startBalancer(t: Test, spec: FarmSpec | string): Promise<Balancer> {
  const text = typeof spec === 'string' ? spec : farmYaml(spec);
  const config = loadConfigText(text, 'test.yaml', {});
  const b = new Balancer(config, createLogger(config.log.level));
  await b.start();
  t.teardown(() => b.destroy());
  return b;
}

/** A balancer whose config lives in a real file, for reload tests: `write(spec)` then `b.reload()`. */
export async function startBalancerFromFile(t: Test, spec: FarmSpec): Promise<{ b: Balancer; write(spec: FarmSpec): void; file: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wslb-test-'));
  const file = path.join(dir, 'balancer.yaml');
  const write = (s: FarmSpec): void => fs.writeFileSync(file, farmYaml(s));
  write(spec);
  const config = loadConfigFile(file, {});
  const b = new Balancer(config, createLogger(config.log.level));
  await b.start();
  t.teardown(() => { b.destroy(); fs.rmSync(dir, { recursive: true, force: true }); });
  return { b, write, file };
}
