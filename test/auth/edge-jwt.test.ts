// routes[].auth.jwt through a real balancer: every refusal is a 401 with WWW-Authenticate: Bearer and no server contacted (TCP accepts counted at the backend), counted in wslb_handshake_failures_total; tokens from each source pass, claims reach the server as headers (client copies dropped), the bearer subprotocol entry never does.
import t from 'tap';
import http from 'node:http';
import WebSocket from 'ws';
import { startBalancer } from '../helpers/balancer.js';
import { startEchoBackend } from '../helpers/backend-ws.js';
import { openWs } from '../helpers/hardening.js';
import { rawRequest, upgradeRequest } from '../helpers/raw-client.js';
import { rsaPair, secret, sign, tempDir, unsigned } from './helpers.js';

async function metric(port: number, reason: string): Promise<number> {
  const text = await new Promise<string>((resolve, reject) => {
    http.get(`http://127.0.0.1:${port}/metrics`, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => { body += c.toString(); });
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });
  const line = text.split('\n').find((l) => l.startsWith('wslb_handshake_failures_total{') && l.includes('route="r"') && l.includes(`reason="${reason}"`));
  return line ? Number(line.split(' ').pop()) : 0;
}

const now = (): number => Math.floor(Date.now() / 1000);

t.test('refusals: 401, WWW-Authenticate: Bearer, X-Wslb-Error, no server contacted, counted', async (t) => {
  const backend = await startEchoBackend({ name: 'b1' });
  t.teardown(() => backend.close());
  const d = tempDir(t);
  const key = secret();
  const rsa = rsaPair('r');
  const b = await startBalancer(t, {
    servers: [{ name: 'b1', url: `ws://127.0.0.1:${backend.port}` }],
    route: { auth: { jwt: { keys: d.write('secret', key), issuer: 'https://idp', audience: 'chat', from: ['header', 'protocol', 'query:access_token', 'cookie:token'] } } },
  });
  const port = b.proxyPort();
  const good = await sign(key, { iss: 'https://idp', aud: 'chat' });
  const cases: [string, string[], string][] = [
    ['no token at all', [], '/'],
    ['bad signature', [`Authorization: Bearer ${await sign(secret(), { iss: 'https://idp', aud: 'chat' })}`], '/'],
    ['expired', [`Authorization: Bearer ${await sign(key, { iss: 'https://idp', aud: 'chat', exp: now() - 5 })}`], '/'],
    ['wrong issuer', [`Authorization: Bearer ${await sign(key, { iss: 'https://evil', aud: 'chat' })}`], '/'],
    ['wrong audience', [`Authorization: Bearer ${await sign(key, { iss: 'https://idp', aud: 'other' })}`], '/'],
    ['wrong algorithm (RS256 against an HMAC secret)', [`Authorization: Bearer ${await sign(rsa, { iss: 'https://idp', aud: 'chat' })}`], '/'],
    ['alg none', [`Authorization: Bearer ${unsigned({ iss: 'https://idp', aud: 'chat' })}`], '/'],
    ['not a JWT', ['Authorization: Bearer hello'], '/'],
    ['a bad token in the header decides, though the query holds a good one', ['Authorization: Bearer nope'], `/?access_token=${good}`],
    ['a bad subprotocol token decides before a good cookie', ['Sec-WebSocket-Protocol: chat, bearer.nope', `Cookie: token=${good}`], '/'],
    ['a bad query token', [], '/?access_token=x.y.z'],
    ['a bad cookie token', ['Cookie: token=zzz'], '/'],
  ];
  for (const [what, headers, path] of cases) {
    const r = await rawRequest(port, upgradeRequest(path, headers));
    t.equal(r.status, 401, `${what}: 401`);
    t.equal(r.headers['www-authenticate'], 'Bearer', `${what}: WWW-Authenticate`);
    t.equal(r.headers['x-wslb-error'], 'WSLB_ERR_AUTH');
    t.equal(r.headers['connection'], 'close');
  }
  t.equal(backend.accepted, 0, 'no TCP connection reached the server');
  t.equal(await metric(b.adminPort(), 'WSLB_ERR_AUTH'), cases.length, 'each counted with reason WSLB_ERR_AUTH');
  const ws = await openWs(`ws://127.0.0.1:${port}/`, { headers: { authorization: `Bearer ${good}` } });
  ws.close();
  t.equal(backend.connections, 1, 'and the good token passes');
});

