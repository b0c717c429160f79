/** Server answers to upgrades that open no tunnel (a 5xx, an invalid 101): counted per server and class in /metrics and /status, and logged rate-limited. */

import t from 'tap';
import net from 'node:net';
import { loadConfigText } from '../../src/config/load.js';
import { Balancer } from '../../src/main.js';
import { answerClass, AnswerLog } from '../../src/metrics/answers.js';
import { startBackend, startEchoBackends } from '../helpers/backend.js';
import { farmYaml } from '../helpers/balancer.js';
import { rawRequest, upgradeRequest } from '../helpers/raw-client.js';
import { parseProm } from './prom-text.js';
import { captureLog, tick } from '../helpers/log-capture.js';


t.test('answerClass', async (t) => {
  const table: [number, string][] = [[200, '2xx'], [204, '2xx'], [302, '3xx'], [401, '4xx'], [426, '4xx'], [500, '5xx'], [503, '5xx'], [599, '5xx'], [101, 'invalid'], [100, 'invalid'], [600, 'invalid'], [0, 'invalid']];
  for (const [status, cls] of table) t.equal(answerClass(status), cls, `${status}`);
});

t.test('AnswerLog: one line per pool/server/class at once, then one per window with the count', async (t) => {
  const { log, lines } = captureLog();
  let now = 1000;
  const a = new AnswerLog(log, 10_000, () => now);
  for (let i = 0; i < 5; i++) a.note('r', 'p', 'bad', 500, '5xx');
  a.note('r', 'p', 'bad', 404, '4xx');
  a.note('r', 'p', 'other', 502, '5xx');
  a.note('r', 'p', 'odd', 101, 'invalid', 'wrong Sec-WebSocket-Accept');
  await tick();
  t.same(lines.map((l) => [l.msg, l.pool, l.server, l.status, l.class, l.count]), [
    ['upgrade not accepted by server', 'p', 'bad', 500, '5xx', 1],
    ['upgrade not accepted by server', 'p', 'bad', 404, '4xx', 1],
    ['upgrade not accepted by server', 'p', 'other', 502, '5xx', 1],
    ['upgrade not accepted by server', 'p', 'odd', 101, 'invalid', 1],
  ]);
  t.equal(lines[3]!.why, 'wrong Sec-WebSocket-Accept');
  lines.length = 0;
  now += 9_999;
  a.flush();
  await tick();
  t.equal(lines.length, 0, 'nothing before the window ends');
  now += 1;
  a.flush();
  await tick();
  t.same(lines.map((l) => [l.server, l.class, l.count, l.window_s]), [['bad', '5xx', 4, 10]], 'one summary; quiet keys say nothing');
  lines.length = 0;
  now += 10_000;
  a.flush();   // a quiet window closes: the next answer is logged at once
  a.note('r', 'p', 'bad', 503, '5xx');
  await tick();
  t.same(lines.map((l) => [l.server, l.status, l.count]), [['bad', 503, 1]]);
});

t.test('round robin over a good server, a 5xx server and an invalid-101 server: every bad answer is counted', async (t) => {
  const [good] = await startEchoBackends(1, 'good');
  const bad = await startBackend({ name: 'bad', mode: 'status-500' });
  const odd = await startBackend({ name: 'odd', mode: 'bad-accept' });
  t.teardown(() => Promise.all([good!.close(), bad.close(), odd.close()]));
  const { log, lines } = captureLog();
  const yaml = farmYaml({
    servers: [{ name: 'good', url: good!.url }, { name: 'bad', url: bad.url }, { name: 'odd', url: odd.url }],
    retries: 0,
    pool: { health: { check: 'tcp', interval: '1s' } },
  });
  const b = new Balancer(loadConfigText(yaml, 'test.yaml', {}), log);
  await b.start();
  t.teardown(() => b.destroy());
  t.ok(b.runtime.pools.get('p')!.servers.every((s) => s.state === 'up'), 'tcp checks pass on all three');

  const answers = await Promise.all(Array.from({ length: 6 }, () => rawRequest(b.proxyPort(), upgradeRequest('/'), { untilHead: true })));
  const statuses = answers.map((a) => a.status).sort();
  t.same(statuses, [101, 101, 500, 500, 502, 502], 'two clients each: tunnelled, the server\'s 500, the balancer\'s 502');

  const m = parseProm(await (await fetch(`http://127.0.0.1:${b.adminPort()}/metrics`)).text());
  t.equal(m.types.get('wslb_server_responses_total'), 'counter');
  const get = (server: string, cls: string): number | undefined => m.get('wslb_server_responses_total', { pool: 'p', server, class: cls });
  t.equal(get('bad', '5xx'), 2, 'the 500s');
  t.equal(get('odd', 'invalid'), 2, 'the invalid 101s');
  t.equal(get('good', '5xx'), 0, 'zero series exist before any bad answer');
  t.equal(get('good', 'invalid'), 0);
  t.equal(get('bad', '4xx'), 0);

  const st = await (await fetch(`http://127.0.0.1:${b.adminPort()}/status`)).json() as { pools: { p: { servers: { name: string; answers: Record<string, number> }[] } } };
  const byName = Object.fromEntries(st.pools.p.servers.map((s) => [s.name, s.answers]));
  t.same(byName, { good: {}, bad: { '5xx': 2 }, odd: { invalid: 2 } }, '/status answers per server');

  await tick();
  const logged = lines.filter((l) => l.msg === 'upgrade not accepted by server');
  t.same(logged.map((l) => [l.pool, l.server, l.status, l.class, l.count]).sort(), [['p', 'bad', 500, '5xx', 1], ['p', 'odd', 101, 'invalid', 1]], 'one line each at once; the repeats wait for the window');
  t.type(logged.find((l) => l.server === 'odd')!.why, 'string', 'an invalid 101 says why');
});

t.test('a malformed answer (not HTTP) and a bare 101 count as invalid', async (t) => {
  const garbage = net.createServer((sock) => { sock.on('error', () => {}); sock.once('data', () => sock.end('NOT HTTP AT ALL\r\n\r\n')); });
  await new Promise<void>((r) => garbage.listen(0, '127.0.0.1', r));
  const bare = await startBackend({ name: 'bare', mode: 'bare-101' });
  t.teardown(() => { garbage.close(); return bare.close(); });
  const { log, lines } = captureLog();
  const yaml = farmYaml({
    servers: [{ name: 'garbage', url: `ws://127.0.0.1:${(garbage.address() as net.AddressInfo).port}` }, { name: 'bare', url: bare.url }],
    retries: 0,
  });
  const b = new Balancer(loadConfigText(yaml, 'test.yaml', {}), log);
  await b.start();
  t.teardown(() => b.destroy());
  const answers = await Promise.all(Array.from({ length: 4 }, () => rawRequest(b.proxyPort(), upgradeRequest('/'), { untilHead: true })));
  t.same(answers.map((a) => a.status), [502, 502, 502, 502]);
  const servers = b.runtime.pools.get('p')!.servers;
  t.same(servers.map((s) => [s.name, s.answers]), [['garbage', { invalid: 2 }], ['bare', { invalid: 2 }]]);
  await tick();
  const logged = lines.filter((l) => l.msg === 'upgrade not accepted by server').map((l) => [l.server, l.status, l.class]).sort();
  t.same(logged, [['bare', 101, 'invalid'], ['garbage', 0, 'invalid']], 'status 0: nothing parseable');
});
