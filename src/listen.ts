/** Binds a server to host:port and answers the real address (port 0 gives an ephemeral one); rejects on bind errors such as EADDRINUSE. */

import { once } from 'node:events';
import type net from 'node:net';

export async function listenTcp(server: net.Server, port: number, host: string): Promise<{ address: string; port: number }> {
  server.listen(port, host);
  await once(server, 'listening');
  const a = server.address();
  if (a === null || typeof a === 'string') throw new Error(`listener on ${host}:${port} has no TCP address`);
  return { address: a.address, port: a.port };
}
