/** Test helper for the per-IP table's tests: limits with test defaults, and a stand-in socket. */

import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import type { Limits } from '../../src/config/types.js';

/** Limits with generous values for what the table does not read; `over` sets what a test is about. */
export const testLimits = (over: Partial<Limits> = {}): Limits => ({
  max_connections: 1000, max_connections_per_ip: 100, handshakes_per_ip: 1,
  max_header_bytes: 16384, max_message_bytes: 1 << 20, max_buffered_bytes: 1 << 20, stall: 30_000,
  messages_per_second: 0, bytes_per_second: 0, ...over,
});

/** A stand-in socket: only 'close' matters to the table. */
export const fakeSocket = (): Socket & EventEmitter => new EventEmitter() as unknown as Socket & EventEmitter;
