/** The processes bench:compare runs: the demo farm and each proxy under test (wslb, HAProxy, nginx), in the foreground, with configs from bench/configs/. */

import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), import.meta.url.endsWith('.ts') ? '../..' : '../../..');
const CONFIGS = path.join(ROOT, 'bench/configs');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const children = new Set<Child>();
process.on('exit', () => { for (const c of children) c.proc.kill('SIGKILL'); });

/** A child process whose stdout JSON lines can be waited for. */
export class Child {
  readonly proc: ChildProcess;
  readonly lines: string[] = [];
  readonly exited: Promise<number | null>;
  #stderr = '';
  #waiters = new Set<(line: string) => void>();

  constructor(readonly name: string, cmd: string, args: string[]) {
    this.proc = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(this);
    this.proc.on('error', (err) => { this.#stderr += err.message; });
    this.proc.stderr!.on('data', (d: Buffer) => { this.#stderr = (this.#stderr + d.toString()).slice(-2000); });
    readline.createInterface({ input: this.proc.stdout! }).on('line', (line) => {
      if (this.lines.push(line) > 200) this.lines.shift();
      for (const w of this.#waiters) w(line);
    });
    this.exited = new Promise((resolve) => this.proc.once('exit', (code) => { children.delete(this); resolve(code); }));
  }

  get pid(): number { return this.proc.pid!; }
  get tail(): string { return (this.#stderr || this.lines.slice(-5).join('\n')).trim(); }

  /** Resolves with the first stdout JSON line (past or future) for which `pick` returns a value. */
  next<T>(pick: (obj: Record<string, unknown>) => T | undefined, timeoutMs: number, what: string): Promise<T> {
    return new Promise((resolve, reject) => {
      const done = (err: Error | null, v?: T): void => {
        clearTimeout(timer);
        this.#waiters.delete(check);
        if (err) reject(err); else resolve(v!);
      };
      const check = (line: string): void => {
        let obj: unknown;
        try { obj = JSON.parse(line); } catch { return; }
        const v = obj && typeof obj === 'object' ? pick(obj as Record<string, unknown>) : undefined;
        if (v !== undefined) done(null, v);
      };
      const timer = setTimeout(() => done(new Error(`${this.name}: no ${what} within ${timeoutMs} ms; ${this.tail}`)), timeoutMs);
      void this.exited.then((code) => done(new Error(`${this.name} exited (${code}) before ${what}; ${this.tail}`)));
      this.#waiters.add(check);
      for (const line of this.lines) check(line);
    });
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    this.proc.kill('SIGTERM');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(timer);
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer().once('error', reject).listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** Opens one WebSocket, retrying until `timeoutMs`: the data path works end to end. */
export async function probe(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const ws = new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: 2000 });
      ws.once('open', () => { ws.terminate(); resolve(true); });
      ws.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`no WebSocket through ${url} within ${timeoutMs} ms`);
    await sleep(100);
  }
}

export interface Farm { child: Child; ports: number[] }

/** The demo farm (3 servers in one process) on ephemeral ports, from dist/src/demo/farm-main.js. */
export async function startFarm(): Promise<Farm> {
  const main = path.join(ROOT, 'dist/src/demo/farm-main.js');
  if (!fs.existsSync(main)) throw new Error(`${main} missing: run npm run build`);
  const child = new Child('demo farm', process.execPath, [main, '--ports', '0,0,0']);
  const ports: number[] = [];
  for (const name of ['demo-1', 'demo-2', 'demo-3']) {
    ports.push(await child.next((o) => (o.server === name && typeof o.url === 'string' ? Number(new URL(o.url).port) : undefined), 10_000, `${name} listening`));
  }
  return { child, ports };
}

export interface Target {
  name: string;
  version: string;
  /** What the generator connects to. */
  urls: string[];
  /** The proxy process (none for direct). */
  child: Child | null;
  /** wslb's /status, for the per-server distribution. */
  statusUrl?: string;
}

function fill(template: string, vars: Record<string, string>): string {
  return fs.readFileSync(path.join(CONFIGS, template), 'utf8').replace(/\{\{(\w+)\}\}/g, (_, k: string) => vars[k] ?? '');
}

/** The Debian package's binary, or null when it is not installed. */
export function which(bin: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin'])) {
    const p = path.join(dir, bin);
    if (fs.existsSync(p)) return p;
  }
  return null;
}

export function direct(farm: Farm): Target {
  return { name: 'direct', version: '-', urls: farm.ports.map((p) => `ws://127.0.0.1:${p}/`), child: null };
}

/**
 * `extraYaml`: top-level lines appended to bench/configs/wslb.yaml (e.g. `workers: 2`). `root`: another
 * built tree whose wslb to run (the `wslb-base` target: a before/after pair in the same run).
 */
export async function startWslb(farm: Farm, dir: string, extraNodeArgs: string[] = [], extraYaml = '', root = ROOT, name = 'wslb'): Promise<Target> {
  const cli = path.join(root, 'dist/src/cli.js');
  if (!fs.existsSync(cli)) throw new Error(`${cli} missing: run npm run build`);
  const cfg = path.join(dir, `${name}.yaml`);
  fs.writeFileSync(cfg, fill('wslb.yaml', {
    PORT: '0',
    SERVERS: farm.ports.map((p, i) => `      - { name: demo-${i + 1}, url: "ws://127.0.0.1:${p}" }`).join('\n'),
  }) + (extraYaml ? `\n${extraYaml}\n` : ''));
  const child = new Child(name, process.execPath, [...extraNodeArgs, cli, 'run', '-c', cfg]);
  const listening = (kind: string) => (o: Record<string, unknown>) => (o.msg === 'listening' && o.kind === kind ? Number(o.port) : undefined);
  const port = await child.next(listening('proxy'), 10_000, 'proxy listening line');
  const admin = await child.next(listening('admin'), 10_000, 'admin listening line');
  const url = `ws://127.0.0.1:${port}/`;
  await probe(url, 5000);
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version?: string };
  const from = root === ROOT ? '' : `, built in ${root}`;
  return { name, version: `${pkg.version ?? '?'} (node ${process.version}${from})`, urls: [url], child, statusUrl: `http://127.0.0.1:${admin}/status` };
}

export async function startHaproxy(farm: Farm, dir: string): Promise<Target> {
  const bin = which('haproxy');
  if (!bin) throw new Skip('haproxy is not installed (apt-get install -y haproxy)');
  const version = /version (\S+)/.exec(execFileSync(bin, ['-v']).toString())?.[1] ?? '?';
  const port = await freePort();
  const cfg = path.join(dir, 'haproxy.cfg');
  fs.writeFileSync(cfg, fill('haproxy.cfg', {
    DIR: dir, PORT: String(port),
    SERVERS: farm.ports.map((p, i) => `  server demo-${i + 1} 127.0.0.1:${p}`).join('\n'),
  }));
  const child = new Child('haproxy', bin, ['-f', cfg, '-db']);
  const url = `ws://127.0.0.1:${port}/`;
  await probe(url, 5000).catch((err: Error) => { throw new Error(`${err.message}; ${child.tail}`); });
  return { name: 'haproxy', version, urls: [url], child };
}

export async function startNginx(farm: Farm, dir: string): Promise<Target> {
  const bin = which('nginx');
  if (!bin) throw new Skip('nginx is not installed (apt-get install -y nginx)');
  const version = /nginx\/(\S+)/.exec(spawnSync(bin, ['-v']).stderr.toString())?.[1] ?? '?';
  const port = await freePort();
  const ndir = path.join(dir, 'nginx');
  fs.mkdirSync(ndir, { recursive: true });
  const cfg = path.join(ndir, 'nginx.conf');
  fs.writeFileSync(cfg, fill('nginx.conf', {
    DIR: ndir, PORT: String(port),
    SERVERS: farm.ports.map((p) => `    server 127.0.0.1:${p};`).join('\n'),
  }));
  const child = new Child('nginx', bin, ['-p', ndir, '-e', path.join(ndir, 'error.log'), '-c', cfg, '-g', 'daemon off;']);
  const url = `ws://127.0.0.1:${port}/`;
  await probe(url, 5000).catch((err: Error) => { throw new Error(`${err.message}; ${child.tail}`); });
  return { name: 'nginx', version, urls: [url], child };
}

/** A target that cannot run on this machine (not installed): reported, not a failure. */
export class Skip extends Error {}

/** node http-proxy 1.18 (bench/compare/http-proxy-main.ts), the Node baseline to compare against. */
export async function startHttpProxy(farm: Farm): Promise<Target> {
  const main = fileURLToPath(new URL(import.meta.url.endsWith('.ts') ? './http-proxy-main.ts' : './http-proxy-main.js', import.meta.url));
  const child = new Child('http-proxy', process.execPath, [...process.execArgv, main, farm.ports.join(',')]);
  const port = await child.next((o) => (o.msg === 'listening' ? Number(o.port) : undefined), 10_000, 'listening line');
  const url = `ws://127.0.0.1:${port}/`;
  await probe(url, 5000);
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules/http-proxy/package.json'), 'utf8')) as { version?: string };
  return { name: 'http-proxy', version: `${pkg.version ?? '?'} (node ${process.version})`, urls: [url], child };
}

/** Reference: Node's floor, not a product (bench/compare/floor-main.ts): `l7` = http.Server 'upgrade' + raw head + pipe; `l4` = net pipe. */
export async function startFloor(farm: Farm, mode: 'l7' | 'l4'): Promise<Target> {
  const main = fileURLToPath(new URL(import.meta.url.endsWith('.ts') ? './floor-main.ts' : './floor-main.js', import.meta.url));
  const child = new Child(`floor-${mode}`, process.execPath, [...process.execArgv, main, mode, farm.ports.join(',')]);
  const port = await child.next((o) => (o.msg === 'listening' ? Number(o.port) : undefined), 10_000, 'listening line');
  const url = `ws://127.0.0.1:${port}/`;
  await probe(url, 5000);
  return { name: `floor-${mode}`, version: `reference: Node's floor, not a product (node ${process.version})`, urls: [url], child };
}
