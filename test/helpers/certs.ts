/** Test helper: a throwaway CA and server certificates made with the openssl CLI at test time (nothing is checked in). */

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface Cert {
  readonly cert: string;      // PEM file path
  readonly key: string;       // PEM file path
  readonly pem: Buffer;       // the certificate itself
}

export interface TestCa {
  readonly dir: string;
  readonly ca: string;        // CA certificate PEM file path
  readonly caPem: Buffer;
  /** A server certificate for `names` (DNS names; IP addresses become IP SANs), signed by this CA. */
  issue(file: string, names: string[]): Cert;
  remove(): void;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A new CA in a fresh temporary folder (EC P-256 keys: fast to generate). */
export function createTestCa(name = 'wslb test CA'): TestCa {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wslb-ca-'));
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'ca.key'], dir);
  openssl(['req', '-x509', '-new', '-key', 'ca.key', '-sha256', '-days', '2', '-subj', `/CN=${name}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-out', 'ca.crt'], dir);
  const ca = path.join(dir, 'ca.crt');
  return {
    dir,
    ca,
    caPem: fs.readFileSync(ca),
    issue(file: string, names: string[]): Cert {
      const san = names.map((n) => (/^[\d.]+$|:/.test(n) ? `IP:${n}` : `DNS:${n}`)).join(',');
      fs.writeFileSync(path.join(dir, `${file}.ext`), `subjectAltName=${san}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n`);
      openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${file}.key`], dir);
      openssl(['req', '-new', '-key', `${file}.key`, '-subj', `/CN=${names[0]}`, '-out', `${file}.csr`], dir);
      openssl(['x509', '-req', '-in', `${file}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial',
        '-days', '2', '-sha256', '-extfile', `${file}.ext`, '-out', `${file}.crt`], dir);
      const cert = path.join(dir, `${file}.crt`);
      return { cert, key: path.join(dir, `${file}.key`), pem: fs.readFileSync(cert) };
    },
    remove() {
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
