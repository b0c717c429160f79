/** bench:bulk runs end to end: a farm, wslb and the floor, bulk downloads through each, one table row per target with bytes that really flowed. */

import t from 'tap';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { ROOT } from '../../bench/compare/peers.js';

t.test('bench:bulk measures MiB/s and CPU per MiB through wslb and the floor', async (t) => {
  const out = await new Promise<string>((resolve, reject) => {
    execFile(process.execPath, [path.join(ROOT, 'dist/bench/compare/bulk.js'), '--clients', '2', '--seconds', '1', '--reps', '1', '--targets', 'wslb,floor-l7'],
      { timeout: 90_000 }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)));
  });
  const rows = out.split('\n').filter((l) => /^\| (wslb|floor-l7) \|/.test(l));
  t.equal(rows.length, 2, `one row per target:\n${out}`);
  for (const row of rows) {
    const [, target, clients, , mib, cpu] = row.split('|').map((c) => c.trim());
    t.equal(clients, '2', `${target}: the client count`);
    t.ok(Number(mib) > 1, `${target}: bytes flowed (${mib} MiB/s)`);
    t.ok(Number(cpu) > 0 && Number.isFinite(Number(cpu)), `${target}: CPU per MiB measured (${cpu} ms)`);
  }
});

t.test('bench:bulk refuses an unknown target', async (t) => {
  const err = await new Promise<Error & { code?: number }>((resolve) => {
    execFile(process.execPath, [path.join(ROOT, 'dist/bench/compare/bulk.js'), '--targets', 'nope'], { timeout: 30_000 }, (e) => resolve(e as Error));
  });
  t.equal(err.code, 1);
  t.match(err.message, 'unknown target nope');
});
