/** Test helpers for the hardening tests: farm YAML with a custom listener, a balancer from a real file, WebSocket open/echo, fd counts. */

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import type { Test } from 'tap';
import WebSocket from 'ws';
import { parse, stringify } from 'yaml';
import { loadConfigFile } from '../../src/config/load.js';
import { createLogger } from '../../src/log.js';
import { Balancer } from '../../src/main.js';
import { farmYaml, type FarmSpec } from './balancer.js';

/** farmYaml with the one listener replaced by `{ port: 0, host: 127.0.0.1, ...listener }`. */
export function farmWith(spec: FarmSpec, listener: Record<string, unknown>): string {
  const doc = parse(farmYaml(spec)) as Record<string, unknown>;
  doc['listeners'] = [{ port: 0, host: '127.0.0.1', ...listener }];
  return stringify(doc);
}

/** A balancer whose config is a real file (reload re-reads it): `rewrite(text)` then `b.reload()`. */
export async function balancerFromFile(t: Test, text: string): Promise<{ b: Balancer; file: string; rewrite(text: string): void }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wslb-hard-'));
  const file = path.join(dir, 'balancer.yaml');
  fs.writeFileSync(file, text);
  const config = loadConfigFile(file, {});
  const b = new Balancer(config, createLogger(config.log.level));
  await b.start();
  t.teardown(() => { b.destroy(); fs.rmSync(dir, { recursive: true, force: true }); });
  return { b, file, rewrite: (next) => fs.writeFileSync(file, next) };
}

/** Opens a WebSocket (permessage-deflate off) and waits for 'open'; rejects with the HTTP status on refusal. */
export async function openWs(url: string, opts: WebSocket.ClientOptions = {}): Promise<WebSocket> {
  const ws = new WebSocket(url, { perMessageDeflate: false, ...opts });
  const refused = new Promise<never>((_, reject) => {
    ws.once('unexpected-response', (_req, res) => { reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode, headers: res.headers })); res.resume(); ws.terminate(); });
    ws.once('error', reject);
  });
  await Promise.race([once(ws, 'open'), refused]);
  return ws;
}

/** Sends `text` and resolves with the next message as a string. */
export async function echo(ws: WebSocket, text: string): Promise<string> {
  const got = once(ws, 'message');
  ws.send(text);
  const [data] = await got;
  return String(data);
}

/** Descriptors open in this process now (Linux /proc). */
export function openFds(): number {
  return fs.readdirSync('/proc/self/fd').length;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
