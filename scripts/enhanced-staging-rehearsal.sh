#!/usr/bin/env bash
# The guide's "Enhanced Staging Rehearsal": a durable Temporal workflow that validates, backs up,
# migrates, verifies, rehearses the rollback and reports. Exits 0 only if the rehearsal passed.
# Environment: STAGING_DATABASE_URL (or the config's databaseUrlEnv), TEMPORAL_ADDRESS; a worker must run.
set -euo pipefail
cd "$(dirname "$0")/.."
exec node bin/pgshift.js rehearse --env "${PGSHIFT_ENV:-staging}" --wait "$@"
