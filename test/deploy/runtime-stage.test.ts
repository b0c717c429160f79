/** The container image's runtime stage replayed without Docker: its files, its `npm ci --omit=dev`, its CMD and HEALTHCHECK, and a WebSocket echo through it. */

import t from 'tap';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WebSocket } from 'ws';
import { startEchoBackend } from '../helpers/backend-ws.js';
import { copyArgs, execForm, readDockerfile, type Stage } from './dockerfile.js';
import { nonProductionImports, walkImports } from './imports.js';

const stages = readDockerfile();
const runtime = stages[stages.length - 1]!;
const build = stages.find((s) => s.name !== null && runtime.instructions.some((i) => i.op === 'COPY' && copyArgs(i).from === s.name));
const pkg = JSON.parse(fs.readFileSync('package.json', 'utf8')) as { bin: Record<string, string> };

function only(stage: Stage, op: string) {
  const found = stage.instructions.filter((i) => i.op === op);
  if (found.length !== 1) throw new Error(`expected one ${op} in the stage FROM ${stage.from}, found ${found.length}`);
  return found[0]!;
}

const CMD = execForm(only(runtime, 'CMD'));
const HEALTHCHECK = execForm(only(runtime, 'HEALTHCHECK'), 'CMD');
// Every file the image runs: the CMD's script, the package's bins, and what they start by path (walked from these).
const ENTRIES = [...new Set([CMD[1]!, ...Object.values(pkg.bin)])];

// The environment of the image: its ENV lines and a PATH; none of tap's NODE_OPTIONS loaders, no NODE_PATH.
const ENV: NodeJS.ProcessEnv = { PATH: process.env.PATH };
for (const i of runtime.instructions.filter((x) => x.op === 'ENV')) {
  const m = /^(\w+)[= ](.*)$/.exec(i.args);
  if (m) ENV[m[1]!] = m[2]!;
}

