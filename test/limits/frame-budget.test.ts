/** The frame scanner with a message-rate budget (src/tunnel/rate-limit.ts TunnelLimits, refilled per chunk): exact cut offsets (a boundary before the first refused frame), fragments counted once, pings from their own bucket, headers cut by a read, refills from a scripted clock; the byte bucket's throttle and the wheel. */

import t from 'tap';
import { FrameScanner, SCAN_CLOSE, SCAN_LIMIT, SCAN_OK, SCAN_TOO_BIG } from '../../src/tunnel/frame-scanner.js';
import { lift, MIN_CONTROL_RATE, throttleStats, TunnelLimits, type Throttled } from '../../src/tunnel/rate-limit.js';
import { closeFrame, frame, OP } from '../helpers/ws-frames.js';
import { waitFor } from '../helpers/wait.js';
import net from 'node:net';

function clock(start = 1000): { now: () => number; advance(ms: number): void } {
  let t = start;
  return { now: () => t, advance: (ms) => { t += ms; } };
}

const noSocket = { src: null as unknown as net.Socket, paused: false, yielded: false, throttled: false };

/** A scanner whose budget is refilled before each scan, as the tunnel does per chunk read. */
class Limited extends FrameScanner {
  readonly limits: TunnelLimits;
  constructor(rate: number, c: { now: () => number }) {
    super(1 << 20);
    this.limits = new TunnelLimits({ messagesPerSecond: rate, bytesPerSecond: 0 }, { ...noSocket }, c.now);
    this.budget = this.limits.frameBudget;
  }
  override scan(buf: Buffer): number {
    this.limits.read(buf.length, true);
    return super.scan(buf);
  }
}

function scanner(rate: number, c = clock()): Limited {
  return new Limited(rate, c);
}

t.test('N + k messages in one chunk: the scan stops at the start of message N + 1', async (t) => {
  for (const [n, k] of [[1, 1], [5, 3], [50, 7]] as const) {
    const msgs = Array.from({ length: n + k }, (_, i) => frame(OP.TEXT, `m${i}`));
    const chunk = Buffer.concat(msgs);
    const s = scanner(n);
    t.equal(s.scan(chunk), SCAN_LIMIT, `N=${n}`);
    t.equal(s.errorOffset, Buffer.concat(msgs.slice(0, n)).length, `N=${n}: cut right after message ${n}`);
    t.equal(s.messages, n);
    t.ok(s.failed);
    t.equal(s.scan(frame(OP.TEXT, 'x')), SCAN_LIMIT, 'stays stopped, with the same status');
  }
});

t.test('a fragmented message takes one token, whatever its fragment count', async (t) => {
  const s = scanner(2);
  const fragmented = (text: string): Buffer => Buffer.concat([
    frame(OP.TEXT, text.slice(0, 1), { fin: false }),
    frame(OP.CONT, text.slice(1, 2), { fin: false }),
    frame(OP.PING, 'p'),                                   // a control frame between fragments
    frame(OP.CONT, text.slice(2), { fin: true }),
  ]);
  const two = Buffer.concat([fragmented('abcdef'), fragmented('ghijkl')]);
  t.equal(s.scan(two), SCAN_OK, 'two 3-fragment messages fit a bucket of 2');
  t.equal(s.messages, 2);
  const third = fragmented('mnopqr');
  t.equal(s.scan(third), SCAN_LIMIT, 'the third message is refused at its first fragment');
  t.equal(s.errorOffset, 0);
});

t.test('pings and pongs do not take message tokens; their own bucket holds max(N, MIN_CONTROL_RATE)', async (t) => {
  const s = scanner(2);
  const pings = Array.from({ length: MIN_CONTROL_RATE }, (_, i) => frame(i % 2 ? OP.PONG : OP.PING, 'x'));
  t.equal(s.scan(Buffer.concat([...pings, frame(OP.TEXT, 'a'), frame(OP.TEXT, 'b')])), SCAN_OK, `${MIN_CONTROL_RATE} pings/pongs and 2 messages pass`);
  const flood = frame(OP.PING, 'y');
  t.equal(s.scan(flood), SCAN_LIMIT, 'ping number MIN_CONTROL_RATE + 1 is refused');
  t.equal(s.errorOffset, 0);

  const big = scanner(40);
  const many = Buffer.concat(Array.from({ length: 41 }, () => frame(OP.PING)));
  t.equal(big.scan(many), SCAN_LIMIT, 'with N above the floor the ping bucket holds N');
  t.equal(big.errorOffset, 40 * 6);
});

t.test('close frames are never refused', async (t) => {
  const s = scanner(1);
  t.equal(s.scan(Buffer.concat([frame(OP.TEXT, 'a'), closeFrame(1000)])), SCAN_CLOSE);
});

