#!/usr/bin/env bash
# Export the addon's translatable strings from a database where it is
# installed, on the series ODOO_SERIES: Odoo 18 takes --i18n-export, Odoo 19
# the "i18n export" command.
# Usage: scripts/i18n_export.sh DATABASE OUTPUT.pot
set -euo pipefail
. "$(dirname "$0")/env.sh"
[ $# -eq 2 ] || die "usage: $0 DATABASE OUTPUT.pot"
db=$1
output=$(realpath -m "$2")
if [ "$ODOO_SERIES" = 18.0 ]; then
    exec "$(dirname "$0")/odoo.sh" -d "$db" --i18n-export="$output" --modules="$ADDON_NAME" \
        --stop-after-init --log-level=error
fi
conf=$(mktemp)
trap 'rm -f "$conf"' EXIT
cat > "$conf" <<CONF
[options]
addons_path = $ODOO_SRC/addons,$ODOO_SRC/odoo/addons,$ADDONS_LINK_DIR
db_host = $PGHOST
db_port = $PGPORT
db_user = $PGUSER
log_level = error
CONF
"$VENV/bin/python" "$ODOO_SRC/odoo-bin" i18n export -c "$conf" -d "$db" -o "$output" "$ADDON_NAME"
