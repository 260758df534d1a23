"""Filling the routing keys at installation: the SQL hook vs the ORM, in one run.

Run inside ``odoo-bin shell`` on the benchmark database (see bench/README.md):

    bash bench/run_routing_lookup.sh crm_sms_conversation_bench install_keys.py

On every row of res_partner and crm_lead, the keys are emptied, then filled
by the installation hook's ``fill_phone_keys`` (what a first installation
does); emptied again, then computed by the ORM (what Odoo would do without
the hook). Both results are compared, the transaction rolled back. Writes
bench/results/install_keys.md.
"""

import datetime
import os
import resource
import time

from odoo.addons.crm_sms_conversation.hooks import PHONE_KEY_TABLES, fill_phone_keys
from odoo.modules.module import get_module_path
from odoo.tools import SQL

OUTPUT = os.path.join(os.path.realpath(get_module_path("crm_sms_conversation")), "bench", "results", "install_keys.md")

env = globals().get("env")  # provided by odoo-bin shell
if env is None:
    raise SystemExit("run this script inside odoo-bin shell: see bench/README.md")
cr = env.cr
MODELS = {"res_partner": "res.partner", "crm_lead": "crm.lead"}


def empty_keys():
    for table in PHONE_KEY_TABLES:
        cr.execute(SQL("UPDATE %s SET sms_phone_e164 = NULL, sms_mobile_e164 = NULL", SQL.identifier(table)))
    env.invalidate_all()


def snapshot():
    result = {}
    for table in PHONE_KEY_TABLES:
        cr.execute(SQL("SELECT id, sms_phone_e164, sms_mobile_e164 FROM %s", SQL.identifier(table)))
        result[table] = {row[0]: (row[1], row[2]) for row in cr.fetchall()}
    return result


counts = {}
for table in PHONE_KEY_TABLES:
    cr.execute(SQL("SELECT count(*) FROM %s", SQL.identifier(table)))
    counts[table] = cr.fetchone()[0]

empty_keys()
start = time.perf_counter()
region = env.company.country_id.code or None
for table in PHONE_KEY_TABLES:
    fill_phone_keys(cr, table, region)
hook_seconds = time.perf_counter() - start
by_hook = snapshot()

empty_keys()
rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
for model in MODELS.values():
    Model = env[model].with_context(active_test=False)
    records = Model.search([])
    for fname in ("sms_phone_e164", "sms_mobile_e164"):
        env.add_to_compute(Model._fields[fname], records)
    Model.flush_model(["sms_phone_e164", "sms_mobile_e164"])
orm_seconds = time.perf_counter() - start
rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
by_orm = snapshot()
cr.rollback()

# The ORM writes False where the hook leaves NULL: both read as "no key".
differences = sum(
    1
    for table in PHONE_KEY_TABLES
    for row_id, keys in by_orm[table].items()
    if tuple(k or None for k in keys) != tuple(k or None for k in by_hook[table].get(row_id, (None, None)))
)
rows = sum(counts.values())
report = "\n".join(
    [
        "# Routing keys at installation: SQL hook vs ORM compute",
        "",
        f"- date: {datetime.datetime.now(datetime.UTC).isoformat(timespec='seconds')}; database `{cr.dbname}`;"
        f" {os.cpu_count()} cores; rows: {', '.join(f'{t} {n:,}' for t, n in counts.items())}",
        "",
        "| method | seconds | µs per row |",
        "|---|---:|---:|",
        f"| installation hook `fill_phone_keys` (SQL batches) | {hook_seconds:.1f} | {hook_seconds / rows * 1e6:.0f} |",
        f"| ORM compute of the stored fields | {orm_seconds:.1f} | {orm_seconds / rows * 1e6:.0f} |",
        "",
        f"- ORM / hook: **{orm_seconds / hook_seconds:.1f}x**; the ORM's peak memory grew by"
        f" {(rss_after - rss_before) / 1024:.0f} MiB during its run",
        f"- rows whose keys differ between the two: {differences} (should be 0)",
        "",
    ]
)
os.makedirs(os.path.dirname(OUTPUT), exist_ok=True)
with open(OUTPUT, "w", encoding="utf-8") as out:
    out.write(report)
print(report)
