/** Test helper for edge auth: key pairs and key files, tokens signed with jose, a local JWKS endpoint and a forward-auth service on 127.0.0.1 port 0. */

import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Test } from 'tap';
import { SignJWT, type JWTPayload } from 'jose';

export interface Pair {
  readonly kid: string;
  readonly alg: string;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** The public key as a JWK with kid (and alg). */
  readonly jwk: Record<string, unknown>;
  readonly pem: string;
}

export function rsaPair(kid: string): Pair {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return pair(kid, 'RS256', privateKey, publicKey);
}

export function ecPair(kid: string): Pair {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return pair(kid, 'ES256', privateKey, publicKey);
}

function pair(kid: string, alg: string, privateKey: KeyObject, publicKey: KeyObject): Pair {
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid, alg, use: 'sig' };
  return { kid, alg, privateKey, publicKey, jwk, pem: publicKey.export({ format: 'pem', type: 'spki' }).toString() };
}

/** A 32-byte random HMAC secret. */
export const secret = (): Buffer => randomBytes(32);

export interface Claims extends JWTPayload {
  [k: string]: unknown;
}

const now = (): number => Math.floor(Date.now() / 1000);

/** A token signed with `key` (a Pair's private key, or an HMAC secret); `exp` defaults to an hour from now; `header` overrides the protected header. */
export async function sign(key: Pair | Uint8Array, claims: Claims = {}, header: Record<string, unknown> = {}): Promise<string> {
  const isSecret = key instanceof Uint8Array;
  const alg = isSecret ? 'HS256' : key.alg;
  const jwt = new SignJWT({ sub: 'alice', exp: now() + 3600, ...claims }).setProtectedHeader({ alg, ...(isSecret ? {} : { kid: key.kid }), ...header });
  return jwt.sign(isSecret ? key : key.privateKey);
}

/** An unsigned token: `{"alg":"none"}` header, the claims, an empty signature. */
export function unsigned(claims: Claims = {}): string {
  const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');
  return `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'mallory', exp: now() + 3600, ...claims })}.`;
}

/** A temporary folder removed at the end of the test; `write(name, content)` returns the file's path. */
export function tempDir(t: Test): { dir: string; write(name: string, content: string | Buffer): string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wslb-auth-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return { dir, write: (name, content) => { const f = path.join(dir, name); fs.writeFileSync(f, content); return f; } };
}

export interface JwksServer {
  readonly url: string;
  /** Requests received so far. */
  readonly hits: number;
  /** Serves these keys from now on. */
  set(keys: Pair[]): void;
  /** Answers after this many ms (0: at once). */
  delay(ms: number): void;
  /** Answers 500 while true. */
  fail(on: boolean): void;
}

/** A JWKS endpoint at /jwks.json; `stop()` closes it (its port stays reserved for this test) and `start()` listens on the same port again. */
export async function startJwksServer(t: Test, keys: Pair[]): Promise<JwksServer & { stop(): Promise<void>; start(): Promise<void> }> {
  let current = keys;
  let wait = 0;
  let failing = false;
  let hits = 0;
  const sockets = new Set<Socket>();
  const server = http.createServer((req, res) => {
    hits++;
    const answer = (): void => {
      if (failing) { res.writeHead(500); res.end('down'); return; }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: current.map((k) => k.jwk) }));
    };
    if (wait > 0) setTimeout(answer, wait).unref(); else answer();
  });
  server.on('connection', (s: Socket) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const stop = (): Promise<void> => new Promise((r) => { for (const s of sockets) s.destroy(); server.close(() => r()); });
  const start = (): Promise<void> => new Promise((r) => server.listen(port, '127.0.0.1', r));
  t.teardown(() => { for (const s of sockets) s.destroy(); server.close(); });
  return {
    url: `http://127.0.0.1:${port}/jwks.json`,
    get hits() { return hits; },
    set: (k) => { current = k; },
    delay: (ms) => { wait = ms; },
    fail: (on) => { failing = on; },
    stop,
    start,
  };
}

export interface AuthService {
  readonly url: string;
  /** Every request's headers, in order. */
  readonly requests: http.IncomingHttpHeaders[];
  /** Decides each answer from the request's headers; may delay. */
  decide(fn: (h: http.IncomingHttpHeaders) => { status: number; headers?: Record<string, string>; delayMs?: number }): void;
  /** Subrequests being answered now, and the most at once. */
  readonly inFlight: number;
  readonly maxInFlight: number;
}

/** A forward-auth service: 200 with X-User-Id for "Authorization: Bearer good-*", 403 for "bearer forbidden", 401 otherwise, unless `decide` says else. */
export async function startAuthService(t: Test): Promise<AuthService> {
  const requests: http.IncomingHttpHeaders[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  let decide = (h: http.IncomingHttpHeaders): { status: number; headers?: Record<string, string>; delayMs?: number } => {
    const auth = h.authorization ?? '';
    if (auth.startsWith('Bearer good-')) return { status: 200, headers: { 'X-User-Id': auth.slice('Bearer good-'.length) } };
    if (auth === 'Bearer forbidden') return { status: 403 };
    return { status: 401, headers: { 'WWW-Authenticate': 'Bearer realm="test"' } };
  };
  const server = http.createServer((req, res) => {
    requests.push(req.headers);
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    const d = decide(req.headers);
    const answer = (): void => {
      inFlight--;
      res.writeHead(d.status, d.headers ?? {});
      res.end('auth says ' + d.status);
    };
    if (d.delayMs) setTimeout(answer, d.delayMs).unref(); else answer();
  });
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => { for (const s of sockets) s.destroy(); server.close(); });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/check`,
    requests,
    decide: (fn) => { decide = fn; },
    get inFlight() { return inFlight; },
    get maxInFlight() { return maxInFlight; },
  };
}
