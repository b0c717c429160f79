#!/usr/bin/env node
/**
 * Reference measurement, not a product: what Node's Socket constructor costs per socket with
 * different options objects (each in a fresh process, after a warm-up). Node copies the options
 * with an object spread and then adds four fields to the copy; on Node 20's V8 that makes a new
 * hidden class per socket, unless the options hold those fields already (src/tunnel/socket-shape.ts).
 *   node dist/bench/compare/socket-options.js [SOCKETS]
 */

import { execFileSync } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { SOCKET_DEFAULTS } from '../../src/tunnel/socket-shape.js';

const VARIANTS = {
  'no options (new net.Socket())': () => new net.Socket(),
  "Node's accept literal ({ allowHalfOpen, pauseOnCreate, readable, writable, ... })": () =>
    new net.Socket({ allowHalfOpen: true, pauseOnCreate: false, readable: true, writable: true, readableHighWaterMark: 16384, writableHighWaterMark: 16384 } as net.SocketConstructorOpts),
  'the same, shaped (+ emitClose, autoDestroy, decodeStrings)': () =>
    new net.Socket({ allowHalfOpen: true, pauseOnCreate: false, readable: true, writable: true, readableHighWaterMark: 16384, writableHighWaterMark: 16384, emitClose: SOCKET_DEFAULTS.emitClose, autoDestroy: SOCKET_DEFAULTS.autoDestroy, decodeStrings: SOCKET_DEFAULTS.decodeStrings } as net.SocketConstructorOpts),
  'a connect literal ({ host, port })': () => new net.Socket({ host: '127.0.0.1', port: 1 } as net.SocketConstructorOpts),
} as const;
type Variant = keyof typeof VARIANTS;

const [mode, countArg] = process.argv.slice(2);
const count = Number(countArg ?? 100_000);

if (mode !== undefined && mode in VARIANTS) {
  const make = VARIANTS[mode as Variant];
  for (let i = 0; i < 20_000; i++) make();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < count; i++) make();
  process.stdout.write(String(Number(process.hrtime.bigint() - t0) / count));
} else {
  const n = Number(mode ?? 100_000);
  const self = fileURLToPath(import.meta.url);
  process.stdout.write(`new net.Socket(options), ns per socket (${n} after 20,000 warm-up, node ${process.version}):\n`);
  for (const v of Object.keys(VARIANTS)) {
    const ns = Number(execFileSync(process.execPath, [self, v, String(n)], { encoding: 'utf8' }));
    process.stdout.write(`  ${ns.toFixed(0).padStart(7)}  ${v}\n`);
  }
}
