/** deploy/kubernetes/ checked offline: API schemas (strict), the ConfigMap's config through `wslb check`, and names, ports, probes and timings agreeing across objects. */

import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { loadConfigText } from '../../src/config/load.js';
import type { Config } from '../../src/config/types.js';
import { runCli } from '../helpers/cli.js';
import { containerPort, readManifests, validateManifest, type Manifest } from './k8s.js';
import { configEnv, noLookups, probeLive, type Probe } from './wslb-config.js';
import { nonProductionImports } from './imports.js';

const DIR = 'deploy/kubernetes';
const all = readManifests(DIR);
const of = (kind: string) => all.filter((m) => m.kind === kind);
const labelsMatch = (selector: Record<string, string>, labels: Record<string, string> = {}) =>
  Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);

// The balancer: the Deployment whose container runs the wslb CLI, and the ConfigMap key it reads.
const deployment = of('Deployment').find((m) => m.doc.spec.template.spec.containers.some((c: any) => (c.args ?? c.command ?? []).some((a: string) => a.endsWith('cli.js'))))!;
const pod = deployment.doc.spec.template.spec;
const container = pod.containers.find((c: any) => (c.args ?? c.command).some((a: string) => a.endsWith('cli.js')));
const argv: string[] = container.args ?? container.command;
const configPath = argv[argv.indexOf('-c') + 1]!;
const mount = container.volumeMounts.find((v: any) => configPath.startsWith(`${v.mountPath}/`));
const volume = pod.volumes.find((v: any) => v.name === mount?.name);
const configMap = of('ConfigMap').find((m) => m.name === volume?.configMap?.name);
const key = path.relative(mount.mountPath, configPath);
const text: string = configMap?.doc.data?.[key] ?? '';
const env = configEnv(text);
const config: Config = loadConfigText(text, `${configMap?.name}/${key}`, env);
const timeouts = config.timeouts as { drain: number; shutdown_grace?: number };
const stopMs = (timeouts.shutdown_grace ?? 0) + timeouts.drain;

t.test('every document is a valid Kubernetes object, with no field the API does not know', async (t) => {
  t.ok(all.length >= 6, `documents found: ${all.map((m) => `${m.kind}/${m.name}`).join(', ')}`);
  for (const m of all) t.same(await validateManifest(m), [], `${path.basename(m.file)} ${m.kind}/${m.name}`);
});

t.test('a typo, a wrong type and an unknown kind are each reported with where they are', async (t) => {
  const bad = structuredClone(deployment.doc);
  bad.spec.template.spec.containers[0].readinesProbe = bad.spec.template.spec.containers[0].readinessProbe;
  const typo: Manifest = { ...deployment, doc: bad };
  t.same(await validateManifest(typo), ['deployment.yaml Deployment/wslb: unknown field /spec/template/spec/containers/0/readinesProbe']);
  const wrong = structuredClone(deployment.doc);
  wrong.spec.replicas = 'two';
  t.match((await validateManifest({ ...deployment, doc: wrong }))[0], /^deployment\.yaml Deployment\/wslb: .*spec\/replicas must be integer/);
  t.same(await validateManifest({ ...deployment, kind: 'Deploy', doc: { ...deployment.doc, kind: 'Deploy' } }),
    ['deployment.yaml Deploy/wslb: unknown apiVersion/kind apps/v1 Deploy']);
});

t.test("the Deployment reads its config from a ConfigMap key that exists, and its env gives every ${VAR} the config uses", async (t) => {
  t.ok(deployment, 'a Deployment runs the wslb CLI');
  t.equal(argv[0], 'node');
  t.ok(fs.existsSync(argv[1]!), `${argv[1]} is built into dist/ (the image ships dist/)`);
  t.same(nonProductionImports('.', [argv[1]!]), [], 'what the container runs imports production dependencies only');
  t.equal(argv[2], 'run');
  t.ok(mount, `a volumeMount covers ${configPath}`);
  t.ok(configMap, `the mounted ConfigMap ${volume?.configMap?.name} is in ${DIR}`);
  t.ok(text, `it has the key ${key}`);
  for (const name of Object.keys(env)) t.ok(container.env.some((e: any) => e.name === name), `env ${name} is set on the container`);
});

