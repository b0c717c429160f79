/** Test helper: a TLS balancer listener with `http2: true` over echo backends, and a throwaway CA for its certificate. */

import type { Test } from 'tap';
import { parse, stringify } from 'yaml';
import { startEchoBackends, type EchoBackend } from '../helpers/backend.js';
import { farmYaml, startBalancer, type FarmSpec } from '../helpers/balancer.js';
import { createTestCa, type TestCa } from '../helpers/certs.js';
import type { Balancer } from '../../src/main.js';

let ca: TestCa | null = null;
let issued: { cert: string; key: string } | null = null;

/** One CA and one certificate (localhost, 127.0.0.1) per test file, removed at its end. */
export function testCa(t: Test): { ca: TestCa; cert: { cert: string; key: string } } {
  if (!ca) {
    ca = createTestCa('wslb h2 test CA');
    issued = ca.issue('h2-listener', ['localhost', '127.0.0.1']);
    const made = ca;
    t.teardown(() => { made.remove(); ca = null; issued = null; });
  }
  return { ca, cert: issued! };
}

/** farmYaml with one TLS listener offering h2, plus any extra top-level keys (`routes`, `pools`...). */
export function h2Yaml(t: Test, spec: FarmSpec, extra: Record<string, unknown> = {}, listener: Record<string, unknown> = {}): string {
  const { cert } = testCa(t);
  const doc = parse(farmYaml(spec)) as Record<string, unknown>;
  doc['listeners'] = [{ port: 0, host: '127.0.0.1', tls: { cert: cert.cert, key: cert.key }, http2: true, ...listener }];
  return stringify({ ...doc, ...extra });
}

/** `n` echo backends and a balancer whose one route `r` on `/` spreads over them with `algorithm`. */
export async function h2Farm(t: Test, n: number, spec: Partial<FarmSpec> = {}, extra: Record<string, unknown> = {}): Promise<{ b: Balancer; backends: EchoBackend[]; caPem: Buffer }> {
  const backends = await startEchoBackends(n, 'e');
  t.teardown(() => Promise.all(backends.map((be) => be.close())));
  const b = await startBalancer(t, h2Yaml(t, { servers: backends.map((be) => ({ name: be.name, url: be.url })), ...spec }, extra));
  return { b, backends, caPem: testCa(t).ca.caPem };
}
