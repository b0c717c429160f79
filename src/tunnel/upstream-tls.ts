/** TLS settings for `wss://` servers from `pools.<p>.tls` (CA file read once per config), as tls.connect options. */

import { readFileSync } from 'node:fs';
import net from 'node:net';
import type tls from 'node:tls';
import type { PoolConfig } from '../config/types.js';

export interface UpstreamTls {
  readonly ca?: Buffer;
  readonly servername?: string;
  readonly rejectUnauthorized: boolean;
}

// Keyed by the frozen `tls` object of a pool config: a reload brings a new object, so a new read.
const cache = new WeakMap<object, UpstreamTls>();

/** The pool's upstream TLS settings; undefined when it has none (Node's defaults: system CAs, verify, SNI = host). */
export function upstreamTls(pool: Pick<PoolConfig, 'tls'>): UpstreamTls | undefined {
  const t = pool.tls;
  if (!t) return undefined;
  let value = cache.get(t);
  if (!value) {
    value = {
      rejectUnauthorized: t.reject_unauthorized,
      ...(t.servername ? { servername: t.servername } : {}),
      ...(t.ca ? { ca: readFileSync(t.ca) } : {}),
    };
    cache.set(t, value);
  }
  return value;
}

/**
 * tls.connect options for a server at `host`: the certificate is checked against
 * `servername` when set, else against the host (an IP host is checked against IP SANs and
 * sends no SNI, which must be a name).
 */
export function tlsConnectOptions(host: string, t: UpstreamTls | undefined): tls.ConnectionOptions {
  const servername = t?.servername ?? (net.isIP(host) ? undefined : host);
  return {
    ...(servername !== undefined ? { servername } : {}),
    ...(t?.ca ? { ca: t.ca } : {}),
    rejectUnauthorized: t?.rejectUnauthorized ?? true,
    ALPNProtocols: ['http/1.1'],
  };
}
