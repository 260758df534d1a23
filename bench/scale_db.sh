#!/usr/bin/env bash
# Create (once) a benchmark database of N contacts and M leads with the addon
# installed, and print its name; an existing one is reused.
# Usage: bench/scale_db.sh PREFIX PARTNERS LEADS [TEMPLATE_PREFIX]
#   TEMPLATE_PREFIX_stock  Odoo 18 with crm and sms, no demo data (the template;
#                          TEMPLATE_PREFIX defaults to PREFIX)
#   PREFIX_<size>_stock  the template + the rows of bench/scale_data.py (no addon:
#                        what install_scale.py installs on)
#   PREFIX_<size>        a copy of it with the addon installed (its pre-init hook
#                        fills the routing keys)
# where <size> reads 1m for 1000000, 1k for 1000. BENCH_REBUILD=1 drops and
# rebuilds the last two. An existing PREFIX_<size> is updated (-u) to the addon's current code.
set -euo pipefail
. "$(dirname "$0")/../scripts/env.sh"
PREFIX=${1:?prefix}; PARTNERS=${2:?partners}; LEADS=${3:?leads}; TEMPLATE=${4:-$1}_stock
[ -x "$VENV/bin/python" ] || die "environment not prepared: run 'make setup' first"
mkdir -p "$ADDONS_LINK_DIR"
ln -sfn "$ADDON_DIR" "$ADDONS_LINK_DIR/$ADDON_NAME"

size=$PARTNERS
if (( PARTNERS % 1000000 == 0 )); then size=$((PARTNERS / 1000000))m
elif (( PARTNERS % 1000 == 0 )); then size=$((PARTNERS / 1000))k
fi
DB=${PREFIX}_${size}
exists() { psql -d postgres -Atc "SELECT 1 FROM pg_database WHERE datname = '$1'" | grep -q 1; }
odoo() { "$VENV/bin/python" "$ODOO_SRC/odoo-bin" --addons-path="$ODOO_SRC/addons,$ODOO_SRC/odoo/addons,$ADDONS_LINK_DIR" \
    --db_host="$PGHOST" --db_port="$PGPORT" --db_user="$PGUSER" --no-http --stop-after-init --log-level=warn \
    --max-cron-threads=0 "$@"; }

if [ -n "${BENCH_REBUILD:-}" ]; then
    dropdb --if-exists "$DB" >&2
    dropdb --if-exists "${DB}_stock" >&2
fi
if exists "$DB"; then
    # Made by an earlier run: brought to the addon's current code (new fields, data).
    odoo -d "$DB" -u "$ADDON_NAME" >&2 || die "updating the addon on $DB failed"
    echo "$DB"
    exit 0
fi
if ! exists "$TEMPLATE"; then
    echo "Creating $TEMPLATE (crm, sms, no demo data)" >&2
    odoo -d "$TEMPLATE" -i crm,sms,phone_validation --without-demo=all >&2
fi
exists "${DB}_stock" || createdb -T "$TEMPLATE" "${DB}_stock"
"$VENV/bin/python" "$ADDON_DIR/bench/scale_data.py" --db "${DB}_stock" --partners "$PARTNERS" --leads "$LEADS" >&2
echo "Installing the addon on a copy: $DB" >&2
createdb -T "${DB}_stock" "$DB"
start=$(date +%s)
odoo -d "$DB" -i "$ADDON_NAME" >&2 || { dropdb --if-exists "$DB"; die "installation on $DB failed"; }
echo "$DB ready ($(( $(date +%s) - start )) s to install)" >&2
echo "$DB"
