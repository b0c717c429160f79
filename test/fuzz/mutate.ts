/** Fuzz helpers: a seeded PRNG, handshake mutation operators, and an independent strict oracle for "this upgrade request is valid". */

/** mulberry32: small, fast, reproducible. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

export type Mutator = (req: Buffer, rnd: () => number) => Buffer;

const int = (rnd: () => number, n: number): number => Math.floor(rnd() * n);
const pick = <T>(rnd: () => number, xs: readonly T[]): T => xs[int(rnd, xs.length)]!;

/** Header lines (without the request line and the final blank line) as [start, end) offsets of `text`. */
function headerLines(text: string): [number, number][] {
  const out: [number, number][] = [];
  let i = text.indexOf('\r\n') + 2;
  while (i > 1 && i < text.length) {
    const j = text.indexOf('\r\n', i);
    if (j === -1 || j === i) break;
    out.push([i, j + 2]);
    i = j + 2;
  }
  return out;
}

const edit = (req: Buffer, f: (s: string) => string): Buffer => Buffer.from(f(req.toString('latin1')), 'latin1');

export const MUTATORS: Record<string, Mutator> = {
  flipByte: (req, rnd) => { const b = Buffer.from(req); b[int(rnd, b.length)] = int(rnd, 256); return b; },
  flipBit: (req, rnd) => { const b = Buffer.from(req); const i = int(rnd, b.length); b[i]! ^= 1 << int(rnd, 8); return b; },
  deleteHeader: (req, rnd) => edit(req, (s) => { const ls = headerLines(s); if (!ls.length) return s; const [a, z] = pick(rnd, ls); return s.slice(0, a) + s.slice(z); }),
  duplicateHeader: (req, rnd) => edit(req, (s) => { const ls = headerLines(s); if (!ls.length) return s; const [a, z] = pick(rnd, ls); return s.slice(0, z) + s.slice(a, z) + s.slice(z); }),
  bareLf: (req, rnd) => edit(req, (s) => { const at: number[] = []; for (let i = s.indexOf('\r\n'); i !== -1; i = s.indexOf('\r\n', i + 1)) at.push(i); const i = pick(rnd, at); return s.slice(0, i) + s.slice(i + 1); }),
  obsFold: (req, rnd) => edit(req, (s) => { const ls = headerLines(s); if (!ls.length) return s; const [, z] = pick(rnd, ls); return `${s.slice(0, z)}${pick(rnd, [' ', '\t'])}folded\r\n${s.slice(z)}`; }),
  nul: (req, rnd) => { const i = int(rnd, req.length); return Buffer.concat([req.subarray(0, i), Buffer.from([0]), req.subarray(i)]); },
  hugeValue: (req, rnd) => edit(req, (s) => { const ls = headerLines(s); if (!ls.length) return s; const [, z] = pick(rnd, ls); return s.slice(0, z - 2) + 'x'.repeat(1 + int(rnd, 20_000)) + s.slice(z - 2); }),
  hugeHeaderCount: (req, rnd) => edit(req, (s) => { const n = 1 + int(rnd, 3000); const extra = Array.from({ length: n }, (_, i) => `X-${i}: ${i}\r\n`).join(''); const at = s.indexOf('\r\n') + 2; return s.slice(0, at) + extra + s.slice(at); }),
  truncate: (req, rnd) => req.subarray(0, int(rnd, req.length)),
  garbage: (req, rnd) => { const i = int(rnd, req.length); const g = Buffer.from(Array.from({ length: 1 + int(rnd, 8) }, () => int(rnd, 256))); return Buffer.concat([req.subarray(0, i), g, req.subarray(i)]); },
  caseFlip: (req, rnd) => edit(req, (s) => { if (!s) return s; const i = int(rnd, s.length); const c = s[i]!; return s.slice(0, i) + (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase()) + s.slice(i + 1); }),
  upgradeValue: (req, rnd) => edit(req, (s) => s.replace(/Upgrade: websocket/, `Upgrade: ${pick(rnd, ['websocket2', 'websocket, h2c', 'h2c', 'WebSocket', ' websocket ', '', 'web socket', 'websocket\t'])}`)),
  connectionValue: (req, rnd) => edit(req, (s) => s.replace(/Connection: Upgrade/, `Connection: ${pick(rnd, ['keep-alive', 'Upgrade, keep-alive', 'close', 'upgrade2', '', 'Up grade', 'keep-alive,upgrade'])}`)),
  keyValue: (req, rnd) => edit(req, (s) => s.replace(/Sec-WebSocket-Key: (\S+)/, (_, k: string) => `Sec-WebSocket-Key: ${pick(rnd, [k.slice(1), `${k}A`, k.replace('==', '='), k.toLowerCase(), '', 'dGhlIHNhbXBsZSBub25jZQ', `${k},${k}`])}`)),
  versionValue: (req, rnd) => edit(req, (s) => s.replace(/Sec-WebSocket-Version: 13/, `Sec-WebSocket-Version: ${pick(rnd, ['12', '14', '13, 8', ' 13', '013', '', '8', '13 '])}`)),
  method: (req, rnd) => edit(req, (s) => s.replace(/^GET/, pick(rnd, ['POST', 'get', 'GETT', 'PUT', 'HEAD', 'CONNECT', 'OPTIONS']))),
  httpVersion: (req, rnd) => edit(req, (s) => s.replace(/HTTP\/1\.1\r\n/, `${pick(rnd, ['HTTP/1.0', 'HTTP/2.0', 'HTTP/1.2', 'HTTP/0.9', 'HTTP/1.1 ', 'http/1.1'])}\r\n`)),
  bodyHeaders: (req, rnd) => edit(req, (s) => s.replace('\r\n\r\n', `\r\n${pick(rnd, ['Content-Length: 5', 'Content-Length: 0', 'Transfer-Encoding: chunked', 'Content-Length: 5\r\nTransfer-Encoding: chunked', 'Content-Length: 99999999999999999999'])}\r\n\r\nhello`)),
};

