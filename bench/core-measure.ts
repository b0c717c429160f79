/** First proxy measurement: CPU per echoed message and memory per idle connection, wslb vs HAProxy 2.6, in the same run. */
// Usage: node dist/bench/core-measure.js [--conns 200] [--messages 20000] [--idle 2000] [--size 64]
//          [--settle 2000] [--proxies haproxy,wslb] [--json FILE]
// The same file is also each child (--role backend|echo|idle), so the generator's CPU is never the proxy's.

import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { WebSocket, WebSocketServer } from 'ws';

type Opts = Record<string, string>;
const SELF = fileURLToPath(import.meta.url);
const ROOT = path.resolve(path.dirname(SELF), '../..');
const PER_SOURCE = 1000;          // connections per source address 127.0.0.2, .3, ...
const WARMUP = 5;                 // round trips per connection before the measured loop

function parseArgs(argv: string[]): Opts {
  const o: Opts = {};
  for (let i = 0; i < argv.length; i += 2) {
    if (!argv[i]!.startsWith('--') || argv[i + 1] === undefined) throw new Error(`bad argument "${argv[i]}"`);
    o[argv[i]!.slice(2)] = argv[i + 1]!;
  }
  return o;
}
const num = (o: Opts, k: string, d: number): number => (o[k] === undefined ? d : Number(o[k]));
const out = (obj: object): void => { process.stdout.write(JSON.stringify(obj) + '\n'); };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- child roles

function stdinCommands(): (name: string) => Promise<void> {
  const waiting = new Map<string, () => void>();
  const rl = readline.createInterface({ input: process.stdin });
  rl.on('line', (line) => waiting.get(line.trim())?.());
  rl.on('close', () => process.exit(0));           // the parent is gone: do not linger
  return (name) => new Promise((resolve) => waiting.set(name, resolve));
}

async function openAll(target: string, n: number): Promise<WebSocket[]> {
  const conns: WebSocket[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) {
      const i = next++;
      const localAddress = `127.0.0.${2 + Math.floor(i / PER_SOURCE)}`;
      conns.push(await new Promise<WebSocket>((resolve, reject) => {
        const ws = new WebSocket(target, { perMessageDeflate: false, localAddress, handshakeTimeout: 10_000 });
        ws.once('open', () => resolve(ws));
        ws.once('error', reject);
      }));
    }
  };
  await Promise.all(Array.from({ length: Math.min(100, n) }, worker));
  return conns;
}

/** Every connection does `rounds` closed-loop round trips of `payload`; resolves when all are done. */
function echoLoop(conns: WebSocket[], total: number, payload: Buffer): Promise<void> {
  return new Promise((resolve) => {
    let pending = conns.length;
    conns.forEach((ws, i) => {
      let left = Math.floor(total / conns.length) + (i < total % conns.length ? 1 : 0);
      if (left === 0 && --pending === 0) resolve();
      if (left === 0) return;
      const onMessage = (): void => {
        if (--left > 0) return ws.send(payload);
        ws.off('message', onMessage);
        if (--pending === 0) resolve();
      };
      ws.on('message', onMessage);
      ws.send(payload);
    });
  });
}

async function runRole(role: string, o: Opts): Promise<void> {
  if (role === 'backend') {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, clientTracking: false });
    wss.on('connection', (ws) => {
      ws.on('error', () => ws.terminate());
      ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
    });
    wss.on('listening', () => out({ port: (wss.address() as net.AddressInfo).port }));
    return;
  }
  const cmd = stdinCommands();
  const conns = await openAll(o.target!, num(o, 'conns', 1));
  conns.forEach((ws) => ws.on('error', () => undefined));
  if (role === 'echo') {
    const payload = Buffer.alloc(num(o, 'size', 64), 0x61);
    await echoLoop(conns, conns.length * WARMUP, payload);
    out({ ready: conns.length });
    await cmd('go');
    const t0 = performance.now();
    await echoLoop(conns, num(o, 'messages', 1), payload);
    out({ done: num(o, 'messages', 1), ms: performance.now() - t0 });
  } else {
    out({ ready: conns.length });
  }
  await cmd('close');
  for (const ws of conns) ws.terminate();
  process.exit(0);
}

// ---------------------------------------------------------------- orchestration

const children = new Set<Child>();

class Child {
  readonly proc: ChildProcess;
  readonly lines: string[] = [];
  #stderr = '';
  #waiters = new Set<(line: string) => void>();
  readonly exited: Promise<number | null>;

