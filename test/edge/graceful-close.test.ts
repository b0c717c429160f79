/** Closing a listener gracefully (a worker leaving a rolling restart, a shutdown) answers the sockets it already accepted instead of resetting them. */

import t from 'tap';
import net from 'node:net';
import { loadConfigText } from '../../src/config/load.js';
import { Listener } from '../../src/edge/listener.js';
import { createLogger } from '../../src/log.js';
import { Runtime } from '../../src/runtime.js';
import { startBackend } from '../helpers/backend.js';
import { farmYaml } from '../helpers/balancer.js';
import { upgradeRequest, wsKey } from '../helpers/raw-client.js';

t.test('a socket accepted before server.close() whose request arrives after it still gets its 101 (and a 503 once draining), never a reset', async (t) => {
  const backend = await startBackend({ name: 'b1' });
  t.teardown(() => backend.close());
  const config = loadConfigText(farmYaml({ servers: [{ name: 'b1', url: backend.url }] }), 'test.yaml', {});
  const rt = new Runtime(config, createLogger('silent'));
  const listener = new Listener(rt, config.listeners[0]!);
  const { port } = await listener.listen();
  t.teardown(async () => {
    listener.server.closeAllConnections();
    rt.tunnels.destroyAll();
    rt.tunnels.stop();
    rt.stop();
    for (const p of rt.pools.values()) p.destroy();
  });

  const accepted = (): Promise<net.Socket> => new Promise((resolve, reject) => {
    const before = listener.headFront.waiting;
    const s = net.connect(port, '127.0.0.1');
    s.on('error', reject);
    const poll = (): void => { if (listener.headFront.waiting > before) resolve(s); else setTimeout(poll, 5); };
    s.on('connect', poll);
  });
  const answer = (s: net.Socket): Promise<string> => new Promise((resolve) => {
    let got = '';
    s.on('data', (c: Buffer) => { got += c.toString('latin1'); if (got.includes('\r\n\r\n')) resolve(got.slice(0, got.indexOf('\r\n'))); });
    s.on('error', (err) => resolve(`error: ${err.message}`));
    s.on('close', () => resolve(got ? got.slice(0, got.indexOf('\r\n')) : 'closed with no answer'));
    s.write(upgradeRequest('/x', [], wsKey()));
  });

  const early = await accepted();
  const late = await accepted();
  t.teardown(() => { early.destroy(); late.destroy(); });
  // What a worker leaving a rolling restart does: stop accepting (node:http follows with closeIdleConnections).
  listener.server.close();
  t.match(await answer(early), /^HTTP\/1\.1 101 /, 'served after the listener stopped accepting');
  rt.draining = true;
  t.match(await answer(late), /^HTTP\/1\.1 503 /, 'once draining: an answer, not a reset');
});