t.test("the ConfigMap's balancer.yaml passes wslb check, which neither resolves DNS names nor connects to Redis", async (t) => {
  const dir = t.testdir({ [key]: text });
  const r = await runCli(['check', '-c', path.join(dir, key)], env);
  t.equal(r.code, 0, 'wslb check exits 0', { stderr: r.stderr });
  t.match(r.stdout, /^ok: /);
  t.ok(config.pools && Object.values(config.pools).some((p) => p.discover), 'the config uses DNS discovery');
  t.ok(config.cluster?.redis, 'and a Redis');
  await noLookups(t, text, env);
});

t.test('container ports are the listener and admin ports, bound on every address', async (t) => {
  const ports = (container.ports as { containerPort: number }[]).map((p) => p.containerPort).sort();
  t.same(ports, [...config.listeners.map((l) => l.port), config.admin.port].sort(), 'containerPorts = listeners + admin');
  for (const l of config.listeners) t.ok(['0.0.0.0', '::'].includes(l.host), `listener ${l.port} binds ${l.host}: the Service reaches the pod IP`);
  t.ok(['0.0.0.0', '::'].includes(config.admin.host), `admin binds ${config.admin.host}: the kubelet probes the pod IP`);
});

const probes: Probe[] = ['readinessProbe', 'livenessProbe', 'startupProbe'].filter((p) => container[p]).map((p) => ({ name: p, ...container[p].httpGet }));

t.test("workers is the container's CPU limit, not auto (Node 20's availableParallelism counts the node's CPUs)", async (t) => {
  // libuv reads the cgroup CPU quota from 1.49 on (Node 22); Node 20 has libuv 1.46, whose count is the
  // CPU affinity mask: on a 64-core node, `auto` would fork 64 workers into a pod limited to 2 CPUs.
  const limit = String(container.resources?.limits?.cpu ?? '');
  const cpus = limit.endsWith('m') ? Number(limit.slice(0, -1)) / 1000 : Number(limit);
  t.ok(cpus > 0, `the container has a CPU limit (${limit})`);
  t.equal(config.workers, Math.max(1, Math.floor(cpus)), `workers = floor(limits.cpu ${limit})`);
});

t.test('readiness and liveness probes are HTTP GETs of the admin port', async (t) => {
  t.ok(container.readinessProbe && container.livenessProbe, 'both probes are set');
  for (const p of probes) {
    t.ok(p.path, `${p.name} is an httpGet`);
    t.equal(containerPort(container, p.port), config.admin.port, `${p.name} port ${p.port} is the admin port`);
  }
});

t.test('the probe paths answer 200 from the ConfigMap config running on loopback, without a token', async (t) => {
  const answers = await probeLive(t, text, env, probes.map((p) => p.path));
  t.same(answers, probes.map(() => 200), probes.map((p) => `${p.name} ${p.path}`).join(', '));
});

