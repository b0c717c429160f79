/** The `algorithm:` value: a name, `{ name, ...options }` or `{ module, ...options }`, normalized to AlgorithmConfig. */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import * as z from 'zod';
import type { SchemaContext } from './fields.js';
import type { AlgorithmConfig } from './types.js';

/** The built-in algorithm names; the balancing registry is the source of truth and may pass its own list. */
export const KNOWN_ALGORITHMS: readonly string[] = [
  'round-robin', 'least-connections', 'least-bandwidth', 'least-response-time',
  'hash', 'p2c', 'random', 'custom-load',
];

const HASH_KEY_RE = /^(ip|path|(header|cookie|query):[^\s:]+)$/;

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
    return { name: 'module', module: file, options };
  }
  const n = name as string;
  checkName(n, ['name'], ctx, issues);
  if (n === 'hash') checkHashOptions(options, issues);
  return { name: n, options };
}

function checkName(n: string, path: (string | number)[], ctx: SchemaContext, issues: Issue[]): void {
  if (!ctx.algorithms.includes(n)) {
    issues.push({ path, message: `unknown algorithm "${n}"; expected one of ${ctx.algorithms.join(', ')}` });
  }
}

function checkHashOptions(options: Record<string, unknown>, issues: Issue[]): void {
  const key = options['key'];
  if (key !== undefined && (typeof key !== 'string' || !HASH_KEY_RE.test(key))) {
    issues.push({ path: ['key'], message: `invalid hash key ${JSON.stringify(key)}: expected ip, path, header:NAME, cookie:NAME or query:NAME` });
  }
  const bf = options['balance_factor'];
  if (bf !== undefined && (typeof bf !== 'number' || !(bf > 1))) {
    issues.push({ path: ['balance_factor'], message: `balance_factor must be a number greater than 1 (e.g. 1.25), got ${JSON.stringify(bf)}` });
  }
}
