/** limits.messages_per_second through a real balancer: a burst of N + k gets exactly N to the server (plus the tokens refilled meanwhile) then 1008 at a frame boundary; fragments once; pings not counted but bounded; 0 = off; a route's own value; a reload applies to new tunnels. */

import t, { type Test } from 'tap';
import { startBalancer, startBalancerFromFile } from '../helpers/balancer.js';
import { startEchoBackend, type EchoBackend } from '../helpers/backend-ws.js';
import { closeCodeOf, frame, OP, RawWs } from '../helpers/ws-frames.js';
import { stillFalseAfter, waitFor } from '../helpers/wait.js';
import { MIN_CONTROL_RATE } from '../../src/tunnel/rate-limit.js';
import type { Balancer } from '../../src/main.js';

async function backend(t: Test): Promise<EchoBackend> {
  const b = await startEchoBackend({ name: 'b1' });
  t.teardown(() => b.close());
  return b;
}

const texts = (n: number, tag = 'm'): Buffer[] => Array.from({ length: n }, (_, i) => frame(OP.TEXT, `${tag}${i}`));

async function open(t: Test, b: Balancer, path = '/'): Promise<RawWs> {
  const ws = await RawWs.open(b.proxyPort(0), path);
  t.teardown(() => ws.socket.destroy());
  return ws;
}

/** Waits for the balancer's close frame and returns its code. */
async function closedWith(t: Test, ws: RawWs): Promise<number | undefined> {
  await waitFor(t, () => ws.close !== undefined, { what: 'a close frame reached the client' });
  return ws.close ? closeCodeOf(ws.close) : undefined;
}

/**
 * The tokens a bucket of `perSecond` can have refilled since `started` (taken before the tunnel
 * opened, so at least its age): the bucket refills against wall time, and a loaded machine can
 * stretch the time between the 101 and the burst past a token's worth. 0 when the test runs fast.
 */
const refilledSince = (started: number, perSecond: number): number => Math.floor(((performance.now() - started) / 1000) * perSecond);

/** The first n messages `${tag}0`, `${tag}1`, ... in order, with least <= n <= most. */
function firstOf(got: string[], tag: string, least: number, most: number): boolean {
  return got.length >= least && got.length <= most && got.every((m, i) => m === `${tag}${i}`);
}

// Rates stay low (2-3/s), and each check allows the tokens refilled over the time it measured.
t.test('a burst of N + k messages: exactly N reach the server (plus what refilled meanwhile), then close 1008 at the boundary', async (t) => {
  const be = await backend(t);
  const b = await startBalancer(t, { servers: [{ name: 'b1', url: be.url }], limits: { messages_per_second: 3 } });
  const started = performance.now();
  const ws = await open(t, b);
  ws.write(Buffer.concat(texts(3 + 12)));
  t.equal(await closedWith(t, ws), 1008, 'policy violation');
  const refilled = refilledSince(started, 3);
  const got = be.received.map(String);
  t.ok(firstOf(got, 'm', 3, 3 + refilled), `the server got the first 3${refilled ? ` and at most ${refilled} refilled` : ''}: ${got.join(',')}`);
  // The client's side closes at once (its direction is at a boundary): echoes still on their way are dropped.
  t.ok(ws.frames.indexOf(ws.close!) === ws.frames.length - 1, 'nothing after the close frame');
  t.equal(String(ws.close!.payload.subarray(2)), 'message rate', 'the close reason');
  await waitFor(t, () => ws.closed, { what: 'the connection closed' });
});

t.test('a fragmented message counts once', async (t) => {
  const be = await backend(t);
  const b = await startBalancer(t, { servers: [{ name: 'b1', url: be.url }], limits: { messages_per_second: 2 } });
  const started = performance.now();
  const ws = await open(t, b);
  const fragmented = (s: string): Buffer => Buffer.concat([
    frame(OP.TEXT, s.slice(0, 2), { fin: false }), frame(OP.CONT, s.slice(2, 4), { fin: false }), frame(OP.CONT, s.slice(4), { fin: true }),
  ]);
  ws.write(Buffer.concat([fragmented('aaaaaa'), fragmented('bbbbbb')]));
  await waitFor(t, () => be.received.length === 2, { what: 'two 3-fragment messages through a limit of 2' });
  t.ok(await stillFalseAfter(() => ws.close !== undefined, 200), 'six frames, two messages: no close');
  // Past the two tokens: as many more messages as can have refilled (2/s) plus some, so the bucket runs dry.
  ws.write(Buffer.concat(Array.from({ length: 10 }, () => fragmented('cccccc'))));
  t.equal(await closedWith(t, ws), 1008);
  const refilled = refilledSince(started, 2);
  const got = be.received.map(String);
  t.same(got.slice(0, 2), ['aaaaaa', 'bbbbbb']);
  t.ok(got.length <= 2 + refilled, `no message past the bucket reached the server (${got.length - 2} more, ${refilled} refilled)`);
});

