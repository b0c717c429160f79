/** One process: a server that is down from its first check, at start or added by a reload, gets a `server state changed` line (from "unknown"). */

import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { loadConfigFile } from '../../src/config/load.js';
import { Balancer } from '../../src/main.js';
import { startEchoBackends } from '../helpers/backend.js';
import { farmYaml } from '../helpers/balancer.js';
import { waitFor } from '../helpers/wait.js';
import { startChildServer } from '../helpers/server-process.js';

type Line = Record<string, unknown>;

/** The test farm at info level (a reload applies the file's level to the logger). */
function yaml(spec: Parameters<typeof farmYaml>[0]): string {
  return farmYaml(spec).replace(/^( +level:) .*$/m, '$1 info');
}

t.test('first results are logged: up at info, down at warn with its reason; later changes once each', async (t) => {
  const [ok] = await startEchoBackends(1, 'ok');
  t.teardown(() => ok!.close());
  const gone = await startChildServer(t, 'gone');
  gone.kill('SIGKILL');
  await new Promise((r) => gone.process.once('exit', r));
  const pool = { health: { check: 'tcp', interval: '200ms', timeout: '200ms', rise: 1, fall: 1 } };
  const servers = [{ name: 'ok', url: ok!.url }, { name: 'gone', url: gone.url }];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wslb-state-logs-'));
  const file = path.join(dir, 'balancer.yaml');
  fs.writeFileSync(file, yaml({ servers, pool }));
  const lines: Line[] = [];
  const sink = new Writable({ write(chunk: Buffer, _enc, cb) { for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as Line); cb(); } });
  const b = new Balancer(loadConfigFile(file, {}), pino({ level: 'info', base: undefined }, sink));
  t.teardown(() => { b.destroy(); fs.rmSync(dir, { recursive: true, force: true }); });
  await b.start();
  const changes = (server: string): Line[] => lines.filter((l) => l['msg'] === 'server state changed' && l['server'] === server);

  t.match(changes('gone'), [{ level: 40, pool: 'p', from: 'unknown', to: 'down', reason: /^health check failed: connect ECONNREFUSED/ }], 'down from the start');
  t.match(changes('ok'), [{ level: 30, pool: 'p', from: 'unknown', to: 'up', reason: null }], 'up from the start');
  // Later failures of a server already down change nothing, so they log nothing.
  await new Promise((r) => setTimeout(r, 700));
  t.equal(changes('gone').length, 1, 'one line however many checks fail');

  fs.writeFileSync(file, yaml({ servers: [...servers, { name: 'late', url: gone.url }], pool }));
  const outcome = await b.reload();
  t.ok(outcome.ok);
  await waitFor(t, () => changes('late').length > 0, { ms: 3000, what: 'a server added by a reload and down at once is logged' });
  t.match(changes('late'), [{ level: 40, from: 'unknown', to: 'down', reason: /^health check failed: / }]);

  await gone.restart();
  await waitFor(t, () => changes('gone').length > 1, { ms: 3000, what: 'the restarted server\'s recovery is logged' });
  t.match(changes('gone')[1], { level: 30, from: 'down', to: 'up', reason: null }, 'its recovery is an ordinary change');
});
