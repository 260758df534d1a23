#!/usr/bin/env bash
# Run odoo-bin from the prepared environment with this addon on the addons path.
# Usage: scripts/odoo.sh [odoo-bin arguments...]
set -euo pipefail
. "$(dirname "$0")/env.sh"
[ -x "$VENV/bin/python" ] || die "environment not prepared: run 'make setup' first"
exec "$VENV/bin/python" "$ODOO_SRC/odoo-bin" \
    --addons-path="$ODOO_SRC/addons,$ODOO_SRC/odoo/addons,$ADDONS_LINK_DIR" \
    --db_host="$PGHOST" --db_port="$PGPORT" --db_user="$PGUSER" \
    "$@"
