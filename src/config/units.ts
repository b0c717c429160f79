/** Parsers for the unit-carrying values of balancer.yaml: durations (to ms), sizes (to bytes), rates (to per second). */

/** Thrown by the parsers below; the message is written for the user and ends up in a ConfigIssue. */
export class UnitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnitError';
  }
}

const DURATION_UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const DURATION_RE = /^(\d+(?:\.\d+)?|\.\d+)\s*(ms|s|m|h)$/;

/**
 * `500ms`, `3s`, `1.5s`, `10m`, `1h` -> milliseconds (rounded to whole ms).
 * A bare number is refused because `timeout: 30` is ambiguous (seconds? ms?), except 0,
 * which means the same in every unit and is the natural way to write "off".
 */
export function parseDuration(input: unknown): number {
  if (input === 0) return 0;
  if (typeof input === 'number') {
    throw new UnitError(`a duration needs a unit: write "${input}s" or "${input}ms" (units: ms, s, m, h)`);
  }
  if (typeof input !== 'string') throw new UnitError(`expected a duration such as "3s" or "500ms", got ${describe(input)}`);
  const s = input.trim();
  if (/^\d+(\.\d+)?$/.test(s)) {
    if (Number(s) === 0) return 0;
    throw new UnitError(`a duration needs a unit: write "${s}s" or "${s}ms" (units: ms, s, m, h)`);
  }
  const m = DURATION_RE.exec(s);
  if (!m) throw new UnitError(`invalid duration "${input}": expected a number and a unit (ms, s, m, h), e.g. "3s"`);
  return Math.round(Number(m[1]) * DURATION_UNITS[m[2]!]!);
}

const SIZE_UNITS: Readonly<Record<string, number>> = {
  B: 1,
  KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3,
  KB: 1000, MB: 1000 ** 2, GB: 1000 ** 3,
};
const SIZE_RE = /^(\d+(?:\.\d+)?|\.\d+)\s*(B|KiB|MiB|GiB|KB|MB|GB)?$/;

/** `16KiB`, `1MiB`, `1GiB`, `512B`, `1KB` (= 1000), or an integer of bytes -> bytes. */
export function parseSize(input: unknown): number {
  if (typeof input === 'number') {
    if (Number.isSafeInteger(input) && input >= 0) return input;
    throw new UnitError(`a size in bytes must be a whole number >= 0, got ${input}`);
  }
  if (typeof input !== 'string') throw new UnitError(`expected a size such as "16KiB" or a number of bytes, got ${describe(input)}`);
  const m = SIZE_RE.exec(input.trim());
  if (!m) throw new UnitError(`invalid size "${input}": expected a number of bytes or a number and a unit (B, KiB, MiB, GiB, KB, MB, GB)`);
  const bytes = Number(m[1]) * SIZE_UNITS[m[2] ?? 'B']!;
  if (!Number.isSafeInteger(bytes)) throw new UnitError(`invalid size "${input}": not a whole number of bytes`);
  return bytes;
}

const RATE_RE = /^(\d+(?:\.\d+)?|\.\d+)\s*\/\s*s$/;

/**
 * `50/s` -> 50 (per second). A bare positive number is read as per second too.
 * Only `/s` is accepted: limits are token buckets holding N tokens, and `/m` would give
 * a bucket smaller than one token for small N.
 */
export function parseRate(input: unknown): number {
  let n: number;
  if (typeof input === 'number') {
    n = input;
  } else if (typeof input === 'string') {
    const m = RATE_RE.exec(input.trim());
    if (!m) throw new UnitError(`invalid rate "${input}": expected a number per second, e.g. "50/s"`);
    n = Number(m[1]);
  } else {
    throw new UnitError(`expected a rate such as "50/s", got ${describe(input)}`);
  }
  if (!Number.isFinite(n) || n <= 0) throw new UnitError(`a rate must be greater than 0, got ${String(input)}`);
  return n;
}

/** Formats milliseconds back into the shortest exact unit string (for summaries and tests). */
export function formatDuration(ms: number): string {
  for (const [unit, f] of [['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (ms !== 0 && ms % f === 0) return `${ms / f}${unit}`;
  }
  return `${ms}ms`;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  return typeof v === 'object' ? 'a mapping' : typeof v;
}
