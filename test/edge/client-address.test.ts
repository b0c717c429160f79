/** CIDR sets, limit keys, and which address is the client: peer, PROXY header, or a believed X-Forwarded-For chain. */

import t from 'tap';
import net from 'node:net';
import type { IncomingMessage } from 'node:http';
import { CidrSet, clientAddress, connectionEnds, limitKey, normalizeAddress, peerAddress, registerConnection } from '../../src/edge/client-address.js';

t.test('CidrSet', async (t) => {
  const s = new CidrSet(['10.0.0.0/8', '192.0.2.7', '2001:db8::/32', '127.0.0.1/32']);
  const table: [string, boolean][] = [
    ['10.1.2.3', true], ['11.0.0.1', false], ['192.0.2.7', true], ['192.0.2.8', false],
    ['::ffff:10.9.9.9', true], ['2001:db8:ffff::1', true], ['2001:db9::1', false],
    ['127.0.0.1', true], ['127.0.0.2', false], ['not-an-ip', false], ['', false],
  ];
  for (const [a, want] of table) t.equal(s.has(a), want, a);
  t.notOk(new CidrSet([]).has('10.0.0.1'), 'empty: nobody');
});

t.test('normalizeAddress and limitKey', async (t) => {
  t.equal(normalizeAddress('::ffff:127.0.0.1'), '127.0.0.1');
  t.equal(normalizeAddress('::1'), '::1');
  t.equal(limitKey('203.0.113.9'), '203.0.113.9');
  t.equal(limitKey('::ffff:203.0.113.9'), '203.0.113.9');
  t.equal(limitKey('2001:db8:a:b:1:2:3:4'), '2001:db8:a:b::/64');
  t.equal(limitKey('2001:0db8:000a:000b::1'), '2001:db8:a:b::/64');
  t.equal(limitKey('2001:db8::1'), '2001:db8:0:0::/64');
  t.equal(limitKey('::1'), '0:0:0:0::/64');
  t.equal(limitKey('64:ff9b::192.0.2.1'), '64:ff9b:0:0::/64');
});

/** A request on a real (unconnected) socket whose peer is faked, with the listener's trust context registered. */
function request(peer: string, xff: string[], trusted: string[]): IncomingMessage {
  const socket = new net.Socket();
  Object.defineProperty(socket, 'remoteAddress', { value: peer });
  registerConnection(socket, new CidrSet(trusted));
  return { socket, rawHeaders: xff.flatMap((v) => ['X-Forwarded-For', v]) } as unknown as IncomingMessage;
}

t.test('X-Forwarded-For is believed only from trusted peers, read right to left', async (t) => {
  const trusted = ['127.0.0.1/32', '10.0.0.0/8'];
  const table: [string, string, string[], string[], string][] = [
    ['untrusted peer: header ignored', '198.51.100.1', ['6.6.6.6'], trusted, '198.51.100.1'],
    ['no trust configured', '127.0.0.1', ['6.6.6.6'], [], '127.0.0.1'],
    ['trusted peer, one hop', '127.0.0.1', ['203.0.113.5'], trusted, '203.0.113.5'],
    ['trusted hops skipped', '127.0.0.1', ['6.6.6.6, 203.0.113.5, 10.0.0.2'], trusted, '203.0.113.5'],
    ['several header lines joined', '127.0.0.1', ['6.6.6.6', '203.0.113.6, 10.0.0.3'], trusted, '203.0.113.6'],
    ['all trusted: the leftmost', '127.0.0.1', ['10.0.0.5, 10.0.0.6'], trusted, '10.0.0.5'],
    ['garbage ends the walk', '127.0.0.1', ['203.0.113.7, unknown, 10.0.0.2'], trusted, '10.0.0.2'],
    ['trusted peer, no header', '127.0.0.1', [], trusted, '127.0.0.1'],
    ['mapped addresses normalised', '::ffff:127.0.0.1', ['::ffff:203.0.113.8'], trusted, '203.0.113.8'],
  ];
  for (const [name, peer, xff, trust, want] of table) t.equal(clientAddress(request(peer, xff, trust)), want, name);
});

t.test('a PROXY header replaces the peer', async (t) => {
  const socket = new net.Socket();
  const ends = { source: { address: '203.0.113.1', port: 5000 }, destination: { address: '192.0.2.1', port: 443 } };
  registerConnection(socket, new CidrSet(['203.0.113.0/24']), ends);
  t.same(connectionEnds(socket), ends);
  t.equal(peerAddress(socket), '203.0.113.1');
  const req = { socket, rawHeaders: ['X-Forwarded-For', '198.51.100.4'] } as unknown as IncomingMessage;
  t.equal(clientAddress(req), '198.51.100.4', 'the PROXY source is itself a trusted proxy: its XFF is believed');
  const plain = new net.Socket();
  t.same(connectionEnds(plain), { source: { address: '', port: 0 }, destination: { address: '', port: 0 } }, 'unregistered, unconnected');
});
