/** How a finished wslb-bench run exits: failed or dropped connections make it fail (unless allowed), with one line saying what and why. */

import type { BenchResult } from './run.js';

export interface Outcome {
  /** 0: clean (or failures allowed); 1: connections failed, or nothing worked at all. */
  readonly code: 0 | 1;
  /** For stderr; empty when there is nothing to say. */
  readonly message: string;
}

const int = (n: number): string => n.toLocaleString('en-US');

/**
 * A run whose connections partly failed still prints figures, but they describe fewer
 * connections than asked for: exiting 0 would let a script take them for the real thing.
 * `--allow-failures` accepts that; a run where nothing worked fails regardless.
 */
export function outcome(r: BenchResult, allowFailures: boolean): Outcome {
  const handshake = r.scenario === 'handshake';
  const failed = handshake ? (r.totals.errors ?? 0) : r.connections.failed;
  const dropped = r.totals.dropped_connections ?? 0;
  const worked = handshake ? (r.totals.handshakes ?? 0) : r.connections.opened;
  if (failed === 0 && dropped === 0) return { code: 0, message: '' };

  const parts: string[] = [];
  if (failed > 0) {
    const of = handshake ? `${int(failed)} of ${int(failed + worked)} upgrades failed` : `${int(failed)} of ${int(r.connections.target)} connections failed to open`;
    const kinds = Object.entries(r.errors).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k}: ${int(v)}`).join(', ');
    parts.push(kinds ? `${of} (${kinds})` : of);
  }
  if (dropped > 0) parts.push(`${int(dropped)} connections were closed by the target during the run`);
  const what = parts.join('; ');
  const hints = Object.keys(r.errors).flatMap((k) => (HINTS[k] ? [` ${HINTS[k]}`] : [])).join('');

  if (worked === 0) return { code: 1, message: `wslb-bench: nothing worked: ${what}.${hints}` };
  if (allowFailures) return { code: 0, message: `wslb-bench: ${what}, allowed by --allow-failures.${hints}` };
  return { code: 1, message: `wslb-bench: ${what}; the figures cover only what worked (--allow-failures accepts this).${hints}` };
}

const HINTS: Readonly<Record<string, string>> = {
  'http 429': 'A 429 is a per-client-address limit of the target (wslb: limits.handshakes_per_ip, 50/s by default, and max_connections_per_ip): open slower with --ramp, spread over --local-addresses, or raise the limit.',
  'http 503': 'A 503 means the target had no server or was at max_connections.',
  ECONNREFUSED: 'Nothing listens at the URL.',
  EADDRNOTAVAIL: 'Out of source ports: add --local-addresses.',
  timeout: 'Handshakes took longer than --handshake-timeout.',
};
