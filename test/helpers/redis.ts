/** Test helper: whether the Redis tests can run here, as a tap `skip` reason (or false); starts redis-server on 127.0.0.1:6379 once if nothing answers there. */

import { spawnSync } from 'node:child_process';
import net from 'node:net';

export const REDIS_PORT = 6379;
export const REDIS_URL = `redis://127.0.0.1:${REDIS_PORT}`;

/** True if a Redis without a password answers PING on 127.0.0.1:`port` within `ms`. */
export function redisAnswers(port = REDIS_PORT, ms = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    let got = '';
    const done = (ok: boolean): void => { clearTimeout(timer); sock.destroy(); resolve(ok); };
    const timer = setTimeout(() => done(false), ms);
    sock.on('error', () => done(false));
    sock.on('connect', () => sock.write('PING\r\n'));
    sock.on('data', (d: Buffer) => { got += d.toString('latin1'); if (got.includes('\r\n')) done(got.startsWith('+PONG')); });
  });
}

const hasBinary = (): boolean => spawnSync('redis-server', ['--version'], { stdio: 'ignore', timeout: 5000 }).error === undefined;

async function sharedRedis(): Promise<boolean> {
  if (await redisAnswers()) return true;
  if (!hasBinary()) return false;
  // Loopback only, no persistence; another test file may race us to the port, which is just as good.
  spawnSync('redis-server', ['--daemonize', 'yes', '--port', String(REDIS_PORT), '--bind', '127.0.0.1', '--save', ''], { stdio: 'ignore', timeout: 5000 });
  const end = Date.now() + 3000;
  while (Date.now() < end) {
    if (await redisAnswers(REDIS_PORT, 500)) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

let shared: Promise<boolean> | undefined;

/**
 * Use as `t.test(name, { skip: await redisSkip() }, fn)`. Every Redis test needs a Redis on
 * 127.0.0.1:6379 (tried once per test process, started with `redis-server --daemonize yes` if the
 * binary exists and nothing answers); `spawns: true` marks a test that also starts its own
 * throwaway redis-server children (startRedis), which need the binary on PATH.
 */
export async function redisSkip(opts: { spawns?: boolean } = {}): Promise<string | false> {
  shared ??= sharedRedis();
  if (!(await shared)) return `Redis not reachable at 127.0.0.1:${REDIS_PORT} and redis-server could not start it`;
  if (opts.spawns && !hasBinary()) return 'redis-server is not on PATH (this test starts its own Redis children)';
  return false;
}
