#!/usr/bin/env bash
# Install the addon on a fresh database with the tests enabled, then judge the
# run from Odoo's own log: Odoo may exit 0 with failed tests.
# Prints "N passed, N failed" as its last line.
set -uo pipefail
. "$(dirname "$0")/env.sh"

DB=${TEST_DB:-${ADDON_NAME}_test_$$}
LOG=${TEST_LOG:-$BUILD_DIR/test.log}
TAGS=${TEST_TAGS:-/$ADDON_NAME}
mkdir -p "$(dirname "$LOG")" "$BUILD_DIR"

dropdb --if-exists "$DB" >/dev/null 2>&1
trap 'dropdb --if-exists "$DB" >/dev/null 2>&1' EXIT

echo "Installing $ADDON_NAME on a fresh database '$DB' and running its tests (log: $LOG)"
"$(dirname "$0")/odoo.sh" -d "$DB" -i "$ADDON_NAME" --test-enable --test-tags "$TAGS" \
    --stop-after-init --http-port="${TEST_HTTP_PORT:-18069}" \
    --log-level=test --max-cron-threads=0 > "$LOG" 2>&1
rc=$?

# On a full run, the translation template must hold every string of the code.
extra=""
if [ -z "${TEST_TAGS:-}" ] && [ "$rc" -eq 0 ]; then
    pot="$BUILD_DIR/exported.pot"
    "$(dirname "$0")/odoo.sh" -d "$DB" --i18n-export="$pot" --modules="$ADDON_NAME" \
        --stop-after-init --log-level=error >> "$LOG" 2>&1
    if ! "$VENV/bin/python" "$(dirname "$0")/i18n_check.py" --current "$pot" \
            "$ADDON_DIR/i18n/$ADDON_NAME.pot" "$ADDON_DIR"/i18n/*.po > "$BUILD_DIR/i18n.log" 2>&1; then
        cat "$BUILD_DIR/i18n.log"
        extra="the translation template or a translation is not up to date (see above)"
    fi
fi

EXTRA_PROBLEM="$extra" "$VENV/bin/python" "$(dirname "$0")/test_report.py" "$LOG" "$rc"
