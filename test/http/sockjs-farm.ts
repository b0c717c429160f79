/** Test helper: N real SockJS servers, each in its own process (test/fixtures/sockjs-server.mjs), greeting with their name. */

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { Test } from 'tap';
import { request } from './sse-client.js';

const FIXTURE = fileURLToPath(new URL('../fixtures/sockjs-server.mjs', import.meta.url));

export interface SockJsServer {
  readonly name: string;
  readonly port: number;
  readonly url: string;   // ws://127.0.0.1:PORT, for the pool
  /** Session ids this server saw in request paths, and how many requests it answered 404. */
  stats(): Promise<{ sessions: string[]; notFound: number }>;
}

async function launch(t: Test, name: string): Promise<SockJsServer> {
  // sockjs keeps sessions in a module-wide map: in-process servers would share them.
  const child = spawn(process.execPath, [FIXTURE, '--name', name], { env: { PATH: process.env.PATH ?? '' }, stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGKILL');
    await once(child, 'exit');
  });
  let out = '';
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start`)), 10_000);
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /\{"listening":(\d+)\}/.exec(out);
      if (m) { clearTimeout(timer); resolve(Number(m[1])); }
    });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`${name} exited with ${code}`)); });
  });
  return {
    name, port, url: `ws://127.0.0.1:${port}`,
    async stats() { return JSON.parse((await request(port, '/stats')).body) as { sessions: string[]; notFound: number }; },
  };
}

export function startSockJsFarm(t: Test, n: number, prefix = 'j'): Promise<SockJsServer[]> {
  return Promise.all(Array.from({ length: n }, (_, i) => launch(t, `${prefix}-${i + 1}`)));
}

/** Session ids that reached more than one server (affinity broken for them). */
export async function splitSessions(farm: readonly SockJsServer[]): Promise<{ split: number; notFound: number }> {
  const stats = await Promise.all(farm.map((s) => s.stats()));
  const owners = new Map<string, number>();
  for (const st of stats) for (const id of st.sessions) owners.set(id, (owners.get(id) ?? 0) + 1);
  return { split: [...owners.values()].filter((n) => n > 1).length, notFound: stats.reduce((n, st) => n + st.notFound, 0) };
}
