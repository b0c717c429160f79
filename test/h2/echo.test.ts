// WebSockets over HTTP/2 (RFC 8441) end to end: extended CONNECT through a TLS listener with http2: true, frames both ways.
import t from 'tap';
import { h2Farm } from './farm.js';
import { closeCodeOf, closePayload, clientFrame, connectWs, echoOver, h2Session } from './client.js';
import { waitFor } from '../helpers/wait.js';

t.test('echo over one extended CONNECT stream; the server was reached over HTTP/1.1 with a key of ours', async (t) => {
  const { b, backends, caPem } = await h2Farm(t, 1);
  const session = await h2Session(t, b.proxyPort(), caPem);
  t.equal(session.alpnProtocol, 'h2');
  const tunnel = await connectWs(session, '/chat?room=1', { 'sec-websocket-protocol': 'chat', origin: 'https://app.example.com' });
  t.equal(tunnel.status, 200);
  t.equal(await echoOver(tunnel, 'hello over h2'), 'hello over h2');
  const seen = backends[0]!.handshakes[0]!;
  t.match(seen['sec-websocket-key'], /^[A-Za-z0-9+/]{22}==$/);
  t.equal(seen['host'], 'localhost');
  t.equal(seen['x-forwarded-proto'], 'wss');
  t.equal(seen['origin'], 'https://app.example.com');
  t.notOk(Object.keys(seen).some((k) => k.startsWith(':')), 'no pseudo-header reached the server');
  t.equal(b.runtime.http2.tunnels, 1);
  t.equal(b.runtime.http2.tunnelsTotal, 1);

  // Close handshake: the client's close frame reaches the server, whose answer comes back; then both ends end.
  const reply = tunnel.next();
  tunnel.stream.write(clientFrame(8, closePayload(1000, 'bye')));
  t.equal(closeCodeOf(await reply), 1000, 'the server echoed the close');
  tunnel.stream.end();
  await waitFor(t, () => b.runtime.tunnels.size === 0 && b.runtime.http2.tunnels === 0, { what: 'the tunnel closed' });
  t.equal(b.runtime.tunnels.size, 0);
});
