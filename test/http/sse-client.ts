/** Test helper: a minimal EventSource over node:http (one connection each), recording arrival times and how the stream ended. */

import http, { type ClientRequest, type IncomingMessage } from 'node:http';

export interface SseEvent {
  readonly id: string | undefined;
  readonly data: string;
  readonly at: number;
}

export interface SseClient {
  readonly req: ClientRequest;
  readonly res: IncomingMessage;
  readonly events: SseEvent[];
  /** 'clean' when the chunked terminator arrived, 'cut' when the connection died mid-stream. */
  readonly ended: Promise<'clean' | 'cut'>;
}

export function openSse(port: number, path: string, headers: Record<string, string> = {}): Promise<SseClient> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent: false, headers: { Accept: 'text/event-stream', ...headers } });
    req.on('error', reject);
    req.on('response', (res) => {
      if (res.statusCode !== 200) { reject(new Error(`status ${res.statusCode}`)); res.resume(); return; }
      const events: SseEvent[] = [];
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        const at = Date.now();
        buf += chunk;
        let i: number;
        while ((i = buf.indexOf('\n\n')) !== -1) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          let id: string | undefined;
          const data: string[] = [];
          for (const line of block.split('\n')) {
            if (line.startsWith('id: ')) id = line.slice(4);
            else if (line.startsWith('data: ')) data.push(line.slice(6));
          }
          if (data.length) events.push({ id, data: data.join('\n'), at });
        }
      });
      const ended = new Promise<'clean' | 'cut'>((r) => {
        res.on('error', () => {});
        res.on('close', () => r(res.complete ? 'clean' : 'cut'));
      });
      resolve({ req, res, events, ended });
    });
  });
}

/** Plain request through the balancer: status, headers and body text. */
export function request(port: number, path: string, opts: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; rawHeaders: string[]; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: opts.method ?? 'GET', agent: false, headers: opts.headers ?? {} }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, rawHeaders: res.rawHeaders, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}
