#!/usr/bin/env bash
# Validates docker-compose.yml with `docker compose config -q` (no Docker engine needed).
# When the compose plugin is missing, builds it from its Go module into the pgshift cache
# and installs it as ~/.docker/cli-plugins/docker-compose.
set -euo pipefail

COMPOSE_MODULE="github.com/docker/compose/v2/cmd"
COMPOSE_VERSION="v2.29.7"

cd "$(dirname "$0")/.."
log() { printf 'validate-compose: %s\n' "$*" >&2; }

if ! docker compose version >/dev/null 2>&1; then
  command -v docker >/dev/null 2>&1 || { log "the docker CLI is not installed"; exit 1; }
  command -v go >/dev/null 2>&1 || { log "docker compose is missing and there is no Go toolchain to build it"; exit 1; }
  cache_dir="${PGSHIFT_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/pgshift}"
  bin_dir="$cache_dir/bin"
  plugin_dir="${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins"
  if [[ ! -x "$bin_dir/docker-compose" ]]; then
    mkdir -p "$bin_dir"
    log "building docker compose ${COMPOSE_VERSION} from its Go module into $bin_dir (a few minutes, once per machine)..."
    started=$SECONDS
    GOBIN="$bin_dir" GOFLAGS="${GOFLAGS:--buildvcs=false}" go install "${COMPOSE_MODULE}@${COMPOSE_VERSION}" >&2
    mv "$bin_dir/cmd" "$bin_dir/docker-compose"
    log "built in $((SECONDS - started))s"
  fi
  mkdir -p "$plugin_dir"
  cp "$bin_dir/docker-compose" "$plugin_dir/docker-compose"
  chmod +x "$plugin_dir/docker-compose"
fi

log "$(docker compose version)"
docker compose -f docker-compose.yml config -q
docker compose -f docker-compose.yml --profile cli config -q
# `docker compose up --scale worker=N` needs a worker without a fixed name or host port, and
# every worker and the CLI on the one volume that holds the plan store and the backups.
docker compose -f docker-compose.yml --profile cli config --format json | node -e '
  const c = JSON.parse(require("fs").readFileSync(0, "utf8")).services;
  const problems = [];
  if (c.worker.container_name) problems.push("worker has a container_name");
  for (const p of c.worker.ports ?? []) if (p.published) problems.push(`worker publishes host port ${p.published}`);
  for (const name of ["worker", "cli"])
    if (!(c[name].volumes ?? []).some((v) => v.source === "pgshift-data" && v.target === "/app/.pgshift"))
      problems.push(`${name} does not mount pgshift-data at /app/.pgshift`);
  if (problems.length) { console.error("validate-compose: " + problems.join("; ")); process.exit(1); }
'
log "docker-compose.yml is valid; the worker service scales (docker compose up --scale worker=3)"
