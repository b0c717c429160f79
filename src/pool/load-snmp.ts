/** `source: snmp` for custom-load: an SNMP v2c GET of the configured OIDs on the server's host (net-snmp, loaded only when used). */

import type { Server } from './server.js';

type Snmp = typeof import('net-snmp');
type Session = ReturnType<Snmp['createSession']>;

export interface SnmpLoadOptions {
  readonly port: number;          // default 161
  readonly community: string;
  /** Report field name -> numeric OID, e.g. { cpu: 1.3.6.1.4.1.2021.10.1.3.1 } (UCD-SNMP-MIB laLoad.1). */
  readonly oids: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
}

export class SnmpLoadSource {
  readonly #opts: SnmpLoadOptions;
  readonly #names: string[];
  readonly #oids: string[];
  readonly #sessions = new Map<Server, Session>();
  #snmp: Snmp | null = null;
  #closed = false;

  constructor(opts: SnmpLoadOptions) {
    this.#opts = opts;
    this.#names = Object.keys(opts.oids);
    this.#oids = this.#names.map((n) => opts.oids[n]!);
  }

  /** Resolves with { field: number }; an OctetString value (laLoad is one) is parsed as a decimal. */
  async fetch(server: Server): Promise<Record<string, number>> {
    const snmp = (this.#snmp ??= (await import('net-snmp')).default as unknown as Snmp);
    if (this.#closed) throw new Error('closed');
    let session = this.#sessions.get(server);
    if (!session) {
      session = snmp.createSession(server.host, this.#opts.community, {
        port: this.#opts.port, version: snmp.Version2c, timeout: this.#opts.timeoutMs, retries: 0,
      });
      session.on('error', () => { this.#sessions.delete(server); session!.close(); });
      this.#sessions.set(server, session);
    }
    const s = session;
    return new Promise((resolve, reject) => {
      s.get(this.#oids, (err, varbinds) => {
        if (err) return reject(new Error(`snmp: ${err.message}`));
        const out: Record<string, number> = {};
        for (let i = 0; i < this.#names.length; i++) {
          const vb = varbinds?.[i];
          if (!vb || snmp.isVarbindError(vb)) return reject(new Error(vb ? `snmp: ${snmp.varbindError(vb)}` : `snmp: no value for ${this.#oids[i]}`));
          const v = Buffer.isBuffer(vb.value) ? Number(vb.value.toString('latin1').trim() || NaN) : Number(vb.value);
          if (!Number.isFinite(v)) return reject(new Error(`snmp: ${this.#oids[i]} is not a number`));
          out[this.#names[i]!] = v;
        }
        resolve(out);
      });
    });
  }

  close(): void {
    this.#closed = true;
    for (const s of this.#sessions.values()) s.close();
    this.#sessions.clear();
  }
}