t.test('Services select Deployment pods and target their container ports; the discovered farm is a headless Service', async (t) => {
  const discover = Object.values(config.pools).find((p) => p.discover)?.discover;
  for (const svc of of('Service')) {
    const target = of('Deployment').find((d) => labelsMatch(svc.doc.spec.selector, d.doc.spec.template.metadata.labels));
    if (!target) {
      // The one Service allowed to select pods not shipped here: the farm wslb discovers (the user's servers).
      t.equal(discover?.dns.split('.')[0], svc.name, `Service ${svc.name} selects no Deployment here, so it must be the discovered farm`);
      t.equal(svc.doc.spec.clusterIP, 'None', `${svc.name} is headless: its name resolves to every ready pod`);
      t.ok(svc.doc.spec.ports.some((p: any) => (p.targetPort ?? p.port) === discover?.port), `${svc.name} targets discover.port ${discover?.port}`);
      continue;
    }
    const c = target.doc.spec.template.spec.containers;
    for (const p of svc.doc.spec.ports) {
      const port = p.targetPort ?? p.port;
      t.ok(c.some((x: any) => containerPort(x, port) !== null), `Service ${svc.name} targetPort ${port} is a container port of ${target.name}`);
    }
  }
  const wslbServices = of('Service').filter((s) => labelsMatch(s.doc.spec.selector, deployment.doc.spec.template.metadata.labels));
  t.ok(wslbServices.length >= 1, 'a Service selects the balancer pods');
  if (config.listeners.some((l) => l.proxy_protocol)) {
    const lb = wslbServices.filter((s) => s.doc.spec.type === 'LoadBalancer');
    t.ok(lb.length && lb.every((s) => Object.keys(s.doc.metadata.annotations ?? {}).some((a) => a.includes('proxy-protocol'))),
      'listeners expect PROXY protocol: the LoadBalancer Service asks its NLB for it');
  }
  const redis = new URL(config.cluster!.redis);
  const redisSvc = of('Service').find((s) => s.name === redis.hostname);
  t.ok(redisSvc?.doc.spec.ports.some((p: any) => p.port === Number(redis.port || 6379)), `cluster.redis ${redis.host} is a Service port here`);
});

t.test('each Deployment selects its own pods; the HPA scales the balancer on a CPU request it has', async (t) => {
  for (const d of of('Deployment')) t.ok(labelsMatch(d.doc.spec.selector.matchLabels, d.doc.spec.template.metadata.labels), `${d.name} selector matches its template labels`);
  for (const h of of('HorizontalPodAutoscaler')) {
    const ref = h.doc.spec.scaleTargetRef;
    t.same([ref.apiVersion, ref.kind, ref.name], ['apps/v1', 'Deployment', deployment.name], `HPA ${h.name} targets Deployment/${deployment.name}`);
    t.ok(h.doc.spec.minReplicas <= h.doc.spec.maxReplicas, 'minReplicas <= maxReplicas');
    for (const m of h.doc.spec.metrics.filter((x: any) => x.type === 'Resource')) {
      t.ok(container.resources?.requests?.[m.resource.name], `utilization of ${m.resource.name} needs resources.requests.${m.resource.name}`);
    }
  }
});

t.test('a stopping pod drains before any second SIGTERM or SIGKILL', async (t) => {
  const grace = pod.terminationGracePeriodSeconds * 1000;
  t.ok(grace > stopMs, `terminationGracePeriodSeconds (${grace} ms) > shutdown_grace + drain (${stopMs} ms)`);
  const every = (p: any) => (p.periodSeconds ?? 10) * 1000 * (p.failureThreshold ?? 3);
  // During shutdown_grace /healthz answers 503 while traffic still flows: readiness must see it in that time.
  if (timeouts.shutdown_grace) {
    t.ok(every(container.readinessProbe) <= timeouts.shutdown_grace,
      `readiness fails within shutdown_grace (${every(container.readinessProbe)} <= ${timeouts.shutdown_grace} ms)`);
  }
  // /healthz stays 503 through the drain too: liveness must not restart a pod that is shutting down.
  t.ok(every(container.livenessProbe) > stopMs, `liveness tolerates 503s longer than shutdown_grace + drain (${every(container.livenessProbe)} > ${stopMs} ms)`);
  const hook = (container.lifecycle?.preStop?.exec?.command ?? []).join(' ');
  const sleep = /\bsleep\s+(\d+)/.exec(hook);
  if (!/kill\s+-TERM\s+1\b/.test(hook)) return;
  // The kubelet sends its own SIGTERM when the hook ends: to a still-draining wslb that is the
  // second signal, which aborts. The hook must outlast the drain and end inside the grace period.
  t.ok(sleep && Number(sleep[1]) * 1000 >= stopMs, `preStop sleeps (${sleep?.[1]} s) at least shutdown_grace + drain (${stopMs} ms)`);
  t.ok(sleep && Number(sleep[1]) * 1000 < grace, 'and ends inside terminationGracePeriodSeconds');
});
