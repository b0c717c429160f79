/** The documentation's relative links lead somewhere: every linked file exists and every #anchor names a heading of its page. */

import t from 'tap';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { anchors, docPages, links, read, ROOT } from './markdown.js';

const pages = [...docPages(), 'BENCHMARKS.md', 'bench/README.md'];

for (const page of pages) {
  t.test(page, async (t) => {
    const found = links(read(page)).filter((l) => !/^[a-z][a-z0-9+.-]*:/i.test(l.target));   // http:, https:, mailto: are not checked
    for (const { target, line } of found) {
      const [file = '', anchor] = target.split('#', 2);
      const dest = file ? path.join(path.dirname(path.join(ROOT, page)), file) : path.join(ROOT, page);
      const rel = path.relative(ROOT, dest);
      if (!t.ok(existsSync(dest) && !rel.startsWith('..'), `${page}:${line} ${target}: ${rel} exists in the repository`)) continue;
      if (anchor === undefined) continue;
      t.ok(statSync(dest).isFile() && dest.endsWith('.md') && anchors(read(rel)).has(anchor), `${page}:${line} ${target}: #${anchor} is a heading of ${rel}`);
    }
  });
}

t.test('no page names a file outside the repository or a tracker item', async (t) => {
  for (const page of pages) {
    const text = read(page);
    t.notMatch(text, /\b(SPEC|NOTES|STYLE)\.md\b/, `${page} names no planning document from outside the repository`);
    t.notMatch(text, /\bissue[- ]?\d|\bthe issue'?s?\b|\bhabit \d/i, `${page} names no issue or habit`);
  }
});

t.test('the link and anchor readers', async (t) => {
  const md = '# A `b` (c: d | e)\n## Same\n## Same\n```sh\n# not a heading [x](nope.md)\n```\nsee [x](y.md#z) and `[no](code.md)`\n';
  t.same([...anchors(md)], ['a-b-c-d--e', 'same', 'same-1']);
  t.same(links(md), [{ target: 'y.md#z', line: 7 }]);
});
