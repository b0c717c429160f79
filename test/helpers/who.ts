/** Test helper: open a WebSocket through the balancer and name the backend that took it (the one whose handshake count grew). */

import { once } from 'node:events';
import WebSocket from 'ws';

export interface Named { readonly name: string; readonly handshakes: number | readonly unknown[] }

const count = (b: Named) => (typeof b.handshakes === 'number' ? b.handshakes : b.handshakes.length);

/** Sequential use only: two connects in flight at once could not be told apart. */
export async function connectWho(port: number, path: string, backends: readonly Named[], headers: Record<string, string> = {}): Promise<[WebSocket, string]> {
  const before = backends.map(count);
  const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, { perMessageDeflate: false, headers });
  await once(ws, 'open');
  const i = backends.findIndex((b, j) => count(b) > before[j]!);
  return [ws, backends[i]?.name ?? '?'];
}

export async function closeAll(sockets: readonly WebSocket[]): Promise<void> {
  await Promise.all(sockets.map(async (ws) => {
    if (ws.readyState === WebSocket.CLOSED) return;
    const closed = once(ws, 'close');
    ws.close();
    await closed;
  }));
}
