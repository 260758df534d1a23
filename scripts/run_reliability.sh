#!/usr/bin/env bash
# The reliability checks of `make soak` (scripts/reliability.py), on Odoo 18.0,
# each on a fresh database: crashes (the cron worker, then the whole server),
# a provider outage (1000 texts, 60 s), a database restart (a private
# PostgreSQL cluster on port 55432, made with initdb as the postgres OS user:
# run as root, or leave db-restart out of RELIABILITY_CHECKS), two servers on
# one database (10,000 webhooks each delivered 3 times; the second server on
# RELIABILITY_PORT + 20).
# Logs: .build/18.0/reliability/. Fails when any check fails.
set -uo pipefail
. "$(dirname "$0")/env.sh"

if [ "$ODOO_SERIES" != 18.0 ]; then
    echo "The reliability checks run on Odoo 18.0 (unset ODOO_SERIES): skipped"
    exit 0
fi
LOG_DIR=$BUILD_DIR/$ODOO_SERIES/reliability
PORT=${RELIABILITY_PORT:-18269}
CHECKS=${RELIABILITY_CHECKS:-crash outage db-restart two-servers}
mkdir -p "$LOG_DIR"
failed=0
for check in $CHECKS; do
    echo "Reliability: $check (log: $LOG_DIR/$check.out)"
    "$VENV/bin/python" "$(dirname "$0")/reliability.py" --check "$check" --db "${ADDON_NAME}_reliability_$$" \
        --port "$PORT" --log-dir "$LOG_DIR" > "$LOG_DIR/$check.out" 2>&1 || failed=1
    grep -E "FAIL|checks passed" "$LOG_DIR/$check.out"
done
exit $failed
