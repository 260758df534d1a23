#!/usr/bin/env bash
# The whole test run, each part on a fresh database without demo data, as a
# customer's:
#   1. the addon's own tests (with base_automation and website installed);
#   2. Odoo's own sms, crm_sms, test_mail_sms and phone_validation suites with
#      the addon installed;
#   3. webhooks in bursts over real HTTP, on odoo-bin in threaded then prefork
#      mode (scripts/http_concurrency.py), on the database of part 2.
# TEST_TAGS restricts the run to part 1 with those tags. Each run is judged from
# Odoo's own log (Odoo may exit 0 with failed tests); the last line sums up.
set -uo pipefail
. "$(dirname "$0")/env.sh"

DB=${TEST_DB:-${ADDON_NAME}_test_$$}
ODOO_DB=${DB}_odoo
LOG=${TEST_LOG:-$BUILD_DIR/test.log}
LOG_DIR=$(dirname "$LOG")
ODOO_LOG=$LOG_DIR/test-odoo-suites.log
TAGS=${TEST_TAGS:-/$ADDON_NAME}
ODOO_SUITES=${ODOO_SUITES:-/sms,/crm_sms,/test_mail_sms,/phone_validation}
HTTP_PORT=${TEST_HTTP_PORT:-18069}
mkdir -p "$LOG_DIR" "$BUILD_DIR"

cleanup() {
    dropdb --if-exists "$DB" >/dev/null 2>&1
    dropdb --if-exists "$ODOO_DB" >/dev/null 2>&1
}
cleanup
trap cleanup EXIT
odoo() { "$(dirname "$0")/odoo.sh" "$@"; }

echo "1. $ADDON_NAME's tests on a fresh database '$DB' (log: $LOG)"
odoo -d "$DB" -i "$ADDON_NAME,${TEST_EXTRA_MODULES-base_automation,website}" --without-demo=all \
    --test-enable --test-tags "$TAGS" --stop-after-init --http-port="$HTTP_PORT" \
    --log-level=test --max-cron-threads=0 > "$LOG" 2>&1
rc=$?
report=(--odoo "$ADDON_NAME" "$LOG" "$rc")

extra=""
if [ -z "${TEST_TAGS:-}" ]; then
    # The translation template must hold every string of the code.
    if [ "$rc" -eq 0 ]; then
        pot="$BUILD_DIR/exported.pot"
        odoo -d "$DB" --i18n-export="$pot" --modules="$ADDON_NAME" --stop-after-init --log-level=error >> "$LOG" 2>&1
        if ! "$VENV/bin/python" "$(dirname "$0")/i18n_check.py" --current "$pot" \
                "$ADDON_DIR/i18n/$ADDON_NAME.pot" "$ADDON_DIR"/i18n/*.po > "$BUILD_DIR/i18n.log" 2>&1; then
            cat "$BUILD_DIR/i18n.log"
            extra="the translation template or a translation is not up to date (see above)"
        fi
    fi
    dropdb --if-exists "$DB" >/dev/null 2>&1

    echo "2. Odoo's own suites ($ODOO_SUITES) with $ADDON_NAME installed, on '$ODOO_DB' (log: $ODOO_LOG)"
    odoo -d "$ODOO_DB" -i "$ADDON_NAME,crm_sms,test_mail_sms" --without-demo=all \
        --test-enable --test-tags "$ODOO_SUITES" --stop-after-init --http-port="$HTTP_PORT" \
        --log-level=test --max-cron-threads=0 > "$ODOO_LOG" 2>&1
    report+=(--odoo "Odoo's sms, crm_sms, test_mail_sms and phone_validation suites" "$ODOO_LOG" "$?")

    echo "3. Webhooks in bursts over HTTP, threaded then prefork (logs: $LOG_DIR/http-*.log)"
    for mode in threaded prefork; do
        out="$LOG_DIR/http-$mode.out"
        "$VENV/bin/python" "$(dirname "$0")/http_concurrency.py" --db "$ODOO_DB" --mode "$mode" \
            --port "$((HTTP_PORT + 100))" --log "$LOG_DIR/http-$mode.log" > "$out" 2>&1
        code=$?
        grep -E "FAIL|checks passed" "$out"
        report+=(--checks "HTTP bursts ($mode)" "$out" "$code")
    done
fi

EXTRA_PROBLEM="$extra" "$VENV/bin/python" "$(dirname "$0")/test_report.py" "${report[@]}"