export const MUTATOR_NAMES = Object.keys(MUTATORS);

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const KEY = /^[A-Za-z0-9+/]{21}[AQgw]==$/;

const REG_NAME_CHAR = /[A-Za-z0-9\-._~!$&'()*+,;=]/;
const HEX = /^[0-9A-Fa-f]$/;

/** RFC 3986 3.2.2-3.2.3 by hand (uri-host [":" port], port 1-65535): a second reading, independent of the balancer's regex. */
function hostAndPort(value: string): boolean {
  let host = value;
  let port: string | undefined;
  if (value.startsWith('[')) {
    const close = value.indexOf(']');
    if (close === -1) return false;
    const inner = value.slice(1, close);
    const rest = value.slice(close + 1);
    if (rest !== '' && !rest.startsWith(':')) return false;
    port = rest === '' ? undefined : rest.slice(1);
    if (!ipv6(inner) && !/^v[0-9a-f]+\.[A-Za-z0-9\-._~!$&'()*+,;=:]+$/i.test(inner)) return false;
  } else {
    const colon = value.lastIndexOf(':');
    if (colon !== -1) { host = value.slice(0, colon); port = value.slice(colon + 1); }
    if (host === '') return false;
    for (let i = 0; i < host.length; i++) {
      if (host[i] === '%') {
        if (!HEX.test(host[i + 1] ?? '') || !HEX.test(host[i + 2] ?? '')) return false;
        i += 2;
      } else if (!REG_NAME_CHAR.test(host[i]!)) return false;
    }
  }
  if (port === undefined) return true;
  return /^[0-9]{1,5}$/.test(port) && Number(port) >= 1 && Number(port) <= 65535;
}

/** RFC 4291 2.2 text forms: up to 8 hex groups, one "::", an optional dotted IPv4 tail. */
function ipv6(s: string): boolean {
  const halves = s.split('::');
  if (halves.length > 2) return false;
  const groups = (part: string): string[] | null => (part === '' ? [] : part.split(':'));
  const all = halves.map(groups);
  const flat = all.flat() as string[];
  let count = 0;
  for (let i = 0; i < flat.length; i++) {
    const g = flat[i]!;
    if (i === flat.length - 1 && g.includes('.')) {
      const o = g.split('.');
      if (o.length !== 4 || !o.every((x) => /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/.test(x))) return false;
      count += 2;
    } else if (/^[0-9A-Fa-f]{1,4}$/.test(g)) count++;
    else return false;
  }
  return halves.length === 2 ? count < 8 : count === 8;
}

/**
 * An independent, strict reading of RFC 9112 + RFC 6455 4.1: true only for a request the
 * balancer may upgrade. Written separately from src/edge/handshake.ts on purpose.
 */
export function validUpgrade(raw: Buffer): boolean {
  const s = raw.toString('latin1');
  const end = s.indexOf('\r\n\r\n');
  // No size rule here: Node's maxHeaderSize counts names and values, not the bytes on the wire, and size says nothing of validity.
  if (end === -1) return false;
  const lines = s.slice(0, end).split('\r\n');
  if (!/^GET \/[\x21-\x7e]* HTTP\/1\.1$/.test(lines[0]!)) return false;
  const headers = new Map<string, string[]>();
  for (const line of lines.slice(1)) {
    if (/[\x00-\x08\x0a-\x1f\x7f]/.test(line) || /^[ \t]/.test(line)) return false;
    const colon = line.indexOf(':');
    if (colon <= 0 || !TOKEN.test(line.slice(0, colon))) return false;
    const name = line.slice(0, colon).toLowerCase();
    headers.set(name, [...(headers.get(name) ?? []), line.slice(colon + 1).trim()]);
  }
  if (lines.length - 1 > 2000) return false;
  const one = (n: string): string | undefined => { const v = headers.get(n); return v?.length === 1 ? v[0] : undefined; };
  if (!hostAndPort(one('host') ?? '')) return false;
  if (one('upgrade')?.toLowerCase() !== 'websocket') return false;
  const conn = (headers.get('connection') ?? []).join(',').split(',').map((x) => x.trim().toLowerCase());
  if (!conn.includes('upgrade')) return false;
  if (!KEY.test(one('sec-websocket-key') ?? '')) return false;
  if ((headers.get('sec-websocket-version') ?? []).join(', ') !== '13') return false;
  if (headers.has('transfer-encoding')) return false;
  const cl = headers.get('content-length');
  return cl === undefined || cl.join(',') === '0';
}