t.test('tokens from every source pass; claims_to_headers replaces forged headers; the bearer entry is taken out', async (t) => {
  const backend = await startEchoBackend({ name: 'b1', handleProtocols: (p) => (p.has('chat') ? 'chat' : false) });
  t.teardown(() => backend.close());
  const d = tempDir(t);
  const rsa = rsaPair('k1');
  const b = await startBalancer(t, {
    servers: [{ name: 'b1', url: `ws://127.0.0.1:${backend.port}` }],
    route: { auth: { jwt: {
      keys: d.write('pub.pem', rsa.pem), from: ['header', 'protocol', 'query:access_token', 'cookie:token'],
      claims_to_headers: { sub: 'X-User-Id', tenant: 'X-Tenant', roles: 'X-Roles', bad: 'X-Bad' },
    } } },
  });
  const url = `ws://127.0.0.1:${b.proxyPort()}`;
  const token = await sign(rsa, { sub: 'alice', tenant: 42, roles: ['a', 'b'], bad: 'x\r\nInjected: 1' });

  const viaHeader = await openWs(`${url}/h`, { headers: { authorization: `Bearer ${token}`, 'x-user-id': 'mallory', 'X-Tenant': '1' } });
  viaHeader.close();
  let h = backend.handshakes.at(-1)!;
  t.equal(h['x-user-id'], 'alice', 'the claim, not the forged header');
  t.equal(h['x-tenant'], '42');
  t.equal(h['x-roles'], 'a, b');
  t.equal(h['x-bad'], undefined, 'a claim that cannot be a header value is not sent');
  t.equal(h['injected'], undefined);
  t.equal(h.authorization, `Bearer ${token}`, 'Authorization itself passes on');

  const browser = new WebSocket(`${url}/p`, ['chat', `bearer.${token}`], { perMessageDeflate: false });
  await new Promise((resolve, reject) => { browser.once('open', resolve); browser.once('error', reject); });
  t.equal(browser.protocol, 'chat', 'the client gets the subprotocol the server chose');
  browser.close();
  h = backend.handshakes.at(-1)!;
  t.equal(h['sec-websocket-protocol'], 'chat', 'the server saw only "chat"');
  t.equal(h['x-user-id'], 'alice');

  const only = await rawRequest(b.proxyPort(), upgradeRequest('/only', [`Sec-WebSocket-Protocol: bearer.${token}`]), { untilHead: true });
  t.equal(only.status, 101);
  h = backend.handshakes.at(-1)!;
  t.equal(h['sec-websocket-protocol'], undefined, 'the header is dropped when the token was its only entry');

  const viaQuery = await openWs(`${url}/q?access_token=${token}`);
  viaQuery.close();
  t.equal(backend.handshakes.at(-1)!['x-user-id'], 'alice', 'query');
  const viaCookie = await openWs(`${url}/c`, { headers: { cookie: `a=1; token=${token}` } });
  viaCookie.close();
  t.equal(backend.handshakes.at(-1)!['x-user-id'], 'alice', 'cookie');
  const noClaims = await openWs(`${url}/n`, { headers: { authorization: `Bearer ${await sign(rsa, { sub: undefined })}`, 'x-user-id': 'mallory' } });
  noClaims.close();
  t.equal(backend.handshakes.at(-1)!['x-user-id'], undefined, 'a missing claim: no header, and the forged one still dropped');
});

