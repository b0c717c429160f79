# wslb container image: compiles TypeScript in a build stage, ships dist/ and production deps only, runs as `node`.
#
# The config is not baked in: mount it at /etc/wslb/balancer.yaml, e.g.
#   docker run --rm -p 8080:8080 -p 9090:9090 \
#     -v "$PWD/balancer.yaml:/etc/wslb/balancer.yaml:ro" \
#     --stop-timeout 35 wslb
# In that file, listeners should bind 0.0.0.0 (the default) and, to reach the admin port
# from outside the container, set `admin: { host: 0.0.0.0 }` (its default is 127.0.0.1).
# The HEALTHCHECK below probes the admin listener on 127.0.0.1:9090 inside the container,
# so keep `admin.port: 9090` (or override HEALTHCHECK). SIGTERM drains over `timeouts.drain`
# (30s by default): give `docker stop` / Kubernetes a grace period longer than that.

# ---- build stage: full dev dependencies, tsc -> dist/ ----
# Node 20 is the major the tests run on and the first one package.json `engines` accepts; change all
# three together (test/deploy/node-version.test.ts fails otherwise).
FROM node:20-bookworm-slim AS build
WORKDIR /app
# Lockfile first so the dependency layer is cached across source edits. --ignore-scripts:
# the package's own `prepare` runs tsc, and the sources are not copied yet.
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts
COPY tsconfig.json ./
COPY src ./src
COPY bench ./bench
RUN npm run build

# ---- runtime stage: production dependencies and the compiled output only ----
FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
# Files stay owned by root: the `node` user can read but not modify the application.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force
COPY --from=build /app/dist ./dist
RUN mkdir -p /etc/wslb
USER node
EXPOSE 8080 9090
# Slim images have no curl: probe /healthz with node itself (200 = healthy; 503 while draining).
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "require('node:http').get('http://127.0.0.1:9090/healthz', (r) => process.exit(r.statusCode === 200 ? 0 : 1)).on('error', () => process.exit(1)).setTimeout(2000, () => process.exit(1))"]
CMD ["node", "dist/src/cli.js", "run", "-c", "/etc/wslb/balancer.yaml"]
