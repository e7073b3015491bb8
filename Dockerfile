# The pgshift worker image: `docker build -t pgshift .` then `docker run pgshift` (worker)
# or `docker run pgshift node bin/pgshift.js <command>`.

# --- build: install every dependency, compile TypeScript, keep production modules only
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
COPY bin ./bin
COPY src ./src
COPY workflows ./workflows
COPY activities ./activities
COPY example-app ./example-app
# `npm ci` runs the `prepare` script (tsc), so the sources are copied first.
RUN npm ci --no-audit --no-fund \
  && npm run build \
  && npm prune --omit=dev --no-audit --no-fund

# --- runtime: node plus the PostgreSQL 15 client tools (pg_dump, pg_restore) the backups use
FROM node:20-bookworm-slim
RUN apt-get update \
  && apt-get install -y --no-install-recommends postgresql-client-15 ca-certificates \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production \
  PGSHIFT_TASK_QUEUE=pgshift \
  PGSHIFT_METRICS_PORT=9464
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
COPY migrations ./migrations
RUN mkdir -p /app/.pgshift && chown node:node /app/.pgshift
USER node
EXPOSE 9464
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PGSHIFT_METRICS_PORT||9464)+'/metrics').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "bin/pgshift.js", "worker"]
