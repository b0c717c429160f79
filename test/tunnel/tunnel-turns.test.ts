/** Read turns on real sockets: a server pushing flat out is read a bounded amount per event-loop turn, heavy tunnels are resumed a few per turn, and no byte is lost or reordered by the pauses. */

import type net from 'node:net';
import t from 'tap';
import { FrameScanner } from '../../src/tunnel/frame-scanner.js';
import { overTurn, TURN_BUDGET, TURN_BYTES, TURN_QUOTA, turnStats, waitIfSpent, waiting, type Reader } from '../../src/tunnel/turns.js';
import { rawClient, startRawBackend, startRelay, type Hop } from './relay.js';
import { waitFor } from '../helpers/wait.js';

const KiB = 1024;
const READ = 64 * KiB;                   // one socket read, at most
const MESSAGES = 160;                    // 10 MiB per tunnel
const BUSY_MS = 2;

const FRAME = ((): Buffer => {
  const f = Buffer.alloc(10 + 64 * KiB, 0x5a);
  f[0] = 0x82;
  f[1] = 127;
  f.writeBigUInt64BE(BigInt(64 * KiB), 2);
  return f;
})();

/**
 * Writes MESSAGES 64 KiB frames as fast as the socket takes them. The backend lives in the
 * test's own process: it writes all the kernel takes in its turn, so the relay's next poll
 * finds megabytes to read on that socket, as it does on a balancer busy with many tunnels.
 */
function pushFlatOut(s: net.Socket): void {
  let sent = 0;
  const push = (): void => {
    while (sent < MESSAGES && !s.destroyed) {
      sent++;
      if (!s.write(FRAME)) return;
    }
  };
  s.on('drain', push);
  push();
}

/**
 * Samples, once per loop turn (check phase, after the poll that did the reads), how many
 * bytes each hop's upstream socket read in that turn; stops when `done()`. Each sample also
 * holds the loop for BUSY_MS, as a loaded balancer would: the server's bytes pile up in the
 * kernel meanwhile, so every poll finds far more to read than one turn should take.
 */
function perTurn(hops: () => Hop[], done: () => boolean): Promise<{ turns: number; maxOne: number }> {
  return new Promise((resolve) => {
    const last = new Map<net.Socket, number>();
    let turns = 0;
    let maxOne = 0;
    const tick = (): void => {
      for (const h of hops()) {
        const now = h.upstream.bytesRead;
        maxOne = Math.max(maxOne, now - (last.get(h.upstream) ?? now));
        last.set(h.upstream, now);
      }
      turns++;
      const until = performance.now() + BUSY_MS;
      while (performance.now() < until);
      if (done() || turns > 200_000) resolve({ turns, maxOne });
      else setImmediate(tick);
    };
    setImmediate(tick);
  });
}

/** A raw client that reads everything and counts whole messages. */
async function reader(port: number): Promise<{ sock: net.Socket; scanner: FrameScanner }> {
  const { sock, rest } = await rawClient(port);
  const scanner = new FrameScanner(Infinity);
  scanner.scan(rest);
  sock.on('data', (d: Buffer) => scanner.scan(d));
  sock.resume();
  return { sock, scanner };
}

t.test('a server pushing flat out is read at most ~2 x TURN_BYTES + two reads per loop turn; every message arrives', async (t) => {
  const backend = await startRawBackend((s) => pushFlatOut(s));
  const relay = await startRelay({ backendPort: backend.port, maxBufferedBytes: 4 * 1024 * KiB, finTimeout: 200 });
  t.teardown(async () => { await relay.stop(); await backend.stop(); });
  const yields = turnStats.yields;
  const c = await reader(relay.port);
  await relay.hop(0);
  // The first turn of a direction may count bytes from earlier turns: 2 x TURN_BYTES, plus the
  // read that crosses the line and the one already under way when the source pauses.
  const bound = 2 * TURN_BYTES + 2 * READ;
  const s = await perTurn(() => relay.hops, () => c.scanner.messages === MESSAGES);
  t.equal(c.scanner.messages, MESSAGES, 'every message arrived');
  t.ok(c.scanner.atBoundary, 'and ended at a frame boundary (nothing lost or reordered)');
  t.ok(turnStats.yields > yields, `the direction yielded (${turnStats.yields - yields} times)`);
  t.ok(s.maxOne <= bound, `at most ${bound} bytes read from the server in one turn (max ${s.maxOne} over ${s.turns} turns)`);
  t.equal(relay.server.messagesOut, MESSAGES);
  c.sock.destroy();
  await relay.idle();
});

