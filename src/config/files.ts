/** Checks the files balancer.yaml names: TLS certificates and keys (each readable, holding what it should, each certificate matching its key) and, through auth-files.ts, JWT key files. */

import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import tls from 'node:tls';
import { checkAuthFiles } from './auth-files.js';
import type { RawIssue } from './checks.js';

type Obj = Record<string, unknown>;
type Path = (string | number)[];
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

const WHY: Readonly<Record<string, string>> = {
  ENOENT: 'no such file', EACCES: 'permission denied', EISDIR: 'is a directory', ENOTDIR: 'a parent is not a directory',
};

/**
 * Runs on the raw data like crossCheck, so it reports even when other keys are wrong. The
 * balancer reads these files when a listener opens; checking them here makes `wslb check` and
 * the start of `run` refuse what the listener would fail on, at the offending value.
 */
export function checkFiles(raw: unknown, baseDir: string): RawIssue[] {
  const issues: RawIssue[] = [];
  if (!isObj(raw)) return issues;
  const ctx = { baseDir, issues };
  if (Array.isArray(raw['listeners'])) {
    raw['listeners'].forEach((l, i) => {
      if (isObj(l) && isObj(l['tls'])) checkListenerTls(l['tls'], ['listeners', i, 'tls'], ctx);
    });
  }
  if (isObj(raw['pools'])) {
    for (const [name, p] of Object.entries(raw['pools'])) {
      if (isObj(p) && isObj(p['tls'])) checkCa(p['tls']['ca'], ['pools', name, 'tls', 'ca'], ctx);
    }
  }
  issues.push(...checkAuthFiles(raw, baseDir));
  return issues;
}

interface Ctx { readonly baseDir: string; readonly issues: RawIssue[] }

function checkListenerTls(t: Obj, at: Path, ctx: Ctx): void {
  const certFile = read(t['cert'], [...at, 'cert'], ctx);
  const keyFile = read(t['key'], [...at, 'key'], ctx);
  const cert = certFile && parse(certFile, [...at, 'cert'], ctx, (b) => new X509Certificate(b), 'a PEM certificate');
  const key = keyFile && parse(keyFile, [...at, 'key'], ctx, (b) => createPrivateKey(b), 'a PEM private key');
  const ca = checkCa(t['ca'], [...at, 'ca'], ctx);
  if (!cert || !key || !certFile || ca === false) return;
  if (key.type !== 'private' || !cert.checkPrivateKey(key)) {
    ctx.issues.push({ path: [...at, 'key'], message: `this key does not match the certificate ${certFile.file}` });
    return;
  }
  // Anything else OpenSSL refuses when the listener loads them (e.g. a key too weak for its security level).
  try {
    tls.createSecureContext({ cert: certFile.bytes, key: keyFile!.bytes, ...(ca ? { ca } : {}) });
  } catch (err) {
    ctx.issues.push({ path: [...at, 'cert'], message: `TLS refuses this certificate and key: ${(err as Error).message}` });
  }
}

/** A CA bundle: one or more PEM certificates. Returns the bytes, undefined when not set, false when broken. */
function checkCa(v: unknown, at: Path, ctx: Ctx): Buffer | undefined | false {
  if (v === undefined) return undefined;
  const f = read(v, at, ctx);
  if (!f) return false;
  const blocks = f.bytes.toString('latin1').match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  if (!blocks.length) {
    ctx.issues.push({ path: at, message: `${f.file} holds no PEM certificate ("-----BEGIN CERTIFICATE-----")` });
    return false;
  }
  for (const [n, b] of blocks.entries()) {
    if (!parse({ file: f.file, bytes: Buffer.from(b, 'latin1') }, at, ctx, (x) => new X509Certificate(x), `a PEM certificate (certificate ${n + 1} of ${blocks.length})`)) return false;
  }
  return f.bytes;
}

interface Read { readonly file: string; readonly bytes: Buffer }

function read(v: unknown, at: Path, ctx: Ctx): Read | undefined {
  if (typeof v !== 'string' || !v) return undefined;   // the schema reports it
  const file = resolve(ctx.baseDir, v);
  try {
    return { file, bytes: readFileSync(file) };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    ctx.issues.push({ path: at, message: `cannot read ${file}: ${code}${WHY[code] ? ` (${WHY[code]})` : ''}` });
    return undefined;
  }
}

function parse<T extends X509Certificate | KeyObject>(f: Read, at: Path, ctx: Ctx, make: (b: Buffer) => T, what: string): T | undefined {
  try {
    return make(f.bytes);
  } catch (err) {
    ctx.issues.push({ path: at, message: `${f.file} is not ${what}: ${(err as Error).message}` });
    return undefined;
  }
}
