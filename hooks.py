"""Installation hooks.

The routing keys of contacts and leads are stored computed fields. Computed
by the ORM at installation, they cost minutes and gigabytes on a database
with millions of contacts. The pre-init hook creates the columns and fills
them in batches by SQL, with the same normalization as the fields' compute
method; Odoo then adopts the existing columns instead of computing them.
"""

import logging
from concurrent.futures import ThreadPoolExecutor

from odoo.tools import SQL, sql

from .models.sms_phone_key_mixin import PHONE_KEY_FIELDS
from .tools.compat import PHONE_FIELDS
from .tools.phone import normalize_e164

_logger = logging.getLogger(__name__)

PHONE_KEY_TABLES = ("res_partner", "crm_lead")
PHONE_KEY_COLUMNS = tuple(PHONE_KEY_FIELDS[field] for field in PHONE_FIELDS)


def pre_init_hook(env):
    # As _sms_phone_region does: the main company's country, never the current user's company.
    main_company = env.ref("base.main_company", raise_if_not_found=False) or env["res.company"].search(
        [], order="id", limit=1
    )
    region = main_company.country_id.code or None
    for table in PHONE_KEY_TABLES:
        if not sql.table_exists(env.cr, table):
            continue
        for column in PHONE_KEY_COLUMNS:
            if not sql.column_exists(env.cr, table, column):
                sql.create_column(env.cr, table, column, "varchar")
        fill_phone_keys(env.cr, table, region)


def fill_phone_keys(cr, table, default_region, batch_size=5000):
    """Write the E.164 keys of every row of ``table`` having a phone number,
    reading national numbers with the row's country, else its company's,
    else ``default_region`` (as ``_sms_phone_region`` does).
    Returns the number of rows written.

    The database writes a batch while Python reads the numbers of the next
    one: the UPDATE runs in a thread (psycopg2 leaves Python's lock while it
    waits for the database), the cursor used by one thread at a time.
    """
    written = 0
    with ThreadPoolExecutor(max_workers=1) as writer:
        writing = None
        rows = _phone_key_rows(cr, table, 0, batch_size)
        while rows:
            values = _phone_key_values(rows, default_region)
            if writing:
                writing.result()
            last_id = rows[-1][0]
            rows = _phone_key_rows(cr, table, last_id, batch_size)
            writing = writer.submit(_write_phone_keys, cr, table, values) if values else None
            written += len(values)
        if writing:
            writing.result()
    return written


def _phone_key_rows(cr, table, last_id, limit):
    """The next ``limit`` rows of ``table`` after ``last_id`` having a phone
    number: (id, country code of the row or of its company, *phone fields)."""
    phones = SQL(", ").join(SQL("t.%s", SQL.identifier(field)) for field in PHONE_FIELDS)
    any_phone = SQL(" OR ").join(SQL("t.%s IS NOT NULL", SQL.identifier(field)) for field in PHONE_FIELDS)
    cr.execute(
        SQL(
            """
            SELECT t.id, COALESCE(country.code, company_country.code), %(phones)s
              FROM %(table)s t
         LEFT JOIN res_country country ON country.id = t.country_id
         LEFT JOIN res_company company ON company.id = t.company_id
         LEFT JOIN res_partner company_partner ON company_partner.id = company.partner_id
         LEFT JOIN res_country company_country ON company_country.id = company_partner.country_id
             WHERE t.id > %(last_id)s AND (%(any_phone)s)
          ORDER BY t.id
             LIMIT %(limit)s
            """,
            phones=phones,
            any_phone=any_phone,
            table=SQL.identifier(table),
            last_id=last_id,
            limit=limit,
        )
    )
    return cr.fetchall()


def _phone_key_values(rows, default_region):
    """(id, *keys) of the ``rows`` having at least one key."""
    values = []
    for row_id, region, *numbers in rows:
        keys = [normalize_e164(number, region or default_region) for number in numbers]
        if any(keys):
            values.append((row_id, *keys))
    return values


def _write_phone_keys(cr, table, values):
    assignments = SQL(", ").join(
        SQL("%s = v.%s", SQL.identifier(column), SQL.identifier(column)) for column in PHONE_KEY_COLUMNS
    )
    ids, *keys = zip(*values, strict=True)
    cr.execute(
        SQL(
            """
            UPDATE %(table)s AS t SET %(assignments)s
              FROM (SELECT unnest(%(ids)s::int[]) AS id, %(keys)s) AS v
             WHERE t.id = v.id
            """,
            table=SQL.identifier(table),
            assignments=assignments,
            ids=list(ids),
            keys=SQL(", ").join(
                SQL("unnest(%s::varchar[]) AS %s", list(column_keys), SQL.identifier(column))
                for column, column_keys in zip(PHONE_KEY_COLUMNS, keys, strict=True)
            ),
        )
    )


def uninstall_hook(env):
    """Messages still queued for an SMS account would go out through Odoo's
    IAP service once the addon is gone: cancel them (the chatter shows it)."""
    queued = env["sms.sms"].sudo().search([("sms_account_id", "!=", False), ("state", "=", "outgoing")])
    if queued:
        _logger.info("Canceling %s text messages queued for an SMS account", len(queued))
        queued.action_set_canceled()