interface FakeReader extends Reader { log: string[] }
const fakeReader = (name: string, log: string[]): FakeReader => {
  const src = { destroyed: false, pause: () => { log.push(`pause ${name}`); }, resume: () => { log.push(`resume ${name}`); } };
  return { src: src as unknown as net.Socket, paused: false, yielded: false, throttled: false, taken: 0, turn: 0, log };
};
const nextTurn = (): Promise<void> => new Promise((r) => setImmediate(r));

/** What a direction does per chunk (tunnel.ts): count, and past TURN_BYTES ask for the turn. */
function forward(r: Reader, n: number): void {
  if ((r.taken += n) >= TURN_BYTES) overTurn(r);
}

t.test('turns: a direction past TURN_BYTES twice in one turn yields; at most TURN_QUOTA resume per turn, oldest first', async (t) => {
  await nextTurn();                                     // a turn of its own: nothing counted yet
  const log: string[] = [];
  const free = TURN_BUDGET / TURN_BYTES;                // first crossings the budget takes without a yield
  const n = free + 3;
  t.ok(n > TURN_QUOTA, 'enough readers to need two turns of resumes');
  const readers = Array.from({ length: n }, (_, i) => fakeReader(`r${i}`, log));
  for (const r of readers.slice(0, free)) forward(r, TURN_BYTES);   // first crossing in this turn: a new count
  t.same(log, [], 'one crossing each, within the budget: nobody yields');
  for (const r of readers.slice(0, free)) forward(r, TURN_BYTES);   // second crossing in the same turn
  t.same(log, readers.slice(0, free).map((_, i) => `pause r${i}`), 'second crossing: each paused its source');
  for (const r of readers.slice(free)) forward(r, TURN_BYTES);      // the budget is spent: a first crossing yields too
  t.equal(log.length, n, 'past the budget: the others yield at their first crossing');
  t.ok(readers.every((r) => r.yielded));
  t.equal(waiting(), n);
  log.length = 0;
  await nextTurn();
  t.same(log, readers.slice(0, TURN_QUOTA).map((_, i) => `resume r${i}`), `the ${TURN_QUOTA} oldest resumed at the end of the turn`);
  t.equal(waiting(), n - TURN_QUOTA);
  log.length = 0;
  await nextTurn();
  t.same(log, readers.slice(TURN_QUOTA, 2 * TURN_QUOTA).map((_, i) => `resume r${TURN_QUOTA + i}`), 'the next ones at the next turn');
  while (waiting() > 0) await nextTurn();

  // A resumed direction starts its count in its new turn: TURN_BYTES more within that turn yields
  // again; one resumed a turn earlier only starts a new count.
  await nextTurn();
  const last = readers[n - 1]!;
  forward(last, TURN_BYTES);                            // a new count in this turn
  forward(last, TURN_BYTES);                            // and past it again: yields
  await nextTurn();                                     // resumed at the end of that turn
  log.length = 0;
  forward(last, TURN_BYTES);
  forward(readers[0]!, TURN_BYTES);
  t.same(log, [`pause r${n - 1}`], 'past TURN_BYTES in the turn it was resumed in: yields; the other starts a new count');
  await nextTurn();
  t.same(log, [`pause r${n - 1}`, `resume r${n - 1}`]);
});

