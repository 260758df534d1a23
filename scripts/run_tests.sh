#!/usr/bin/env bash
# Install the addon on a fresh database with the tests enabled, then judge the
# run from Odoo's own log: Odoo may exit 0 with failed tests.
# Prints "N passed, N failed" as its last line.
set -uo pipefail
. "$(dirname "$0")/env.sh"

DB=${TEST_DB:-${ADDON_NAME}_test_$$}
LOG=${TEST_LOG:-$BUILD_DIR/test.log}
TAGS=${TEST_TAGS:-/$ADDON_NAME}
mkdir -p "$(dirname "$LOG")"

dropdb --if-exists "$DB" >/dev/null 2>&1
trap 'dropdb --if-exists "$DB" >/dev/null 2>&1' EXIT

echo "Installing $ADDON_NAME on a fresh database '$DB' and running its tests (log: $LOG)"
"$(dirname "$0")/odoo.sh" -d "$DB" -i "$ADDON_NAME" --test-enable --test-tags "$TAGS" \
    --stop-after-init --http-port="${TEST_HTTP_PORT:-18069}" \
    --log-level=test --max-cron-threads=0 > "$LOG" 2>&1
rc=$?

"$VENV/bin/python" "$(dirname "$0")/test_report.py" "$LOG" "$rc"
