/** The listener's strict upgrade-head reader against Node's own parser: every head it accepts, node:http also dispatches as 'upgrade' with the same method, target, version and headers. */

import t from 'tap';
import http from 'node:http';
import net from 'node:net';
import { parseUpgradeHead } from '../../src/edge/request-head.js';
import { MUTATORS, MUTATOR_NAMES, prng } from '../fuzz/mutate.js';
import { upgradeRequest, wsKey } from '../helpers/raw-client.js';

const VARIANTS = 3000;
const SEED = Number(process.env.WSLB_FUZZ_SEED ?? 0x4ead);
const socket = new net.Socket();

interface Seen { event: string; method?: string; url?: string; version?: string; rawHeaders?: string[]; headers?: unknown }

/** What node:http makes of `bytes`: the event it emits and the request as it parsed it. */
function nodeReading(port: number, bytes: Buffer, seen: Map<string, Seen>): Promise<Seen> {
  return new Promise((resolve) => {
    const c = net.connect(port, '127.0.0.1');
    const id = String(Math.random());
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      c.destroy();
      resolve(seen.get(id) ?? { event: 'none' });
      seen.delete(id);
    };
    const timer = setTimeout(finish, 2000);
    c.on('error', finish);
    c.on('close', finish);
    c.on('data', finish);
    // The id travels in a header Node and the reader both keep as is; the request line stays first.
    const text = bytes.toString('latin1');
    const eol = text.indexOf('\r\n');
    c.write(Buffer.from(`${text.slice(0, eol)}\r\nX-Test-Id: ${id}${text.slice(eol)}`, 'latin1'));
  });
}

