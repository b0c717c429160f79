// Shutdown over HTTP/2: tunnels get their 1001 close frames first, then each session its GOAWAY; idle sessions are closed; new streams while draining get 503.
import t from 'tap';
import { once } from 'node:events';
import { h2Farm } from './farm.js';
import { closeCodeOf, connectWs, echoOver, h2Session } from './client.js';
import { waitFor } from '../helpers/wait.js';

t.test('close(): 1001 on the open tunnel, then GOAWAY; an idle session gets its GOAWAY at once', async (t) => {
  const { b, caPem } = await h2Farm(t, 1);
  const busy = await h2Session(t, b.proxyPort(), caPem);
  const idle = await h2Session(t, b.proxyPort(), caPem);
  const tunnel = await connectWs(busy, '/');
  t.equal(await echoOver(tunnel, 'before'), 'before');
  const order: string[] = [];
  let idleGoaway = false;
  busy.on('goaway', () => order.push('goaway'));
  idle.on('goaway', () => { idleGoaway = true; });
  const closing = b.close(300);
  await waitFor(t, () => idleGoaway, { what: 'the idle session got its GOAWAY' });
  const f = await tunnel.next();
  order.push(`close ${closeCodeOf(f)}`);
  tunnel.stream.end();   // the client's side of the closing handshake
  await closing;
  await waitFor(t, () => busy.closed || busy.destroyed, { what: 'the busy session closed' });
  t.same(order, ['close 1001', 'goaway'], 'the busy session\'s GOAWAY only after its tunnel\'s close frame');
  await waitFor(t, () => b.runtime.http2.sessions === 0, { what: 'no session left' });
});

t.test('while draining, a new stream on an open session is answered 503', async (t) => {
  const { b, caPem } = await h2Farm(t, 1);
  const session = await h2Session(t, b.proxyPort(), caPem);
  const keep = await connectWs(session, '/');
  b.runtime.draining = true;
  const late = await connectWs(session, '/');
  t.same([late.status, late.headers['x-wslb-error']], [503, 'WSLB_ERR_DRAINING']);
  b.runtime.draining = false;
  t.equal(await echoOver(keep, 'kept'), 'kept');
});

t.test('a session with no stream open is closed after timeouts.handshake', async (t) => {
  // 1 s: the session is idle between its connect and its first stream, which a stalled machine can stretch past a short timeout.
  const { b, caPem } = await h2Farm(t, 1, { timeouts: { handshake: '1s' } });
  const session = await h2Session(t, b.proxyPort(), caPem);
  const tunnel = await connectWs(session, '/');
  t.equal(await echoOver(tunnel, 'x'), 'x');
  const goaway = once(session, 'goaway');
  await new Promise((r) => setTimeout(r, 1500));   // past the idle time
  t.notOk(session.closed || session.destroyed, 'a session with a tunnel open stays, idle or not');
  tunnel.stream.close();
  await goaway;
  t.pass('GOAWAY once its last stream was gone for the idle time');
});

t.test('a long-lived session re-arms its idle check per stream without piling up listeners', async (t) => {
  const { b, caPem } = await h2Farm(t, 1);
  const session = await h2Session(t, b.proxyPort(), caPem);
  const warnings: string[] = [];
  const onWarning = (w: Error): void => { warnings.push(w.name); };
  process.on('warning', onWarning);
  t.teardown(() => { process.off('warning', onWarning); });
  for (let i = 0; i < 15; i++) {
    const x = await connectWs(session, '/');
    t.equal(await echoOver(x, `s${i}`), `s${i}`);
    const closed = once(x.stream, 'close');
    x.stream.close();
    await closed;
    await new Promise((r) => setTimeout(r, 20));
  }
  await new Promise((r) => setImmediate(r));
  t.same(warnings.filter((w) => w === 'MaxListenersExceededWarning'), [], 'no listener leak warning');
});
