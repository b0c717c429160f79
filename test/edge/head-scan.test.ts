/** The hand-scanned head readers (request head, server 101) against the line-by-line regex grammar they replaced: the same accept/refuse answer and the same fields on mutated heads. */

import t from 'tap';
import net from 'node:net';
import { parseUpgradeHead } from '../../src/edge/request-head.js';
import { parse101 } from '../../src/tunnel/response-head.js';
import { MUTATORS, MUTATOR_NAMES, prng } from '../fuzz/mutate.js';
import { upgradeRequest, wsKey } from '../helpers/raw-client.js';

const VARIANTS = 10000;
const SEED = Number(process.env.WSLB_FUZZ_SEED ?? 0x5ca7);
const socket = new net.Socket();
const FIRST_ONLY = new Set([
  'content-type', 'content-length', 'user-agent', 'referer', 'host', 'authorization',
  'proxy-authorization', 'if-modified-since', 'if-unmodified-since', 'from', 'location',
  'max-forwards', 'retry-after', 'etag', 'last-modified', 'server', 'age', 'expires',
]);

// The request grammar as regexes (the reader's previous form).
const REQUEST_LINE = /^GET (\/[A-Za-z0-9\-._~!$&'()*+,;=:@/?%]*) HTTP\/1\.1$/;
const REQ_HEADER = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[\t ]*((?:[\x21-\x7e][\t\x20-\x7e]*)?)$/;
const CONNECTION_LIST = /^[A-Za-z0-9-]+(?:[\t ]*,[\t ]*[A-Za-z0-9-]+)*$/;

function oracleRequest(head: string): { url: string; rawHeaders: string[]; headers: Record<string, unknown> } | null {
  const lines = head.split('\r\n');
  if (lines.length - 1 > 256) return null;
  const request = REQUEST_LINE.exec(lines[0]!);
  if (request === null) return null;
  const headers: Record<string, unknown> = {};
  const rawHeaders: string[] = [];
  let upgrade = false;
  let connection = false;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const m = REQ_HEADER.exec(line);
    if (m === null || /[\t ]$/.test(line)) return null;
    const [, name, value] = m as unknown as [string, string, string];
    const key = name.toLowerCase();
    if (key === 'content-length' || key === 'transfer-encoding') return null;
    if (key === 'upgrade') { if (value === '') return null; upgrade = true; }
    else if (key === 'connection') {
      if (!CONNECTION_LIST.test(value)) return null;
      if (/(?:^|,)[\t ]*upgrade[\t ]*(?:,|$)/i.test(value)) connection = true;
    }
    rawHeaders.push(name, value);
    const prev = headers[key];
    if (key === 'set-cookie') ((headers['set-cookie'] ??= []) as string[]).push(value);
    else if (prev === undefined) headers[key] = value;
    else if (key === 'cookie') headers[key] = `${prev as string}; ${value}`;
    else if (!FIRST_ONLY.has(key)) headers[key] = `${prev as string}, ${value}`;
  }
  if (!upgrade || !connection) return null;
  return { url: request[1]!, rawHeaders, headers };
}

// The 101 grammar as regexes.
const STATUS_101 = /^HTTP\/1\.1 101(?: ([\t\x20-\x7e\x80-\xff]*))?$/;
const RES_HEADER = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[\t ]*([\t\x20-\x7e\x80-\xff]*?)[\t ]*$/;

function oracle101(head: string): { statusMessage: string; rawHeaders: string[]; headers: Record<string, unknown> } | null {
  const lines = head.split('\r\n');
  const status = STATUS_101.exec(lines[0]!);
  if (!status) return null;
  const headers: Record<string, unknown> = {};
  const rawHeaders: string[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === '') continue;
    const m = RES_HEADER.exec(line);
    if (!m) return null;
    const name = m[1]!;
    const value = m[2]!;
    rawHeaders.push(name, value);
    const key = name.toLowerCase();
    const prev = headers[key];
    if (key === 'set-cookie') ((headers['set-cookie'] ??= []) as string[]).push(value);
    else if (prev === undefined) headers[key] = value;
    else if (!FIRST_ONLY.has(key)) headers[key] = `${prev as string}, ${value}`;
  }
  return { statusMessage: status[1] ?? '', rawHeaders, headers };
}

