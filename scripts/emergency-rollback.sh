#!/usr/bin/env bash
# The guide's emergency rollback, run as a durable Temporal workflow (pgshift rollback … --wait).
#
#   ./scripts/emergency-rollback.sh --full-emergency        # application and database back to the last stable state
#   ./scripts/emergency-rollback.sh --migration-target=8    # database back to migration 8, application untouched
#   ./scripts/emergency-rollback.sh --app-rollback          # application back to its previous version
#   ./scripts/emergency-rollback.sh --status-only           # migration state, app version, backups, deploys; no change
#
# Plus --env <name> (default: production, or PGSHIFT_ENV). Anything after `--` goes to
# `pgshift rollback` unchanged (e.g. -- --break-glass --reason "checkout is down").
# Environment: <ENV>_DATABASE_URL (or the config's databaseUrlEnv), TEMPORAL_ADDRESS; a worker must run.
# Exit code: 0 completed, 1 refused or failed, 2 usage.
set -euo pipefail

usage() {
  echo "usage: $0 (--full-emergency | --migration-target=N | --app-rollback | --status-only) [--env <name>] [-- <pgshift rollback options>]" >&2
  exit 2
}

env_name="${PGSHIFT_ENV:-production}"
mode=()
extra=()
while (($#)); do
  case "$1" in
    --full-emergency | --app-rollback | --status-only) mode+=("$1") ;;
    --migration-target=*)
      target="${1#--migration-target=}"
      [[ "$target" =~ ^[0-9]+$ ]] || { echo "$0: --migration-target needs a migration number, got '$target'" >&2; exit 2; }
      mode+=("--migration-target=$target")
      ;;
    --migration-target)
      [[ $# -ge 2 && "$2" =~ ^[0-9]+$ ]] || { echo "$0: --migration-target needs a migration number" >&2; exit 2; }
      mode+=("--migration-target=$2")
      shift
      ;;
    --env=*) env_name="${1#--env=}" ;;
    --env)
      [[ $# -ge 2 ]] || usage
      env_name="$2"
      shift
      ;;
    --)
      shift
      extra=("$@")
      break
      ;;
    -h | --help) usage ;;
    *)
      echo "$0: unknown option '$1'" >&2
      usage
      ;;
  esac
  shift
done
((${#mode[@]} == 1)) || usage

cd "$(dirname "$0")/.."
if [[ -n "${PGSHIFT_CLI:-}" ]]; then
  read -r -a cli <<<"$PGSHIFT_CLI" # tests: run the CLI from its sources
else
  cli=(node bin/pgshift.js)
fi
exec "${cli[@]}" rollback --env "$env_name" "${mode[@]}" --wait ${extra[@]+"${extra[@]}"}
