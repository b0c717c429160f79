/** Test helper: a GET /events reader that collects the Server-Sent Events (event name + parsed JSON data) as they arrive. */

import http from 'node:http';

export interface Event { event: string; data: Record<string, unknown> }

export function stream(port: number): { events: Event[]; req: http.ClientRequest; headers: Promise<http.IncomingHttpHeaders> } {
  const events: Event[] = [];
  const req = http.get({ host: '127.0.0.1', port, path: '/events', agent: false });
  const headers = new Promise<http.IncomingHttpHeaders>((resolve) => {
    req.on('response', (res) => {
      resolve(res.headers);
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buf += chunk;
        let i: number;
        while ((i = buf.indexOf('\n\n')) !== -1) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event && data) events.push({ event, data: JSON.parse(data) as Record<string, unknown> });
        }
      });
      res.on('error', () => {});
    });
  });
  req.on('error', () => {});
  return { events, req, headers };
}