  constructor(readonly name: string, cmd: string, args: string[]) {
    this.proc = spawn(cmd, args, { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    children.add(this);
    this.proc.stdin!.on('error', () => undefined);
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

  send(line: string): void { this.proc.stdin!.write(line + '\n'); }

  async stop(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    this.proc.kill('SIGTERM');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 3000);
    await this.exited;
    clearTimeout(timer);
  }
}

let tmpDir: string | undefined;
process.on('exit', () => {
  for (const c of children) c.proc.kill('SIGKILL');
  if (tmpDir) fs.rmSync(tmpDir, { recursive: true, force: true });
});

/** pid and all its descendants, from /proc/PID/task/TID/children. */
function tree(pid: number): number[] {
  const pids = [pid];
  for (let i = 0; i < pids.length; i++) {
    try {
      for (const tid of fs.readdirSync(`/proc/${pids[i]}/task`)) {
        const kids = fs.readFileSync(`/proc/${pids[i]}/task/${tid}/children`, 'utf8').trim();
        if (kids) pids.push(...kids.split(/\s+/).map(Number));
      }
    } catch { /* process gone */ }
  }
  return pids;
}
function cpuTicks(pid: number): number {
  return tree(pid).reduce((sum, p) => {
    const stat = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');   // f[0] is field 3 (state)
    return sum + Number(f[11]) + Number(f[12]);                    // utime (14) + stime (15)
  }, 0);
}
function rssKiB(pid: number): number {
  return tree(pid).reduce((sum, p) => sum + Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${p}/status`, 'utf8'))?.[1] ?? 0), 0);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer().once('error', reject).listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** Opens one WebSocket through the proxy, retrying until `timeoutMs`: the data path works end to end. */
async function probe(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: false, handshakeTimeout: 2000 });
      ws.once('open', () => { ws.terminate(); resolve(true); });
      ws.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`no WebSocket through port ${port} within ${timeoutMs} ms`);
    await sleep(100);
  }
}

interface Proxy { name: string; version: string; child: Child; port: number }

async function startHaproxy(backendPort: number, dir: string): Promise<Proxy> {
  try { execFileSync('haproxy', ['-v'], { stdio: 'ignore' }); } catch {
    execFileSync('apt-get', ['install', '-y', 'haproxy'], { stdio: 'ignore', timeout: 300_000 });
  }
  const version = /version (\S+)/.exec(execFileSync('haproxy', ['-v']).toString())?.[1] ?? '?';
  const port = await freePort();
  const cfg = path.join(dir, 'haproxy.cfg');
  fs.writeFileSync(cfg, ['global', '  nbthread 1', 'defaults', '  mode http', '  timeout connect 3s',
    '  timeout client 60s', '  timeout server 60s', '  timeout tunnel 1h', 'frontend fe',
    `  bind 127.0.0.1:${port}`, '  default_backend be', 'backend be',
    `  server s1 127.0.0.1:${backendPort}`, ''].join('\n'));
  const child = new Child('haproxy', 'haproxy', ['-f', cfg, '-db']);
  await probe(port, 5000);
  return { name: 'haproxy', version, child, port };
}

async function startWslb(backendPort: number, dir: string): Promise<Proxy> {
  const cli = path.join(ROOT, 'dist/src/cli.js');
  if (!fs.existsSync(cli)) throw new Error(`${cli} missing: run npm run build`);
  const cfg = path.join(dir, 'balancer.yaml');
  fs.writeFileSync(cfg, ['listeners: [{ port: 0, host: 127.0.0.1 }]', 'admin: { port: 0, host: 127.0.0.1 }',
    'limits: { max_connections_per_ip: 1000000, handshakes_per_ip: 1000000/s }',
    'pools:', '  echo:', '    health: { check: none }',
    `    servers: [{ name: echo-1, url: "ws://127.0.0.1:${backendPort}" }]`,
    'routes: [{ name: echo, match: { path: / }, pool: echo }]', ''].join('\n'));
  const child = new Child('wslb', process.execPath, [cli, 'run', '-c', cfg]);
  const listening = (kind: string) => (o: Record<string, unknown>) =>
    (o.msg === 'listening' && o.kind === kind ? Number(o.port) : undefined);
  const port = await child.next(listening('proxy'), 10_000, 'proxy listening line');
  await child.next(listening('admin'), 10_000, 'admin listening line');
  await probe(port, 5000);
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version?: string };
  return { name: 'wslb', version: pkg.version ?? '?', child, port };
}

interface Result { proxy: string; version: string; cpu_us_per_msg: number; cpu_ticks: number; msgs_per_s: number;
  rss_base_kib: number; kib_per_idle_conn: number; idle_opened: number }

async function measure(p: Proxy, o: Opts): Promise<Result> {
  const timeout = num(o, 'timeout', 120) * 1000;
  const target = `ws://127.0.0.1:${p.port}/`;
  const clkTck = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  const messages = num(o, 'messages', 20000);

  const echo = new Child(`${p.name} echo generator`, process.execPath, [SELF, '--role', 'echo', '--target', target,
    '--conns', String(num(o, 'conns', 200)), '--messages', String(messages), '--size', String(num(o, 'size', 64))]);
  await echo.next((m) => m.ready, timeout, 'ready');
  const cpu0 = cpuTicks(p.child.pid);
  echo.send('go');
  const ms = await echo.next((m) => (m.done !== undefined ? Number(m.ms) : undefined), timeout, 'done');
  const ticks = cpuTicks(p.child.pid) - cpu0;
  echo.send('close');
  await echo.exited;
  await sleep(500);

  const idleN = num(o, 'idle', 2000);
  const rss0 = rssKiB(p.child.pid);
  const idle = new Child(`${p.name} idle generator`, process.execPath, [SELF, '--role', 'idle', '--target', target,
    '--conns', String(idleN)]);
  const opened = await idle.next((m) => (m.ready !== undefined ? Number(m.ready) : undefined), timeout, 'ready');
  await sleep(num(o, 'settle', 2000));
  const rss1 = rssKiB(p.child.pid);
  idle.send('close');
  await idle.exited;
  return { proxy: p.name, version: p.version, cpu_us_per_msg: (ticks / clkTck) * 1e6 / messages, cpu_ticks: ticks,
    msgs_per_s: messages / (ms / 1000), rss_base_kib: rss0, kib_per_idle_conn: (rss1 - rss0) / opened, idle_opened: opened };
}

function report(results: Record<string, Result | { error: string }>, o: Opts): void {
  const ok = Object.values(results).filter((r): r is Result => 'cpu_us_per_msg' in r);
  const row = (cells: (string | number)[]) => cells.map((c, i) => String(c).padStart(i === 0 ? 0 : 14).padEnd(i === 0 ? 14 : 0)).join('');
  console.log(row(['proxy', 'CPU us/msg', 'ticks', 'msgs/s', 'RSS base MiB', 'KiB/idle conn']));
  for (const r of ok) console.log(row([r.proxy, r.cpu_us_per_msg.toFixed(2), r.cpu_ticks, Math.round(r.msgs_per_s),
    (r.rss_base_kib / 1024).toFixed(1), r.kib_per_idle_conn.toFixed(2)]));
  const h = results.haproxy, w = results.wslb;
  const ratio = h && w && 'cpu_us_per_msg' in h && 'cpu_us_per_msg' in w
    ? { cpu: w.cpu_us_per_msg / h.cpu_us_per_msg, memory: w.kib_per_idle_conn / h.kib_per_idle_conn } : null;
  if (ratio) console.log(row(['wslb/haproxy', ratio.cpu.toFixed(2) + 'x', '', '', '', ratio.memory.toFixed(2) + 'x']));
  for (const [name, r] of Object.entries(results)) if ('error' in r) console.log(`${name}: FAILED: ${r.error}`);
  if (o.json) {
    fs.writeFileSync(o.json, JSON.stringify({ date: new Date().toISOString(), node: process.version, cpus: os.cpus().length,
      options: { conns: num(o, 'conns', 200), messages: num(o, 'messages', 20000), idle: num(o, 'idle', 2000),
        size: num(o, 'size', 64), settle_ms: num(o, 'settle', 2000) }, results, ratio }, null, 2) + '\n');
  }
}

async function main(): Promise<number> {
  const o = parseArgs(process.argv.slice(2));
  if (o.role) { await runRole(o.role, o); return -1; }
  const dir = tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wslb-core-measure-'));
  const results: Record<string, Result | { error: string }> = {};
  try {
    const backend = new Child('echo backend', process.execPath, [SELF, '--role', 'backend']);
    const backendPort = await backend.next((m) => (m.port !== undefined ? Number(m.port) : undefined), 10_000, 'port');
    for (const name of (o.proxies ?? 'haproxy,wslb').split(',')) {
      let proxy: Proxy | undefined;
      try {
        proxy = await (name === 'haproxy' ? startHaproxy : name === 'wslb' ? startWslb
          : () => Promise.reject(new Error(`unknown proxy "${name}"`)))(backendPort, dir);
        results[name] = await measure(proxy, o);
      } catch (err) {
        results[name] = { error: (err as Error).message };
      } finally {
        await proxy?.child.stop();
      }
    }
  } finally {
    await Promise.all([...children].map((c) => c.stop()));
  }
  report(results, o);
  return Object.values(results).some((r) => 'error' in r) ? 1 : 0;
}

for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => process.exit(130));
main().then((code) => { if (code >= 0) process.exit(code); }, (err: Error) => { console.error(err.message); process.exit(1); });
