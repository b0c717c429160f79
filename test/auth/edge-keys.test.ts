// Keys through a running balancer: reload re-reads the key file (a key that does not load refuses the reload, the old keys stay); a jwks_url endpoint down at start does not hold the start, answers 503 until it is up; hash key claim:sub puts one user's connections on one server.
import t from 'tap';
import { startBalancer } from '../helpers/balancer.js';
import { startEchoBackend } from '../helpers/backend-ws.js';
import { balancerFromFile, openWs } from '../helpers/hardening.js';
import { farmYaml } from '../helpers/balancer.js';
import { rawRequest, upgradeRequest } from '../helpers/raw-client.js';
import { closeAll, connectWho } from '../helpers/who.js';
import { sleep } from '../helpers/wait.js';
import { rsaPair, secret, sign, startJwksServer, tempDir } from './helpers.js';

t.test('reload re-reads the key file; a reload whose key does not load is refused', async (t) => {
  const backend = await startEchoBackend({ name: 'b1' });
  t.teardown(() => backend.close());
  const d = tempDir(t);
  const first = secret();
  const keyFile = d.write('secret', first);
  const yaml = farmYaml({ servers: [{ name: 'b1', url: `ws://127.0.0.1:${backend.port}` }], route: { auth: { jwt: { keys: keyFile } } } });
  const { b } = await balancerFromFile(t, yaml);
  const port = b.proxyPort();
  const status = async (key: Uint8Array) => (await rawRequest(port, upgradeRequest('/', [`Authorization: Bearer ${await sign(key)}`]), { untilHead: true })).status;
  t.equal(await status(first), 101);

  const second = secret();
  d.write('secret', second);
  t.equal(await status(first), 101, 'the file is read at reload, not per handshake');
  const ok = await b.reload({});
  t.ok(ok.ok, 'reload with the new secret');
  t.equal(await status(second), 101, 'the new secret verifies');
  t.equal(await status(first), 401, 'the old one no longer does');

  d.write('secret', 'short');
  const refused = await b.reload({});
  t.notOk(refused.ok, 'a key that does not load refuses the reload');
  if (!refused.ok) t.match(refused.errors.join('\n'), /routes\[0\]\.auth\.jwt\.keys: .*HS256 needs at least 32/);
  t.equal(await status(second), 101, 'the keys in force stay');
});

t.test('jwks_url down at start: the balancer starts, 503 until the endpoint answers, then tokens verify', async (t) => {
  const backend = await startEchoBackend({ name: 'b1' });
  t.teardown(() => backend.close());
  const k = rsaPair('k');
  const jwks = await startJwksServer(t, [k]);
  await jwks.stop();
  const started = Date.now();
  const b = await startBalancer(t, {
    servers: [{ name: 'b1', url: `ws://127.0.0.1:${backend.port}` }],
    // A generous fetch timeout: the endpoint is refused or answers at once, and a loaded machine must not turn a slow answer into a 503.
    route: { auth: { jwt: { jwks_url: jwks.url, jwks_cooldown: '100ms', jwks_timeout: '3s' } } },
  });
  // The endpoint only comes up after the start: a start that waited for it would not return at all.
  t.ok(Date.now() - started < 10_000, 'start did not wait for the endpoint');
  const token = await sign(k);
  const down = await rawRequest(b.proxyPort(), upgradeRequest('/', [`Authorization: Bearer ${token}`]));
  t.equal(down.status, 503, 'no key set yet: 503');
  t.equal(down.headers['x-wslb-error'], 'WSLB_ERR_AUTH_UNAVAILABLE');
  t.equal(down.headers['retry-after'], '1');
  await jwks.start();
  await sleep(150);
  const ws = await openWs(`ws://127.0.0.1:${b.proxyPort()}/`, { headers: { authorization: `Bearer ${token}` } });
  ws.close();
  t.equal(backend.accepted, 1, 'only the verified handshake reached the server');
});

t.test('hash key claim:sub: the connections of one user meet on one server', async (t) => {
  const backends = await Promise.all(['s1', 's2', 's3'].map((name) => startEchoBackend({ name })));
  t.teardown(() => Promise.all(backends.map((x) => x.close())));
  const d = tempDir(t);
  const key = secret();
  const b = await startBalancer(t, {
    servers: backends.map((x) => ({ name: x.name, url: `ws://127.0.0.1:${x.port}` })),
    route: { algorithm: { name: 'hash', key: 'claim:sub' }, auth: { jwt: { keys: d.write('s', key) } } },
  });
  const users = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi'];
  const where = new Map<string, Set<string>>();
  const open = [];
  for (let round = 0; round < 3; round++) {
    for (const user of users) {
      // A fresh token each time (other iat/jti): the key is the claim, not the token.
      const token = await sign(key, { sub: user, jti: `${user}-${round}` });
      const [ws, name] = await connectWho(b.proxyPort(), `/room/${round}`, backends, { authorization: `Bearer ${token}` });
      open.push(ws);
      where.set(user, (where.get(user) ?? new Set()).add(name));
    }
  }
  await closeAll(open);
  for (const [user, names] of where) t.equal(names.size, 1, `${user}: all 3 connections on ${[...names].join(', ')}`);
  t.ok(new Set([...where.values()].map((s) => [...s][0])).size > 1, 'users spread over more than one server');
});
