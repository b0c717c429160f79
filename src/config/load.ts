/** Loads balancer.yaml: YAML -> ${VAR} interpolation -> schema + cross checks -> deep-frozen Config, or ConfigError with every issue located. */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { LineCounter, parseDocument, type Document } from 'yaml';
import type { core } from 'zod';
import { checkAuth } from './auth-checks.js';
import { crossCheck, type RawIssue } from './checks.js';
import { checkFiles } from './files.js';
import { interpolateDocument, type Env } from './interpolate.js';
import { formatPath, locate, type DataPath } from './locate.js';
import { configSchema, KNOWN_ALGORITHMS } from './schema.js';
import { ConfigError, type Config, type ConfigIssue } from './types.js';

export interface LoadOptions {
  /** Algorithm names accepted in `algorithm:`; the balancing registry passes its own. */
  readonly algorithms?: readonly string[];
  /**
   * Also read the TLS files the config names and check them (files.ts): `wslb check`, the
   * start of `run` and every reload do (a reload whose certificate does not load fails, and the
   * running certificates stay).
   */
  readonly files?: boolean;
}

/**
 * Parses and validates config text. `file` is used as given in issue locations and
 * resolved to an absolute path for `Config.file` and for relative paths in the file.
 * An empty file is valid: all defaults, no pools, no routes (every request gets 404).
 */
export function loadConfigText(text: string, file: string, env: Env = process.env, opts: LoadOptions = {}): Config {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  const at = (pos: readonly [number, number] | undefined) => lc.linePos(pos?.[0] ?? 0);
  if (doc.errors.length) {
    // The tree of a broken document is a guess; schema errors on it would only add noise.
    throw new ConfigError(doc.errors.map((e) => ({ file, ...at(e.pos), path: '(syntax)', message: e.message })));
  }

  const issues: Located[] = [];
  const envIssues = interpolateDocument(doc, env);
  for (const i of envIssues) issues.push({ ...lc.linePos(i.offset), path: i.path, message: i.message });

  const raw = dropNulls(doc.toJS({ maxAliasCount: 1000 }) ?? {});
  const abs = file ? resolve(file) : '';
  const baseDir = abs ? dirname(abs) : process.cwd();
  const schema = configSchema({ baseDir, algorithms: opts.algorithms ?? KNOWN_ALGORITHMS });
  const result = schema.safeParse(raw);
  const rawIssues = [
    ...(result.success ? [] : result.error.issues.flatMap((i) => fromZod(i, raw))),
    ...crossCheck(raw),
    ...checkAuth(raw),
    ...(opts.files ? checkFiles(raw, baseDir) : []),
  ];
  for (const r of rawIssues) {
    // A value whose ${VAR} failed is not the user's literal text: its schema errors are noise.
    if (envIssues.some((e) => isPrefix(e.path, r.path))) continue;
    issues.push(place(doc, lc, r));
  }

  if (issues.length || !result.success) {
    issues.sort((a, b) => a.line - b.line || a.col - b.col);
    const seen = new Set<string>();
    const out: ConfigIssue[] = [];
    for (const i of issues) {
      const issue = { file, line: i.line, col: i.col, path: formatPath(i.path), message: i.message };
      const id = `${issue.line}:${issue.col} ${issue.path} ${issue.message}`;
      if (!seen.has(id)) { seen.add(id); out.push(issue); }
    }
    throw new ConfigError(out);
  }
  return deepFreeze({ file: abs, ...result.data });
}

/** Reads and loads a config file; an unreadable file is a ConfigError too (exit code 2). */
export function loadConfigFile(path: string, env: Env = process.env, opts: LoadOptions = {}): Config {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new ConfigError([{ file: path, line: 1, col: 1, path: '(file)', message: `cannot read config file: ${err.code ?? err.message}` }]);
  }
  return loadConfigText(text, path, env, opts);
}

interface Located { line: number; col: number; path: DataPath; message: string }
type Issue = RawIssue & { missingKey?: string };

function place(doc: Document, lc: LineCounter, r: Issue): Located {
  const loc = locate(doc, lc, r.path, r.at);
  // A key written with no value (`port:`) was dropped as null: say so rather than "missing".
  const message = r.missingKey !== undefined && loc.found ? `"${r.missingKey}" needs a value` : r.message;
  return { line: loc.line, col: loc.col, path: r.path, message };
}

// zod's default messages ("Invalid input: ...", "Too small: ...") are replaced with shorter
// ones; messages the schema sets itself are kept.
const ZOD_DEFAULT = /^(Invalid (input|option|string|key|element)|Too (small|big)|Unrecognized key)/;

function fromZod(iss: core.$ZodIssue, raw: unknown): Issue[] {
  const path = iss.path as (string | number)[];
  const custom = !ZOD_DEFAULT.test(iss.message);
  switch (iss.code) {
    case 'unrecognized_keys':
      return iss.keys.map((k) => ({ path: [...path, k], at: 'key' as const, message: `unknown key "${k}"` }));
    case 'invalid_key':
      return [{ path, at: 'key', message: custom ? iss.message : (iss.issues[0]?.message ?? iss.message) }];
    case 'invalid_type': {
      const value = getIn(raw, path);
      if (value === undefined) {
        const last = String(path[path.length - 1]);
        return [{ path, missingKey: last, message: `missing required key "${last}"` }];
      }
      return [{ path, message: custom ? iss.message : `expected ${iss.expected === 'int' ? 'an integer' : iss.expected}, got ${describe(value)}` }];
    }
    case 'invalid_value':
      return [{ path, message: `expected one of ${iss.values.map(String).join(', ')}, got ${JSON.stringify(getIn(raw, path))}` }];
    case 'too_small':
    case 'too_big': {
      if (custom) return [{ path, message: iss.message }];
      const small = iss.code === 'too_small';
      const bound = small ? iss.minimum : iss.maximum;
      const cmp = small ? (iss.inclusive ? '>=' : '>') : iss.inclusive ? '<=' : '<';
      if (iss.origin === 'string' && small && Number(bound) === 1) return [{ path, message: 'must not be empty' }];
      if (iss.origin === 'array') return [{ path, message: `needs ${small ? 'at least' : 'at most'} ${String(bound)} item(s)` }];
      return [{ path, message: `must be ${cmp} ${String(bound)}, got ${JSON.stringify(getIn(raw, path))}` }];
    }
    default:
      return [{ path, message: iss.message }];
  }
}

function getIn(v: unknown, path: DataPath): unknown {
  for (const seg of path) {
    if (typeof v !== 'object' || v === null) return undefined;
    v = (v as Record<string | number, unknown>)[seg];
  }
  return v;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return `string ${JSON.stringify(v)}`;
  return `${typeof v} ${String(v)}`;
}

const isPrefix = (a: DataPath, b: DataPath) => a.length <= b.length && a.every((s, i) => String(s) === String(b[i]));

/** `key:` with nothing after it means "not set" (so defaults apply), not null. */
function dropNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(dropNulls);
  if (typeof v !== 'object' || v === null) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) if (x !== null) out[k] = dropNulls(x);
  return out;
}

function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v)) deepFreeze(x);
  }
  return v;
}
