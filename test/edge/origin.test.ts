/** Origin normalisation and the allowlist decision, as tables (the config normalises `origins` the same way). */

import t from 'tap';
import type { IncomingMessage } from 'node:http';
import { loadConfigText } from '../../src/config/load.js';
import { normalizeOrigin, originAllowed } from '../../src/edge/origin.js';

t.test('normalizeOrigin', async (t) => {
  const table: [string, string | null][] = [
    ['https://app.example.com', 'https://app.example.com'],
    ['HTTPS://App.Example.COM', 'https://app.example.com'],
    ['https://app.example.com:443', 'https://app.example.com'],
    ['http://app.example.com:80', 'http://app.example.com'],
    ['http://app.example.com:8080', 'http://app.example.com:8080'],
    ['http://[::1]:3000', 'http://[::1]:3000'],
    ['https://bücher.example', 'https://xn--bcher-kva.example'],
    ['null', null],
    ['', null],
    ['app.example.com', null],
    ['https://app.example.com/', null],
    ['https://app.example.com/x', null],
    ['https://app.example.com?', null],
    ['https://app.example.com#', null],
    ['https://u:p@app.example.com', null],
    ['https://app%2eexample.com', null],
    ['https://app.example.com\\', null],
    [' https://app.example.com', null],
    ['https://app.example.com\x00', null],
    ['https://app.example.com:99999', null],
    ['file:///etc/passwd', null],
    ['data://x', null],
    [`https://${'a'.repeat(3000)}.com`, null],
  ];
  for (const [input, want] of table) t.equal(normalizeOrigin(input), want, JSON.stringify(input));
});

const req = (headers: [string, string][]): IncomingMessage => ({ rawHeaders: headers.flat() }) as unknown as IncomingMessage;

t.test('originAllowed', async (t) => {
  const route = { origins: ['https://app.example.com'], allow_missing_origin: true };
  t.ok(originAllowed(route, req([['Origin', 'https://APP.example.com:443']])));
  t.notOk(originAllowed(route, req([['Origin', 'https://app.example.com.evil.net']])), 'suffix trick');
  t.notOk(originAllowed(route, req([['Origin', 'https://evilapp.example.com']])), 'prefix trick');
  t.notOk(originAllowed(route, req([['origin', 'https://app.example.com'], ['ORIGIN', 'https://app.example.com']])), 'two Origin headers');
  t.ok(originAllowed(route, req([])), 'missing, allowed by default');
  t.notOk(originAllowed({ ...route, allow_missing_origin: false }, req([])), 'missing, refused');
  t.ok(originAllowed({ allow_missing_origin: false }, req([['Origin', 'null']])), 'no allowlist: anything');
});

t.test('the config normalises origins the same way', async (t) => {
  const c = loadConfigText([
    'pools: { p: { servers: [{ url: "ws://127.0.0.1:1" }] } }',
    'routes:',
    '  - pool: p',
    '    origins: ["HTTPS://App.Example.COM:443", "http://localhost:3000"]',
  ].join('\n'), 'b.yaml', {});
  t.same(c.routes[0]!.origins, ['https://app.example.com', 'http://localhost:3000']);
  t.ok(originAllowed(c.routes[0]!, req([['Origin', 'https://app.example.com']])));
});
