#!/usr/bin/env bash
# Prepare everything `make run` and `make test` need: Odoo's source, a virtual
# environment with Odoo's and the addon's requirements, an addons path exposing
# this repository as `crm_sms_conversation`, and a PostgreSQL role.
set -euo pipefail
. "$(dirname "$0")/env.sh"

ensure_odoo_src() {
    if [ -f "$ODOO_SRC/odoo-bin" ] && [ -f "$ODOO_SRC/requirements.txt" ]; then
        return
    fi
    echo "Odoo source not found in $ODOO_SRC: cloning the $ODOO_SERIES branch"
    mkdir -p "$(dirname "$ODOO_SRC")"
    git clone --depth 1 --branch "$ODOO_SERIES" "$ODOO_GIT_URL" "$ODOO_SRC" \
        || die "could not clone Odoo $ODOO_SERIES into $ODOO_SRC (set ODOO_SRC to an Odoo $ODOO_SERIES source tree)"
}

ensure_venv() {
    local stamp="$VENV/.requirements.sha"
    local want
    want=$(cat "$ODOO_SRC/requirements.txt" "$ADDON_DIR/requirements.txt" \
        "$ADDON_DIR/requirements-dev.txt" "$ADDON_DIR/scripts/build-constraints.txt" | sha1sum | cut -d' ' -f1)
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
        return
    fi
    echo "Preparing the virtual environment in $VENV"
    [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check --upgrade pip wheel
    # cbor2 5.4.2 (pinned by Odoo for Python 3.11) only builds with setuptools < 81.
    # Recent pip takes build constraints as an option; older pip applies
    # PIP_CONSTRAINT to the isolated build environments as well.
    local constraints="$ADDON_DIR/scripts/build-constraints.txt"
    local build_opts=()
    if "$VENV/bin/pip" install --help | grep -q -- '--build-constraint'; then
        build_opts=(--build-constraint "$constraints")
    else
        export PIP_CONSTRAINT="$constraints"
    fi
    "$VENV/bin/pip" install -q --disable-pip-version-check "${build_opts[@]}" \
        -r "$ODOO_SRC/requirements.txt" \
        -r "$ADDON_DIR/requirements.txt" \
        -r "$ADDON_DIR/requirements-dev.txt"
    echo "$want" > "$stamp"
}

ensure_addons_path() {
    mkdir -p "$ADDONS_LINK_DIR"
    ln -sfn "$ADDON_DIR" "$ADDONS_LINK_DIR/$ADDON_NAME"
}

ensure_db_role() {
    if ! pg_isready -q -h "$PGHOST" -p "$PGPORT" -t 5; then
        die "no PostgreSQL server answers at $PGHOST:$PGPORT (set PGHOST/PGPORT)"
    fi
    if psql -d postgres -Atc 'select 1' >/dev/null 2>&1; then
        return
    fi
    # The role does not exist (or may not log in): create it through the superuser.
    echo "Creating PostgreSQL role $PGUSER"
    psql -U "${PGSUPERUSER:-postgres}" -d postgres -v ON_ERROR_STOP=1 -qc \
        "CREATE ROLE \"$PGUSER\" LOGIN CREATEDB" \
        || die "cannot connect as $PGUSER nor create that role (set PGUSER to a role with CREATEDB)"
}

ensure_odoo_src
ensure_venv
ensure_addons_path
ensure_db_role
