/** log.access over HTTP/2: a tunnel on an extended CONNECT stream logs status 200 and http_version "2" (its bytes are the WebSocket frames in DATA), a plain request on an http: true route logs http_version "2". */

import t from 'tap';
import { once } from 'node:events';
import { loadConfigText } from '../../src/config/load.js';
import { Balancer } from '../../src/main.js';
import { startEchoBackend } from '../helpers/backend-ws.js';
import { captureLog } from '../helpers/log-capture.js';
import { waitFor } from '../helpers/wait.js';
import { clientFrame, closePayload, connectWs, echoOver, h2Session } from '../h2/client.js';
import { h2Yaml, testCa } from '../h2/farm.js';

t.test('an extended CONNECT tunnel and a plain request over h2', async (t) => {
  const be = await startEchoBackend({ name: 'b1' });
  t.teardown(() => be.close());
  const { log, lines } = captureLog('info');
  const config = loadConfigText(h2Yaml(t, { servers: [{ name: 'b1', url: be.url }], route: { http: true } }, { log: { level: 'info', access: true } }), 'test.yaml', {});
  const b = new Balancer(config, log);
  await b.start();
  t.teardown(() => b.destroy());
  const access = (): Record<string, unknown>[] => lines.filter((l) => l.msg === 'access');

  const session = await h2Session(t, b.proxyPort(), testCa(t).ca.caPem);
  const tunnel = await connectWs(session, '/');
  t.equal(tunnel.status, 200);
  t.equal(await echoOver(tunnel, 'hi'), 'hi');
  const close = clientFrame(8, closePayload(1000));
  tunnel.stream.write(close);
  const reply = await tunnel.next();
  t.equal(reply.opcode, 8);
  tunnel.stream.end();
  await waitFor(t, () => access().length === 1, { what: 'the tunnel\'s line' });
  const line = access()[0]!;
  t.match(line, {
    kind: 'websocket', status: 200, http_version: '2', route: 'r', server: 'b1',
    bytes_in: (2 + 4 + 2) + close.length, bytes_out: (2 + 2) + (2 + 2), messages_in: 1, messages_out: 1,
    close_code: 1000, close_by: 'client',
  });

  const stream = session.request({ ':path': '/plain', ':authority': 'localhost' }, { endStream: true });
  stream.on('error', () => {});
  const [h] = await once(stream, 'response') as [Record<string, unknown>];
  let body = '';
  for await (const c of stream) body += String(c);
  t.equal(h[':status'], 200);
  await waitFor(t, () => access().length === 2, { what: 'the request\'s line' });
  t.match(access()[1], { kind: 'http', status: 200, http_version: '2', server: 'b1', bytes_out: Buffer.byteLength(body), close_by: 'server' });
});
