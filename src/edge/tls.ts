/** TLS listeners: certificate files to a secure context, loaded at start and re-read on reload (checked before anything swaps) without touching open connections. */

import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import type { ListenerConfig } from '../config/types.js';

type ListenerTls = NonNullable<ListenerConfig['tls']>;

/** Reads the PEM files; an unreadable file throws an error naming it. */
export function readCertificates(t: ListenerTls): tls.SecureContextOptions {
  const read = (what: string, file: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new Error(`tls ${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
    }
  };
  return {
    cert: read('cert', t.cert),
    key: read('key', t.key),
    ...(t.ca ? { ca: read('ca', t.ca) } : {}),
  };
}

/**
 * Reads the PEM files and builds a secure context from them, so a bad file or a key that does
 * not match its certificate throws (naming the files) before anything uses them.
 */
export function prepareCertificates(t: ListenerTls): tls.SecureContextOptions {
  const files = readCertificates(t);
  try {
    tls.createSecureContext(files);
  } catch (err) {
    throw new Error(`tls ${t.cert} / ${t.key}: ${(err as Error).message}`, { cause: err });
  }
  return files;
}

/**
 * Loads `t` into the server (throws at start: a listener with bad certificates must not open).
 * Handshakes already done keep their session; new ones use the new context.
 */
export function loadCertificates(server: tls.Server, t: ListenerTls): void {
  server.setSecureContext(prepareCertificates(t));
}

/**
 * The listener's server: plain HTTP, or HTTPS when it has `tls` (its certificates are loaded
 * by loadCertificates before listening). A client that opens TLS and never finishes the
 * handshake is cut after `handshakeTimeoutMs` (Node's default is 120 s). With `http2`, ALPN
 * offers h2 before http/1.1 (the listener hands h2 connections to src/edge/h2-front.ts); a client
 * that offers no ALPN, or only http/1.1, is served HTTP/1.1 as without it.
 */
export function createListenerServer(config: ListenerConfig, options: http.ServerOptions, handshakeTimeoutMs: number): http.Server {
  if (!config.tls) return http.createServer(options);
  return https.createServer({ ...options, handshakeTimeout: handshakeTimeoutMs, ...(config.http2 ? { ALPNProtocols: ['h2', 'http/1.1'] } : {}) });
}
