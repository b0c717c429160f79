/** Option values of wslb-bench: parsers for rates, durations, sizes and address ranges, and the resolved option set every part reads. */

import { parseDuration as configDuration, parseRate as configRate, parseSize as configSize } from '../src/config/units.js';

export type ScenarioName = 'echo' | 'rate' | 'handshake' | 'idle' | 'broadcast' | 'flood';
export const SCENARIOS: readonly ScenarioName[] = ['echo', 'rate', 'handshake', 'idle', 'broadcast', 'flood'];

export interface BenchOptions {
  scenario: ScenarioName;
  urls: string[];
  connections: number;
  /** Connection arrivals per second over all processes (0: as fast as `concurrency` allows). */
  ramp: number;
  /** Handshakes in flight per process while opening connections. */
  concurrency: number;
  durationMs: number;
  warmupMs: number;
  /** After the measured window: how long to wait for replies to messages sent in it. */
  drainMs: number;
  size: number;
  binary: boolean;
  perMessageDeflate: boolean;
  /** echo: messages in flight per connection. */
  inflight: number;
  /** rate: messages per second over all connections; handshake: target upgrades per second (0: as fast as possible). */
  rate: number;
  /** rate: a send later than this behind its intended time counts as late. */
  lateMs: number;
  /** rate: a connection with more than this queued in the client skips a send (counted as dropped). */
  maxBufferedBytes: number;
  /** Upper bound on messages sent per run (0: none); every loop is also bounded by the duration. */
  maxMessages: number;
  /** idle: ping interval per connection (0: none). */
  pingMs: number;
  /** broadcast: messages per second published by clients over all processes (0: listen to server pushes only). */
  publish: number;
  publishPrefix: string;
  tsField: string;
  /** handshake: raw-TCP cycles (upgrade, close handshake, FIN) instead of the ws client (bench/raw-upgrade.ts). */
  raw: boolean;
  /** echo, handshake: WebSockets over HTTP/2 (RFC 8441 extended CONNECT streams, bench/h2-client.ts); wss:// only. */
  http2: boolean;
  /** --http2: h2 connections per generator process and target origin, the streams spread over them. */
  h2Sessions: number;
  /** wss:// and --http2: accept any server certificate (a test CA, a self-signed one). */
  insecure: boolean;
  /** flood: heavy downloaders, each asking the server for 64 KiB messages and then not reading. */
  heavy: number;
  /** flood: the probe's echo round trips per second. */
  probeRate: number;
  /**
   * flood: a control probe's URL, straight to a server of the same farm (no proxy): it echoes at the
   * probe's rate and times, so the report tells what the farm and the machine added during the
   * flood from what the target added.
   */
  controlUrl: string | undefined;
  processes: number;
  localAddresses: string[];
  handshakeTimeoutMs: number;
  watchPids: number[];
  statusUrl: string | undefined;
  json: string | undefined;
  html: string | undefined;
  quiet: boolean;
}

export const DEFAULTS: Omit<BenchOptions, 'scenario'> = {
  urls: ['ws://127.0.0.1:8080/'],
  connections: 100,
  ramp: 0,
  concurrency: 100,
  durationMs: 10_000,
  warmupMs: 2_000,
  drainMs: 2_000,
  size: 64,
  binary: false,
  perMessageDeflate: false,
  inflight: 1,
  rate: 0,
  lateMs: 2,
  maxBufferedBytes: 1024 * 1024,
  maxMessages: 0,
  pingMs: 0,
  publish: 0,
  publishPrefix: 'broadcast:',
  tsField: 'ts',
  raw: false,
  http2: false,
  h2Sessions: 4,
  insecure: false,
  heavy: 100,
  probeRate: 50,
  controlUrl: undefined,
  processes: 0,
  localAddresses: [],
  handshakeTimeoutMs: 10_000,
  watchPids: [],
  statusUrl: undefined,
  json: undefined,
  html: undefined,
  quiet: false,
};

/** Connections one generator process holds at most when --processes is not given (ulimit -n is per process). */
export const CONNECTIONS_PER_PROCESS = 8000;

export function autoProcesses(o: Pick<BenchOptions, 'processes' | 'connections' | 'scenario'>): number {
  if (o.processes > 0) return o.processes;
  if (o.scenario === 'handshake' || o.scenario === 'flood') return 1;
  return Math.max(1, Math.ceil(o.connections / CONNECTIONS_PER_PROCESS));
}

/** `500ms`, `10s`, `2m` (the config's duration syntax; a bare number needs a unit, except 0). */
export function parseDuration(v: string): number {
  return configDuration(v.trim());
}

/** `500/s` (the config's rate syntax: per second only, a bare number refused); `0` means off where an option allows it. */
export function parseRate(v: string): number {
  return v.trim() === '0' ? 0 : configRate(v.trim());
}

/** `64`, `1KiB`, `2MiB` (the config's size syntax: also `512B`, `1KB` = 1000). */
export function parseSize(v: string): number {
  return configSize(v.trim());
}

export function parseCount(v: string): number {
  const n = Number(v.replace(/[_,]/g, ''));
  if (!Number.isInteger(n) || n < 0) throw new Error(`expected a whole number, got "${v}"`);
  return n;
}

/** `127.0.0.1-127.0.0.16` (a range in the last octet), a comma list, or both mixed. */
export function parseAddresses(v: string): string[] {
  const out: string[] = [];
  for (const part of v.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^(\d+\.\d+\.\d+\.)(\d+)-(?:\d+\.\d+\.\d+\.)?(\d+)$/.exec(part);
    if (m) {
      const from = Number(m[2]);
      const to = Number(m[3]);
      if (to < from || to > 255) throw new Error(`bad address range "${part}"`);
      for (let i = from; i <= to; i++) out.push(`${m[1]}${i}`);
    } else if (/^\d+\.\d+\.\d+\.\d+$/.test(part)) {
      out.push(part);
    } else {
      throw new Error(`expected addresses like 127.0.0.1-127.0.0.16, got "${part}"`);
    }
  }
  return out;
}

/** The share of `total` that worker `index` of `n` takes (the first ones take the remainder). */
export function shareOf(total: number, index: number, n: number): number {
  return Math.floor(total / n) + (index < total % n ? 1 : 0);
}
