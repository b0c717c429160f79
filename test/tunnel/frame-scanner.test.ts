/** Unit tests of the frame-header scanner with frames built by hand. */

import t from 'tap';
import { closeFrame, FrameScanner, SCAN_CLOSE, SCAN_OK, SCAN_TOO_BIG } from '../../src/tunnel/frame-scanner.js';
import { frame } from './relay.js';

const MiB = 1024 * 1024;
const bytes = (n: number, fill = 0x61): Buffer => Buffer.alloc(n, fill);

/** Feeds buf to a scanner in pieces cut at the given offsets; returns the OR of statuses. */
function feed(s: FrameScanner, buf: Buffer, cuts: number[] = []): number {
  let st = 0;
  let prev = 0;
  for (const c of [...cuts, buf.length]) {
    st |= s.scan(buf.subarray(prev, c));
    prev = c;
  }
  return st;
}

t.test('every length encoding, masked and not, whole and one byte at a time', async (t) => {
  for (const n of [0, 1, 125, 126, 127, 65535, 65536, 70000]) {
    for (const mask of [false, true]) {
      const encs: Array<7 | 16 | 64> = n < 126 ? [7, 16, 64] : n < 65536 ? [16, 64] : [64];
      for (const len of encs) {
        const f = frame(0x2, bytes(n), { mask, len });
        const a = new FrameScanner(MiB);
        t.equal(a.scan(f), SCAN_OK);
        t.equal(a.messages, 1, `n=${n} mask=${mask} len=${len}`);
        t.ok(a.atBoundary);
        const b = new FrameScanner(MiB);
        for (let i = 0; i < f.length && (n < 1000 || i < 20); i++) {
          t.equal(b.scan(f.subarray(i, i + 1)), SCAN_OK);
          if (i < f.length - 1) t.notOk(b.atBoundary);
        }
        if (n >= 1000) b.scan(f.subarray(20));
        t.equal(b.messages, 1);
        t.ok(b.atBoundary);
      }
    }
  }
});

t.test('header split at every byte, several frames per chunk', async (t) => {
  const frames = [
    frame(0x1, bytes(10), { mask: true }),
    frame(0x2, bytes(300), { mask: true }),
    frame(0x2, bytes(70000), { mask: true }),
    frame(0x1, bytes(0)),
  ];
  const all = Buffer.concat(frames);
  // Cut once at every offset inside the first 14 bytes of every frame header.
  let start = 0;
  for (const f of frames) {
    for (let k = 1; k <= 14 && k < f.length; k++) {
      const s = new FrameScanner(MiB);
      t.equal(feed(s, all, [start + k]), SCAN_OK);
      t.equal(s.messages, 4);
      t.ok(s.atBoundary);
    }
    start += f.length;
  }
  // And two cuts inside the same header.
  const s = new FrameScanner(MiB);
  const off = frames[0].length + frames[1].length;
  t.equal(feed(s, all, [off + 1, off + 5, off + 9]), SCAN_OK);
  t.equal(s.messages, 4);
});

t.test('fragmented messages count once; control frames interleaved are not counted', async (t) => {
  const s = new FrameScanner(MiB);
  const buf = Buffer.concat([
    frame(0x1, bytes(100), { fin: false }),
    frame(0x9, bytes(4)),                     // ping between fragments
    frame(0x0, bytes(100), { fin: false }),
    frame(0xa, bytes(0)),                     // empty pong
    frame(0x0, bytes(100), { fin: true }),
  ]);
  t.equal(s.scan(buf.subarray(0, 150)), SCAN_OK);
  t.equal(s.messages, 0);
  t.equal(s.messageBytes, 200, 'declared lengths count as soon as a header is read');
  t.equal(s.scan(buf.subarray(150)), SCAN_OK);
  t.equal(s.messages, 1);
  t.equal(s.messageBytes, 0);
  t.ok(s.atBoundary);
  // Control frames alone.
  t.equal(s.scan(Buffer.concat([frame(0x9, bytes(125)), frame(0xa, bytes(125))])), SCAN_OK);
  t.equal(s.messages, 1);
  // Compressed (RSV1) frames are still just frames.
  t.equal(s.scan(frame(0x1, bytes(50), { rsv1: true })), SCAN_OK);
  t.equal(s.messages, 2);
});

