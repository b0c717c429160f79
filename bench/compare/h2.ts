#!/usr/bin/env node
/**
 * npm run bench:compare:h2: WebSockets over HTTP/2 at a TLS edge, wslb (`http2: true`) against
 * HAProxy (`bind ... ssl crt FILE alpn h2,http/1.1`) in the same run, on the demo farm: echo and
 * handshake with extended CONNECT streams over a few h2 connections (wslb-bench --http2), and the
 * same two proxies over wss:// HTTP/1.1 on the same TLS listeners for context. Medians with ratios.
 */

import { Command } from 'commander';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WebSocket } from 'ws';
import { DEFAULTS, type BenchOptions, type ScenarioName } from '../options.js';
import { writeJson } from '../report/json.js';
import { runBench, type BenchResult } from '../run.js';
import { Child, freePort, ROOT, Skip, startFarm, which, type Farm } from './peers.js';
import { figuresOf, markdownTable, medians, printRunEnd, type FailedRun, type RunFigures } from './summary.js';

// `wslb` and `haproxy` speak h2 to the generator; `-h1` are the same listeners taken by HTTP/1.1 clients (a TLS handshake per WebSocket).
const TARGETS = ['wslb', 'haproxy', 'wslb-h1', 'haproxy-h1'] as const;
const SCENARIOS: ScenarioName[] = ['echo', 'handshake'];

/** Sizes: echo as bench:compare's quick run; handshake with the ws client (a stream, or a TLS connection, per cycle) and 16 openers. */
const SIZES: Record<string, Partial<BenchOptions>> = {
  echo: { connections: 100, size: 64, warmupMs: 1000, durationMs: 4000 },
  handshake: { concurrency: 16, warmupMs: 1000, durationMs: 3000 },
};

interface Proxy { child: Child; port: number; version: string }
interface H2Options { reps: number; targets: string[]; scenarios: ScenarioName[]; out: string; h2Sessions: number; verbose: boolean }

const CONFIGS = path.join(ROOT, 'bench/configs');
const say = (s: string): void => { process.stderr.write(s + '\n'); };

function fill(template: string, vars: Record<string, string>): string {
  return fs.readFileSync(path.join(CONFIGS, template), 'utf8').replace(/\{\{(\w+)\}\}/g, (_, k: string) => vars[k] ?? '');
}

/** A throwaway P-256 certificate for localhost and 127.0.0.1 (both proxies serve the same one). */
function certificate(dir: string): { cert: string; key: string; pem: string } {
  const cert = path.join(dir, 'edge.crt');
  const key = path.join(dir, 'edge.key');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert,
    '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: 'ignore' });
  const pem = path.join(dir, 'edge.pem');
  fs.writeFileSync(pem, Buffer.concat([fs.readFileSync(cert), fs.readFileSync(key)]));
  return { cert, key, pem };
}

/** One wss:// WebSocket opened (HTTP/1.1), retrying: the listener is up end to end. */
async function probe(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const ws = new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: 2000, rejectUnauthorized: false });
      ws.once('open', () => { ws.terminate(); resolve(true); });
      ws.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`no WebSocket through ${url} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function startWslbH2(farm: Farm, dir: string, tls: { cert: string; key: string }): Promise<Proxy> {
  const cli = path.join(ROOT, 'dist/src/cli.js');
  if (!fs.existsSync(cli)) throw new Error(`${cli} missing: run npm run build`);
  const cfg = path.join(dir, 'wslb-h2.yaml');
  fs.writeFileSync(cfg, fill('wslb-h2.yaml', {
    PORT: '0', CERT: tls.cert, KEY: tls.key,
    SERVERS: farm.ports.map((p, i) => `      - { name: demo-${i + 1}, url: "ws://127.0.0.1:${p}" }`).join('\n'),
  }));
  const child = new Child('wslb', process.execPath, [cli, 'run', '-c', cfg]);
  const port = await child.next((o) => (o.msg === 'listening' && o.kind === 'proxy' && o.http2 === true ? Number(o.port) : undefined), 10_000, 'h2 listening line');
  await probe(`wss://127.0.0.1:${port}/`, 5000);
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version?: string };
  return { child, port, version: `${pkg.version ?? '?'} (node ${process.version})` };
}

async function startHaproxyH2(farm: Farm, dir: string, pem: string): Promise<Proxy> {
  const bin = which('haproxy');
  if (!bin) throw new Skip('haproxy is not installed (apt-get install -y haproxy)');
  const version = /version (\S+)/.exec(execFileSync(bin, ['-v']).toString())?.[1] ?? '?';
  const port = await freePort();
  const cfg = path.join(dir, 'haproxy-h2.cfg');
  fs.writeFileSync(cfg, fill('haproxy-h2.cfg', { PORT: String(port), PEM: pem, SERVERS: farm.ports.map((p, i) => `  server demo-${i + 1} 127.0.0.1:${p}`).join('\n') }));
  const child = new Child('haproxy', bin, ['-f', cfg, '-db']);
  await probe(`wss://127.0.0.1:${port}/`, 5000).catch((err: Error) => { throw new Error(`${err.message}; ${child.tail}`); });
  return { child, port, version };
}

