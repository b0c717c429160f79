/**
 * Connections node:cluster's round-robin primary handed to a worker that died before taking
 * them: without this they stay open in the primary forever (a descriptor each, a client hanging
 * until its own timeout).
 *
 * How node:cluster (SCHED_RR, Node 20) hands a connection over: the primary accepts it, sends
 * the raw handle to one free worker with `{ cmd: 'NODE_CLUSTER', act: 'newconn', seq }` and
 * closes its own copy only when that worker answers `{ ack: seq, accepted }`. A worker killed
 * with a handle in flight never answers; Node neither closes the handle nor hands it to another
 * worker (its callback waits forever). Its ChildProcess does not even emit 'disconnect' then
 * (the channel's disconnect waits for the handle's NODE_HANDLE_ACK), so this guard waits for
 * the process's 'close': after 'exit' and after the channel's end was read, so every answer
 * the worker sent has been seen. It watches the hand-offs on the worker's process object and
 * gives each unanswered handle to `orphan`.
 */

import type { Worker } from 'node:cluster';

/** A handle as node:cluster passes it: the primary's accepted TCP socket (libuv's TCPWrap). */
export interface RawHandle { close(cb?: () => void): void }

type Send = (message: unknown, handle?: unknown, ...rest: unknown[]) => boolean;

function newconnSeq(m: unknown): number | null {
  if (typeof m !== 'object' || m === null) return null;
  const o = m as { cmd?: unknown; act?: unknown; seq?: unknown };
  return o.cmd === 'NODE_CLUSTER' && o.act === 'newconn' && typeof o.seq === 'number' ? o.seq : null;
}

function ackSeq(m: unknown): number | null {
  if (typeof m !== 'object' || m === null) return null;
  const o = m as { cmd?: unknown; ack?: unknown };
  return o.cmd === 'NODE_CLUSTER' && typeof o.ack === 'number' ? o.ack : null;
}

/** Watches `worker`'s hand-offs from now on; `orphan` gets each handle it never answered for, after its channel closed. */
export function guardHandoffs(worker: Worker, orphan: (handle: RawHandle) => void): void {
  const proc = worker.process as unknown as { send: Send; on(ev: 'internalMessage', f: (m: unknown) => void): void; once(ev: 'close', f: () => void): void };
  const inFlight = new Map<number, RawHandle>();
  let gone = false;
  const send = proc.send.bind(proc);
  proc.send = (message, handle, ...rest) => {
    const seq = handle ? newconnSeq(message) : null;
    if (seq === null) return send(message, handle, ...rest);
    // Handed to a worker already known gone: Node would drop it (or queue it forever).
    if (gone) { orphan(handle as RawHandle); return false; }
    inFlight.set(seq, handle as RawHandle);
    return send(message, handle, ...rest);
  };
  // Registered after node:cluster's own listener: by the time this runs, Node has closed or re-queued the handle.
  proc.on('internalMessage', (m) => {
    const seq = ackSeq(m);
    if (seq !== null) inFlight.delete(seq);
  });
  proc.once('close', () => {
    gone = true;
    for (const h of inFlight.values()) orphan(h);
    inFlight.clear();
  });
}
