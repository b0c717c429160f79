/** File-descriptor exhaustion: a balancer (child process) whose descriptor limit is lowered at run time pauses accepting, logs once, never crashes, and accepts again once descriptors free up. */

import t from 'tap';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startBackend } from '../helpers/backend.js';
import { startCli } from '../helpers/cli.js';
import { echo, openWs } from '../helpers/hardening.js';
import { waitFor } from '../helpers/wait.js';

const hasPrlimit = (() => { try { execFileSync('prlimit', ['--version'], { stdio: 'ignore' }); return true; } catch { return false; } })();

t.test('EMFILE on accept', { skip: hasPrlimit ? false : 'needs util-linux prlimit' }, async (t) => {
  const backend = await startBackend({ name: 'b1' });
  t.teardown(() => backend.close());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wslb-emfile-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'balancer.yaml');
  fs.writeFileSync(file, [
    'listeners: [{ port: 0, host: 127.0.0.1 }]',
    'admin: { port: 0, host: 127.0.0.1 }',
    'timeouts: { handshake: 20s }',
    `pools: { p: { health: { check: none }, servers: [{ name: b1, url: "${backend.url}" }] } }`,
    'routes: [{ pool: p }]',
  ].join('\n'));
  const cli = startCli(['run', '-c', file]);
  t.teardown(() => { cli.child.kill('SIGKILL'); });
  const listening = await cli.waitFor((l) => l['msg'] === 'listening' && l['kind'] === 'proxy');
  const port = listening['port'] as number;
  const pid = cli.child.pid!;
  const inUse = fs.readdirSync(`/proc/${pid}/fd`).length;
  // Room for a few more descriptors only.
  execFileSync('prlimit', ['--pid', String(pid), `--nofile=${inUse + 6}:`]);   // the soft limit only

  // Fill the descriptor table with idle connections until the balancer can no longer take one (libuv then
  // accepts and drops it at once), then free exactly one descriptor.
  // Each connection is known held once the balancer's descriptor count grows, dropped once it closes:
  // waited for either, not guessed from a fixed 300 ms that a loaded machine could outlast.
  const fds = (): number => fs.readdirSync(`/proc/${pid}/fd`).length;
  const held: net.Socket[] = [];
  t.teardown(() => { for (const s of held) s.destroy(); });
  let full = false;
  for (let i = 0; i < 40 && !full; i++) {
    const before = fds();
    const s = net.connect(port, '127.0.0.1');
    s.on('error', () => {});
    let closed = false;
    s.once('close', () => { closed = true; });
    if (!await waitFor(t, () => closed || fds() > before, { ms: 10_000, what: `connection ${i + 1} held or dropped` })) break;
    if (closed) full = true;
    else held.push(s);
  }
  t.ok(full, `the table filled after ${held.length} idle connections`);
  t.equal(cli.child.exitCode, null, 'connections dropped for want of descriptors did not crash the balancer');
  const fullCount = fds();
  held.pop()!.destroy();
  await waitFor(t, () => fds() < fullCount, { what: 'the balancer closed the freed connection' });

  // The next client is accepted with the last descriptor; its server connect fails with EMFILE.
  const refused = await openWs(`ws://127.0.0.1:${port}/`).then(() => null, (e: { status?: number; headers?: Record<string, string> }) => e);
  t.equal(refused?.status, 503, 'a client that cannot be proxied gets 503, not 502');
  t.equal(refused?.headers?.['x-wslb-error'], 'WSLB_ERR_OVER_CAPACITY');
  await cli.waitFor((l) => l['msg'] === 'out of file descriptors: accepting paused', 10_000);
  t.pass('accepting paused, and said so');
  t.equal(cli.child.exitCode, null, 'the balancer is still running');

  for (const s of held) s.destroy();
  held.length = 0;
  await cli.waitFor((l) => l['msg'] === 'accepting again', 15_000);
  t.pass('it listens again once descriptors are free');
  const warnings = cli.lines.filter((l) => l['msg'] === 'out of file descriptors: accepting paused').length;
  t.equal(warnings, 1, 'logged once');
  t.notOk(cli.lines.some((l) => l['msg'] === 'server state changed'), 'the server was not blamed');

  const ws = await openWs(`ws://127.0.0.1:${port}/`);
  t.equal(await echo(ws, 'back'), 'back', 'and serves clients again');
  ws.close();
  cli.child.kill('SIGTERM');
  t.equal(await cli.exited, 0, 'and still shuts down cleanly');
});
