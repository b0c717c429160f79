/** The import rules of .dependency-cruiser.cjs (no cycles, type-only imports included; base < parts < composition) hold for src/ and bench/. */

import t from 'tap';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '../..');

t.test('dependency-cruiser finds no violation', async (t) => {
  const bin = path.join(ROOT, 'node_modules/.bin/depcruise');
  const { code, out } = await new Promise<{ code: number | null; out: string }>((resolve) => {
    execFile(bin, ['--config', '.dependency-cruiser.cjs', 'src', 'bench'], { cwd: ROOT, timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, out: stdout + stderr });
    });
  });
  t.equal(code, 0, out.trim().split('\n').slice(-20).join('\n'));
  t.match(out, /no dependency violations found \(\d+ modules/);
});
