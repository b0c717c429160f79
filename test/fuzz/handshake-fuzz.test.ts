/** Handshake mutation fuzzing: 2,400 mutated variants of a valid upgrade; no crash, no 101 for an invalid request, every connection answered or closed within 1 s, no descriptor leak. */

import t from 'tap';
import net from 'node:net';
import { startBackend } from '../helpers/backend.js';
import { startBalancer } from '../helpers/balancer.js';
import { waitFor } from '../helpers/wait.js';
import { echo, openFds, openWs } from '../helpers/hardening.js';
import { upgradeRequest, wsKey } from '../helpers/raw-client.js';
import { MUTATORS, MUTATOR_NAMES, prng, validUpgrade } from './mutate.js';

const VARIANTS = 2400;
const IN_FLIGHT = 48;
// The handshake timeout is 400 ms; the rest is slack for a loaded machine (the bound is that every
// connection ends, answered or closed, not that it ends fast).
const ANSWER_MS = 2500;
const SEED = Number(process.env.WSLB_FUZZ_SEED ?? 0x5eed);

interface Outcome { status: number; ms: number; answered: boolean }

/** Sends `bytes`; resolves at the first complete response head, or when the balancer closes, or after ANSWER_MS + slack. */
function send(port: number, bytes: Buffer): Promise<Outcome> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const s = net.connect(port, '127.0.0.1');
    let got = '';
    let done = false;
    const finish = (answered: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.destroy();
      const m = /^HTTP\/1\.1 (\d{3})/.exec(got);
      resolve({ status: m ? Number(m[1]) : 0, ms: performance.now() - t0, answered });
    };
    const timer = setTimeout(() => finish(false), ANSWER_MS + 2000);
    s.on('error', () => finish(true));
    s.on('data', (c: Buffer) => { got += c.toString('latin1'); if (got.includes('\r\n\r\n')) finish(true); });
    s.on('close', () => finish(true));
    s.on('connect', () => s.write(bytes));
  });
}

t.test('handshake mutation fuzzing', async (t) => {
  const backend = await startBackend({ name: 'b1' });
  t.teardown(() => backend.close());
  // A short handshake timeout so a truncated head is answered (408) well within the bound.
  const b = await startBalancer(t, { servers: [{ name: 'b1', url: backend.url }], timeouts: { handshake: '400ms' } });
  const port = b.proxyPort();
  (await openWs(`ws://127.0.0.1:${port}/`)).close();
  await waitFor(t, () => b.runtime.tunnels.size === 0, { what: 'the warm-up tunnel is gone before counting descriptors' });
  const fdsBefore = openFds();

  const rnd = prng(SEED);
  const variants: { bytes: Buffer; ops: string[] }[] = [];
  for (let i = 0; i < VARIANTS; i++) {
    let bytes: Buffer = Buffer.from(upgradeRequest('/fuzz', [], wsKey()), 'latin1');
    const ops: string[] = [];
    for (let k = 1 + Math.floor(rnd() * 3); k > 0; k--) {
      const op = MUTATOR_NAMES[Math.floor(rnd() * MUTATOR_NAMES.length)]!;
      ops.push(op);
      bytes = MUTATORS[op]!(bytes, rnd);
    }
    variants.push({ bytes, ops });
  }

  const bad: string[] = [];
  const slow: string[] = [];
  const statuses = new Map<number, number>();
  let upgraded = 0;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < variants.length) {
      const v = variants[next++]!;
      const o = await send(port, v.bytes);
      statuses.set(o.status, (statuses.get(o.status) ?? 0) + 1);
      if (o.status === 101) {
        upgraded++;
        if (!validUpgrade(v.bytes)) bad.push(`${v.ops.join('+')} (${v.bytes.length} bytes): ${JSON.stringify(v.bytes.toString('latin1').slice(0, 300))}`);
      }
      if (process.env.WSLB_FUZZ_DEBUG && o.status === 0) t.comment(`closed unanswered: ${v.ops.join('+')} ${JSON.stringify(v.bytes.toString('latin1').slice(0, 120))}`);
      if (!o.answered || o.ms > ANSWER_MS) slow.push(`${v.ops.join('+')} (${Math.round(o.ms)} ms, status ${o.status})`);
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));

  t.same(bad, [], 'no 101 for a request the strict oracle calls invalid');
  t.same(slow.slice(0, 10), [], `every connection answered or closed within ${ANSWER_MS} ms (${slow.length} were not)`);
  t.ok(upgraded > 0, `${upgraded} still-valid variants were upgraded`);
  t.comment(`seed ${SEED}; statuses: ${JSON.stringify(Object.fromEntries([...statuses].sort((a, z) => a[0] - z[0])))}`);

  const ws = await openWs(`ws://127.0.0.1:${port}/`);
  t.equal(await echo(ws, 'alive'), 'alive', 'the balancer survived');
  ws.close();
  await waitFor(t, () => b.runtime.tunnels.size === 0 && openFds() <= fdsBefore + 4, {
    ms: 10_000, what: () => `descriptors back to ${openFds()} (before: ${fdsBefore}); tunnels left: ${b.runtime.tunnels.size}`,
  });
});
