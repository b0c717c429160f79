/**
 * DNS discovery for a pool (`discover: { dns, port, refresh, resolver }`): resolves A and AAAA
 * records every `refresh` (a Kubernetes headless service, Consul or Docker DNS) and applies the
 * address set with reload semantics: new addresses join, vanished ones drain with 1012.
 * A failed lookup keeps the last known set (a DNS outage must not empty the farm).
 */

import { Resolver } from 'node:dns/promises';
import type { PoolConfig, ServerConfig } from '../config/types.js';
import type { Logger } from '../log.js';

export interface DiscoveryTarget {
  readonly config: PoolConfig;
  /** Applies a server list; returns nothing, the owner drains what left. */
  apply(servers: ServerConfig[]): void;
}

export class Discovery {
  readonly #target: DiscoveryTarget;
  readonly #log: Logger;
  readonly #resolver = new Resolver({ timeout: 2000, tries: 2 });
  #timer: NodeJS.Timeout | null = null;
  #closed = false;
  #last = '';
  lastError: string | null = null;

  constructor(target: DiscoveryTarget, log: Logger) {
    this.#target = target;
    this.#log = log;
    const r = target.config.discover?.resolver;
    if (r) this.#resolver.setServers([r]);
  }

  start(): Promise<void> {
    return this.refresh();
  }

  close(): void {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#resolver.cancel();
  }

  /** One lookup, applied when the address set changed; then the next one is scheduled. */
  async refresh(): Promise<void> {
    const d = this.#target.config.discover;
    if (!d || this.#closed) return;
    try {
      const [v4, v6] = await Promise.all([
        this.#resolver.resolve4(d.dns).catch(noRecords),
        this.#resolver.resolve6(d.dns).catch(noRecords),
      ]);
      if (this.#closed) return;
      const addrs = [...v4, ...v6.map((a) => `[${a}]`)].sort();
      const key = addrs.join(',');
      this.lastError = null;
      if (key !== this.#last) {
        this.#last = key;
        this.#log.info({ pool: this.#target.config.name, dns: d.dns, addresses: addrs }, 'discovery changed');
        this.#target.apply(addrs.map((host): ServerConfig => ({
          name: `${host}:${d.port}`, url: `ws://${host}:${d.port}`,
          host: host.replace(/^\[|\]$/g, ''), port: d.port, tls: false, weight: 1,
        })));
      }
    } catch (err) {
      this.lastError = (err as Error).message;
      this.#log.warn({ pool: this.#target.config.name, dns: d.dns, err: this.lastError }, 'discovery lookup failed; keeping the last known servers');
    }
    if (!this.#closed) {
      this.#timer = setTimeout(() => void this.refresh(), d.refresh);
      this.#timer.unref();
    }
  }
}

/** NXDOMAIN / no data for one family is an empty answer, not a failure; anything else is. */
function noRecords(err: NodeJS.ErrnoException): string[] {
  if (err.code === 'ENODATA' || err.code === 'ENOTFOUND') return [];
  throw err;
}
