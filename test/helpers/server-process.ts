/** Test helper: a real WebSocket server in a child process (test/fixtures/ws-server.mjs), to SIGKILL, SIGSTOP and restart. */

import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { Test } from 'tap';
import WebSocket from 'ws';

const FIXTURE = fileURLToPath(new URL('../fixtures/ws-server.mjs', import.meta.url));

export type ChildMode = 'echo' | 'fail-upgrade';

export interface ChildServer {
  readonly name: string;
  readonly port: number;
  readonly url: string;
  readonly process: ChildProcess;
  kill(signal: NodeJS.Signals): void;
  /** Starts it again on the same port (after a SIGKILL). */
  restart(): Promise<void>;
}

async function launch(name: string, port: number, mode: ChildMode): Promise<{ child: ChildProcess; port: number }> {
  // A clean environment: no tap loader or coverage hooks in the child, so it starts fast and dies cleanly.
  const child = spawn(process.execPath, [FIXTURE, '--name', name, '--port', String(port), '--mode', mode], {
    env: { PATH: process.env.PATH ?? '' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  const bound = await new Promise<number>((resolve, reject) => {
    // Generous: a Node process start on a loaded 2-core machine can take seconds.
    const timer = setTimeout(() => reject(new Error(`${name} did not start`)), 20_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /\{"listening":(\d+)\}/.exec(out);
      if (m) { clearTimeout(timer); resolve(Number(m[1])); }
    });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`${name} exited with ${code}`)); });
  });
  return { child, port: bound };
}

/** Starts a child server on 127.0.0.1 (port 0 = ephemeral); killed at test end. */
export async function startChildServer(t: Test, name: string, mode: ChildMode = 'echo'): Promise<ChildServer> {
  let { child, port } = await launch(name, 0, mode);
  const self: ChildServer = {
    name, port, url: `ws://127.0.0.1:${port}`,
    get process() { return child; },
    kill(signal) { child.kill(signal); },
    async restart() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await once(child, 'exit');
      }
      ({ child } = await launch(name, port, mode));
    },
  };
  t.teardown(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGCONT');
    child.kill('SIGKILL');
    await once(child, 'exit');
  });
  return self;
}

/** Opens a client through the balancer and returns it with the name of the server that greeted it. */
export async function connectNamed(port: number, path = '/'): Promise<[WebSocket, string]> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, { perMessageDeflate: false });
  const [data] = (await once(ws, 'message')) as [Buffer];
  return [ws, (JSON.parse(data.toString()) as { server: string }).server];
}
