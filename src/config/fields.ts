/** Zod building blocks shared by the config schema: unit values, ports, counts, names and file paths. */
import { resolve } from 'node:path';
import * as z from 'zod';
import { parseDuration, parseRate, parseSize } from './units.js';

/** What the schema needs from outside: where relative paths start, and which algorithms exist. */
export interface SchemaContext {
  readonly baseDir: string;
  readonly algorithms: readonly string[];
}

type Parse = (v: unknown) => number;

// A union of string and number (rather than z.string()) so a bare number reaches the unit
// parser, which can then say "needs a unit" instead of zod's generic "expected string".
function unitValue(parse: Parse, what: string, min: 0 | 1) {
  return z
    .union([z.string(), z.number()], { error: () => `expected ${what}` })
    .transform((v, ctx) => {
      try {
        const n = parse(v);
        if (n < min) {
          ctx.addIssue({ code: 'custom', message: `must be greater than 0, got ${String(v)}` });
          return z.NEVER;
        }
        return n;
      } catch (e) {
        ctx.addIssue({ code: 'custom', message: (e as Error).message });
        return z.NEVER;
      }
    });
}

/** A duration string (`3s`, `500ms`) -> ms. `positive` refuses 0 (intervals, timeouts). */
export function duration(opts: { positive?: boolean } = {}) {
  return unitValue(parseDuration, 'a duration such as "3s" or "500ms"', opts.positive ? 1 : 0)
    .meta({ description: 'duration: a number and a unit (ms, s, m, h), e.g. "3s"' });
}

/** A size (`16KiB`, `1MiB`, or an integer of bytes) -> bytes, at least 1. */
export function size() {
  return unitValue(parseSize, 'a size such as "16KiB" or a number of bytes', 1)
    .meta({ description: 'size: bytes, or a number and a unit (B, KiB, MiB, GiB, KB, MB, GB)' });
}

/** A rate (`50/s`, or a bare number per second) -> per second. */
export function rate() {
  return unitValue(parseRate, 'a rate such as "50/s"', 0).meta({ description: 'rate per second, e.g. "50/s"' });
}

/** A TCP port; 0 (an ephemeral port) only where a listener binds it. */
export function port(opts: { allowZero: boolean }) {
  return z.number().int().min(opts.allowZero ? 0 : 1).max(65535);
}

export function count(min: number) {
  return z.number().int().min(min);
}

// Names end up in metric labels and admin URLs (/pools/{pool}/servers/{server}): no spaces or slashes.
const NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9._:@-]*$/;
export function name(what: string) {
  return z.string().regex(NAME_RE, { error: `a ${what} name may hold letters, digits and . _ : @ - (and must not start with . : @ -)` });
}

/** A file path, resolved against the config file's directory so the balancer's cwd does not matter. */
export function filePath(ctx: SchemaContext) {
  return z.string().min(1).transform((p) => resolve(ctx.baseDir, p));
}

/** An HTTP path: must start with `/`. */
export function httpPath() {
  return z.string().startsWith('/', { error: 'must start with "/"' });
}
