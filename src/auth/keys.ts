/** Verification keys for `routes[].auth.jwt`: a key file (JWKS, PEM public key or certificate, HMAC secret) or a fetched JWKS, read into what jose verifies with, and the JWS algorithms each key allows. */

import { createPublicKey, X509Certificate, type JsonWebKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** Every JWS algorithm wslb verifies with (jose's signature algorithms); `none` is never one of them. */
export const JWS_ALGORITHMS = [
  'HS256', 'HS384', 'HS512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519',
] as const;
export const HMAC_ALGORITHMS: readonly string[] = ['HS256', 'HS384', 'HS512'];

/** A JSON Web Key Set as jose's createLocalJWKSet takes it. */
export interface KeySet {
  readonly keys: readonly JsonWebKey[];
}

export type KeyMaterial =
  | { readonly kind: 'secret'; readonly secret: Uint8Array; readonly algorithms: readonly string[] }
  | { readonly kind: 'public'; readonly key: KeyObject; readonly what: string; readonly algorithms: readonly string[] }
  | { readonly kind: 'jwks'; readonly jwks: KeySet; readonly algorithms: readonly string[] };

/** A key file or key set that cannot be used; the message is written for the user (it ends up in a config error). */
export class KeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeyError';
  }
}

const RSA_ALGS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'];
const PSS_ALGS = ['PS256', 'PS384', 'PS512'];
const EC_ALGS: Readonly<Record<string, string>> = { 'P-256': 'ES256', 'P-384': 'ES384', 'P-521': 'ES512' };
const OPENSSL_CURVES: Readonly<Record<string, string>> = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' };
// RFC 7518 3.2: an HMAC key at least as long as the hash output.
const HMAC_MIN_BYTES: Readonly<Record<string, number>> = { HS256: 32, HS384: 48, HS512: 64 };
// jose refuses RSA keys below this modulus (and so should anyone).
const MIN_RSA_BITS = 2048;
const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'];

/** Reads `file` and parses it (parseKeyBytes); an unreadable file is a KeyError naming the errno. */
export function readKeyFile(file: string): KeyMaterial {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new KeyError(`cannot read ${file}: ${e.code ?? e.message}`);
  }
  return parseKeyBytes(bytes, file);
}

/**
 * What the file holds decides its kind: JSON text starting with `{` is a JWKS (`{ "keys": [...] }`)
 * or one JWK; `-----BEGIN ` is a PEM public key or certificate; anything else is an HMAC secret,
 * used as its bytes with one trailing line end (LF or CRLF) ignored. A binary secret that happens
 * to start with `{` is not valid UTF-8 and stays a secret.
 */
export function parseKeyBytes(bytes: Buffer, file: string): KeyMaterial {
  const text = bytes.toString('utf8');
  const start = text.trimStart();
  if (start.startsWith('-----BEGIN ')) return parsePem(bytes, start, file);
  if (start.startsWith('{') && Buffer.from(text, 'utf8').equals(bytes)) {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw new KeyError(`${file} starts with "{" but is not valid JSON (a JWKS or JWK was expected): ${(err as Error).message}`);
    }
    const set = isObject(json) && !Array.isArray(json['keys']) && typeof json['kty'] === 'string' ? { keys: [json] } : json;
    return { kind: 'jwks', ...parseKeySet(set, file, 'strict').set };
  }
  return secretOf(bytes, file);
}

function secretOf(bytes: Buffer, file: string): KeyMaterial {
  let end = bytes.length;
  if (end > 0 && bytes[end - 1] === 0x0a) end -= bytes[end - 2] === 0x0d ? 2 : 1;
  const secret = new Uint8Array(bytes.subarray(0, end));
  if (secret.length === 0) throw new KeyError(`${file} is empty (an HMAC secret, a PEM public key or a JWKS was expected)`);
  const algorithms = HMAC_ALGORITHMS.filter((a) => secret.length >= HMAC_MIN_BYTES[a]!);
  if (!algorithms.length) {
    throw new KeyError(`${file} holds an HMAC secret of ${secret.length} bytes; HS256 needs at least 32 (RFC 7518 3.2)`);
  }
  return { kind: 'secret', secret, algorithms };
}

function parsePem(bytes: Buffer, text: string, file: string): KeyMaterial {
  const label = /^-----BEGIN ([A-Z0-9 ]+)-----/.exec(text)?.[1] ?? '';
  if (label.includes('PRIVATE KEY')) {
    throw new KeyError(`${file} holds a private key; give the public key instead (openssl pkey -in KEY -pubout)`);
  }
  let key: KeyObject;
  try {
    key = label === 'CERTIFICATE' ? new X509Certificate(bytes).publicKey : createPublicKey(bytes);
  } catch (err) {
    throw new KeyError(`${file} is not a PEM public key or certificate: ${(err as Error).message}`);
  }
  return { kind: 'public', key, ...describeKey(key, file) };
}