t.test('message size limit: single frame, fragments, control frames, sticky failure', async (t) => {
  const limit = 1000;
  let s = new FrameScanner(limit);
  t.equal(s.scan(frame(0x2, bytes(limit))), SCAN_OK, 'exactly the limit is fine');
  const big = frame(0x2, bytes(limit + 1));
  const prefix = frame(0x1, bytes(5));
  t.equal(s.scan(Buffer.concat([prefix, big])), SCAN_TOO_BIG);
  t.equal(s.errorOffset, prefix.length, 'offset of the offending header');
  t.ok(s.failed);
  t.notOk(s.atBoundary);
  t.equal(s.messages, 2);
  t.equal(s.scan(bytes(3)), SCAN_TOO_BIG, 'sticky');
  t.equal(s.scanToBoundary(bytes(3)), -2);

  s = new FrameScanner(limit);
  t.equal(s.scan(frame(0x2, bytes(600), { fin: false })), SCAN_OK);
  t.equal(s.scan(frame(0x9, bytes(100))), SCAN_OK, 'control frames do not add to the message');
  t.equal(s.scan(frame(0x0, bytes(401), { fin: true })), SCAN_TOO_BIG, 'fragments add up');
  t.equal(s.errorOffset, 0);

  s = new FrameScanner(limit);
  const f = frame(0x2, bytes(5000), { mask: true });
  t.equal(s.scan(f.subarray(0, 3)), SCAN_OK, 'header incomplete: nothing known yet');
  t.equal(s.scan(f.subarray(3, 20)), SCAN_TOO_BIG);
  t.equal(s.errorOffset, -1, 'header began in an earlier chunk');

  s = new FrameScanner(100);
  t.equal(s.scan(frame(0x9, bytes(101))), SCAN_TOO_BIG, 'oversized control frame');

  s = new FrameScanner(MiB);
  const huge = Buffer.from([0x82, 0x7f, 0xff, 0, 0, 0, 0, 0, 0, 1]);
  t.equal(s.scan(huge), SCAN_TOO_BIG, '64-bit length with the top bit set');

  s = new FrameScanner(limit);
  t.equal(s.scan(frame(0x1, bytes(900))), SCAN_OK);
  t.equal(s.scan(frame(0x1, bytes(900))), SCAN_OK, 'each new message starts from 0');
});

t.test('close frames: detected, code read masked or not, split or not', async (t) => {
  const payload = Buffer.from([0x0f, 0xa1, 0x62, 0x79, 0x65]); // 4001 "bye"
  for (const mask of [false, true]) {
    const f = frame(0x8, payload, { mask });
    for (let cut = 0; cut <= f.length; cut++) {
      const s = new FrameScanner(MiB);
      const st = s.scan(f.subarray(0, cut)) | s.scan(f.subarray(cut));
      t.equal(st & SCAN_CLOSE, SCAN_CLOSE);
      t.ok(s.closeSeen);
      t.equal(s.closeCode, 4001, `mask=${mask} cut=${cut}`);
      t.equal(s.messages, 0);
    }
  }
  const s = new FrameScanner(MiB);
  t.equal(s.scan(frame(0x8, Buffer.alloc(0))), SCAN_CLOSE);
  t.ok(s.closeSeen);
  t.equal(s.closeCode, 0, 'no status code');
  t.equal(s.scan(frame(0x8, Buffer.from([0x03, 0xe8]))), SCAN_CLOSE, 'every close frame is reported');
  t.equal(s.closeCode, 0, 'only the first close frame is read');
  const c = new FrameScanner(MiB);
  t.equal(c.scan(Buffer.concat([frame(0x1, bytes(3)), frame(0x8, Buffer.from([0x03, 0xe9]))])), SCAN_CLOSE);
  t.equal(c.closeCode, 1001);
  t.equal(c.messages, 1);
});

t.test('scanToBoundary stops exactly at the end of the current frame', async (t) => {
  const a = frame(0x2, bytes(1000), { mask: true });
  const b = frame(0x1, bytes(10));
  const s = new FrameScanner(MiB);
  t.equal(s.scanToBoundary(a), 0, 'already at a boundary');
  t.equal(s.scan(a.subarray(0, 100)), SCAN_OK);
  t.equal(s.scanToBoundary(a.subarray(100, 500)), -1, 'frame goes on');
  const rest = Buffer.concat([a.subarray(500), b]);
  t.equal(s.scanToBoundary(rest), a.length - 500);
  t.ok(s.atBoundary);
  t.equal(s.messages, 1);

  const h = new FrameScanner(MiB);
  t.equal(h.scan(b.subarray(0, 1)), SCAN_OK);
  t.equal(h.scanToBoundary(b.subarray(1, 1)), -1, 'empty chunk');
  t.equal(h.scanToBoundary(b.subarray(1)), b.length - 1, 'header completed then payload');
  const z = new FrameScanner(MiB);
  const empty = frame(0x1, bytes(0));
  z.scan(empty.subarray(0, 1));
  t.equal(z.scanToBoundary(Buffer.concat([empty.subarray(1), b])), 1, 'zero-length frame');
  const small = new FrameScanner(10);
  small.scan(a.subarray(0, 1));
  t.equal(small.scanToBoundary(a.subarray(1)), -2, 'completed header is too big');
});

t.test('closeFrame builds valid frames, masked and not, with reasons cut safely', async (t) => {
  const u = closeFrame(1001, 'bye', false);
  t.same([...u], [0x88, 5, 0x03, 0xe9, 0x62, 0x79, 0x65]);
  const m = closeFrame(4000, 'x'.repeat(10), true);
  t.equal(m[1], 0x80 | 12);
  const s = new FrameScanner(MiB);
  t.equal(s.scan(m), SCAN_CLOSE);
  t.equal(s.closeCode, 4000);
  t.ok(s.atBoundary);
  const long = closeFrame(1000, 'é'.repeat(100), false);   // 200 bytes of 2-byte characters
  t.equal(long[1], 2 + 122, 'cut at 122, not mid-character');
  t.equal(long.subarray(4).toString('utf8'), 'é'.repeat(61));
});
