/** PROXY protocol v1/v2: parser tables (valid, incomplete at every cut, invalid), and the send_proxy encoder round-tripped through it. */

import t from 'tap';
import { parseProxyHeader, V1_MAX } from '../../src/edge/proxy-protocol.js';
import { ipv6Bytes, proxyHeader } from '../../src/tunnel/send-proxy.js';
import { v2Header } from '../helpers/proxy-client.js';

const ends = (s: string, sp: number, d: string, dp: number) => ({ source: { address: s, port: sp }, destination: { address: d, port: dp } });

t.test('valid headers, and every prefix of them is incomplete', async (t) => {
  const table: [string, Buffer, number, ReturnType<typeof ends> | undefined][] = [
    ['v1 TCP4', Buffer.from('PROXY TCP4 192.0.2.1 198.51.100.1 56324 443\r\n'), 1, ends('192.0.2.1', 56324, '198.51.100.1', 443)],
    ['v1 TCP6', Buffer.from('PROXY TCP6 2001:db8::1 ::1 1 65535\r\n'), 1, ends('2001:db8::1', 1, '::1', 65535)],
    ['v1 UNKNOWN', Buffer.from('PROXY UNKNOWN\r\n'), 1, undefined],
    ['v1 UNKNOWN with addresses', Buffer.from('PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n'), 1, undefined],
    ['v2 TCP4', v2Header('192.0.2.1', '198.51.100.1', 56324, 443), 2, ends('192.0.2.1', 56324, '198.51.100.1', 443)],
    ['v2 TCP6', v2Header('2001:db8::1', '2001:db8:0:0:1::2', 1, 2), 2, ends('2001:db8::1', 1, '2001:db8::1:0:0:2', 2)],
    ['v2 LOCAL', v2Header('192.0.2.1', '198.51.100.1', 1, 2, 0), 2, undefined],
    ['v2 with TLVs', withTlv(v2Header('192.0.2.9', '198.51.100.1', 7, 8)), 2, ends('192.0.2.9', 7, '198.51.100.1', 8)],
    ['v2 UNSPEC', Buffer.concat([v2Header('1.2.3.4', '1.2.3.4', 1, 1).subarray(0, 12), Buffer.from([0x21, 0x00, 0, 0])]), 2, undefined],
  ];
  for (const [name, buf, version, want] of table) {
    const withData = Buffer.concat([buf, Buffer.from('GET / HTTP/1.1\r\n')]);
    const r = parseProxyHeader(withData);
    t.same(r, { state: 'ok', version, length: buf.length, ...(want ? { ends: want } : {}) }, name);
    for (let n = 0; n < buf.length; n++) {
      const p = parseProxyHeader(buf.subarray(0, n));
      if (p.state !== 'incomplete') { t.fail(`${name}: cut at ${n} gave ${p.state}`); break; }
    }
  }
});

function withTlv(h: Buffer): Buffer {
  const tlv = Buffer.from([0x20, 0x00, 0x05, 0x01, 0, 0, 0, 0]);   // PP2_TYPE_SSL, 5 bytes
  const out = Buffer.concat([h, tlv]);
  out.writeUInt16BE(h.readUInt16BE(14) + tlv.length, 14);
  return out;
}

t.test('invalid headers', async (t) => {
  const v2 = (verCmd: number, fam: number, body: Buffer) => Buffer.concat([
    Buffer.from('0d0a0d0a000d0a515549540a', 'hex'), Buffer.from([verCmd, fam, body.length >> 8, body.length & 255]), body]);
  const table: [string, Buffer][] = [
    ['plain HTTP', Buffer.from('GET / HTTP/1.1\r\n')],
    ['lower case', Buffer.from('proxy TCP4 1.2.3.4 1.2.3.4 1 2\r\n')],
    ['v1 TCP5', Buffer.from('PROXY TCP5 1.2.3.4 1.2.3.4 1 2\r\n')],
    ['v1 missing port', Buffer.from('PROXY TCP4 1.2.3.4 1.2.3.4 1\r\n')],
    ['v1 extra field', Buffer.from('PROXY TCP4 1.2.3.4 1.2.3.4 1 2 3\r\n')],
    ['v1 leading zero port', Buffer.from('PROXY TCP4 1.2.3.4 1.2.3.4 01 2\r\n')],
    ['v1 port 65536', Buffer.from('PROXY TCP4 1.2.3.4 1.2.3.4 65536 2\r\n')],
    ['v1 double space', Buffer.from('PROXY TCP4  1.2.3.4 1.2.3.4 1 2\r\n')],
    ['v1 IPv6 in TCP4', Buffer.from('PROXY TCP4 ::1 ::1 1 2\r\n')],
    ['v1 bare LF', Buffer.from(`PROXY TCP4 1.2.3.4 1.2.3.4 1 2\n${'x'.repeat(V1_MAX)}`)],
    ['v1 no CRLF in 107 bytes', Buffer.from(`PROXY TCP4 ${'9'.repeat(V1_MAX)}`)],
    ['v2 bad signature', Buffer.from('0d0a0d0a000d0a515549540b21110000', 'hex')],
    ['v2 version 1', v2(0x11, 0x11, Buffer.alloc(12))],
    ['v2 command 2', v2(0x22, 0x11, Buffer.alloc(12))],
    ['v2 family 4', v2(0x21, 0x41, Buffer.alloc(12))],
    ['v2 UDP', v2(0x21, 0x12, Buffer.alloc(12))],
    ['v2 IPv4 block short', v2(0x21, 0x11, Buffer.alloc(11))],
    ['v2 IPv6 block short', v2(0x21, 0x21, Buffer.alloc(35))],
    ['TLS ClientHello', Buffer.from('16030100c8010000c40303', 'hex')],
  ];
  for (const [name, buf] of table) t.equal(parseProxyHeader(buf).state, 'invalid', name);
});

t.test('send_proxy headers parse back to the same ends', async (t) => {
  const table: [ReturnType<typeof ends>, ReturnType<typeof ends>][] = [
    [ends('203.0.113.1', 1234, '192.0.2.1', 443), ends('203.0.113.1', 1234, '192.0.2.1', 443)],
    [ends('2001:db8::1', 1, '2001:db8::2', 65535), ends('2001:db8::1', 1, '2001:db8::2', 65535)],
    [ends('203.0.113.1', 5, '::1', 6), ends('203.0.113.1', 5, '::1', 6)],   // mixed: v4 sent as mapped v6, read back as v4
  ];
  for (const version of ['v1', 'v2'] as const) {
    for (const [input, want] of table) {
      const h = proxyHeader(version, input);
      const r = parseProxyHeader(h);
      t.same(r, { state: 'ok', version: version === 'v1' ? 1 : 2, length: h.length, ends: want }, `${version} ${input.source.address}`);
    }
    const unknown = parseProxyHeader(proxyHeader(version, ends('', 0, '', 0)));
    t.same(unknown.state === 'ok' && unknown.ends, undefined, `${version}: unknown addresses fall back to the connection's`);
  }
  t.equal(proxyHeader('v1', ends('203.0.113.1', 1234, '192.0.2.1', 443)).toString(), 'PROXY TCP4 203.0.113.1 192.0.2.1 1234 443\r\n');
  t.equal(ipv6Bytes('::ffff:1.2.3.4').toString('hex'), '00000000000000000000ffff01020304');
  t.equal(ipv6Bytes('fe80::1%eth0').toString('hex'), 'fe800000000000000000000000000001');
});
