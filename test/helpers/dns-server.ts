/** Test helper: a minimal authoritative DNS server on 127.0.0.1 (UDP, port 0) answering A/AAAA from a mutable table. */

import dgram from 'node:dgram';
import { once } from 'node:events';
import net from 'node:net';

export interface DnsServer {
  readonly port: number;
  /** name -> addresses (IPv4 for A, IPv6 for AAAA); change it at any time. */
  readonly records: Map<string, string[]>;
  queries: number;
  close(): Promise<void>;
}

export async function startDnsServer(): Promise<DnsServer> {
  const sock = dgram.createSocket('udp4');
  const records = new Map<string, string[]>();
  const server: DnsServer = {
    port: 0, records, queries: 0,
    close: () => new Promise((r) => sock.close(() => r())),
  };
  sock.on('message', (msg, rinfo) => {
    server.queries++;
    const reply = answer(msg, records);
    if (reply) sock.send(reply, rinfo.port, rinfo.address);
  });
  sock.bind(0, '127.0.0.1');
  await once(sock, 'listening');
  (server as { port: number }).port = sock.address().port;
  return server;
}

/** Parses one question (RFC 1035 4.1) and answers it; NXDOMAIN for unknown names. */
function answer(msg: Buffer, records: Map<string, string[]>): Buffer | null {
  if (msg.length < 12) return null;
  let off = 12;
  const labels: string[] = [];
  while (off < msg.length && msg[off] !== 0) {
    const len = msg[off]!;
    labels.push(msg.subarray(off + 1, off + 1 + len).toString());
    off += 1 + len;
  }
  const qEnd = off + 5;   // zero byte, QTYPE, QCLASS
  if (qEnd > msg.length) return null;
  const qtype = msg.readUInt16BE(off + 1);
  const name = labels.join('.').toLowerCase();
  const known = records.has(name);
  const addrs = (records.get(name) ?? []).filter((a) => (qtype === 1 ? net.isIPv4(a) : qtype === 28 ? net.isIPv6(a) : false));
  const header = Buffer.alloc(12);
  msg.copy(header, 0, 0, 2);                       // id
  header.writeUInt16BE(0x8400 | (known ? 0 : 3), 2); // response, authoritative, rcode
  header.writeUInt16BE(1, 4);                      // one question
  header.writeUInt16BE(addrs.length, 6);
  const question = msg.subarray(12, qEnd);
  const answers = addrs.map((a) => {
    const rdata = qtype === 1 ? Buffer.from(a.split('.').map(Number)) : ipv6Bytes(a);
    const rr = Buffer.alloc(12);
    rr.writeUInt16BE(0xc00c, 0);   // pointer to the question name
    rr.writeUInt16BE(qtype, 2);
    rr.writeUInt16BE(1, 4);        // IN
    rr.writeUInt32BE(1, 6);        // TTL 1 s
    rr.writeUInt16BE(rdata.length, 10);
    return Buffer.concat([rr, rdata]);
  });
  return Buffer.concat([header, question, ...answers]);
}

function ipv6Bytes(a: string): Buffer {
  const [head, tail = ''] = a.split('::');
  const h = head ? head.split(':') : [];
  const tl = tail ? tail.split(':') : [];
  const groups = [...h, ...Array(8 - h.length - tl.length).fill('0'), ...tl];
  const b = Buffer.alloc(16);
  groups.forEach((g, i) => b.writeUInt16BE(parseInt(g, 16), i * 2));
  return b;
}
