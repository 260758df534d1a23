#!/usr/bin/env bash
# The whole test run on the Odoo series ODOO_SERIES (scripts/env.sh), each part
# on a fresh database without demo data, as a customer's:
#   1. the addon's own tests (with base_automation and website installed, and
#      Odoo's own sms_twilio on 19.0);
#   2. Odoo's own sms, crm_sms, test_mail_sms and phone_validation suites (and
#      sms_twilio on 19.0) with the addon installed;
#   3. webhooks in bursts over real HTTP, on odoo-bin in threaded mode, in
#      prefork mode, then on two prefork servers sharing the database
#      (scripts/http_concurrency.py), on the database of part 2.
# TEST_TAGS restricts the run to part 1 with those tags. Each run is judged from
# Odoo's own log (Odoo may exit 0 with failed tests); the last line sums up.
set -uo pipefail
. "$(dirname "$0")/env.sh"

DB=${TEST_DB:-${ADDON_NAME}_test_$$}
ODOO_DB=${DB}_odoo
LOG=${TEST_LOG:-$BUILD_DIR/$ODOO_SERIES/test.log}
LOG_DIR=$(dirname "$LOG")
ODOO_LOG=$LOG_DIR/test-odoo-suites.log
TAGS=${TEST_TAGS:-/$ADDON_NAME}
# Odoo 19's own Twilio connector (sms_twilio) is installed next to the addon there.
if [ "$ODOO_SERIES" = 18.0 ]; then
    EXTRA_MODULES=base_automation,website
    ODOO_MODULES=crm_sms,test_mail_sms
    ODOO_SUITES=${ODOO_SUITES:-/sms,/crm_sms,/test_mail_sms,/phone_validation}
else
    EXTRA_MODULES=base_automation,website,sms_twilio
    ODOO_MODULES=crm_sms,test_mail_sms,sms_twilio
    ODOO_SUITES=${ODOO_SUITES:-/sms,/crm_sms,/test_mail_sms,/phone_validation,/sms_twilio}
fi
HTTP_PORT=${TEST_HTTP_PORT:-18069}
mkdir -p "$LOG_DIR" "$BUILD_DIR"

cleanup() {
    dropdb --if-exists "$DB" >/dev/null 2>&1
    dropdb --if-exists "$ODOO_DB" >/dev/null 2>&1
}
cleanup
trap cleanup EXIT
odoo() { "$(dirname "$0")/odoo.sh" "$@"; }

echo "Odoo $ODOO_SERIES ($ODOO_SRC)"
echo "1. $ADDON_NAME's tests on a fresh database '$DB' (log: $LOG)"
odoo -d "$DB" -i "$ADDON_NAME,${TEST_EXTRA_MODULES-$EXTRA_MODULES}" "${WITHOUT_DEMO[@]}" \
    --test-enable --test-tags "$TAGS" --stop-after-init --http-port="$HTTP_PORT" \
    --log-level=test --max-cron-threads=0 > "$LOG" 2>&1
rc=$?
report=(--odoo "$ADDON_NAME" "$LOG" "$rc")

extra=""
if [ -z "${TEST_TAGS:-}" ]; then
    # The translation template holds every string of the code, on every series
    # (it is the union of the series' exports): this series' export must be in it.
    if [ "$rc" -eq 0 ]; then
        pot="$LOG_DIR/exported.pot"
        "$(dirname "$0")/i18n_export.sh" "$DB" "$pot" >> "$LOG" 2>&1
        if ! "$VENV/bin/python" "$(dirname "$0")/i18n_check.py" --current "$pot" --within \
                "$ADDON_DIR/i18n/$ADDON_NAME.pot" "$ADDON_DIR"/i18n/*.po > "$LOG_DIR/i18n.log" 2>&1; then
            cat "$LOG_DIR/i18n.log"
            extra="the translation template or a translation is not up to date (see above)"
        fi
    fi
    dropdb --if-exists "$DB" >/dev/null 2>&1

    echo "2. Odoo's own suites ($ODOO_SUITES) with $ADDON_NAME installed, on '$ODOO_DB' (log: $ODOO_LOG)"
    odoo -d "$ODOO_DB" -i "$ADDON_NAME,$ODOO_MODULES" "${WITHOUT_DEMO[@]}" \
        --test-enable --test-tags "$ODOO_SUITES" --stop-after-init --http-port="$HTTP_PORT" \
        --log-level=test --max-cron-threads=0 > "$ODOO_LOG" 2>&1
    report+=(--odoo "Odoo's own suites (${ODOO_SUITES//\//})" "$ODOO_LOG" "$?")

    echo "3. Webhooks in bursts over HTTP: threaded, prefork, then two prefork servers (logs: $LOG_DIR/http-*.log)"
    for mode in threaded prefork two-servers; do
        out="$LOG_DIR/http-$mode.out"
        "$VENV/bin/python" "$(dirname "$0")/http_concurrency.py" --db "$ODOO_DB" --mode "$mode" \
            --port "$((HTTP_PORT + 100))" --log "$LOG_DIR/http-$mode.log" > "$out" 2>&1
        code=$?
        grep -E "FAIL|checks passed" "$out"
        report+=(--checks "HTTP bursts ($mode)" "$out" "$code")
    done
fi

EXTRA_PROBLEM="$extra" ODOO_SERIES="$ODOO_SERIES" "$VENV/bin/python" "$(dirname "$0")/test_report.py" "${report[@]}"
