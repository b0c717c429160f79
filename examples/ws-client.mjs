#!/usr/bin/env node
// A minimal WebSocket client for trying wslb: prints every message it receives and sends each line typed (or piped) on stdin.
// Usage: node examples/ws-client.mjs [URL]   (default ws://127.0.0.1:8080/; end stdin with Ctrl-D to close cleanly)
// It needs only the `ws` package, which `npm ci` installs as a dependency of wslb.

import { createInterface } from 'node:readline';
import WebSocket from 'ws';

const url = process.argv[2] ?? 'ws://127.0.0.1:8080/';
const ws = new WebSocket(url, { perMessageDeflate: false });
const pending = [];   // lines read before the connection opened

const lines = createInterface({ input: process.stdin, terminal: false });
lines.on('line', (line) => {
  if (ws.readyState === WebSocket.OPEN) ws.send(line);
  else pending.push(line);
});
// End of input: close with 1000 once open; messages the server sent before its close frame still print.
lines.on('close', () => {
  if (ws.readyState === WebSocket.OPEN) ws.close(1000);
  else if (ws.readyState === WebSocket.CONNECTING) ws.once('open', () => ws.close(1000));
});

ws.on('open', () => {
  process.stderr.write(`connected to ${url}\n`);
  for (const line of pending.splice(0)) ws.send(line);
});
ws.on('message', (data, isBinary) => {
  process.stdout.write(isBinary ? `<binary, ${data.length} bytes>\n` : `${data.toString()}\n`);
});
// A refused upgrade (404, 429, 503...) arrives here with its status and wslb's X-Wslb-Error code.
ws.on('unexpected-response', (req, res) => {
  process.stderr.write(`refused: HTTP ${res.statusCode} ${res.headers['x-wslb-error'] ?? ''}\n`);
  process.exitCode = 1;
  req.destroy();
  process.stdin.destroy();
});
ws.on('error', (err) => {
  process.stderr.write(`error: ${err.message}\n`);
  process.exitCode = 1;
  lines.close();
});
ws.on('close', (code, reason) => {
  process.stderr.write(`closed: ${code}${reason.length ? ` ${reason.toString()}` : ''}\n`);
  if (code !== 1000 && code !== 1005) process.exitCode ??= 1;
  lines.close();
  process.stdin.destroy();   // stdin would keep the process alive after the server closed
});
