/** The Redis availability check behind every Redis test's skip: a closed port and a server that is not Redis do not count. */

import net from 'node:net';
import { once } from 'node:events';
import t from 'tap';
import { redisAnswers, redisSkip } from './redis.js';

t.test('redisAnswers: false for a closed port and for a server that is not Redis', async (t) => {
  const s = net.createServer((c) => { c.on('error', () => {}); c.resume(); c.end('HTTP/1.1 400 Bad Request\r\n\r\n'); }).listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as net.AddressInfo).port;
  t.equal(await redisAnswers(port), false, 'an answer that is not +PONG');
  await new Promise((r) => s.close(r));
  t.equal(await redisAnswers(port), false, 'nothing listening');
  const silent = net.createServer((c) => { c.on('error', () => {}); c.resume(); }).listen(0, '127.0.0.1');
  await once(silent, 'listening');
  t.teardown(() => { silent.close(); });
  t.equal(await redisAnswers((silent.address() as net.AddressInfo).port, 200), false, 'no answer in time');
});

t.test('redisSkip: false exactly when 127.0.0.1:6379 answers PING', async (t) => {
  const skip = await redisSkip();
  t.equal(skip === false, await redisAnswers(), skip === false ? 'Redis answers' : `skip reason: ${skip}`);
  if (skip !== false) t.match(skip, /^Redis not reachable at 127\.0\.0\.1:6379/);
});
