/** The wslb command line's own answers: version, mistyped commands and options (exit 2, usage), the start line with version and config path. */

import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { farmYaml } from '../helpers/balancer.js';
import { runCli, startCli } from '../helpers/cli.js';
import { closest, editDistance } from '../../src/suggest.js';

const pkg = JSON.parse(fs.readFileSync('package.json', 'utf8')) as { version: string };

t.test('--version and -V print the package version, exit 0', async (t) => {
  for (const flag of ['--version', '-V']) {
    const r = await runCli([flag]);
    t.equal(r.code, 0, flag);
    t.equal(r.stdout, `${pkg.version}\n`, flag);
    t.equal(r.stderr, '', flag);
  }
});

t.test('a mistyped command is named, with the closest one, exit 2', async (t) => {
  const r = await runCli(['chek']);
  t.equal(r.code, 2);
  t.match(r.stderr, "unknown command 'chek'");
  t.match(r.stderr, "did you mean 'check'?");
  t.notMatch(r.stderr, 'too many arguments');
  const far = await runCli(['frobnicate']);
  t.equal(far.code, 2);
  t.match(far.stderr, "unknown command 'frobnicate'");
  t.notMatch(far.stderr, 'did you mean', 'no suggestion when nothing is close');
  t.match(far.stderr, 'run, check, demo');
  const file = await runCli(['balancer.yaml']);
  t.equal(file.code, 2);
  t.match(file.stderr, 'wslb -c balancer.yaml', 'a file given as a command: how to pass it');
});

t.test('closest: one typo or a swap away suggests, a different word does not', async (t) => {
  t.equal(editDistance('chek', 'check'), 1);
  t.equal(editDistance('chekc', 'check'), 1, 'a swap is one edit');
  t.equal(closest('chek', ['run', 'check', 'demo']), 'check');
  t.equal(closest('RUN', ['run', 'check', 'demo']), 'run');
  t.equal(closest('dmeo', ['run', 'check', 'demo']), 'demo');
  t.equal(closest('status', ['run', 'check', 'demo']), undefined);
});

t.test('an unknown option is a usage error: exit 2; help exits 0', async (t) => {
  const r = await runCli(['check', '--bogus']);
  t.equal(r.code, 2);
  t.match(r.stderr, "unknown option '--bogus'");
  const help = await runCli(['--help']);
  t.equal(help.code, 0);
  t.match(help.stdout, '-V, --version');
});

t.test('`wslb -c FILE` runs the balancer and logs one start line with version, node, absolute config path and workers', async (t) => {
  const dir = t.testdir({ 'c.yaml': farmYaml({ servers: [{ name: 's1', url: 'ws://127.0.0.1:1' }] }).replace('level: silent', 'level: info') });
  const rel = path.relative(process.cwd(), path.join(dir, 'c.yaml'));
  const cli = startCli(['-c', rel]);
  t.teardown(() => { cli.child.kill('SIGKILL'); });
  const start = await cli.waitFor((l) => l.msg === 'starting');
  t.match(start, { version: pkg.version, node: process.version, config: path.join(dir, 'c.yaml'), workers: 1 });
  await cli.waitFor((l) => l.msg === 'listening' && l.kind === 'proxy');
  t.equal(cli.lines.filter((l) => l.msg === 'starting').length, 1, 'one start line');
  t.equal(cli.lines.findIndex((l) => l.msg === 'starting'), 0, 'it comes first');
  cli.child.kill('SIGTERM');
  t.equal(await cli.exited, 0);
});

t.test('workers: 2: the primary logs the start line once (workers do not)', async (t) => {
  const yaml = farmYaml({ servers: [{ name: 's1', url: 'ws://127.0.0.1:1' }] }).replace('level: silent', 'level: info') + 'workers: 2\n';
  const dir = t.testdir({ 'c.yaml': yaml });
  const cli = startCli(['run', '-c', path.join(dir, 'c.yaml')]);
  t.teardown(() => { cli.child.kill('SIGKILL'); });
  const start = await cli.waitFor((l) => l.msg === 'starting');
  t.equal(start.workers, 2);
  await cli.waitFor((l) => l.msg === 'listening' && l.kind === 'admin', 15_000);
  t.equal(cli.lines.filter((l) => l.msg === 'starting').length, 1);
  cli.child.kill('SIGTERM');
  t.equal(await cli.exited, 0);
});