function exec(argv: string[], cwd: string, ms = 20_000): Promise<{ code: number | null; out: string }> {
  const child = spawn(argv[0]!, argv.slice(1), { cwd, env: ENV, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
  const timer = setTimeout(() => child.kill('SIGKILL'), ms);
  return new Promise((resolve) => child.on('close', (code) => { clearTimeout(timer); resolve({ code, out }); }));
}

t.test('a run-time import of a devDependency is named with the file that imports it', async (t) => {
  const dir = t.testdir({
    'package.json': JSON.stringify({ dependencies: { ws: '*' }, devDependencies: { 'http-proxy': '*' } }),
    dist: {
      'cli.js': "import { WebSocket } from 'ws';\nimport fs from 'node:fs';\nawait import('./lazy.js');\n",
      'lazy.js': "import httpProxy from 'http-proxy';\nfork(new URL('./worker.js', import.meta.url));\n",
      'worker.js': "import { z } from 'zod/v4';\n",
    },
  });
  t.same(nonProductionImports(dir, ['dist/cli.js']), [
    "dist/lazy.js imports 'http-proxy': http-proxy is a devDependency, so the runtime image (npm ci --omit=dev) lacks it",
    "dist/worker.js imports 'zod/v4': zod is not in package.json, so the runtime image (npm ci --omit=dev) lacks it",
  ]);
});

t.test('the runtime stage copies what the build stage makes, and what it runs imports production dependencies only', async (t) => {
  t.ok(build, 'the runtime stage copies from a named build stage');
  t.ok(build!.instructions.some((i) => i.op === 'RUN' && /\bnpm run build\b/.test(i.args)), 'the build stage runs npm run build (tsc -> dist/)');
  t.ok(ENTRIES.every((e) => fs.existsSync(e)), `entries exist in dist/ (run tsc first): ${ENTRIES.join(', ')}`);
  t.same(nonProductionImports('.', ENTRIES), [], 'every package imported at run time is in dependencies');
  t.ok(walkImports(ENTRIES.map((e) => path.resolve(e))).files.has(path.resolve('dist/bench/worker.js')),
    "wslb-bench's generator process (started by path, not imported) is walked too");
});

t.test('every file a stage copies from the build context exists and is not in .dockerignore', async (t) => {
  // .dockerignore patterns are anchored at the context root; `*` stays within one path segment.
  const ignore = fs.readFileSync('.dockerignore', 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'))
    .map((p) => new RegExp(`^${p.replace(/^\/+|\/+$/g, '').replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}(/|$)`));
  const sources = stages.flatMap((s) => s.instructions.filter((i) => i.op === 'COPY').map(copyArgs)).filter((c) => c.from === null).flatMap((c) => c.sources);
  t.ok(sources.length >= 4, `context sources: ${sources.join(' ')}`);
  for (const src of sources) {
    t.ok(fs.existsSync(src), `${src} exists`);
    t.notOk(ignore.some((re) => re.test(src)), `${src} is sent to the builder`);
  }
  for (const heavy of ['node_modules', 'dist', '.git']) t.ok(ignore.some((re) => re.test(heavy)), `${heavy} stays out of the context`);
});

t.test('npm ci --omit=dev in a copy of the stage, then check, run, echo, HEALTHCHECK, wslb-bench, SIGTERM', async (t) => {
  // Outside the repository: a node_modules in any parent directory would hide a missing package.
  const app = fs.mkdtempSync(path.join(os.tmpdir(), 'wslb-image-'));
  t.teardown(() => fs.rmSync(app, { recursive: true, force: true }));
  for (let d = app; d !== path.dirname(d); d = path.dirname(d)) {
    t.notOk(fs.existsSync(path.join(path.dirname(d), 'node_modules')), `no node_modules above ${app}`);
  }
  const buildDir = only(build!, 'WORKDIR').args;
  for (const ins of runtime.instructions.filter((i) => i.op === 'COPY')) {
    const { from, sources, dest } = copyArgs(ins);
    for (const src of sources) {
      const local = from === null ? src : path.relative(buildDir, src);   // from the build stage: its WORKDIR is the repository root
      t.ok(fs.existsSync(local), `COPY source ${local} exists`);
      const target = dest.endsWith('/') ? path.join(app, dest, path.basename(local)) : path.join(app, dest);
      fs.cpSync(local, target, { recursive: true });
    }
  }
  t.same(fs.readdirSync(app).sort(), ['dist', 'package-lock.json', 'package.json'], 'the stage holds the manifest, the lockfile and dist/ only');

  // The stage's own npm ci command; the cache flags only make it fast here (the cache is warm).
  const install = runtime.instructions.filter((i) => i.op === 'RUN').flatMap((i) => i.args.split('&&').map((s) => s.trim())).find((s) => s.startsWith('npm ci'));
  t.match(install, /--omit=dev/, 'the runtime stage installs without dev dependencies');
  const ci = await exec([...install!.split(/\s+/), '--prefer-offline', '--no-audit', '--no-fund'], app, 40_000);
  t.equal(ci.code, 0, 'npm ci --omit=dev succeeds', { output: ci.out });
  t.notMatch(ci.out, /EBADENGINE/, 'every production dependency supports the Node version here', { output: ci.out });
  t.notOk(fs.existsSync(path.join(app, 'node_modules', 'typescript')), 'no dev dependency installed');

  const backend = await startEchoBackend({ name: 'img' });
  t.teardown(() => backend.close());
  const config = path.join(app, 'balancer.yaml');
  fs.writeFileSync(config, [
    'listeners: [{ port: 0, host: 127.0.0.1 }]',
    'admin: { port: 0, host: 127.0.0.1 }',
    'log: { level: info }',
    'timeouts: { drain: 1s }',
    `pools: { p: { health: { check: none }, servers: [{ name: img, url: "${backend.url}" }] } }`,
    'routes: [{ match: { path: / }, pool: p }]',
    '',
  ].join('\n'));
  const withConfig = (argv: string[]) => argv.map((a, i) => (argv[i - 1] === '-c' ? config : a));

  const check = await exec(withConfig(CMD).map((a) => (a === 'run' ? 'check' : a)), app);
  t.equal(check.code, 0, 'wslb check exits 0', { output: check.out });
  t.match(check.out, 'ok: 1 routes, 1 pools, 1 servers');

  const child = spawn(CMD[0]!, withConfig(CMD).slice(1), { cwd: app, env: ENV, stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL'); });
  let out = '';
  child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
  const ports: Record<string, number> = {};
  const listening = new Promise<void>((resolve) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      for (const m of out.matchAll(/"kind":"(proxy|admin)".*?"port":(\d+).*?"msg":"listening"/g)) ports[m[1]!] = Number(m[2]);
      if (ports.proxy && ports.admin) resolve();
    });
  });
  const exited = once(child, 'exit');
  const first = await Promise.race([listening.then(() => 'listening'), exited.then(() => 'exited'), new Promise((r) => setTimeout(r, 10_000, 'timeout'))]);
  t.equal(first, 'listening', 'proxy and admin listening lines', { output: out });
  if (first !== 'listening') return;

  const ws = new WebSocket(`ws://127.0.0.1:${ports.proxy}/`, { perMessageDeflate: false });
  await once(ws, 'open');
  ws.send('through the image');
  const [reply] = (await once(ws, 'message')) as [Buffer];
  t.equal(reply.toString(), 'through the image', 'echoed through the balancer');
  ws.close();
  await once(ws, 'close');

  // The HEALTHCHECK as written, aimed at this run's admin port instead of the image's 9090.
  const probe = HEALTHCHECK.map((a) => a.replace('127.0.0.1:9090', `127.0.0.1:${ports.admin}`));
  t.not(probe.join(' '), HEALTHCHECK.join(' '), 'the HEALTHCHECK probes 127.0.0.1:9090');
  t.equal((await exec(probe, app)).code, 0, 'HEALTHCHECK passes against a running balancer');

  // wslb-bench is shipped too: a 20-message echo run through the balancer, with its generator process.
  const bench = await exec(['node', pkg.bin['wslb-bench']!, 'echo', '-u', `ws://127.0.0.1:${ports.proxy}/`, '-c', '1', '-p', '1',
    '-w', '0s', '-d', '2s', '--drain', '200ms', '--max-messages', '20', '-q'], app);
  t.equal(bench.code, 0, 'wslb-bench exits 0', { output: bench.out });
  // Every one of the 20 messages made its round trip (the latency table counts each echo; the
  // 'messages received' rate line is sampled per interval and can miss the last one).
  t.match(bench.out, /round trip\s+20\b/, 'all 20 echoes came back through the balancer');

  child.kill('SIGTERM');
  const [code] = (await exited) as [number | null];
  t.equal(code, 0, 'exit 0 on SIGTERM', { output: out });
  t.equal((await exec(probe, app)).code, 1, 'HEALTHCHECK fails once the balancer is gone');
});