t.test('every head the fast path accepts reads the same through node:http', async (t) => {
  const seen = new Map<string, Seen>();
  const record = (event: string) => (req: http.IncomingMessage, s: net.Socket | http.ServerResponse): void => {
    const id = req.headers['x-test-id'];
    if (typeof id === 'string') {
      seen.set(id, { event, method: req.method, url: req.url, version: req.httpVersion, rawHeaders: req.rawHeaders, headers: { ...req.headers } });
    }
    if (s instanceof net.Socket) s.destroy(); else (s as http.ServerResponse).end();
  };
  const server = http.createServer();
  server.on('upgrade', record('upgrade'));
  server.on('request', record('request'));
  server.on('connect', record('connect'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => { server.closeAllConnections(); server.close(); });
  const port = (server.address() as net.AddressInfo).port;

  const rnd = prng(SEED);
  const inputs: Buffer[] = [
    Buffer.from(upgradeRequest('/a?b=c&d=%20', ['Cookie: a=1', 'cookie: b=2', 'X-Dup: one', 'x-dup: two', 'Host: second', 'User-Agent: a', 'user-agent: b'], wsKey()), 'latin1'),
    Buffer.from('GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\nX-Empty:\r\nX-Tab:\tv\tw\r\n\r\n', 'latin1'),
  ];
  for (let i = 0; i < VARIANTS; i++) {
    let bytes: Buffer = Buffer.from(upgradeRequest('/fuzz', [], wsKey()), 'latin1');
    for (let k = 1 + Math.floor(rnd() * 3); k > 0 && bytes.length > 0; k--) bytes = MUTATORS[MUTATOR_NAMES[Math.floor(rnd() * MUTATOR_NAMES.length)]!]!(bytes, rnd);
    inputs.push(bytes);
  }

  const mismatches: string[] = [];
  let accepted = 0;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < inputs.length) {
      const bytes = inputs[next++]!;
      const text = bytes.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      // The listener sends heads of max_header_bytes (here Node's default 16 KiB) or more to Node before reading them.
      if (end === -1 || end + 4 >= 16 * 1024) continue;
      const eol = text.indexOf('\r\n');
      // As the listener reads it, with the test's id header in the same place as sent to Node.
      const withId = `${text.slice(0, eol)}\r\nX-Test-Id: ID${text.slice(eol, end)}`;
      const mine = parseUpgradeHead(withId, socket);
      if (mine === null) continue;
      accepted++;
      const node = await nodeReading(port, bytes, seen);
      const rawHeaders = node.rawHeaders?.map((v, i) => (i === 1 && node.rawHeaders![0] === 'X-Test-Id' ? 'ID' : v));
      const headers = { ...(node.headers as Record<string, unknown>), 'x-test-id': 'ID' };
      const same = node.event === 'upgrade' && node.method === mine.method && node.url === mine.url
        && node.version === `${mine.httpVersionMajor}.${mine.httpVersionMinor}`
        && JSON.stringify(rawHeaders) === JSON.stringify(mine.rawHeaders)
        && JSON.stringify(Object.entries(headers).sort()) === JSON.stringify(Object.entries(mine.headers).sort());
      if (!same) mismatches.push(`${JSON.stringify(text.slice(0, 200))}: node ${JSON.stringify(node).slice(0, 300)} / reader ${JSON.stringify({ url: mine.url, rawHeaders: mine.rawHeaders, headers: mine.headers }).slice(0, 300)}`);
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  t.ok(accepted > 500, `${accepted} of ${inputs.length} heads taken by the fast path`);
  t.same(mismatches.slice(0, 5), [], `${mismatches.length} heads read differently`);
});

t.test('what the reader leaves to node:http', async (t) => {
  const ok = 'Host: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13';
  const cases: [string, string][] = [
    ['a clean upgrade is taken', `GET /x HTTP/1.1\r\n${ok}`],
    ['HTTP/1.0', `GET /x HTTP/1.0\r\n${ok}`],
    ['HTTP/2.0', `GET /x HTTP/2.0\r\n${ok}`],
    ['absolute-form target', `GET http://h/x HTTP/1.1\r\n${ok}`],
    ['another method', `POST /x HTTP/1.1\r\n${ok}`],
    ['bare LF inside', `GET /x HTTP/1.1\r\n${ok}\nX: y`],
    ['obs-fold', `GET /x HTTP/1.1\r\n${ok}\r\n folded`],
    ['NUL in a value', `GET /x HTTP/1.1\r\n${ok}\r\nX: a\x00b`],
    ['space before the colon', `GET /x HTTP/1.1\r\n${ok}\r\nX : y`],
    ['invalid token character in a name', `GET /x HTTP/1.1\r\n${ok}\r\nX(y): z`],
    ['obs-text in a value', `GET /x HTTP/1.1\r\n${ok}\r\nX: caf\xe9`],
    ['trailing whitespace in a value', `GET /x HTTP/1.1\r\n${ok}\r\nX: y `],
    ['Content-Length', `GET /x HTTP/1.1\r\n${ok}\r\nContent-Length: 0`],
    ['Transfer-Encoding', `GET /x HTTP/1.1\r\n${ok}\r\nTransfer-Encoding: chunked`],
    ['no Connection: upgrade', `GET /x HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: keep-alive`],
    ['no Upgrade header', `GET /x HTTP/1.1\r\nHost: h\r\nConnection: Upgrade`],
    ['an empty Upgrade (Node: a plain request)', `GET /x HTTP/1.1\r\nHost: h\r\nUpgrade:\r\nConnection: Upgrade`],
    ['a Connection list llhttp may read otherwise', `GET /x HTTP/1.1\r\n${ok}\r\nConnection: up grade`],
    ['a space in the target', `GET /x y HTTP/1.1\r\n${ok}`],
    ['too many headers', `GET /x HTTP/1.1\r\n${ok}${'\r\nX: y'.repeat(300)}`],
  ];
  for (const [name, head] of cases) {
    const taken = parseUpgradeHead(head, socket) !== null;
    t.equal(taken, name === 'a clean upgrade is taken', name);
  }
});