t.test('pings are not counted as messages, but a ping flood is closed 1008', async (t) => {
  const be = await backend(t);
  const b = await startBalancer(t, { servers: [{ name: 'b1', url: be.url }], limits: { messages_per_second: 2 } });
  const started = performance.now();
  const ws = await open(t, b);
  // MIN_CONTROL_RATE pings interleaved with 2 messages: all through (2 message tokens, 10 ping tokens).
  const mixed: Buffer[] = [];
  for (let i = 0; i < MIN_CONTROL_RATE; i++) {
    mixed.push(frame(OP.PING, `p${i}`));
    if (i % 5 === 0) mixed.push(frame(OP.TEXT, `m${i}`));
  }
  ws.write(Buffer.concat(mixed));
  await waitFor(t, () => ws.of(OP.PONG).length === MIN_CONTROL_RATE && ws.of(OP.TEXT).length === 2, { what: '10 pongs and 2 echoes' });
  t.equal(ws.close, undefined, 'not closed');
  // The ping bucket refills MIN_CONTROL_RATE a second: a flood well past what can have refilled runs it dry.
  ws.write(Buffer.concat(Array.from({ length: 50 }, (_, i) => frame(OP.PING, `flood${i}`))));
  t.equal(await closedWith(t, ws), 1008, 'the ping bucket ran dry');
  const refilled = refilledSince(started, MIN_CONTROL_RATE);
  const pongs = ws.of(OP.PONG).length;
  t.ok(pongs >= MIN_CONTROL_RATE && pongs <= MIN_CONTROL_RATE + refilled, `no flood ping past the bucket reached the server (${pongs - MIN_CONTROL_RATE} did, ${refilled} refilled)`);
});

t.test('0 is off: a burst of 300 goes through', async (t) => {
  const be = await backend(t);
  const b = await startBalancer(t, { servers: [{ name: 'b1', url: be.url }], limits: { messages_per_second: 0 } });
  const ws = await open(t, b);
  ws.write(Buffer.concat([...texts(300), ...Array.from({ length: 50 }, () => frame(OP.PING))]));
  await waitFor(t, () => ws.of(OP.TEXT).length === 300 && ws.of(OP.PONG).length === 50, { what: '300 echoes and 50 pongs' });
  t.equal(ws.close, undefined);
});

t.test("a route's own messages_per_second replaces the global one", async (t) => {
  const be = await backend(t);
  const b = await startBalancer(t, {
    servers: [{ name: 'b1', url: be.url }],
    limits: { messages_per_second: 1000 },
    route: { limits: { messages_per_second: 2 } },
  });
  const started = performance.now();
  const ws = await open(t, b);
  ws.write(Buffer.concat(texts(2 + 10)));
  t.equal(await closedWith(t, ws), 1008);
  const refilled = refilledSince(started, 2);
  t.ok(firstOf(be.received.map(String), 'm', 2, 2 + refilled), `the route's 2, not the global 1000 (${be.received.length}, ${refilled} refilled)`);
});

t.test('a header cut by the read at the limit: the cut frame sends nothing, the close is clean', async (t) => {
  const be = await backend(t);
  // 1/s: the cut header must find the bucket empty, which a token refilled before it arrived would undo;
  // at 1/s that takes a whole second of stall.
  const b = await startBalancer(t, { servers: [{ name: 'b1', url: be.url }], limits: { messages_per_second: 1 } });
  const ws = await open(t, b);
  const second = frame(OP.BINARY, Buffer.alloc(200, 7));
  ws.write(Buffer.concat([...texts(1), second.subarray(0, 1)]));
  t.equal(await closedWith(t, ws), 1008);
  ws.write(second.subarray(1));
  await waitFor(t, () => ws.closed, { what: 'closed' });
  t.equal(be.received.length, 1);
});

t.test('reload: new tunnels get the new rate, open ones keep theirs', async (t) => {
  const be = await backend(t);
  const spec = { servers: [{ name: 'b1', url: be.url }], limits: { messages_per_second: 0 } as Record<string, number> };
  const { b, write } = await startBalancerFromFile(t, spec);
  const before = await open(t, b);
  write({ ...spec, limits: { messages_per_second: 2 } });
  await b.reload();
  const after = await open(t, b);
  after.write(Buffer.concat(texts(6, 'new')));
  before.write(Buffer.concat(texts(6, 'old')));
  t.equal(await closedWith(t, after), 1008, 'the tunnel opened after the reload is limited');
  await waitFor(t, () => before.of(OP.TEXT).length === 6, { what: 'the tunnel opened before it is not' });
  t.equal(before.close, undefined);
});
