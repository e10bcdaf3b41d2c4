# syntax=docker/dockerfile:1
# The Enterprise Agent Platform: multi-stage build, production dependencies
# only, runs as a non-root user with OpenTelemetry preloaded (npm start:prod).
#   docker build -t enterprise-agent-platform:0.1.0 .
# Node 24 LTS, pinned to the version scripts/use-node.sh installs for
# development and CI (a test keeps the two equal).
ARG NODE_IMAGE=node:24.21.0-trixie-slim

# 1. Compile TypeScript with the full dependency tree.
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build

# 2. Production dependencies only, installed from the same lock file.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# 3. The runtime image: no compiler, no dev dependencies, no npm cache.
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    PORT=8000 \
    DATA_DIR=/app/data
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY --from=build /app/dist/src ./dist/src
# The LLM simulator ships in the image so docker-compose can run it without a key.
COPY --from=build /app/dist/tools ./dist/tools
# The application files stay root-owned and read-only to the app; only the
# embedded database's folder (used when DATABASE_URL is unset) is writable.
RUN mkdir -p /app/data && chown 1000:1000 /app/data
# The image's `node` user, by number so Kubernetes' runAsNonRoot can verify it.
USER 1000:1000
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8000)+'/health/live').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# The app turns readiness to 503 on SIGTERM, drains, finishes requests in flight, then exits 0.
STOPSIGNAL SIGTERM
CMD ["node", "--enable-source-maps", "--require", "./dist/src/instrumentation.js", "dist/src/main.js"]
