/** The options each built-in algorithm takes: checked at load (unknown keys are errors) and normalized (durations to ms). */
import { parseDuration } from './units.js';

type Issue = { message: string; path: (string | number)[] };
/** Returns the normalized value, or a string saying what is wrong. */
type Check = (v: unknown, known: readonly string[]) => { ok: unknown } | string;

export const HASH_KEY_RE = /^(ip|path|(header|cookie|query|claim):[^\s:]+)$/;

const hashKey: Check = (v) => (typeof v === 'string' && HASH_KEY_RE.test(v) ? { ok: v }
  : `invalid hash key ${JSON.stringify(v)}: expected ip, path, header:NAME, cookie:NAME, query:NAME or claim:NAME`);

const OPTIONS: Readonly<Record<string, Readonly<Record<string, Check>>>> = {
  'round-robin': {},
  'least-connections': {},
  'least-response-time': {},
  'random': {},
  'custom-load': {},   // how servers report load is the pool's `load:` block
  'least-bandwidth': {
    window: (v) => {
      try {
        const ms = parseDuration(v);
        return ms > 0 ? { ok: ms } : 'window must be greater than 0';
      } catch (e) {
        return (e as Error).message;
      }
    },
  },
  'hash': {
    key: hashKey,
    balance_factor: (v) => (typeof v === 'number' && v > 1 ? { ok: v }
      : `balance_factor must be a number greater than 1 (e.g. 1.25), got ${JSON.stringify(v)}`),
    fallback: (v, known) => (typeof v === 'string' && v !== 'hash' && known.includes(v) ? { ok: v }
      : `fallback must name another algorithm: one of ${known.filter((k) => k !== 'hash').join(', ')}; got ${JSON.stringify(v)}`),
  },
  'p2c': {
    choices: (v) => (Number.isInteger(v) && (v as number) >= 2 ? { ok: v } : `choices must be an integer >= 2, got ${JSON.stringify(v)}`),
  },
};

/** Checks a built-in algorithm's options; returns them normalized. An unknown algorithm (reported elsewhere) passes through. */
export function checkAlgorithmOptions(name: string, options: Record<string, unknown>, known: readonly string[], issues: Issue[]): Record<string, unknown> {
  const spec = OPTIONS[name];
  if (!spec) return options;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(options)) {
    const check = spec[k];
    if (!check) {
      const allowed = Object.keys(spec);
      issues.push({ path: [k], message: allowed.length
        ? `unknown option "${k}" for algorithm "${name}"; expected ${allowed.join(', ')}`
        : `algorithm "${name}" takes no options, got "${k}"` });
      continue;
    }
    const r = check(v, known);
    if (typeof r === 'string') issues.push({ path: [k], message: r });
    else out[k] = r.ok;
  }
  return out;
}

/** A user module takes any options; `key`, when given, is the hash key wslb extracts for it (`ctx.key`), so it is checked. */
export function checkModuleOptions(options: Record<string, unknown>, issues: Issue[]): Record<string, unknown> {
  if (options['key'] !== undefined) {
    const r = hashKey(options['key'], []);
    if (typeof r === 'string') issues.push({ path: ['key'], message: r });
  }
  return options;
}
