/** Names listed in Connection are dropped as hop-by-hop (request to the server, 101 and answers to the client), read exactly as the split/trim/lowercase chain the hand scan replaces: edge cases and 20,000 random heads. */

import t from 'tap';
import { endToEndHeaders, forwardedRequestHeaders } from '../../src/tunnel/headers.js';

const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization',
  'te', 'trailer', 'transfer-encoding', 'upgrade', 'http2-settings',
]);

/** The reading the hand scan replaces. */
function referenceListed(raw: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.length !== 10 || raw[i]!.toLowerCase() !== 'connection') continue;
    for (const tok of raw[i + 1]!.split(',')) {
      const name = tok.trim().toLowerCase();
      if (!HOP_BY_HOP.has(name)) out.add(name);
    }
  }
  return out;
}

function referenceEndToEnd(raw: readonly string[]): [string, string][] {
  const listed = referenceListed(raw);
  const out: [string, string][] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const lower = raw[i]!.toLowerCase();
    if (!HOP_BY_HOP.has(lower) && !listed.has(lower)) out.push([raw[i]!, raw[i + 1]!]);
  }
  return out;
}

const info = { clientAddress: '192.0.2.1', proto: 'ws' } as const;

function agree(raw: string[]): boolean {
  const want = referenceEndToEnd(raw);
  const got = endToEndHeaders(raw);
  if (JSON.stringify(got) !== JSON.stringify(want)) return false;
  // The request side drops the same names (before its own Connection/Upgrade and X-Forwarded-*).
  const fwd = forwardedRequestHeaders({ rawHeaders: raw }, info).filter(([n]) => !/^x-forwarded-/i.test(n));
  return JSON.stringify(fwd) === JSON.stringify(want.filter(([n]) => !/^x-forwarded-/i.test(n)));
}

t.test('edge cases', async (t) => {
  const values = [
    '', ',', 'Upgrade', 'upgrade', 'UPGRADE', ' Upgrade ', 'keep-alive, Upgrade', 'Upgrade,keep-alive', 'close',
    'X-Private', 'x-private, Upgrade', ' X-PRIVATE\t,upgrade', 'X-Private,', ',,X-Private,,', 'X-Private\u00a0',
    '\u00a0X-Private', '\u212Aeep-Alive', 'X-Priv\u212Ate', 'TE, Trailer', 'te,trailers', 'Upgrade\x0b', 'x-privatex',
    'x-privat', 'Transfer-Encoding, HTTP2-Settings', 'Proxy-Connection', 'İ', 'X-Private;q=1', '"X-Private"',
  ];
  const names = ['Connection', 'connection', 'CONNECTION', 'Connectio', 'Connection ', 'Conn\u212Action', 'Connections'];
  for (const name of names) {
    for (const value of values) {
      const raw = [name, value, 'X-Private', 'secret', 'x-private', 'two', 'Keep-Alive', '5', 'X-Other', 'kept', '\u212Aeep-alive', 'k', 'Close', 'c', '', 'empty name'];
      t.ok(agree(raw), `${JSON.stringify(name)}: ${JSON.stringify(value)}`);
    }
  }
  t.ok(agree(['Connection', 'a', 'Connection', 'b', 'A', '1', 'B', '2', 'C', '3']), 'two Connection headers');
  t.ok(agree([]), 'no headers');
});

t.test('random heads agree with the reference', async (t) => {
  const parts = ['Upgrade', 'keep-alive', 'X-A', 'x-b', 'X-C', 'close', 'TE', '', ' ', '\t', '\u00a0', '\u212A', 'x-a\u00a0', 'İ', 'Ü', '\r', 'a'];
  const names = ['X-A', 'x-a', 'X-B', 'X-C', 'x-c ', 'Keep-Alive', 'TE', 'K', '\u212A', 'İ', 'a', 'Upgrade', 'Connection', 'connection'];
  let seed = 11;
  const rnd = (n: number): number => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n; };
  let mismatches = 0;
  for (let i = 0; i < 20_000; i++) {
    const raw: string[] = [];
    const headers = 1 + rnd(6);
    for (let h = 0; h < headers; h++) {
      const name = names[rnd(names.length)]!;
      const k = 1 + rnd(4);
      const list: string[] = [];
      for (let j = 0; j < k; j++) list.push(parts[rnd(parts.length)]! + (rnd(3) === 0 ? parts[rnd(parts.length)]! : ''));
      raw.push(name, list.join(rnd(2) ? ',' : ', '));
    }
    if (!agree(raw)) mismatches++;
  }
  t.equal(mismatches, 0);
});
