/** deploy/compose.yaml checked without Docker: the files it builds and mounts exist, its config passes `wslb check`, and ports, names and timings agree. */

import t from 'tap';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { loadConfigText } from '../../src/config/load.js';
import { waitFor } from '../helpers/wait.js';
import { runCli } from '../helpers/cli.js';
import { execForm, readDockerfile } from './dockerfile.js';
import { nonProductionImports } from './imports.js';
import { noLookups } from './wslb-config.js';

const FILE = 'deploy/compose.yaml';
const BASE = path.dirname(FILE);   // compose resolves relative paths from the file's directory
const compose = parse(fs.readFileSync(FILE, 'utf8'), { merge: true }) as { services: Record<string, any>; configs?: Record<string, any> };
const services = Object.entries(compose.services);
const fromImage = services.filter(([, s]) => s.build);
// The balancers: services given the wslb config.
const balancers = services.filter(([, s]) => (s.configs ?? []).some((c: any) => c.target?.endsWith('.yaml')));

/** Compose's own interpolation of a value: `$$` is a literal `$`; any other `${X}` would come from the host running compose. */
function composeText(s: string): string {
  if (/(?<!\$)\$\{/.test(s.replace(/\$\$/g, ''))) throw new Error(`${FILE}: a \${...} taken from the host environment: ${s}`);
  return s.replace(/\$\$/g, '$');
}

function duration(s: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(s);
  if (!m) throw new Error(`not a compose duration: ${s}`);
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms'];
}

t.test('build contexts, Dockerfiles and mounted files exist', async (t) => {
  t.ok(fromImage.length > 0, 'services are built from the repository');
  for (const [name, s] of fromImage) {
    const context = path.resolve(BASE, s.build.context ?? '.');
    t.ok(fs.existsSync(path.join(context, 'package.json')), `${name}: build context ${s.build.context} is the repository root`);
    t.ok(fs.existsSync(path.join(context, s.build.dockerfile ?? 'Dockerfile')), `${name}: ${s.build.dockerfile} exists in the context`);
  }
  for (const [name, s] of services) {
    for (const c of s.configs ?? []) {
      const def = compose.configs?.[c.source ?? c];
      t.ok(def, `${name}: config ${c.source ?? c} is defined`);
      if (def?.file) t.ok(fs.existsSync(path.resolve(BASE, def.file)), `${name}: config file ${def.file} exists`);
    }
    for (const v of s.volumes ?? []) {
      const src = typeof v === 'string' ? v.split(':')[0]! : v.source;
      if (/^[./]/.test(src)) t.ok(fs.existsSync(path.resolve(BASE, src)), `${name}: mounted ${src} exists`);
    }
    for (const d of s.depends_on ?? []) t.ok(compose.services[d], `${name} depends on ${d}, a service`);
  }
});

t.test('commands run in the image are files of dist/ that import production dependencies only', async (t) => {
  for (const [name, s] of fromImage.filter(([, s]) => s.command)) {
    t.equal(s.command[0], 'node', `${name} runs node`);
    t.ok(fs.existsSync(s.command[1]), `${name}: ${s.command[1]} is built`);
    t.same(nonProductionImports('.', [s.command[1]]), [], `${name}: ${s.command[1]} runs without dev dependencies`);
  }
});

t.test("services that run another command than the image's override its HEALTHCHECK with one that passes", async (t) => {
  const image = readDockerfile().at(-1)!;
  const cmd = execForm(image.instructions.find((i) => i.op === 'CMD')!);
  const others = fromImage.filter(([, s]) => s.command && s.command.join(' ') !== cmd.join(' '));
  t.ok(others.length > 0, 'the farm servers run farm-main.js from the image');
  const ran = new Set<string>();
  for (const [name, s] of others) {
    // The image's HEALTHCHECK probes wslb's admin port: any other program is marked unhealthy forever.
    const test = s.healthcheck?.test as string[] | undefined;
    t.ok(s.healthcheck?.disable || test?.[0] === 'CMD', `${name} overrides the image's HEALTHCHECK`);
    if (!test || test[0] !== 'CMD') continue;
    const shape = JSON.stringify([s.command, test]);   // farm-2 and farm-3 are farm-1 by YAML alias: run each shape once
    if (ran.has(shape)) continue;
    ran.add(shape);
    const port = /127\.0\.0\.1:(\d+)/.exec(test.join(' '))?.[1];
    const farm = spawn(s.command[0], [s.command[1], '--host', '127.0.0.1', '--ports', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
    t.teardown(() => { farm.kill('SIGTERM'); });
    let out = '';
    farm.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    await waitFor(t, () => /"msg":"demo server listening"/.test(out), { ms: 10_000, what: `${name} starts` });
    const real = /"url":"ws:\/\/127\.0\.0\.1:(\d+)\//.exec(out)?.[1];
    t.ok(port && real, `${name}'s healthcheck probes a 127.0.0.1 port (${port})`);
    const probe = spawn(test[1]!, test.slice(2).map((a) => a.replace(`127.0.0.1:${port}`, `127.0.0.1:${real}`)), { stdio: 'ignore' });
    const [code] = (await once(probe, 'exit')) as [number];
    t.equal(code, 0, `${name}'s healthcheck passes against a running farm server`);
    t.ok(String(s.command[s.command.indexOf('--ports') + 1]).split(',').includes(port!), `${name} listens on the probed port ${port}`);
  }
});

for (const [name, s] of balancers) {
  const mount = s.configs.find((c: any) => c.target?.endsWith('.yaml'));
  const text = composeText(compose.configs![mount.source].content ?? fs.readFileSync(path.resolve(BASE, compose.configs![mount.source].file), 'utf8'));
  const env = { ...(s.environment ?? {}) } as Record<string, string>;
  const config = loadConfigText(text, `${name}:${mount.target}`, env);

  t.test(`${name}: the config passes wslb check with the service's environment, without resolving anything`, async (t) => {
    const dir = t.testdir({ 'balancer.yaml': text });
    const r = await runCli(['check', '-c', path.join(dir, 'balancer.yaml')], env);
    t.equal(r.code, 0, 'wslb check exits 0', { stderr: r.stderr });
    t.match(r.stdout, /^ok: /);
    t.equal(config.cluster?.name, env.WSLB_NAME ?? config.cluster?.name, 'cluster.name comes from the service environment');
    t.match(mount.target, /^\/etc\/wslb\//, 'mounted where the image expects its config');
    await noLookups(t, text, env);
  });

  t.test(`${name}: published ports, servers, Redis and the stop grace agree with the config`, async (t) => {
    const inside = (s.ports ?? []).map((p: string) => Number(String(p).split(':').pop())).sort();
    t.same(inside, [...config.listeners.map((l) => l.port), config.admin.port].sort(), 'published container ports = listeners + admin');
    t.equal(config.admin.host, '0.0.0.0', 'admin binds every address: the published port reaches it');
    const health = execForm(readDockerfile().at(-1)!.instructions.find((i) => i.op === 'HEALTHCHECK')!, 'CMD').join(' ');
    t.match(health, `127.0.0.1:${config.admin.port}/`, "the image's HEALTHCHECK probes this admin port");
    for (const pool of Object.values(config.pools)) {
      for (const srv of pool.servers) {
        const farm = compose.services[srv.host];
        t.ok(farm, `server ${srv.name} (${srv.host}) is a compose service`);
        const ports = String(farm?.command?.[farm.command.indexOf('--ports') + 1] ?? '').split(',').map(Number);
        t.ok(ports.includes(srv.port), `${srv.host} listens on ${srv.port}`);
      }
    }
    const redis = new URL(config.cluster!.redis);
    t.ok(compose.services[redis.hostname], `cluster.redis host ${redis.hostname} is a compose service`);
    const t_ = config.timeouts as { drain: number; shutdown_grace?: number };
    const stopMs = (t_.shutdown_grace ?? 0) + t_.drain;
    t.ok(duration(s.stop_grace_period ?? '10s') > stopMs, `stop_grace_period ${s.stop_grace_period} > shutdown_grace + drain (${stopMs} ms): docker stop SIGKILLs after it`);
  });
}
