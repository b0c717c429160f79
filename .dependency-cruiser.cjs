/**
 * Import rules for src/ and bench/, checked by `npm run check:deps` before the tests: no import
 * cycle anywhere (type-only imports count: a cycle of types is still two modules that cannot be
 * understood, or changed, one without the other), and no import from a lower layer to a higher one.
 *
 * When a lower module needs something from a higher one, it declares the narrow interface of what
 * it reads in its own file and the higher one satisfies it (pool/server.ts ServerTunnel,
 * pool/rebalance.ts RebalancedPool, metrics/source.ts TelemetrySource, http/runtime-view.ts,
 * cluster/primary-admin.ts AdminedTree). test/ is not checked: tests may reach anything.
 */

/**
 * Lowest first. A module may import its own layer and any layer below it; within a layer only
 * the no-circular rule applies. `files` layers carve single files out of a folder that is
 * otherwise higher up; a folder path never claims them.
 */
const LAYERS = [
  {
    name: 'base',
    // Error table, logger, one-line helpers, and the shape of a validated config: every layer reads
    // them and they read nothing of wslb (config/types.ts imports nothing; the loader is `config`).
    files: ['src/errors.ts', 'src/log.ts', 'src/listen.ts', 'src/version.ts', 'src/suggest.ts', 'src/signals.ts', 'src/config/types.ts'],
  },
  {
    name: 'parts',
    // Self-contained pieces of edge/ and tunnel/ that know no server, pool or runtime: parsers and
    // writers of what crosses the wire (request head and its token grammar, client address, PROXY header in and out,
    // Origin), a deadline queue, a token bucket, per-IP admission counts. Lower layers reuse them:
    // the config loader validates `origins` with origin.ts, pool probes write the PROXY header,
    // the tunnel's upstream handshake runs on deadlines.ts, a pool's retry budget is a token bucket.
    files: [
      'src/edge/request-head.ts', 'src/edge/client-address.ts', 'src/edge/proxy-protocol.ts', 'src/edge/origin.ts',
      'src/edge/deadlines.ts', 'src/edge/token-bucket.ts', 'src/edge/admission.ts', 'src/tunnel/send-proxy.ts',
      'src/tunnel/head-grammar.ts',
      // Edge auth's key-file reader (the config loader checks key files with it) and the per-request
      // grant the `claim:NAME` hash key reads (balancing sits below the rest of auth/).
      'src/auth/keys.ts', 'src/auth/grant.ts',
    ],
  },
  // YAML -> defaults -> validation -> frozen Config: uses the parsers the features own (origin.ts).
  { name: 'config', folders: ['src/config/'] },
  // Algorithms read server state through their own ServerView; they import only config and base.
  { name: 'balancing', folders: ['src/balancing/'] },
  // Server state and counters, health, discovery, drain, rebalancing. Below tunnel: the tunnel
  // updates its server's counters (so it knows Server); a server only closes its tunnels, through
  // the ServerTunnel interface declared in pool/server.ts.
  { name: 'pool', folders: ['src/pool/'] },
  // The byte pipe, upstream connect and handshake, frame scanning, the one close path.
  { name: 'tunnel', folders: ['src/tunnel/'] },
  // Edge authentication (routes[].auth): token verification, the forward-auth client, the request
  // edits and the close_on_expiry watch; run by the upgrade path and plain-HTTP proxying alike.
  { name: 'auth', folders: ['src/auth/'] },
  // Plain-HTTP proxying (long-poll, SSE): shares pools and upstream TLS/header code with tunnels;
  // reads the runtime through http/runtime-view.ts.
  { name: 'http', folders: ['src/http/'] },
  // Metric table, registry, sampler and rate-limited logs: read live state at scrape time through
  // metrics/source.ts; may read pool, tunnel and http types.
  { name: 'metrics', folders: ['src/metrics/'] },
  // The live state of one balancer: builds pools, routes, tunnel set, http fallback and telemetry;
  // role.ts declares the parts a process's role gives it at construction (a lone process's are there too).
  { name: 'runtime', files: ['src/runtime.ts', 'src/role.ts'] },
  // The two fronts over a runtime, independent of each other: the traffic listener and upgrade
  // path (edge/ less its parts), and the admin listener (/metrics, /status, control, dashboard).
  { name: 'fronts', folders: ['src/edge/', 'src/admin/'] },
  // One balancer process: runtime + listeners + admin, reload and shutdown (class Balancer).
  { name: 'process', files: ['src/main.ts'] },
  // Several processes: workers run a Balancer each, the primary supervises and serves the tree's admin.
  { name: 'cluster', folders: ['src/cluster/'] },
  // Entry points: the command line, and the demo farm of backends only `wslb demo` starts.
  { name: 'entry', files: ['src/cli.ts'], folders: ['src/demo/'] },
];

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const fileRe = (f) => `^${escape(f)}$`;
const CARVED = LAYERS.flatMap((l) => (l.files ?? []).map(fileRe));
const pathsOf = (l) => [...(l.files ?? []).map(fileRe), ...(l.folders ?? []).map((d) => `^${escape(d)}`)];
/** The modules of a layer: its files and folders, less files another layer carved out of those folders. */
const members = (l) => ({ path: pathsOf(l), pathNot: CARVED.filter((re) => !pathsOf(l).includes(re)) });

const layerRules = LAYERS.slice(0, -1).map((low, i) => {
  const higher = LAYERS.slice(i + 1);
  const lowerOrSame = LAYERS.slice(0, i + 1);
  return {
    name: `layer-${low.name}`,
    severity: 'error',
    comment: `${low.name} may import only ${lowerOrSame.map((l) => l.name).join(', ')} (not ${higher.map((l) => l.name).join(', ')}): see the layer list in .dependency-cruiser.cjs`,
    from: members(low),
    to: { path: higher.flatMap(pathsOf), pathNot: lowerOrSame.flatMap((l) => (l.files ?? []).map(fileRe)) },
  };
});

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'An import cycle (type-only imports included): break it with a narrow interface declared in the lower module.',
      from: {},
      to: { circular: true },
    },
    ...layerRules,
    {
      name: 'src-not-bench',
      severity: 'error',
      comment: 'bench/ drives wslb from outside (it may import src/); the product never depends on its load generator.',
      from: { path: '^src/' },
      to: { path: '^bench/' },
    },
    {
      name: 'layer-unassigned',
      severity: 'error',
      comment: 'Every src/ module belongs to a layer: add a new top-level file or folder to LAYERS in .dependency-cruiser.cjs.',
      from: { path: '^src/', pathNot: LAYERS.flatMap(pathsOf) },
      to: {},
    },
  ],
  options: {
    tsPreCompilationDeps: true,
    doNotFollow: { path: 'node_modules' },
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
