/** TLS listeners: certificate files to a secure context, loaded at start and re-read on reload without touching open connections. */

import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type tls from 'node:tls';
import type { ListenerConfig } from '../config/types.js';
import type { Logger } from '../log.js';

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
 * Loads `t` into the server (throws at start: a listener with bad certificates must not open).
 * Handshakes already done keep their session; new ones use the new context.
 */
export function loadCertificates(server: tls.Server, t: ListenerTls): void {
  const files = readCertificates(t);
  try {
    server.setSecureContext(files);
  } catch (err) {
    throw new Error(`tls ${t.cert} / ${t.key}: ${(err as Error).message}`, { cause: err });
  }
}

/** The reload path: like loadCertificates, but a failure is logged and the current certificates stay. */
export function reloadCertificates(server: tls.Server, t: ListenerTls, log: Logger, port: number): boolean {
  try {
    loadCertificates(server, t);
    log.info({ port, cert: t.cert }, 'tls certificates reloaded');
    return true;
  } catch (err) {
    log.error({ port, err: (err as Error).message }, 'tls certificates not reloaded; keeping the current ones');
    return false;
  }
}

/**
 * The listener's server: plain HTTP, or HTTPS when it has `tls` (its certificates are loaded
 * by loadCertificates before listening). A client that opens TLS and never finishes the
 * handshake is cut after `handshakeTimeoutMs` (Node's default is 120 s).
 */
export function createListenerServer(config: ListenerConfig, options: http.ServerOptions, handshakeTimeoutMs: number): http.Server {
  if (!config.tls) return http.createServer(options);
  return https.createServer({ ...options, handshakeTimeout: handshakeTimeoutMs });
}
