/** The wslb version, read once from the package's own package.json (found from src/ or dist/src/ alike). */

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function readVersion(): string {
  // src/version.ts sits one level below the package root, dist/src/version.js two: walk up.
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'wslb' && typeof pkg.version === 'string') return pkg.version;
    } catch { /* not here: one level up */ }
    dir = dirname(dir);
  }
  return 'unknown';
}

export const VERSION = readVersion();
