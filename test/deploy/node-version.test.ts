/** One Node major everywhere: the image's FROM lines, package.json `engines`, the lockfile, @types/node and the Node running the tests. */

import t from 'tap';
import fs from 'node:fs';
import { readDockerfile } from './dockerfile.js';

const pkg = JSON.parse(fs.readFileSync('package.json', 'utf8')) as { engines?: { node?: string }; devDependencies?: Record<string, string> };
const lock = JSON.parse(fs.readFileSync('package-lock.json', 'utf8')) as { packages: Record<string, { engines?: { node?: string } }> };

/** The major of a `node:<major>[...]` image, or null for any other image. */
function imageMajor(from: string): number | null {
  const m = /^(?:docker\.io\/(?:library\/)?)?node:(\d+)\b/.exec(from);
  return m ? Number(m[1]) : null;
}

t.test('every stage of the image is built FROM the same node major', async (t) => {
  const froms = readDockerfile().map((s) => s.from);
  t.ok(froms.length >= 1, 'the Dockerfile has stages');
  for (const from of froms) t.not(imageMajor(from), null, `FROM ${from} is a node:<major> image`);
  t.equal(new Set(froms.map(imageMajor)).size, 1, `one major in ${froms.join(', ')}`);
});

t.test('the image ships the oldest major package.json supports, and the tests run on it', async (t) => {
  const range = pkg.engines?.node ?? '';
  const min = /^>=\s*(\d+)(?:\.0)*$/.exec(range);
  t.ok(min, `engines.node is ">=<major>" (found "${range}")`);
  if (!min) return;
  const image = imageMajor(readDockerfile()[0]!.from);
  const running = Number(process.versions.node.split('.')[0]);
  // What CI and development run is what is tested; the image must run that, and the range must start there.
  t.equal(image, Number(min[1]), `the image's node major is the first one engines.node (${range}) accepts`);
  t.equal(running, image, `the tests run on node ${process.versions.node}, the image's major`);
  t.equal(lock.packages['']?.engines?.node, range, 'package-lock.json records the same engines (npm install after editing engines)');
  const types = /^[~^]?(\d+)\./.exec(pkg.devDependencies?.['@types/node'] ?? '');
  t.equal(types ? Number(types[1]) : null, image, '@types/node describes the same major (no API the image lacks type-checks)');
});
