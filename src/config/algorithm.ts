/** The `algorithm:` value: a name, `{ name, ...options }` or `{ module, ...options }`, normalized to AlgorithmConfig. */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import * as z from 'zod';
import type { SchemaContext } from './fields.js';
import type { AlgorithmConfig } from './types.js';
import { checkAlgorithmOptions, checkModuleOptions } from './algorithm-options.js';

/** The built-in algorithm names; the balancing registry is the source of truth and may pass its own list. */
export const KNOWN_ALGORITHMS: readonly string[] = [
  'round-robin', 'least-connections', 'least-bandwidth', 'least-response-time',
  'hash', 'p2c', 'random', 'custom-load',
];

type Issue = { message: string; path: (string | number)[] };

export function algorithmSchema(ctx: SchemaContext) {
  return z
    .union([z.string(), z.looseObject({ name: z.string() }), z.looseObject({ module: z.string() })], {
      error: () => 'expected an algorithm name, { name: NAME, ...options } or { module: PATH, ...options }',
    })
    .transform((v, zc) => {
      const issues: Issue[] = [];
      const out = normalize(v, ctx, issues);
      for (const i of issues) zc.addIssue({ code: 'custom', message: i.message, path: i.path });
      return issues.length ? z.NEVER : out;
    })
    .meta({ description: `one of ${KNOWN_ALGORITHMS.join(', ')}; or { name, ...options }; or { module: ./file.js, ...options }` });
}

function normalize(v: string | Record<string, unknown>, ctx: SchemaContext, issues: Issue[]): AlgorithmConfig {
  if (typeof v === 'string') {
    checkName(v, [], ctx, issues);
    return { name: v, options: {} };
  }
  const { name, module, ...options } = v;
  if (name !== undefined && module !== undefined) {
    issues.push({ path: ['module'], message: 'give either "name" (a built-in algorithm) or "module" (your own), not both' });
    return { name: 'invalid', options };
  }
  if (typeof module === 'string') {
    // Resolved here, and checked to exist, so a typo fails `wslb check` rather than the first reload.
    const file = resolve(ctx.baseDir, module);
    if (!existsSync(file)) issues.push({ path: ['module'], message: `algorithm module not found: ${file}` });
    return { name: 'module', module: file, options: checkModuleOptions(options, issues) };
  }
  const n = name as string;
  checkName(n, ['name'], ctx, issues);
  return { name: n, options: checkAlgorithmOptions(n, options, ctx.algorithms, issues) };
}

function checkName(n: string, path: (string | number)[], ctx: SchemaContext, issues: Issue[]): void {
  if (!ctx.algorithms.includes(n)) {
    issues.push({ path, message: `unknown algorithm "${n}"; expected one of ${ctx.algorithms.join(', ')}` });
  }
}
