#!/usr/bin/env bash
# Prints the path of a Temporal CLI (dev server) binary, building it when missing.
# Same order as src/temporal/temporal-binary.ts:
#   $PGSHIFT_TEMPORAL_BIN, `temporal` on PATH, <cache>/bin/temporal,
#   else `go install github.com/temporalio/cli/cmd/temporal@v1.5.1` into <cache>/bin
#   (<cache> = ${PGSHIFT_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/pgshift}).
# Progress goes to stderr; only the path goes to stdout. Exits 1 when no binary can be had.
set -euo pipefail

TEMPORAL_CLI_MODULE="github.com/temporalio/cli/cmd/temporal"
TEMPORAL_CLI_VERSION="v1.5.1"

log() { printf 'ensure-temporal: %s\n' "$*" >&2; }

if [[ -n "${PGSHIFT_TEMPORAL_BIN:-}" ]]; then
  if [[ -x "$PGSHIFT_TEMPORAL_BIN" ]]; then
    echo "$PGSHIFT_TEMPORAL_BIN"
    exit 0
  fi
  log "PGSHIFT_TEMPORAL_BIN=$PGSHIFT_TEMPORAL_BIN is not an executable file"
  exit 1
fi

if on_path="$(command -v temporal 2>/dev/null)"; then
  echo "$on_path"
  exit 0
fi

cache_dir="${PGSHIFT_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/pgshift}"
bin_dir="$cache_dir/bin"
cached="$bin_dir/temporal"
if [[ -x "$cached" ]]; then
  echo "$cached"
  exit 0
fi

if ! command -v go >/dev/null 2>&1; then
  log "no temporal binary and no Go toolchain: install Go, put 'temporal' on PATH or set PGSHIFT_TEMPORAL_BIN"
  exit 1
fi

mkdir -p "$bin_dir"
log "building the Temporal CLI ${TEMPORAL_CLI_VERSION} with $(go version | cut -d' ' -f3) into $bin_dir (about 2-3 minutes on 2 cores)..."
started=$SECONDS
GOBIN="$bin_dir" GOFLAGS="${GOFLAGS:--buildvcs=false}" go install "${TEMPORAL_CLI_MODULE}@${TEMPORAL_CLI_VERSION}" >&2
log "built $cached in $((SECONDS - started))s"
echo "$cached"
