/** examples/ws-client.mjs, the client the README's tour uses: through a real balancer it echoes stdin lines, closes with 1000 at end of input, and reports a refused upgrade. */

import t from 'tap';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { startEchoBackend } from '../helpers/backend-ws.js';
import { startBalancer } from '../helpers/balancer.js';
import { ROOT } from './markdown.js';

const CLIENT = path.join(ROOT, 'examples/ws-client.mjs');

function runClient(url: string, input: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    // Coverage of the child is off, as for the CLI children (test/helpers/cli.ts): the example is not part of src/.
    const child = spawn(process.execPath, [CLIENT, url], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, _TAPJS_PROCESSINFO_COVERAGE_: '0' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`client did not exit in 10 s; stderr: ${stderr}`)); }, 10_000);
    child.on('error', reject);
    child.on('exit', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
    child.stdin.end(input);
  });
}

t.test('lines go out as messages, echoes come back, end of input closes with 1000', async (t) => {
  const backend = await startEchoBackend({ name: 'e1' });
  t.teardown(() => backend.close());
  const b = await startBalancer(t, { servers: [{ name: 'e1', url: backend.url }], route: { match: { path: '/chat' } } });
  const r = await runClient(`ws://127.0.0.1:${b.proxyPort()}/chat`, 'hello\nbroadcast:x\n');
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout, 'hello\nbroadcast:x\n');
  t.match(r.stderr, /connected to ws:\/\/127\.0\.0\.1:\d+\/chat\n[\s\S]*closed: 1000\n/);
  t.same(backend.received.map((m) => m.toString()), ['hello', 'broadcast:x']);
});

t.test('a refused upgrade prints its status and wslb error code, exit 1', async (t) => {
  const backend = await startEchoBackend({ name: 'e1' });
  t.teardown(() => backend.close());
  const b = await startBalancer(t, { servers: [{ name: 'e1', url: backend.url }], route: { match: { path: '/chat' } } });
  const r = await runClient(`ws://127.0.0.1:${b.proxyPort()}/elsewhere`, '');
  t.equal(r.code, 1);
  t.match(r.stderr, /refused: HTTP 404 WSLB_ERR_NO_ROUTE/);
  t.equal(backend.connections, 0);
});

t.test('nothing listening: the error and exit 1', async (t) => {
  const backend = await startEchoBackend({ name: 'gone' });
  const url = backend.url;
  await backend.close();
  const r = await runClient(url, '');
  t.equal(r.code, 1);
  t.match(r.stderr, /error: connect ECONNREFUSED/);
});
