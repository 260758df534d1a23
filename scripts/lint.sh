#!/usr/bin/env bash
# Static checks on the addon: ruff, then pylint-odoo's mandatory checks.
set -euo pipefail
. "$(dirname "$0")/env.sh"
cd "$ADDON_DIR"
echo "ruff"
"$VENV/bin/ruff" check --no-cache .
"$VENV/bin/ruff" format --check --no-cache .
echo "pylint-odoo"
"$VENV/bin/pylint" --rcfile="$ADDON_DIR/.pylintrc-mandatory" "$ADDONS_LINK_DIR/$ADDON_NAME"
echo "translations"
"$VENV/bin/python" "$ADDON_DIR/scripts/i18n_check.py" "$ADDON_DIR/i18n/$ADDON_NAME.pot" "$ADDON_DIR"/i18n/*.po
