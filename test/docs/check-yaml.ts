/** Test helper: checks one YAML example the way `wslb check` checks a file (config loader, then algorithm modules), plus that the files it names exist. */

import { existsSync } from 'node:fs';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { loadConfigText } from '../../src/config/load.js';
import { ConfigError, formatIssue, type Config } from '../../src/config/types.js';
import { checkModules } from '../../src/balancing/module.js';
import { defaultDeps } from '../../src/balancing/index.js';
import { ROOT } from './markdown.js';

/**
 * Environment variables the examples use. A new `${VAR}` without a default in an example needs
 * a value here (the check says so), so every placeholder is a value someone chose on purpose.
 */
export const EXAMPLE_ENV: Record<string, string> = {
  WSLB_ADMIN_TOKEN: 'example-token',
  WSLB_REDIS_URL: 'redis://127.0.0.1:6379',
  WSLB_NAME: 'wslb-a',
};

/**
 * What a ```` ```yaml fragment ```` block is merged into: a fragment may name the pool `chat`
 * (routes, say) without defining it. Every other ```` ```yaml ```` block must be a whole file.
 */
export const FRAGMENT_BASE = {
  pools: { chat: { servers: [{ url: 'ws://127.0.0.1:9001' }] } },
};

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Mappings merge key by key (the fragment's value wins); anything else is replaced. */
export function merge(base: unknown, over: unknown): unknown {
  if (!isObj(base) || !isObj(over)) return over;
  const out: Obj = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = merge(base[k], v);
  return out;
}

/**
 * Checks `text` as a config file sitting at the repository root (relative paths such as
 * `./examples/algorithm-module.js` start there, as for the demo balancer.yaml). `name` labels
 * error locations. Returns every problem, formatted `name:line:col path: message`; [] when valid.
 */
export async function checkYaml(text: string, name: string, opts: { fragment?: boolean; env?: Record<string, string> } = {}): Promise<string[]> {
  let source = text;
  if (opts.fragment) {
    let parsed: unknown;
    try { parsed = parse(text); } catch (err) { return [`${name}: not YAML: ${(err as Error).message}`]; }
    if (!isObj(parsed)) return [`${name}: a fragment must be a mapping of top-level keys`];
    source = stringify(merge(FRAGMENT_BASE, parsed));
  }
  const file = path.join(ROOT, name);
  let config: Config;
  try {
    config = loadConfigText(source, file, opts.env ?? EXAMPLE_ENV);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.issues.map((i) => formatIssue({ ...i, file: name }) + (/environment variable/.test(i.message) ? ' (give it a value in EXAMPLE_ENV, test/docs/check-yaml.ts)' : ''));
  }
  const problems = (await checkModules(config, defaultDeps)).map((i) => formatIssue({ ...i, file: name }));
  // `wslb check` also reads the TLS and key files a config names; examples may name key files an
  // operator supplies (auth keys), so the loader runs without reading files, and the TLS files an
  // example names must at least exist (the repository's own test certificates).
  const files: [string, string | undefined][] = [
    ...config.listeners.flatMap((l, i): [string, string | undefined][] => [
      [`listeners[${i}].tls.cert`, l.tls?.cert], [`listeners[${i}].tls.key`, l.tls?.key], [`listeners[${i}].tls.ca`, l.tls?.ca]]),
    ...Object.values(config.pools).map((p): [string, string | undefined] => [`pools.${p.name}.tls.ca`, p.tls?.ca]),
  ];
  for (const [at, f] of files) if (f !== undefined && !existsSync(f)) problems.push(`${name} ${at}: no such file: ${path.relative(ROOT, f)}`);
  return problems;
}