t.test('a header cut by the read: refused at its first byte, before the receiver has any of it', async (t) => {
  const s = scanner(2);
  const third = frame(OP.BINARY, Buffer.alloc(300));   // 126-length header: 2 + 2 + 4 bytes
  const first = Buffer.concat([frame(OP.TEXT, 'a'), frame(OP.TEXT, 'b')]);
  t.equal(s.scan(Buffer.concat([first, third.subarray(0, 1)])), SCAN_LIMIT);
  t.equal(s.errorOffset, first.length, 'the cut byte is not forwarded');

  // With a token there, the header completes in the next read and takes it then.
  const c = clock();
  const ok = scanner(1, c);
  const msg = frame(OP.BINARY, Buffer.alloc(300));
  t.equal(ok.scan(msg.subarray(0, 3)), SCAN_OK);
  t.equal(ok.scan(msg.subarray(3)), SCAN_OK);
  t.equal(ok.messages, 1);
  t.equal(ok.scan(frame(OP.TEXT, 'x').subarray(0, 1)), SCAN_LIMIT, 'the bucket of 1 is empty now');
});

t.test('tokens come back at the rate, the bucket never above N', async (t) => {
  const c = clock();
  const s = scanner(10, c);
  t.equal(new TunnelLimits({ messagesPerSecond: 0, bytesPerSecond: 5 }, { ...noSocket }).frameBudget, null, 'no message limit: no scanner budget');
  const burst = (n: number): Buffer => Buffer.concat(Array.from({ length: n }, () => frame(OP.TEXT, 'z')));
  t.equal(s.scan(burst(10)), SCAN_OK);
  c.advance(500);                       // 5 tokens
  t.equal(s.scan(burst(5)), SCAN_OK);
  c.advance(250);                       // 2.5 tokens: two whole ones
  t.equal(s.scan(burst(2)), SCAN_OK);
  const third = burst(1);
  c.advance(49);                        // 0.5 + 0.49 < 1
  t.equal(s.scan(third), SCAN_LIMIT);

  const idle = scanner(4, c);
  c.advance(60_000);                    // a long idle time fills the bucket to 4, not more
  t.equal(idle.scan(burst(4)), SCAN_OK);
  t.equal(idle.scan(burst(1)), SCAN_LIMIT);
});

t.test('too big still wins over nothing: a message over max_message_bytes is SCAN_TOO_BIG with a budget', async (t) => {
  const s = new FrameScanner(10);
  s.budget = new TunnelLimits({ messagesPerSecond: 5, bytesPerSecond: 0 }, { ...noSocket }).frameBudget;
  t.equal(s.scan(frame(OP.TEXT, 'x'.repeat(11))), SCAN_TOO_BIG);
});

t.test('byte bucket: a read into deficit pauses the reader until the wheel resumes it; lift ends it at once', async (t) => {
  const server = net.createServer((s) => s.on('error', () => {}));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => server.close());
  const sock = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  sock.on('error', () => {});
  await new Promise((r) => sock.once('connect', r));
  t.teardown(() => sock.destroy());
  const d: Throttled & { paused: boolean; yielded: boolean } = { src: sock, paused: false, yielded: false, throttled: false };
  // The wheel runs on performance.now(): the scripted clock ends up there.
  const idle = clock(performance.now() - 60_000);
  const cap = new TunnelLimits({ messagesPerSecond: 0, bytesPerSecond: 1000 }, d, idle.now);
  cap.read(900, true);
  idle.advance(60_000);
  cap.read(1000, true);
  t.notOk(d.throttled, 'after a long idle time the bucket holds 1000...');
  cap.read(1, true);
  t.ok(d.throttled, '...and no more');
  await waitFor(t, () => !d.throttled && throttleStats.waiting === 0, { ms: 2000, what: 'resumed after 1 ms' });

  const c = clock(performance.now());
  const b = new TunnelLimits({ messagesPerSecond: 0, bytesPerSecond: 1000 }, d, c.now);
  b.read(900, true);
  t.notOk(d.throttled, '900 of a full bucket of 1000');
  const before = throttleStats.throttles;
  c.advance(200);                       // +200 tokens: 300
  b.read(600, true);                    // 300 short
  t.ok(d.throttled, 'in deficit: throttled');
  t.ok(sock.isPaused(), 'reading paused');
  t.equal(b.resumeAt, c.now() + 300, 'until the 300-byte deficit refills (300 ms)');
  t.equal(throttleStats.throttles, before + 1, 'counted once');
  await waitFor(t, () => !d.throttled, { ms: 2000, what: 'the wheel resumed it' });
  t.notOk(sock.isPaused());
  t.equal(throttleStats.waiting, 0, 'the wheel is empty (and disarmed)');

  c.advance(10);
  b.read(5000, false);
  t.notOk(d.throttled, 'a closing direction is never throttled');
  c.advance(10);
  b.read(1, true);
  t.ok(d.throttled, 'still in deficit: throttled');
  lift(d);
  t.notOk(d.throttled, 'lift ends a throttle at once');
  t.notOk(sock.isPaused());
  await waitFor(t, () => throttleStats.waiting === 0, { ms: 8000, what: 'the lifted entry left the wheel' });
});
