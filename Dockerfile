# syntax=docker/dockerfile:1
# Three stages: compile with every dependency, install production dependencies alone, then a slim runtime that
# holds only those and the compiled dist/. scripts/container-smoke.sh performs the same steps without Docker.
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM ${NODE_IMAGE}
ENV NODE_ENV=production \
    PORT=4000
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
# The image's unprivileged user; the files stay root-owned, so the process cannot rewrite its own code.
USER node
EXPOSE 4000
# Liveness only: an unhealthy upstream must not get every replica restarted (load balancers probe /readyz).
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 4000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# `node` directly (not `npm start`): it gets SIGTERM for a graceful stop, and nothing is rebuilt at start.
CMD ["node", "--max-semi-space-size=8", "--heap-growing-percent=20", "--no-memory-reducer", "dist/index.js"]
