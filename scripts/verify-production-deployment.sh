#!/usr/bin/env bash
# The guide's "Verify critical functionality" step, on its own: SELECT 1, the critical tables'
# row counts, the configured SQL checks and the application's health URLs (status and latency)
# of an environment, each printed with ✓/✗ and its latency. Exits 0 when every check passes,
# 1 when one fails, 2 on a configuration error, 3 when the database cannot be reached.
# Environment: PRODUCTION_DATABASE_URL (or the config's databaseUrlEnv), PGSHIFT_CONFIG.
# Extra arguments go to `pgshift verify` (e.g. --json, --baseline before.json, --env staging).
set -euo pipefail
cd "$(dirname "$0")/.."
# PGSHIFT_BIN: how to run pgshift (default: the built CLI).
read -r -a pgshift <<<"${PGSHIFT_BIN:-node bin/pgshift.js}"
exec "${pgshift[@]}" verify --env "${PGSHIFT_ENV:-production}" "$@"
