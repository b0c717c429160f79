/** Test helper: validates Kubernetes manifests offline against the API schemas bundled in kubernetes-models, strictly (unknown fields are errors). */

import fs from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';

export interface Manifest { file: string; kind: string; name: string; doc: Record<string, any> }

/** Every YAML document of every .yaml file in `dir`, with its file for messages. */
export function readManifests(dir: string): Manifest[] {
  const out: Manifest[] = [];
  for (const f of fs.readdirSync(dir).filter((n) => /\.ya?ml$/.test(n)).sort()) {
    const file = path.join(dir, f);
    for (const d of parseAllDocuments(fs.readFileSync(file, 'utf8'))) {
      if (d.errors.length) throw new Error(`${file}: ${d.errors[0]!.message}`);
      const doc = d.toJS() as Record<string, any> | null;
      if (doc) out.push({ file, kind: String(doc.kind), name: String(doc.metadata?.name), doc });
    }
  }
  return out;
}

type Validate = ((data: unknown) => boolean) & { errors?: { instancePath: string; message?: string; params?: unknown }[] | null };

/** `apps/v1` + `Deployment` -> the schema module name kubernetes-models generates (IoK8sApiAppsV1Deployment). */
function schemaName(apiVersion: string, kind: string): string {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') as [string, string] : ['core', apiVersion];
  const cap = (s: string) => s[0]!.toUpperCase() + s.slice(1);
  return `IoK8sApi${cap(group.split('.')[0]!)}${cap(version)}${kind}`;
}

/**
 * Problems with one manifest: the model's own `validate()` (types, enums, required fields), then
 * fields the schema does not know. The API server drops or refuses an unknown field (a typo such as
 * `readinesProbe` silently removes the probe), but the schemas allow extra properties; the compiled
 * validator reads every property it knows, so a property it never read is one the API lacks.
 */
export async function validateManifest(m: Manifest): Promise<string[]> {
  const where = `${path.basename(m.file)} ${m.kind}/${m.name}`;
  const apiVersion = String(m.doc.apiVersion);
  let Model: new (data: unknown) => { validate(): void };
  let schema: Validate;
  try {
    Model = ((await import(`kubernetes-models/${apiVersion}`)) as Record<string, typeof Model>)[m.kind]!;
    schema = ((await import(`kubernetes-models/_schemas/${schemaName(apiVersion, m.kind)}`)) as { validate: Validate }).validate;
    if (!Model || !schema) throw new Error('no such kind');
  } catch {
    return [`${where}: unknown apiVersion/kind ${apiVersion} ${m.kind}`];
  }
  try {
    new Model(m.doc).validate();
  } catch (err) {
    return [`${where}: ${(err as Error).message}`];
  }
  const reads = new Map<string, { node: object; seen: Set<string> }>();
  if (!schema(record(m.doc, '', reads))) return [`${where}: ${JSON.stringify(schema.errors)}`];
  const unknown: string[] = [];
  for (const [at, { node, seen }] of reads) {
    for (const key of Object.keys(node)) if (!seen.has(key)) unknown.push(`${where}: unknown field ${at}/${key}`);
  }
  return unknown;
}

/** Wraps `node` so every property read (at any depth) is recorded per object; one proxy per object, however often it is read. */
function record(node: unknown, at: string, reads: Map<string, { node: object; seen: Set<string> }>, proxies = new WeakMap<object, object>()): unknown {
  if (node === null || typeof node !== 'object') return node;
  const known = proxies.get(node);
  if (known) return known;
  const seen = new Set<string>();
  reads.set(at, { node, seen });
  const proxy = new Proxy(node, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver) as unknown;
      if (typeof key !== 'string' || !Object.hasOwn(target, key)) return value;
      seen.add(key);
      return record(value, `${at}/${key}`, reads, proxies);
    },
  });
  proxies.set(node, proxy);
  return proxy;
}

/** The container port a probe or Service names (by name or number), or null. */
export function containerPort(container: Record<string, any>, port: string | number): number | null {
  const ports = (container.ports ?? []) as { name?: string; containerPort: number }[];
  const hit = typeof port === 'number' ? ports.find((p) => p.containerPort === port) : ports.find((p) => p.name === port);
  return hit ? hit.containerPort : null;
}
