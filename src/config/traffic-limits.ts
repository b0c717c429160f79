/** Schema of the per-connection client -> server rate limits (limits.messages_per_second, limits.bytes_per_second, and a route's own `limits` with the same two keys). */
import * as z from 'zod';
import { parseRate, parseSize, UnitError } from './units.js';

/** `100/s` or a bare number per second, at least 1 (the bucket holds that many messages); 0 (or `0/s`) turns the limit off. */
function parseMessageRate(input: unknown): number {
  const text = typeof input === 'string' ? input.trim().replace(/\s*\/\s*s$/, '') : input;
  if (text === 0 || (typeof text === 'string' && /^(0+(\.0*)?|\.0+)$/.test(text))) return 0;
  if (typeof input === 'number' && input < 0) throw new UnitError(`a rate must be 0 (off) or more, got ${input}`);
  const n = parseRate(input);
  if (n < 1) throw new UnitError(`a message rate must be at least 1/s (the bucket holds that many messages), or 0 for no limit; got ${String(input)}`);
  return n;
}

/** `1MiB/s`, `1MiB` (per second implied), or a number of bytes per second; 0 turns the limit off. */
function parseByteRate(input: unknown): number {
  const text = typeof input === 'string' ? input.trim().replace(/\s*\/\s*s$/, '') : input;
  try {
    return parseSize(text);
  } catch (e) {
    if (!(e instanceof UnitError)) throw e;
    throw new UnitError(`invalid byte rate ${JSON.stringify(input)}: expected bytes per second, e.g. "1MiB/s", "64KiB" or 1048576 (0 = off)`);
  }
}

function limitValue(parse: (v: unknown) => number, what: string, description: string) {
  return z
    .union([z.string(), z.number()], { error: () => `expected ${what}` })
    .transform((v, ctx) => {
      try {
        return parse(v);
      } catch (e) {
        ctx.addIssue({ code: 'custom', message: (e as Error).message });
        return z.NEVER;
      }
    })
    .meta({ description });
}

/** limits.messages_per_second: client -> server data messages per connection (a token bucket holding that many). */
export function messageRate() {
  return limitValue(parseMessageRate, 'a rate such as "100/s" (0 = off)',
    'data messages per second per connection, client to server, e.g. "100/s" (a bucket holding that many); 0 = off');
}

/** limits.bytes_per_second: client -> server bytes per connection (a bucket of one second's worth). */
export function byteRate() {
  return limitValue(parseByteRate, 'bytes per second such as "1MiB/s" (0 = off)',
    'bytes per second per connection, client to server, e.g. "1MiB/s"; over it reading pauses; 0 = off');
}

/** routes[].limits: the route's own values of the two limits (a key left out keeps the global one). */
export const routeLimitsSchema = z.strictObject({
  messages_per_second: messageRate().optional(),
  bytes_per_second: byteRate().optional(),
});
