#!/usr/bin/env bash
# Run bench/routing_lookup.py in `odoo-bin shell` on a dedicated database,
# creating it (addon installed, no demo data) when it does not exist.
# Usage: bench/run_routing_lookup.sh [database] [script]
#   (defaults: crm_sms_conversation_bench, routing_lookup.py; pane_history.py is the other benchmark)
# Settings: BENCH_PARTNERS, BENCH_LEADS, BENCH_TARGETS, BENCH_REPEAT, BENCH_SEED,
# BENCH_OUTPUT (see bench/README.md).
# scripts/odoo.sh cannot be used for this: odoo-bin wants the `shell`
# subcommand before any option, and odoo.sh puts its options first.
set -euo pipefail
. "$(dirname "$0")/../scripts/env.sh"
DB=${1:-crm_sms_conversation_bench}
SCRIPT=${2:-routing_lookup.py}
case "$DB" in
    *_bench) ;;
    *) [ -n "${BENCH_ALLOW_DB:-}" ] || die "the benchmark adds 260k rows: use a database named *_bench (or set BENCH_ALLOW_DB=1)" ;;
esac
[ -x "$VENV/bin/python" ] || die "environment not prepared: run 'make setup' first"
mkdir -p "$ADDONS_LINK_DIR"
ln -sfn "$ADDON_DIR" "$ADDONS_LINK_DIR/$ADDON_NAME"

if ! psql -d postgres -Atc "SELECT 1 FROM pg_database WHERE datname = '$DB'" | grep -q 1; then
    echo "Creating database $DB (crm_sms_conversation, no demo data)"
    bash "$ADDON_DIR/scripts/odoo.sh" -d "$DB" -i "$ADDON_NAME" --without-demo=all \
        --stop-after-init --no-http --log-level=warn
fi

exec "$VENV/bin/python" "$ODOO_SRC/odoo-bin" shell \
    --addons-path="$ODOO_SRC/addons,$ODOO_SRC/odoo/addons,$ADDONS_LINK_DIR" \
    --db_host="$PGHOST" --db_port="$PGPORT" --db_user="$PGUSER" \
    -d "$DB" --no-http --log-level=warn \
    < "$ADDON_DIR/bench/$SCRIPT"
