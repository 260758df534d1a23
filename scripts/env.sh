#!/usr/bin/env bash
# Shared settings for the development scripts. Source it, do not run it.
# Every value can be overridden from the environment.

ADDON_NAME=crm_sms_conversation
ADDON_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE_ROOT=${XDG_CACHE_HOME:-$HOME/.cache}
# The Odoo series to run on: 18.0 (default) or 19.0. Each series has its own
# source tree and virtual environment in the cache.
ODOO_SERIES=${ODOO_SERIES:-18.0}
case "$ODOO_SERIES" in
    18.0|19.0) ;;
    *) echo "ODOO_SERIES=$ODOO_SERIES is not supported (18.0 or 19.0)" >&2; exit 2 ;;
esac
ODOO_SRC=${ODOO_SRC:-$CACHE_ROOT/odoo-src/$ODOO_SERIES}
# How each series takes demo data on a new database: Odoo 18 loads it unless
# told not to, Odoo 19 only when asked.
if [ "$ODOO_SERIES" = 18.0 ]; then
    WITH_DEMO=()
    WITHOUT_DEMO=(--without-demo=all)
else
    WITH_DEMO=(--with-demo)
    WITHOUT_DEMO=()
fi
ODOO_GIT_URL=${ODOO_GIT_URL:-https://github.com/odoo/odoo.git}
PYTHON=${PYTHON:-python3}
# The virtual environment lives in the cache, keyed by the Python version, so
# that fresh clones (CI included) reuse it.
PY_TAG=$("$PYTHON" -c 'import sys; print("py%d%d" % sys.version_info[:2])')
if [ "$ODOO_SERIES" = 18.0 ]; then
    VENV=${VENV:-$CACHE_ROOT/$ADDON_NAME/venv-$PY_TAG}
else
    VENV=${VENV:-$CACHE_ROOT/$ADDON_NAME/venv-$PY_TAG-$ODOO_SERIES}
fi
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
