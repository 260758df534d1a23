#!/usr/bin/env bash
# Shared settings for the development scripts. Source it, do not run it.
# Every value can be overridden from the environment.

ADDON_NAME=crm_sms_conversation
ADDON_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE_ROOT=${XDG_CACHE_HOME:-$HOME/.cache}
ODOO_SRC=${ODOO_SRC:-$CACHE_ROOT/odoo-src/18.0}
ODOO_GIT_URL=${ODOO_GIT_URL:-https://github.com/odoo/odoo.git}
PYTHON=${PYTHON:-python3}
# The virtual environment lives in the cache, keyed by the Python version, so
# that fresh clones (CI included) reuse it.
PY_TAG=$("$PYTHON" -c 'import sys; print("py%d%d" % sys.version_info[:2])')
VENV=${VENV:-$CACHE_ROOT/$ADDON_NAME/venv-$PY_TAG}
BUILD_DIR=${BUILD_DIR:-$ADDON_DIR/.build}
# Odoo takes a module's name from its folder: a link named after the module,
# kept outside the repository (a link inside it would loop on itself when
# Odoo walks the module's files), one per checkout.
CHECKOUT_ID=$(printf '%s' "$ADDON_DIR" | sha1sum | cut -c1-12)
ADDONS_LINK_DIR=${ADDONS_LINK_DIR:-$CACHE_ROOT/$ADDON_NAME/addons-$CHECKOUT_ID}

export PGHOST=${PGHOST:-localhost}
export PGPORT=${PGPORT:-5432}
# Odoo refuses to run as the "postgres" superuser: default to a dedicated role.
export PGUSER=${PGUSER:-odoo}
if [ "$PGUSER" = postgres ]; then
    echo "PGUSER=postgres is refused by Odoo; use another role (default: odoo)" >&2
    exit 2
fi

die() { echo "error: $*" >&2; exit 1; }
