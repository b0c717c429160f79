/**
 * Every ```yaml block of README.md and docs/*.md is a valid configuration: checked as `wslb check`
 * would check it (loader, cross checks, algorithm modules imported), with the files it names present.
 * A block whose info string is `yaml fragment` is merged into a small base config first
 * (check-yaml.ts FRAGMENT_BASE); every other yaml block must stand alone as a whole file.
 */

import t from 'tap';
import { checkYaml } from './check-yaml.js';
import { docPages, fencedBlocks, read } from './markdown.js';

const YAML = new Set(['yaml', 'yml']);

const pages = docPages();
let total = 0;
for (const page of pages) {
  const blocks = fencedBlocks(read(page)).filter((b) => YAML.has(b.info[0] ?? ''));
  total += blocks.length;
  for (const b of blocks) {
    const where = `${page}:${b.line}`;
    t.test(`${where} (${b.info.join(' ')})`, async (t) => {
      const kind = b.info.slice(1);
      t.ok(kind.length === 0 || (kind.length === 1 && kind[0] === 'fragment'),
        `info string is "yaml" (a whole file) or "yaml fragment", got "${b.info.join(' ')}"`);
      const label = `${page.replace(/\//g, '_')}-L${b.line}.yaml`;
      t.same(await checkYaml(b.text, label, { fragment: kind[0] === 'fragment' }), [], `${where} passes wslb check`);
    });
  }
}

t.test('the pages hold yaml examples at all (the extraction found them)', async (t) => {
  t.ok(pages.includes('README.md') && pages.some((p) => p.startsWith('docs/')), `pages: ${pages.join(', ')}`);
  t.ok(total >= 5, `${total} yaml blocks found`);
});

// The checker itself: each of these must be refused, so a broken example cannot pass unnoticed.
t.test('the checker refuses what wslb check refuses', async (t) => {
  const one = (got: string[], re: RegExp, msg = 'the one problem reported') => { t.equal(got.length, 1, got.join('\n')); t.match(got[0], re, msg); };
  one(await checkYaml('pools:\n  p:\n    algorithm: robin\n    servers: [{ url: ws://127.0.0.1:1 }]\n', 'x.yaml'), /^x\.yaml:3:16 pools\.p\.algorithm: unknown algorithm "robin"/);
  one(await checkYaml('routes:\n  - pool: chat\n', 'x.yaml'), /routes\[0\]\.pool: .*chat/, 'a route to an undefined pool, as a whole file');
  t.same(await checkYaml('routes:\n  - pool: chat\n', 'x.yaml', { fragment: true }), [], 'the same lines as a fragment: the base defines chat');
  one(await checkYaml('routes:\n  - pool: nope\n', 'x.yaml', { fragment: true }), /unknown pool "nope"/);
  one(await checkYaml('admin: { token: "${NOT_SET_ANYWHERE}" }\n', 'x.yaml'), /NOT_SET_ANYWHERE is not set .*EXAMPLE_ENV/);
  one(await checkYaml('pools:\n  p:\n    algorithm: { module: ./examples/missing.js }\n    servers: [{ url: ws://127.0.0.1:1 }]\n', 'x.yaml'), /pools\.p\.algorithm\.module: algorithm module not found/);
  one(await checkYaml('pools:\n  p:\n    algorithm: { module: ./package.json }\n    servers: [{ url: ws://127.0.0.1:1 }]\n', 'x.yaml'), /pools\.p\.algorithm\.module: /, 'a module file that exists but does not load as an algorithm (checkModules)');
  t.same(await checkYaml('listeners:\n  - port: 8443\n    tls: { cert: ./tls/server.crt, key: ./tls/server.key }\n', 'x.yaml'),
    ['x.yaml listeners[0].tls.cert: no such file: tls/server.crt', 'x.yaml listeners[0].tls.key: no such file: tls/server.key']);
  one(await checkYaml('- a\n', 'x.yaml', { fragment: true }), /a fragment must be a mapping/);
});
