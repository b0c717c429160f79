/** deploy/kubernetes/ comments tell the truth about how a pod stops: no preStop hook claimed where none exists, and the HPA's scale-in note names the shutdown the config sets. */

import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { readManifests } from './k8s.js';

const DIR = 'deploy/kubernetes';
const all = readManifests(DIR);
const containers = all.filter((m) => m.kind === 'Deployment').flatMap((m) => m.doc.spec.template.spec.containers as Record<string, any>[]);
const hasPreStop = containers.some((c) => c.lifecycle?.preStop);

/** The comment lines of a manifest file, without their `#`. */
function comments(file: string): string[] {
  return fs.readFileSync(path.join(DIR, file), 'utf8').split('\n').filter((l) => /^\s*#/.test(l)).map((l) => l.replace(/^\s*#\s?/, ''));
}

t.test('no comment relies on a preStop hook the Deployment does not have', async (t) => {
  if (hasPreStop) return t.pass('a container has a preStop hook');
  const files = fs.readdirSync(DIR).filter((n) => /\.ya?ml$/.test(n));
  t.ok(files.length > 0, `manifests read from ${DIR}`);   // an empty listing would let the loop below pass with nothing checked
  for (const file of files) {
    const text = comments(file).join(' ');
    for (const m of text.matchAll(/[^.;:]*\bpreStop\b[^.;:]*/g)) t.match(m[0], /\bno preStop\b/, `${file}: "${m[0].trim()}" says there is none`);
  }
});

t.test('the HPA\'s scale-in note names the shutdown wslb does: shutdown_grace (readiness 503) then the drain', async (t) => {
  const text = comments('hpa.yaml').join(' ');
  t.match(text, /timeouts\.shutdown_grace/);
  t.match(text, /503/);
  t.match(text, /timeouts\.drain/);
});
