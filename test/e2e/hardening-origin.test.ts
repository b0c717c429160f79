/** The Origin allowlist end to end: exact normalised matches pass, everything else is 403 before any server is contacted; allow_missing_origin decides for header-less clients. */

import t from 'tap';
import { startBackend } from '../helpers/backend.js';
import { startBalancer } from '../helpers/balancer.js';
import { echo, openWs } from '../helpers/hardening.js';
import { rawRequest, upgradeRequest } from '../helpers/raw-client.js';

t.test('origins allowlist', async (t) => {
  const backend = await startBackend({ name: 'b1' });
  t.teardown(() => backend.close());
  const b = await startBalancer(t, {
    servers: [{ name: 'b1', url: backend.url }],
    route: { origins: ['https://app.example.com', 'http://localhost:3000'] },
  });
  const port = b.proxyPort();
  const allowed = ['https://app.example.com', 'https://APP.Example.COM', 'https://app.example.com:443', 'http://localhost:3000', 'HTTP://LOCALHOST:3000'];
  for (const origin of allowed) {
    const ws = await openWs(`ws://127.0.0.1:${port}/`, { origin });
    t.equal(await echo(ws, origin), origin, `${origin}: allowed`);
    ws.close();
  }
  const handshakes = backend.handshakes.length;
  const refused = [
    'null', 'https://app.example.com.evil.net', 'https://evilapp.example.com', 'https://app.example.co',
    'http://app.example.com', 'https://app.example.com:8443', 'https://app.example.com/', 'https://app.example.com/path',
    'https://user@app.example.com', 'https://app%2Eexample.com', 'https://app.example.com.', 'wss://app.example.com',
    'http://localhost:3001', 'http://localhost', 'https://app.example.com\\@evil.net', '', ' ', 'app.example.com',
  ];
  for (const origin of refused) {
    const res = await rawRequest(port, upgradeRequest('/', [`Origin: ${origin}`]));
    t.equal(res.status, 403, `${JSON.stringify(origin)}: 403`);
    t.equal(res.headers['x-wslb-error'], 'WSLB_ERR_ORIGIN');
    t.match(res.headers.connection ?? '', /close/i);
  }
  const twice = await rawRequest(port, upgradeRequest('/', ['Origin: https://app.example.com', 'Origin: https://app.example.com']));
  t.equal(twice.status, 403, 'two Origin headers');
  t.equal(backend.handshakes.length, handshakes, 'no refused request reached a server');
  t.equal(backend.accepted, allowed.length, 'not even a TCP connect');

  // A client that sends no Origin (not a browser): allowed by default.
  const machine = await openWs(`ws://127.0.0.1:${port}/`);
  t.equal(await echo(machine, 'no origin'), 'no origin');
  machine.close();
});

t.test('allow_missing_origin: false refuses requests without Origin', async (t) => {
  const backend = await startBackend({ name: 'b1' });
  t.teardown(() => backend.close());
  const b = await startBalancer(t, {
    servers: [{ name: 'b1', url: backend.url }],
    route: { origins: ['https://app.example.com'], allow_missing_origin: false },
  });
  const res = await rawRequest(b.proxyPort(), upgradeRequest('/'));
  t.equal(res.status, 403);
  t.equal(res.headers['x-wslb-error'], 'WSLB_ERR_ORIGIN');
  const ws = await openWs(`ws://127.0.0.1:${b.proxyPort()}/`, { origin: 'https://app.example.com' });
  t.equal(await echo(ws, 'ok'), 'ok');
  ws.close();
  t.equal(backend.accepted, 1);
});

t.test('a route without origins accepts any Origin', async (t) => {
  const backend = await startBackend({ name: 'b1' });
  t.teardown(() => backend.close());
  const b = await startBalancer(t, { servers: [{ name: 'b1', url: backend.url }] });
  const ws = await openWs(`ws://127.0.0.1:${b.proxyPort()}/`, { origin: 'https://anything.example' });
  t.equal(await echo(ws, 'ok'), 'ok');
  ws.close();
});