/** The algorithms a public key can verify, and its name for messages. */
function describeKey(key: KeyObject, where: string): { what: string; algorithms: readonly string[] } {
  const d = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'rsa':
    case 'rsa-pss': {
      const bits = d.modulusLength ?? 0;
      if (bits < MIN_RSA_BITS) throw new KeyError(`${where}: RSA key of ${bits} bits; at least ${MIN_RSA_BITS} are needed`);
      return { what: `an RSA public key (${bits} bits)`, algorithms: key.asymmetricKeyType === 'rsa' ? RSA_ALGS : PSS_ALGS };
    }
    case 'ec': {
      const crv = OPENSSL_CURVES[d.namedCurve ?? ''] ?? d.namedCurve ?? '?';
      const alg = EC_ALGS[crv];
      if (!alg) throw new KeyError(`${where}: EC curve ${crv} is not supported (P-256, P-384, P-521 are)`);
      return { what: `an EC public key (${crv})`, algorithms: [alg] };
    }
    case 'ed25519':
      return { what: 'an Ed25519 public key', algorithms: ['EdDSA', 'Ed25519'] };
    default:
      throw new KeyError(`${where}: ${key.asymmetricKeyType ?? 'unknown'} keys cannot verify JWS signatures (RSA, EC P-256/384/521 and Ed25519 can)`);
  }
}

/**
 * Checks a JWKS document key by key. `strict` (a key file): any key wslb cannot use is an error.
 * `lenient` (a fetched set): keys for encryption, private or unusable keys are skipped and named
 * in `skipped`; only a set left with no usable key is an error.
 */
export function parseKeySet(json: unknown, where: string, mode: 'strict' | 'lenient'): { set: { jwks: KeySet; algorithms: readonly string[] }; skipped: string[] } {
  if (!isObject(json) || !Array.isArray(json['keys'])) throw new KeyError(`${where}: a JWKS must be an object with a "keys" list`);
  const keys: JsonWebKey[] = [];
  const algorithms = new Set<string>();
  const skipped: string[] = [];
  json['keys'].forEach((jwk: unknown, i: number) => {
    const name = isObject(jwk) && typeof jwk['kid'] === 'string' ? `key ${i} (kid "${jwk['kid']}")` : `key ${i}`;
    try {
      const usable = checkJwk(jwk, `${where} ${name}`);
      if (usable === null) { skipped.push(`${name}: not a signing key`); return; }
      keys.push(jwk as JsonWebKey);
      for (const a of usable) algorithms.add(a);
    } catch (err) {
      if (mode === 'strict') throw err;
      skipped.push((err as Error).message);
    }
  });
  if (!keys.length) throw new KeyError(`${where}: no usable signing key in the set${skipped.length ? ` (${skipped.join('; ')})` : ''}`);
  return { set: { jwks: { keys }, algorithms: [...algorithms] }, skipped };
}

/** The algorithms one JWK verifies; null for a key meant for encryption (use: enc); throws when it cannot be used. */
function checkJwk(jwk: unknown, where: string): readonly string[] | null {
  if (!isObject(jwk) || typeof jwk['kty'] !== 'string') throw new KeyError(`${where}: not a JWK (no "kty")`);
  if (jwk['use'] !== undefined && jwk['use'] !== 'sig') return null;
  if (jwk['kty'] === 'oct') throw new KeyError(`${where}: a secret (oct) key; put an HMAC secret in a file of its own`);
  if (PRIVATE_JWK_MEMBERS.some((m) => jwk[m] !== undefined)) throw new KeyError(`${where}: holds private key material; publish only public keys`);
  let key: KeyObject;
  try {
    key = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' });
  } catch (err) {
    throw new KeyError(`${where}: not a valid public JWK: ${(err as Error).message}`);
  }
  const { algorithms } = describeKey(key, where);
  const alg = jwk['alg'];
  if (alg === undefined) return algorithms;
  if (typeof alg !== 'string' || !algorithms.includes(alg)) {
    throw new KeyError(`${where}: "alg": ${JSON.stringify(alg)} does not fit this key (it allows ${algorithms.join(', ')})`);
  }
  return [alg];
}

/** Why `alg` cannot be verified with `material`, or null when it can. */
export function algorithmMismatch(alg: string, material: KeyMaterial): string | null {
  if (material.algorithms.includes(alg)) return null;
  if (HMAC_ALGORITHMS.includes(alg)) {
    return material.kind === 'secret'
      ? `${alg} needs an HMAC secret of at least ${HMAC_MIN_BYTES[alg]} bytes; this one has ${material.secret.length}`
      : `${alg} needs an HMAC secret file; keys holds ${material.kind === 'public' ? material.what : 'a JWKS'}`;
  }
  if (material.kind === 'secret') return `${alg} needs a public key; keys holds an HMAC secret`;
  return `${alg} does not fit ${material.kind === 'public' ? material.what : 'any key of the JWKS'} (allowed: ${material.algorithms.join(', ')})`;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
