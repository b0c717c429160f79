// ${VAR} / ${VAR:-default} substitution: string rules, re-typing of plain scalars, and located errors.
import t from 'tap';
import { interpolateString } from '../../src/config/interpolate.js';
import { loadConfigText } from '../../src/config/load.js';
import { ConfigError, type ConfigIssue } from '../../src/config/types.js';

function issues(text: string, env: Record<string, string> = {}): readonly ConfigIssue[] {
  try {
    loadConfigText(text, 'b.yaml', env);
  } catch (e) {
    if (e instanceof ConfigError) return e.issues;
    throw e;
  }
  return [];
}

t.test('string rules', async (t) => {
  const env = { A: 'a', EMPTY: '' };
  t.same(interpolateString('x${A}y', env), { value: 'xay', errors: [] });
  t.same(interpolateString('${B:-dflt}', env), { value: 'dflt', errors: [] });
  t.same(interpolateString('${EMPTY:-dflt}', env), { value: 'dflt', errors: [] }, ':- applies to empty, like the shell');
  t.same(interpolateString('${EMPTY}', env), { value: '', errors: [] });
  t.same(interpolateString('${B:-}', env), { value: '', errors: [] });
  t.same(interpolateString('${B:-a:b/c}', env), { value: 'a:b/c', errors: [] });
  t.same(interpolateString('$${A} and $A', env), { value: '${A} and $A', errors: [] }, '$${ escapes; bare $ is left');
  t.match(interpolateString('${B}', env).errors, [/B is not set/]);
  t.match(interpolateString('${B} ${C}', env).errors, [/B is not set/, /C is not set/]);
  t.match(interpolateString('${1X}', env).errors, [/invalid variable name "1X"/]);
  t.match(interpolateString('oops ${A', env).errors, [/unterminated/]);
});

t.test('applied to values, re-typing plain scalars but not quoted ones', async (t) => {
  const c = loadConfigText(
    [
      'listeners:',
      '  - port: ${PORT}',
      '    host: "${HOST:-127.0.0.1}"',
      '    proxy_protocol: ${PP:-false}',
      'admin:',
      '  token: ${TOKEN}',
      '  port: ${ADMIN_PORT:-9091}',
    ].join('\n'),
    'b.yaml',
    { PORT: '8443', TOKEN: '12345' },
  );
  t.equal(c.listeners[0]!.port, 8443);
  t.equal(c.listeners[0]!.host, '127.0.0.1');
  t.equal(c.listeners[0]!.proxy_protocol, false);
  t.equal(c.admin.token, '12345', 'a numeric token stays a string');
  t.equal(c.admin.port, 9091);
});

t.test('a quoted ${...} stays a string', async (t) => {
  // A quoted value stays a string, so the schema refuses it for a port: quoting is the user's choice.
  const got = issues('admin:\n  port: "${P:-9091}"\n');
  t.match(got, [{ line: 2, col: 9, path: 'admin.port', message: /expected number/ }]);
});

t.test('a missing variable is an error at the scalar, and its schema errors are not added', async (t) => {
  const got = issues('listeners:\n  - port: ${PORT}\nadmin:\n  token: "x-${TOKEN}"\n');
  t.equal(got.length, 2);
  t.match(got[0], { file: 'b.yaml', line: 2, col: 11, path: 'listeners[0].port', message: /PORT is not set/ });
  t.match(got[1], { line: 4, col: 10, path: 'admin.token', message: /TOKEN is not set/ });
});

t.test('keys and comments are not interpolated; the env defaults to process.env', async (t) => {
  process.env['WSLB_TEST_TOKEN'] = 'from-process';
  try {
    const c = loadConfigText('# ${NOT_A_VAR}\nadmin:\n  token: ${WSLB_TEST_TOKEN}\n', 'b.yaml');
    t.equal(c.admin.token, 'from-process');
  } finally {
    delete process.env['WSLB_TEST_TOKEN'];
  }
});
