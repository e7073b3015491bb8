#!/usr/bin/env bash
# The baseline of the fleet benchmark: what a team does without pgshift, with the bare tools.
# Run by bench/fleet.bench.ts, which times it and pgshift back to back in one invocation.
# For each database URL in $1 (one a line), at concurrency $2: pg_dump -Fc into $3/<n>.dump,
# then every forward file of $4 (a directory of NNN_*.sql and NNN_rollback.sql) applied in
# one psql -1 -f run per file, then `SELECT 1`. Stops at the first failing database.
#   bench/fleet-shell-loop.sh urls.txt 8 /tmp/backups migrations/
set -euo pipefail
urls=$1 concurrency=$2 backups=$3 migrations=$4
mkdir -p "$backups"
export backups migrations
one() {
  local url=$1 n
  n=$(basename "${url%%\?*}")
  pg_dump -Fc -f "$backups/$n.dump" "$url"
  for f in $(ls "$migrations"/[0-9]*_*.sql | grep -v '_rollback\.sql$' | sort); do
    psql -X -q -1 -v ON_ERROR_STOP=1 -f "$f" "$url" >/dev/null
  done
  psql -X -q -tA -c 'SELECT 1' "$url" >/dev/null
}
export -f one
xargs -P "$concurrency" -I{} bash -c 'one "$@"' _ {} < "$urls"
