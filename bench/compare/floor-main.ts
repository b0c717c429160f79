/** Reference: Node's floor, not a product. The least a Node proxy can do per WebSocket, as a bench:compare target (`floor-l7`, `floor-l4`). Prints {"msg":"listening","port":N}. */
// Usage: node dist/bench/compare/floor-main.js l7|l4 PORT[,PORT...]
//
// l7: an http.Server whose 'upgrade' event connects to a server (round robin), writes the request
//     head as received (method, url, version, rawHeaders) and any `head` bytes, then pipes both ways.
//     No validation, no routing, no timers: what any Node WebSocket proxy pays before its own work.
// l4: net.createServer + net.connect + pipe, no HTTP parsing at all.
// Both end the other side when one side closes or fails, so nothing leaks between runs.

import http from 'node:http';
import net from 'node:net';

const mode = process.argv[2];
const ports = (process.argv[3] ?? '').split(',').filter(Boolean).map(Number);
if ((mode !== 'l7' && mode !== 'l4') || ports.length === 0) throw new Error('usage: floor-main l7|l4 PORT[,PORT...]');
let next = 0;

/** Pipes a and b both ways (FIN follows FIN through pipe's end()); either closing or failing destroys the other. */
function join(a: net.Socket, b: net.Socket): void {
  const kill = (): void => { a.destroy(); b.destroy(); };
  a.on('error', kill);
  b.on('error', kill);
  a.on('close', () => b.destroy());
  b.on('close', () => a.destroy());
  a.pipe(b);
  b.pipe(a);
}

function upstream(): net.Socket {
  return net.connect(ports[next++ % ports.length]!, '127.0.0.1');
}

let server: net.Server;
if (mode === 'l7') {
  const s = http.createServer((_req, res) => { res.writeHead(426); res.end(); });
  s.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    const up = upstream();
    let text = `${req.method} ${req.url} HTTP/${req.httpVersion}\r\n`;
    const raw = req.rawHeaders;
    for (let i = 0; i < raw.length; i += 2) text += `${raw[i]}: ${raw[i + 1]}\r\n`;
    text += '\r\n';
    up.write(head.length ? Buffer.concat([Buffer.from(text, 'latin1'), head]) : Buffer.from(text, 'latin1'));
    join(socket, up);
  });
  server = s;
} else {
  server = net.createServer((c) => join(c, upstream()));
}
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ msg: 'listening', port: (server.address() as net.AddressInfo).port }) + '\n');
});
process.on('SIGTERM', () => process.exit(0));