t.test('close_on_expiry: the tunnel closes with 1008 when exp + clock_skew passes', async (t) => {
  const backend = await startEchoBackend({ name: 'b1' });
  t.teardown(() => backend.close());
  const d = tempDir(t);
  const key = secret();
  const b = await startBalancer(t, {
    servers: [{ name: 'b1', url: `ws://127.0.0.1:${backend.port}` }],
    route: { auth: { jwt: { keys: d.write('s', key), close_on_expiry: true, clock_skew: '500ms' } } },
  });
  // Whole seconds: now() + 1 left as little as 0.5 s (with the skew) for signing and both connects on a loaded machine.
  const exp = now() + 3;
  const ws = await openWs(`ws://127.0.0.1:${b.proxyPort()}/`, { headers: { authorization: `Bearer ${await sign(key, { exp })}` } });
  const lasting = await openWs(`ws://127.0.0.1:${b.proxyPort()}/`, { headers: { authorization: `Bearer ${await sign(key, { exp: now() + 3600 })}` } });
  const [code, reason] = await new Promise<[number, string]>((resolve) => ws.once('close', (c, r) => resolve([c, String(r)])));
  t.equal(code, 1008, 'closed with 1008');
  t.equal(reason, 'token expired');
  t.ok(Date.now() >= exp * 1000 + 500, 'not before exp + clock_skew');
  t.equal(lasting.readyState, WebSocket.OPEN, 'a token valid for an hour keeps its tunnel');
  lasting.close();
});

t.test('plain HTTP on an http: true route is authenticated the same way', async (t) => {
  const backend = await startEchoBackend({ name: 'b1' });
  t.teardown(() => backend.close());
  const d = tempDir(t);
  const key = secret();
  const b = await startBalancer(t, {
    servers: [{ name: 'b1', url: `ws://127.0.0.1:${backend.port}` }],
    route: { http: true, auth: { jwt: { keys: d.write('s', key), claims_to_headers: { sub: 'X-User-Id' } } } },
  });
  const get = (headers: Record<string, string>) => new Promise<http.IncomingMessage>((resolve, reject) => {
    http.get({ host: '127.0.0.1', port: b.proxyPort(), path: '/poll', headers, agent: false }, (res) => { res.resume(); resolve(res); }).on('error', reject);
  });
  const refused = await get({});
  t.equal(refused.statusCode, 401);
  t.equal(refused.headers['www-authenticate'], 'Bearer');
  t.equal(refused.headers['x-wslb-error'], 'WSLB_ERR_AUTH');
  t.equal(backend.accepted, 0, 'no server contacted');
  const ok = await get({ authorization: `Bearer ${await sign(key)}`, 'x-user-id': 'mallory' });
  t.equal(ok.statusCode, 200);
  t.equal(backend.requests.at(-1)!.headers['x-user-id'], 'alice');
});

t.test('order: the Origin check first, then auth, then admission (an auth refusal takes no slot)', async (t) => {
  const backend = await startEchoBackend({ name: 'b1' });
  t.teardown(() => backend.close());
  const d = tempDir(t);
  const key = secret();
  const b = await startBalancer(t, {
    servers: [{ name: 'b1', url: `ws://127.0.0.1:${backend.port}` }],
    limits: { max_connections: 1 },
    route: { origins: ['https://app.example'], auth: { jwt: { keys: d.write('s', key) } } },
  });
  const port = b.proxyPort();
  const origin = await rawRequest(port, upgradeRequest('/', ['Origin: https://evil.example']));
  t.equal(origin.status, 403, 'a foreign Origin is refused before auth looks for a token');
  const held = await openWs(`ws://127.0.0.1:${port}/`, { headers: { authorization: `Bearer ${await sign(key)}`, origin: 'https://app.example' } });
  const noToken = await rawRequest(port, upgradeRequest('/', ['Origin: https://app.example']));
  t.equal(noToken.status, 401, 'the one slot is taken, yet a request without a token gets 401: auth ran before admission');
  const full = await rawRequest(port, upgradeRequest('/', ['Origin: https://app.example', `Authorization: Bearer ${await sign(key, { sub: 'bob' })}`]));
  t.equal(full.status, 503, 'a good token then meets admission: over capacity');
  held.close();
});
