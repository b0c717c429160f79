/** Test helper: walks the import graph of compiled entry files and names every package they load that is not a production dependency. */

import fs from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';

// Static and dynamic imports with a literal specifier, and re-exports. `import type` is gone from tsc's output.
// `from` must stand as a keyword (after `}`, `*` or a name and a space), not inside a string such as 'from'.
const IMPORT = /(?:(?:^|[\s}])from\s*|\bimport\s*\(\s*|^\s*import\s+)(['"])([^'"\s,]+)\1/gm;
// A relative .js path in any string literal: files started by path (fork(), new Worker(), new URL(..., import.meta.url)).
const RELATIVE_JS = /(['"])(\.\.?\/[^'"\n]+\.js)\1/g;

export interface Use { pkg: string; specifier: string; file: string }

/** The package a bare specifier loads (`@scope/name/sub` -> `@scope/name`), or null for builtins and relative paths. */
export function packageOf(specifier: string): string | null {
  if (specifier.startsWith('.') || specifier.startsWith('/')) return null;
  if (specifier.startsWith('node:') || builtinModules.includes(specifier)) return null;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

/** Every bare import reachable from `entries` (absolute .js paths), with the file that imports it. */
export function walkImports(entries: string[]): { uses: Use[]; files: Set<string> } {
  const files = new Set<string>();
  const uses: Use[] = [];
  const queue = [...entries];
  while (queue.length) {
    const file = queue.shift()!;
    if (files.has(file)) continue;
    files.add(file);
    const text = fs.readFileSync(file, 'utf8');
    for (const m of text.matchAll(IMPORT)) {
      const spec = m[2]!;
      const pkg = packageOf(spec);
      if (pkg) uses.push({ pkg, specifier: spec, file });
      else if (spec.startsWith('.')) queue.push(path.resolve(path.dirname(file), spec));
    }
    for (const m of text.matchAll(RELATIVE_JS)) {
      const target = path.resolve(path.dirname(file), m[2]!);
      if (fs.existsSync(target)) queue.push(target);
    }
  }
  return { uses, files };
}

/** One line per run-time import of a package that `npm ci --omit=dev` would not install. */
export function nonProductionImports(root: string, entries: string[]): string[] {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as {
    dependencies?: Record<string, string>; devDependencies?: Record<string, string>;
  };
  const prod = new Set(Object.keys(pkg.dependencies ?? {}));
  const dev = new Set(Object.keys(pkg.devDependencies ?? {}));
  const { uses } = walkImports(entries.map((e) => path.resolve(root, e)));
  const problems = new Set<string>();
  for (const u of uses) {
    if (prod.has(u.pkg)) continue;
    const where = dev.has(u.pkg) ? 'a devDependency' : 'not in package.json';
    problems.add(`${path.relative(root, u.file)} imports '${u.specifier}': ${u.pkg} is ${where}, so the runtime image (npm ci --omit=dev) lacks it`);
  }
  return [...problems].sort();
}
