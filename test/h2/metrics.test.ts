// What arrived over HTTP/2 shows in /metrics (wslb_http2_*) and /status (http2), and also in the usual per-server series.
import t from 'tap';
import { once } from 'node:events';
import type { IncomingHttpHeaders } from 'node:http2';
import { h2Farm } from './farm.js';
import { connectWs, echoOver, h2Session } from './client.js';
import { waitFor } from '../helpers/wait.js';

const metricValue = (text: string, line: string): number => {
  const m = new RegExp(`^${line.replace(/[{}"]/g, (c) => `\\${c}`)} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
};

t.test('one tunnel and one exchange over h2: counted apart, and in wslb_connections_total too', async (t) => {
  const { b, caPem } = await h2Farm(t, 1, { route: { http: true } });
  const session = await h2Session(t, b.proxyPort(), caPem);
  const tunnel = await connectWs(session, '/ws');
  t.equal(await echoOver(tunnel, 'counted'), 'counted');
  const req = session.request({ ':path': '/plain', ':authority': 'localhost' }, { endStream: true });
  const [h] = await once(req, 'response') as [IncomingHttpHeaders];
  t.equal(h[':status'], 200);
  req.resume();
  await once(req, 'end');
  await waitFor(t, () => b.runtime.http2.exchanges === 0, { what: 'the exchange ended' });

  const base = `http://127.0.0.1:${b.adminPort()}`;
  const text = await (await fetch(`${base}/metrics`)).text();
  t.equal(metricValue(text, 'wslb_http2_sessions_active'), 1);
  t.equal(metricValue(text, 'wslb_http2_sessions_total'), 1);
  t.equal(metricValue(text, 'wslb_http2_tunnels_active'), 1);
  t.equal(metricValue(text, 'wslb_http2_tunnels_total'), 1);
  t.equal(metricValue(text, 'wslb_http2_exchanges_active'), 0);
  t.equal(metricValue(text, 'wslb_http2_exchanges_total'), 1);
  t.equal(metricValue(text, 'wslb_connections_total{route="r",pool="p",server="e-1"}'), 2, 'the usual series count both');
  const status = await (await fetch(`${base}/status`)).json() as { http2: Record<string, number>; connections: number };
  t.same(status.http2, { sessions: 1, sessions_total: 1, tunnels: 1, tunnels_total: 1, exchanges: 0, exchanges_total: 1 });
  t.equal(status.connections, 1);
});