function options(scenario: ScenarioName, target: string, proxy: Proxy, co: H2Options): BenchOptions {
  return {
    ...DEFAULTS, scenario, ...SIZES[scenario],
    urls: [`wss://localhost:${proxy.port}/`],
    http2: !target.endsWith('-h1'), h2Sessions: co.h2Sessions, insecure: true,
    watchPids: [proxy.child.pid], quiet: !co.verbose,
  };
}

/** The commit measured, "+dirty" when tracked files differ from it. */
function gitCommit(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT }).toString().trim();
    return execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: ROOT }).toString().trim() ? `${head}+dirty` : head;
  } catch {
    return 'unknown';
  }
}

async function main(co: H2Options): Promise<void> {
  const loadAtStart = os.loadavg();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wslb-compare-h2-'));
  const tls = certificate(dir);
  const started = new Date();
  const runs: RunFigures[] = [];
  const results: { target: string; rep: number; result: Omit<BenchResult, 'timeseries'> }[] = [];
  const versions: Record<string, string> = {};
  const skipped: Record<string, string> = {};
  const failed: FailedRun[] = [];
  const farm = await startFarm();
  try {
    for (let rep = 1; rep <= co.reps; rep++) {
      for (const target of co.targets) {
        const base = target.replace(/-h1$/, '');
        if (skipped[base]) continue;
        let proxy: Proxy;
        try {
          proxy = base === 'wslb' ? await startWslbH2(farm, dir, tls) : await startHaproxyH2(farm, dir, tls.pem);
        } catch (err) {
          if (err instanceof Skip) { skipped[base] = err.message; say(`${base}: skipped: ${err.message}`); continue; }
          failed.push({ target, rep, error: (err as Error).message });
          say(`${target}: failed to start: ${(err as Error).message}`);
          continue;
        }
        versions[base] = proxy.version;
        try {
          for (const scenario of co.scenarios) {
            try {
              const r = await runBench(options(scenario, target, proxy, co), co.verbose ? { progress: say } : {});
              runs.push({ target, rep, scenario, figures: figuresOf(r) });
              const { timeseries: _ts, ...rest } = r;
              results.push({ target, rep, result: rest });
              say(`rep ${rep} ${target.padEnd(10)} ${scenario.padEnd(9)} ${Object.entries(figuresOf(r)).map(([k, v]) => `${k} ${v == null ? '-' : Math.round(v * 100) / 100}`).join(', ')}`);
            } catch (err) {
              failed.push({ target, rep, scenario, error: (err as Error).message });
              say(`rep ${rep} ${target} ${scenario}: FAILED: ${(err as Error).message}`);
            }
          }
        } finally {
          await proxy.child.stop();
        }
      }
    }
  } finally {
    await farm.child.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const m = medians(runs);
  const targets = co.targets.filter((t) => m[t]);
  const table = markdownTable(m, targets);
  const stamp = started.toISOString().replace(/[:.]/g, '-').slice(0, 19);
  const file = path.join(co.out, `compare-h2-${stamp}.json`);
  writeJson(file, {
    tool: 'wslb-bench compare h2', date: started.toISOString(), finished: new Date().toISOString(),
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model ?? '?', node: process.version, loadavgAtStart: loadAtStart, loadavgAtEnd: os.loadavg() },
    commit: gitCommit(),
    command: `npm run bench:compare:h2${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    reps: co.reps, sizes: SIZES, h2Sessions: co.h2Sessions, versions, skipped, failed, medians: m, table, runs, results,
  });
  process.stdout.write(`\nmedians of ${co.reps} repetition(s); wslb and haproxy over h2 (${co.h2Sessions} h2 connections per generator process), -h1 over wss:// HTTP/1.1:\n\n${table}\n\n`);
  printRunEnd(versions, skipped, failed, file);
}

const program = new Command('bench-compare-h2')
  .description('WebSockets over HTTP/2 at a TLS edge: wslb (http2: true) and HAProxy (alpn h2,http/1.1) in the same run, echo and handshake')
  .option('--reps <n>', 'repetitions', (v) => Number(v), 3)
  .option('--targets <list>', `comma-separated subset of ${TARGETS.join(',')}`, (v) => v.split(','), [...TARGETS])
  .option('--scenarios <list>', `comma-separated subset of ${SCENARIOS.join(',')}`, (v) => SCENARIOS.filter((s) => v.split(',').includes(s)), [...SCENARIOS])
  .option('--h2-sessions <n>', 'h2 connections per generator process', (v) => Number(v), 4)
  .option('--out <dir>', 'where the results JSON goes', path.join(ROOT, 'bench/results'))
  .option('--verbose', 'per-second progress of every run', false)
  .action(async (co: H2Options) => {
    try {
      await main(co);
    } catch (err) {
      process.stderr.write(`bench:compare:h2: ${(err as Error).message}\n`);
      process.exitCode = 1;
    }
  });

await program.parseAsync();