function mutated(seed: Buffer, rnd: () => number): string {
  let bytes = seed;
  for (let k = 1 + Math.floor(rnd() * 3); k > 0 && bytes.length > 0; k--) bytes = MUTATORS[MUTATOR_NAMES[Math.floor(rnd() * MUTATOR_NAMES.length)]!]!(bytes, rnd);
  return bytes.toString('latin1');
}

t.test('request heads: the scanner accepts exactly what the regex grammar accepts, with the same fields', async (t) => {
  const rnd = prng(SEED);
  const fixed = [
    'GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\nX-Empty:\r\nX-Tab:\tv\tw',
    'GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX-Trail: v ',
    'GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX-Empty: ',
    'GET  HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade',
    'GET / HTTP/1.1',
    'GET / HTTP/1.1\r\n\r\nUpgrade: websocket\r\nConnection: Upgrade',
    'GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX: \x80',
    'GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX:a\rb',
    'GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nNoColon',
    'GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n: v',
  ];
  const inputs = [...fixed];
  for (let i = 0; i < VARIANTS; i++) {
    const text = mutated(Buffer.from(upgradeRequest('/fuzz?a=b', ['Cookie: a=1', 'cookie: b=2', 'X-Dup: one', 'x-dup: two'], wsKey()), 'latin1'), rnd);
    const end = text.indexOf('\r\n\r\n');
    inputs.push(end === -1 ? text : text.slice(0, end));
  }
  const mismatches: string[] = [];
  let accepted = 0;
  for (const head of inputs) {
    const want = oracleRequest(head);
    const got = parseUpgradeHead(head, socket);
    if (want) accepted++;
    const same = want === null ? got === null
      : got !== null && got.url === want.url && JSON.stringify(got.rawHeaders) === JSON.stringify(want.rawHeaders) && JSON.stringify(got.headers) === JSON.stringify(want.headers);
    if (!same && mismatches.length < 5) mismatches.push(JSON.stringify(head));
  }
  t.same(mismatches, [], 'no head read differently');
  t.ok(accepted > inputs.length / 20, `a good share accepted (${accepted} of ${inputs.length})`);
  t.ok(accepted < inputs.length - VARIANTS / 20, 'and a good share refused');
});

t.test('server 101 heads: the scanner accepts exactly what the regex grammar accepts, with the same fields', async (t) => {
  const rnd = prng(SEED + 1);
  const base = Buffer.from('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\nX-Dup: 1\r\nx-dup: 2\r\nServer: a\r\nserver: b\r\nX-Obs: caf\xe9 \t\r\n\r\n', 'latin1');
  const inputs = ['HTTP/1.1 101', 'HTTP/1.1 101 ', 'HTTP/1.1 1010', 'HTTP/1.1 101\tx', 'HTTP/1.1 101 ok\r\nX: \x7f\r\n\r\n', 'HTTP/1.1 101 ok\r\nX:   \r\n\r\n', base.toString('latin1')];
  for (let i = 0; i < VARIANTS; i++) inputs.push(mutated(base, rnd));
  const mismatches: string[] = [];
  let accepted = 0;
  for (const head of inputs) {
    const want = oracle101(head);
    const got = parse101(head);
    if (want) accepted++;
    const same = want === null ? got === null
      : got !== null && got.statusMessage === want.statusMessage && JSON.stringify(got.rawHeaders) === JSON.stringify(want.rawHeaders) && JSON.stringify(got.headers) === JSON.stringify(want.headers);
    if (!same && mismatches.length < 5) mismatches.push(JSON.stringify(head));
  }
  t.same(mismatches, [], 'no 101 read differently');
  t.ok(accepted > inputs.length / 20, `a good share accepted (${accepted} of ${inputs.length})`);
});
