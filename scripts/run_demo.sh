#!/usr/bin/env bash
# Serve the addon with demo data. The database is created (with demo data and
# the addon installed) on first use and updated on later runs.
set -euo pipefail
. "$(dirname "$0")/env.sh"
DB=${1:-crm_sms_conversation_demo}
PORT=${2:-8069}
if psql -d "$DB" -Atc 'select 1 from ir_module_module limit 1' >/dev/null 2>&1; then
    init=(-u "$ADDON_NAME")
else
    init=(-i "$ADDON_NAME" "${WITH_DEMO[@]}")
fi
echo "Serving $ADDON_NAME on Odoo $ODOO_SERIES, http://localhost:$PORT (database $DB, login admin / admin)"
# The database is named, without --db-filter: webhook calls (no session) find
# it without listing the databases (see the README, "Running the webhook in production").
exec "$(dirname "$0")/odoo.sh" -d "$DB" "${init[@]}" \
    --http-port="$PORT" --gevent-port="$((PORT + 3))"
