/** The token check: constant-time path (equal-length digests into crypto.timingSafeEqual, whatever was sent), and what it accepts. */

import t from 'tap';
import crypto from 'node:crypto';
import type { IncomingMessage } from 'node:http';

const req = (authorization?: string): IncomingMessage => ({ headers: authorization === undefined ? {} : { authorization } }) as IncomingMessage;

t.test('every check goes through timingSafeEqual with 32-byte digests', async (t) => {
  const calls: [number, number][] = [];
  const { TokenCheck } = await t.mockImport<typeof import('../../src/admin/auth.js')>('../../src/admin/auth.js', {
    'node:crypto': {
      ...crypto,
      timingSafeEqual: (a: NodeJS.ArrayBufferView, b: NodeJS.ArrayBufferView) => {
        calls.push([a.byteLength, b.byteLength]);
        return crypto.timingSafeEqual(a, b);
      },
    },
  });
  const check = new TokenCheck('correct horse battery staple');
  const inputs = [undefined, '', 'Bearer', 'Bearer x', `Bearer ${'y'.repeat(5000)}`, 'Bearer correct horse battery staple', 'Basic abc'];
  for (const h of inputs) check.allows(req(h));
  t.equal(calls.length, inputs.length, 'compared even when the header is missing or malformed');
  t.ok(calls.every(([a, b]) => a === 32 && b === 32), 'always equal-length digests');
});

t.test('accepts exactly the token', async (t) => {
  const { TokenCheck } = await import('../../src/admin/auth.js');
  const check = new TokenCheck('tok');
  t.equal(check.required, true);
  t.equal(check.allows(req('Bearer tok')), true);
  t.equal(check.allows(req('bearer tok')), true, 'scheme is case-insensitive');
  t.equal(check.allows(req('Bearer  tok ')), true, 'extra spaces around');
  for (const h of [undefined, '', 'Bearer', 'Bearer ', 'Bearer to', 'Bearer tokk', 'Bearer TOK', 'tok', 'Basic tok', 'Bearer tok tok']) {
    t.equal(check.allows(req(h)), false, String(h));
  }
  const open = new TokenCheck('');
  t.equal(open.required, false);
  t.equal(open.allows(req()), true, 'no token configured: open');
});
