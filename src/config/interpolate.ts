/** `${VAR}` / `${VAR:-default}` substitution from an env object, applied per string scalar of a parsed YAML document. */
import { isAlias, isMap, isPair, isScalar, isSeq, type Document, type Node, Scalar } from 'yaml';

export type Env = Readonly<Record<string, string | undefined>>;
export type YamlPath = readonly (string | number)[];

/** A substitution that could not be done, at the scalar's start offset in the source text. */
export interface InterpolationIssue {
  readonly path: YamlPath;
  readonly offset: number;
  readonly message: string;
}

// `$${` is the escape for a literal `${`; it is matched first so its `${` is never expanded.
const TOKEN_RE = /\$\$\{|\$\{([^}]*)\}|\$\{/g;
const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Replaces every `${VAR}` and `${VAR:-default}` in `s`.
 * Like the shell, `:-` also applies when VAR is set but empty. Returns the new string and
 * the problems found (all of them, so one scalar with two missing variables says so once).
 */
export function interpolateString(s: string, env: Env): { value: string; errors: string[] } {
  const errors: string[] = [];
  const value = s.replace(TOKEN_RE, (whole: string, body: string | undefined) => {
    if (whole === '$${') return '${';
    if (body === undefined) {
      errors.push('unterminated "${": close it with "}" (write "$${" for a literal "${")');
      return whole;
    }
    const sep = body.indexOf(':-');
    const name = sep === -1 ? body : body.slice(0, sep);
    if (!NAME_RE.test(name)) {
      errors.push(`invalid variable name "${name}" in "${whole}"`);
      return whole;
    }
    const v = env[name];
    if (sep !== -1) return v === undefined || v === '' ? body.slice(sep + 2) : v;
    if (v === undefined) {
      errors.push(`environment variable ${name} is not set (give a default with \${${name}:-default})`);
      return whole;
    }
    return v;
  });
  return { value, errors };
}

/**
 * Interpolates every string scalar value of `doc` in place (mapping keys are left alone).
 * Done on the parsed document rather than the raw text so substituted values can never
 * change the YAML structure, and every node keeps its source range for error locations.
 * A plain (unquoted) scalar that contained `${` is re-typed afterwards, so
 * `port: ${PORT:-8080}` gives the number 8080 as `port: 8080` would.
 */
export function interpolateDocument(doc: Document, env: Env): InterpolationIssue[] {
  const issues: InterpolationIssue[] = [];
  const seen = new Set<Node>();
  const walk = (node: unknown, path: YamlPath): void => {
    if (isAlias(node) || !node || seen.has(node as Node)) return; // an anchor's node is visited where it is defined
    seen.add(node as Node);
    if (isMap(node)) {
      for (const pair of node.items) {
        if (!isPair(pair)) continue;
        const key = isScalar(pair.key) ? pair.key.value : pair.key;
        walk(pair.value, [...path, String(key)]);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => walk(item, [...path, i]));
    } else if (isScalar(node) && typeof node.value === 'string' && node.value.includes('${')) {
      const { value, errors } = interpolateString(node.value, env);
      for (const message of errors) issues.push({ path, offset: node.range?.[0] ?? 0, message });
      node.value = node.type === Scalar.PLAIN ? retype(value) : value;
    }
  };
  walk(doc.contents, []);
  return issues;
}

/** The YAML 1.2 core-schema reading of a plain scalar, limited to numbers and booleans. */
function retype(s: string): string | number | boolean {
  if (/^[-+]?(\d+\.\d*|\.\d+|\d+)([eE][-+]?\d+)?$/.test(s)) return Number(s);
  if (s === 'true' || s === 'True' || s === 'TRUE') return true;
  if (s === 'false' || s === 'False' || s === 'FALSE') return false;
  return s;
}
