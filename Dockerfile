# syntax=docker/dockerfile:1
# fiber image for the CLI, the parameter server and CPU workers (TensorFlow.js wasm backend).
# GPU workers use Dockerfile.gpu. Build: docker build -t fiber:0.1.0 .
# Ports: 7070 (PS tensor, FIBER_PS_PORT), 9090 (/healthz /readyz /metrics, FIBER_METRICS_PORT).
# Env: none baked in; the k8s manifests set them (src/ops/env-contract.ts). No secrets in any layer.
ARG NODE_IMAGE=node:20-bookworm-slim

# 1. Compile TypeScript (needs the dev dependencies: typescript, @types/node).
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: nothing may download at install time; the native TensorFlow backends are
# optional and left out of this image (--omit=optional).
RUN npm ci --no-audit --no-fund --ignore-scripts --omit=optional
COPY tsconfig.json ./
COPY src ./src
RUN npx tsc -p tsconfig.json

# 2. Production dependencies only.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --omit=optional --ignore-scripts --no-audit --no-fund && npm cache clean --force

# 3. Runtime: compiled JS, production node_modules, tini as PID 1 (forwards SIGTERM so the PS can
# checkpoint and the worker can drain), a non-root user, nothing writable but the mounted volumes.
FROM ${NODE_IMAGE} AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 10001 fiber \
 && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin fiber
ENV NODE_ENV=production
# Keep freed heap instead of trimming it after every GC: a parameter-server push otherwise faults
# its socket buffers back in, ~250 ms per 64 MB (src/ops/malloc-tuning.ts, BENCHMARKS.md).
ENV MALLOC_TRIM_THRESHOLD_=268435456 MALLOC_TOP_PAD_=268435456
WORKDIR /app
COPY package.json ./
COPY bin ./bin
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /src/dist/src ./dist/src
# Fail the build if the CLI cannot start with the production dependencies alone.
RUN node bin/fiber --version
USER 10001:10001
EXPOSE 7070 9090
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/app/bin/fiber"]
CMD ["--help"]
