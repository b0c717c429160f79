/** node http-proxy 1.18 as a bench:compare peer: round robin over the farm, WebSocket upgrades only. Prints {"msg":"listening","port":N}. */
// Usage: node dist/bench/compare/http-proxy-main.js PORT,PORT,PORT

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import httpProxy from 'http-proxy';

const targets = (process.argv[2] ?? '').split(',').filter(Boolean).map((p) => `ws://127.0.0.1:${p}`);
if (targets.length === 0) throw new Error('usage: http-proxy-main PORT[,PORT...]');
const proxy = httpProxy.createProxyServer({ ws: true });
proxy.on('error', (_err, _req, res) => { (res as { destroy?: () => void }).destroy?.(); });
let next = 0;
const server = http.createServer((_req, res) => { res.writeHead(426); res.end(); });
server.on('upgrade', (req, socket, head) => {
  socket.on('error', () => socket.destroy());
  proxy.ws(req, socket, head, { target: targets[next++ % targets.length] });
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ msg: 'listening', port: (server.address() as AddressInfo).port }) + '\n');
});
process.on('SIGTERM', () => process.exit(0));
