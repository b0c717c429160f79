/** Test helper for the access log: an in-process balancer whose log lines are captured, with `log.access` set, and the access lines it wrote. */

import type { Test } from 'tap';
import { parse, stringify } from 'yaml';
import { farmYaml, type FarmSpec } from '../helpers/balancer.js';
import { captureLog, type Line } from '../helpers/log-capture.js';
import { loadConfigText } from '../../src/config/load.js';
import { Balancer } from '../../src/main.js';

export interface Logged {
  b: Balancer;
  lines: Line[];
  /** The `"msg":"access"` lines so far. */
  access(): Line[];
}

/** `extra` is merged into the top level of the farm's YAML (e.g. `{ log: { access: true } }`). */
export function yamlWith(spec: FarmSpec, extra: Record<string, unknown>): string {
  return stringify({ ...(parse(farmYaml(spec)) as Record<string, unknown>), ...extra });
}

export async function startLogged(t: Test, spec: FarmSpec, access = true, extra: Record<string, unknown> = {}): Promise<Logged> {
  const { log, lines } = captureLog('info');
  const config = loadConfigText(yamlWith(spec, { log: { level: 'info', access }, ...extra }), 'test.yaml', {});
  const b = new Balancer(config, log);
  await b.start();
  t.teardown(() => b.destroy());
  return { b, lines, access: () => lines.filter((l) => l.msg === 'access') };
}

/** The fields of an access line every test compares, in the documented order. */
export const FIELDS = [
  'kind', 'client', 'route', 'pool', 'server', 'status', 'http_version', 'duration_ms',
  'bytes_in', 'bytes_out', 'messages_in', 'messages_out', 'close_code', 'close_by', 'user',
] as const;
