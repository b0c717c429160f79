/** Who is it: the rate-limited `handshake rejected` lines name the client (first line) and the top addresses with counts (summary line), in bounded memory; admin 401s are logged the same way. */

import t from 'tap';
import type { IncomingMessage } from 'node:http';
import { RejectionLog, TOP_CLIENTS, TRACKED_CLIENTS } from '../../src/metrics/rejection-log.js';
import { TokenCheck } from '../../src/admin/auth.js';
import { waitFor } from '../helpers/wait.js';
import { captureLog, tick } from '../helpers/log-capture.js';


t.test('the first line carries the client; the summary the top addresses with counts', async (t) => {
  const { log, lines } = captureLog('debug');
  let now = 1000;
  const r = new RejectionLog(log, 10_000, () => now);
  r.note('r', 'WSLB_ERR_RATE', 429, '127.0.0.9');
  // Suppressed: 127.0.0.1 x30, .2 x20, .3 x10, .4 x5, .5 x3, .6 x2, .7 x1.
  const mix: [string, number][] = [['127.0.0.1', 30], ['127.0.0.2', 20], ['127.0.0.3', 10], ['127.0.0.4', 5], ['127.0.0.5', 3], ['127.0.0.6', 2], ['127.0.0.7', 1]];
  for (let round = 0; round < 30; round++) for (const [a, n] of mix) if (round < n) r.note('r', 'WSLB_ERR_RATE', 429, a);
  r.note('', 'WSLB_ERR_MALFORMED', 400);   // a caller that does not know the address
  await tick();
  t.same(lines.map((l) => [l.reason, l.count, l.client]), [['WSLB_ERR_RATE', 1, '127.0.0.9'], ['WSLB_ERR_MALFORMED', 1, undefined]]);
  t.notOk('client' in lines[1]!, 'no client field when unknown');
  lines.length = 0;
  now += 10_000;
  r.flush();
  await tick();
  t.equal(lines.length, 1);
  t.match(lines[0], { msg: 'handshake rejected', reason: 'WSLB_ERR_RATE', count: 71, window_s: 10 });
  t.same(lines[0]!.clients, mix.slice(0, TOP_CLIENTS).map(([address, count]) => ({ address, count })), `top ${TOP_CLIENTS}, exact while few addresses`);
  t.notOk('clients_approximate' in lines[0]!);
  // The next window starts empty.
  lines.length = 0;
  r.note('r', 'WSLB_ERR_RATE', 429, '127.0.0.8');
  now += 10_000;
  r.flush();
  await tick();
  t.same(lines[0]!.clients, [{ address: '127.0.0.8', count: 1 }]);
});

t.test('a spray of distinct addresses: fixed memory, and the heavy hitter still named first', async (t) => {
  const { log, lines } = captureLog('debug');
  let now = 0;
  const r = new RejectionLog(log, 10_000, () => now);
  r.note('r', 'WSLB_ERR_IP_CAP', 429, '127.0.0.1');
  // 20,000 distinct addresses (never contacted: just strings), with one address in every fourth rejection.
  let heavy = 0;
  for (let i = 0; i < 20_000; i++) {
    r.note('r', 'WSLB_ERR_IP_CAP', 429, `127.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}-spray`);
    if (i % 4 === 0) { r.note('r', 'WSLB_ERR_IP_CAP', 429, '127.0.0.200'); heavy++; }
  }
  t.ok(r.trackedClients('WSLB_ERR_IP_CAP') <= TRACKED_CLIENTS, `at most ${TRACKED_CLIENTS} addresses held (${r.trackedClients('WSLB_ERR_IP_CAP')})`);
  now += 10_000;
  r.flush();
  await tick();
  const summary = lines.at(-1)!;
  const clients = summary.clients as { address: string; count: number }[];
  t.equal(clients.length, TOP_CLIENTS);
  t.equal(clients[0]!.address, '127.0.0.200', 'the address behind a fifth of the refusals is listed first');
  t.ok(clients[0]!.count >= heavy, 'its count is an upper bound, never below the truth');
  t.equal(summary.clients_approximate, true, 'says the counts are approximate');
  t.equal(summary.count, 20_000 + heavy);
});

const fakeReq = (url: string, authorization?: string): IncomingMessage =>
  ({ url, headers: authorization === undefined ? {} : { authorization }, socket: { remoteAddress: '::ffff:127.0.0.5' } }) as unknown as IncomingMessage;

t.test('admin 401s: logged with the caller, rate-limited, summary after the window', async (t) => {
  const { log, lines } = captureLog('debug');
  const check = new TokenCheck('tok', log, 100);
  t.equal(check.allows(fakeReq('/reload', 'Bearer tok')), true);
  for (let i = 0; i < 5; i++) t.equal(check.allows(fakeReq('/pools/p/servers/s/drain?x=1', 'Bearer nope')), false);
  await tick();
  t.same(lines.map((l) => [l.level, l.msg, l.path, l.client, l.status, l.count]), [[40, 'admin unauthorized', '/pools/p/servers/s/drain', '127.0.0.5', 401, 1]]);
  await waitFor(t, () => lines.length === 2, { ms: 2000, what: 'the window summary follows' });
  t.match(lines[1], { msg: 'admin unauthorized', count: 4, clients: [{ address: '127.0.0.5', count: 4 }] });
  // No token configured, or no logger: nothing logged.
  new TokenCheck('', log).allows(fakeReq('/reload'));
  new TokenCheck('tok').allows(fakeReq('/reload'));
  await new Promise((res) => setTimeout(res, 250));
  t.equal(lines.length, 2);
});
