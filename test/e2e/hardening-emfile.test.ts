/** File-descriptor exhaustion: a balancer (child process) whose descriptor limit is lowered at run time pauses accepting, logs once, never crashes, and accepts again once descriptors free up. */

import t from 'tap';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startBackend } from '../helpers/backend.js';
import { startCli } from '../helpers/cli.js';
import { echo, openWs, sleep } from '../helpers/hardening.js';

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
    'timeouts: { handshake: 2s }',
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
  execFileSync('prlimit', ['--pid', String(pid), `--nofile=${inUse + 6}:${inUse + 6}`]);

  // Flood: hold many idle connections open (each costs the balancer one descriptor until its 408).
  const held: net.Socket[] = [];
  t.teardown(() => { for (const s of held) s.destroy(); });
  for (let i = 0; i < 60; i++) {
    const s = net.connect(port, '127.0.0.1');
    s.on('error', () => {});
    held.push(s);
    await sleep(5);
  }
  await cli.waitFor((l) => l['msg'] === 'out of file descriptors: accepting paused', 10_000);
  t.pass('the guard paused accepting and said so');
  t.equal(cli.child.exitCode, null, 'the balancer is still running');

  for (const s of held) s.destroy();
  held.length = 0;
  await cli.waitFor((l) => l['msg'] === 'accepting again', 15_000);
  t.pass('it listens again once descriptors are free');
  const pauses = cli.lines.filter((l) => l['msg'] === 'out of file descriptors: accepting paused').length;
  t.ok(pauses >= 1 && pauses <= 3, `logged ${pauses} time(s), not once per refused connection`);

  execFileSync('prlimit', ['--pid', String(pid), '--nofile=4096:4096']);
  const ws = await openWs(`ws://127.0.0.1:${port}/`);
  t.equal(await echo(ws, 'back'), 'back', 'and serves clients again');
  ws.close();
  cli.child.kill('SIGTERM');
  t.equal(await cli.exited, 0, 'and still shuts down cleanly');
});