t.test('turns: a direction whose destination drains while the budget is spent waits for its turn', async (t) => {
  await nextTurn();
  const log: string[] = [];
  const drained = fakeReader('drained', log);
  t.equal(waitIfSpent(drained), false, 'budget left: it resumes at once (the caller resumes it)');
  const heavy = Array.from({ length: TURN_BUDGET / TURN_BYTES + 1 }, (_, i) => fakeReader(`h${i}`, log));
  for (const r of heavy) forward(r, TURN_BYTES);        // the last one spends the budget
  t.equal(waitIfSpent(drained), true, 'budget spent: it waits in the queue');
  t.ok(drained.yielded);
  t.equal(waitIfSpent(drained), false, 'queued once');
  while (waiting() > 0) await nextTurn();
  t.ok(log.includes('resume drained'), 'and resumes at its turn');
  t.notOk(log.includes('pause drained'), 'its source was already paused: not paused again');
});

t.test('turns: once TURN_BUDGET is counted in a turn, a direction yields at its first crossing; the next turn starts a new budget', async (t) => {
  await nextTurn();                                     // a turn of its own: nothing counted yet
  const log: string[] = [];
  const free = TURN_BUDGET / TURN_BYTES;                // crossings the budget allows without a yield
  const readers = Array.from({ length: free + 5 }, (_, i) => fakeReader(`b${i}`, log));
  for (const r of readers) forward(r, TURN_BYTES);      // servers that all start pushing in the same turn
  t.equal(log.length, 5, `the first ${free} crossings start a count; the 5 past the budget yield at once`);
  t.same(log, readers.slice(free).map((_, i) => `pause b${free + i}`), 'in the order they crossed');
  t.ok(readers.slice(0, free).every((r) => !r.yielded) && readers.slice(free).every((r) => r.yielded));
  while (waiting() > 0) await nextTurn();               // the 5 resume at their turns; each turn's budget is new
  log.length = 0;
  const fresh = fakeReader('fresh', log);
  forward(fresh, TURN_BYTES);
  t.same(log, [], 'a new turn: a first crossing starts a count again');
  await nextTurn();
});

t.test('turns: a steady stream that needs several turns to reach TURN_BYTES never yields', async (t) => {
  const log: string[] = [];
  const r = fakeReader('slow', log);
  for (let i = 0; i < 20; i++) {
    forward(r, TURN_BYTES / 2 + 1);                    // crosses TURN_BYTES every other turn
    await nextTurn();
  }
  t.same(log, [], 'never paused');
  t.equal(r.yielded, false);
});

t.test('turns: a direction paused for backpressure is left to drain, not resumed by its turn', async (t) => {
  const log: string[] = [];
  const r = fakeReader('full', log);
  forward(r, TURN_BYTES);
  forward(r, TURN_BYTES);
  r.paused = true;                                      // its destination filled up meanwhile
  await nextTurn();
  t.same(log, ['pause full'], 'not resumed');
  t.equal(r.yielded, false, 'no longer waiting for a turn: drain resumes it');
});

t.test('a yielded direction that hits backpressure waits for drain, not for its turn', async (t) => {
  const backend = await startRawBackend((s) => pushFlatOut(s));
  const relay = await startRelay({ backendPort: backend.port, maxBufferedBytes: 256 * KiB, finTimeout: 200 });
  t.teardown(async () => { await relay.stop(); await backend.stop(); });
  const { sock, rest } = await rawClient(relay.port);     // paused: reads nothing yet
  const hop = await relay.hop(0);
  await waitFor(t, () => hop.tunnel.backpressured, { ms: 10_000, what: 'the client buffer reached the bound' });
  await waitFor(t, () => waiting() === 0, { what: 'no tunnel waiting for its turn' });
  t.ok(hop.upstream.isPaused(), 'reading from the server stays paused after the turns went by');
  const scanner = new FrameScanner(Infinity);
  scanner.scan(rest);
  sock.on('data', (d: Buffer) => scanner.scan(d));
  sock.resume();
  await waitFor(t, () => scanner.messages === MESSAGES, { ms: 20_000, what: () => `all messages delivered after the reader resumed (${scanner.messages})` });
  sock.destroy();
  await relay.idle();
});
