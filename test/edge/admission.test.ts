/** Per-IP admission table: caps, token buckets on an injected clock, Retry-After, expiry, and a memory bound under an address spray. */

import t from 'tap';
import type { Limits } from '../../src/config/types.js';
import { fakeSocket, testLimits } from './admission-helpers.js';
import { Admission } from '../../src/edge/admission.js';

const limits = (over: Partial<Limits> = {}): Limits => testLimits({ max_connections_per_ip: 3, handshakes_per_ip: 2, ...over });

t.test('the per-IP cap counts live connections until they close', async (t) => {
  const a = new Admission({ now: () => 0 });
  const l = limits({ handshakes_per_ip: 100 });
  const socks = [fakeSocket(), fakeSocket(), fakeSocket()];
  for (const s of socks) {
    t.equal(a.check('10.0.0.1', l, true), null);
    a.track('10.0.0.1', s);
  }
  t.equal(a.check('10.0.0.1', l, true), 'WSLB_ERR_IP_CAP');
  t.equal(a.check('10.0.0.1', l, false), 'WSLB_ERR_IP_CAP', 'plain HTTP is capped too');
  t.equal(a.check('10.0.0.2', l, true), null, 'another address is not');
  socks[0]!.emit('close');
  t.equal(a.connections('10.0.0.1'), 2);
  t.equal(a.check('10.0.0.1', l, true), null);
  t.equal(a.retryAfter('WSLB_ERR_IP_CAP', '10.0.0.1', l), 1);
});

t.test('handshakes_per_ip is a token bucket holding N tokens, refilled N per second', async (t) => {
  let now = 0;
  const a = new Admission({ now: () => now });
  const l = limits({ handshakes_per_ip: 2 });
  t.same([a.check('10.0.0.1', l, true), a.check('10.0.0.1', l, true), a.check('10.0.0.1', l, true)], [null, null, 'WSLB_ERR_RATE']);
  t.equal(a.retryAfter('WSLB_ERR_RATE', '10.0.0.1', l), 1);
  t.equal(a.check('10.0.0.1', l, false), null, 'plain HTTP requests take no token');
  now = 499;
  t.equal(a.check('10.0.0.1', l, true), 'WSLB_ERR_RATE', 'just under one token');
  now = 500;
  t.equal(a.check('10.0.0.1', l, true), null, 'one token after 1/rate seconds');
  t.equal(a.check('10.0.0.1', l, true), 'WSLB_ERR_RATE', 'a refused request takes nothing (no debt)');
  now = 10_000;
  t.same([a.check('10.0.0.1', l, true), a.check('10.0.0.1', l, true), a.check('10.0.0.1', l, true)], [null, null, 'WSLB_ERR_RATE'], 'never more than N saved up');

  const slow = limits({ handshakes_per_ip: 0.25 });
  now = 0;
  const b = new Admission({ now: () => now });
  t.equal(b.check('10.0.0.9', slow, true), null, 'a rate below 1/s still holds one token');
  t.equal(b.check('10.0.0.9', slow, true), 'WSLB_ERR_RATE');
  t.equal(b.retryAfter('WSLB_ERR_RATE', '10.0.0.9', slow), 4, 'Retry-After: until the next token');
});

t.test('IPv6 clients are limited per /64; IPv4-mapped ones as IPv4', async (t) => {
  const a = new Admission({ now: () => 0 });
  const l = limits({ handshakes_per_ip: 2 });
  t.equal(a.check('2001:db8:1:2::1', l, true), null);
  t.equal(a.check('2001:db8:1:2:ffff::9', l, true), null);
  t.equal(a.check('2001:0db8:0001:0002:aaaa::', l, true), 'WSLB_ERR_RATE', 'same /64, however written');
  t.equal(a.check('2001:db8:1:3::1', l, true), null, 'the next /64 is someone else');
  a.track('::ffff:10.0.0.1', fakeSocket());
  t.equal(a.connections('10.0.0.1'), 1);
});

t.test('the table stays bounded under an address spray, and idle entries expire', async (t) => {
  let now = 0;
  const a = new Admission({ now: () => now, maxIdleEntries: 1000 });
  const l = limits({ handshakes_per_ip: 50 });
  const live = fakeSocket();
  t.equal(a.check('192.0.2.1', l, true), null);
  a.track('192.0.2.1', live);
  for (let i = 0; i < 100_000; i++) {
    a.check(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, l, true);
    if (i % 1000 === 0) t.ok(a.size <= 1002, `after ${i} addresses: ${a.size} entries`);
  }
  t.ok(a.size <= 1002, `${a.size} entries after 100,000 addresses`);
  t.equal(a.connections('192.0.2.1'), 1, 'an address with a live connection is never forgotten');
  t.equal(a.check('192.0.2.1', limits({ max_connections_per_ip: 1 }), true), 'WSLB_ERR_IP_CAP');

  // One second later every idle bucket is full again: entries go as new admissions pass by.
  now = 1000;
  for (let i = 0; i < 600; i++) a.check('198.51.100.1', l, false);
  t.ok(a.size < 10, `idle entries expired: ${a.size} left`);
  live.emit('close');
  t.equal(a.connections('192.0.2.1'), 0);
});
