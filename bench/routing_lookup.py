"""Inbound routing lookup vs stock Odoo phone searches, measured in one run.

Run inside ``odoo-bin shell`` (``env`` is provided by the shell), on a
dedicated database, through the wrapper (see bench/README.md):

    bash bench/run_routing_lookup.sh            # database crm_sms_conversation_bench

which creates the database when missing and runs, in effect,
``odoo-bin shell -d crm_sms_conversation_bench --no-http < bench/routing_lookup.py``.

Settings (environment variables): BENCH_PARTNERS (200000), BENCH_LEADS (60000),
BENCH_TARGETS (200), BENCH_REPEAT (3 timed passes), BENCH_SEED (42),
BENCH_OUTPUT (bench/results/routing_lookup.md of this repository),
BENCH_ALLOW_DB=1 to run on a database whose name does not end in "_bench".

The script adds rows to res_partner and crm_lead (bulk SQL INSERT, then the
stored keys and Odoo's phone_sanitized are computed by their own ORM compute
methods), commits them, then measures read-only and rolls back. Already
populated rows are reused: re-running is idempotent and only adds what is
missing. Nothing is deleted.
"""

import datetime
import json
import os
import platform
import random
import re
import statistics
import sys
import time

import odoo
from odoo.modules.module import get_module_path
from odoo.tools import SQL

ADDON = "crm_sms_conversation"
PARTNER_TAG = "smsbench:"  # res_partner.ref prefix of the benchmark rows
LEAD_TAG = "smsbench"  # crm_lead.referred of the benchmark rows
BATCH = 10_000

N_PARTNERS = int(os.environ.get("BENCH_PARTNERS", 200_000))
N_LEADS = int(os.environ.get("BENCH_LEADS", 60_000))
N_TARGETS = int(os.environ.get("BENCH_TARGETS", 200))
REPEAT = int(os.environ.get("BENCH_REPEAT", 3))
SEED = int(os.environ.get("BENCH_SEED", 42))
REPO_DIR = os.path.realpath(get_module_path(ADDON))
OUTPUT = os.environ.get("BENCH_OUTPUT") or os.path.join(REPO_DIR, "bench", "results", "routing_lookup.md")
sys.path.insert(0, os.path.join(REPO_DIR, "bench"))
import phone_data  # noqa: E402
from benchlib import git_revision, percentile  # noqa: E402
from phone_data import COUNTRY_WEIGHTS, is_national  # noqa: E402

env = globals().get("env")  # provided by odoo-bin shell
if env is None:
    raise SystemExit("run this script inside odoo-bin shell: see bench/README.md")
cr = env.cr
if not (cr.dbname.endswith("_bench") or os.environ.get("BENCH_ALLOW_DB")):
    raise SystemExit(f"refusing to populate database {cr.dbname!r}: use a *_bench database or set BENCH_ALLOW_DB=1")


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# Deterministic data (bench/phone_data.py): record i of a model always gets the
# same numbers, so the ground truth (the E.164 of each stored number) is
# re-derived, never read back from the columns under test.


def gen_record(model, i):
    return phone_data.gen_record(model, i, SEED)


# ---------------------------------------------------------------------------
# Population
# ---------------------------------------------------------------------------


def country_ids():
    cr.execute("SELECT code, id FROM res_country WHERE code IN %s", [tuple(COUNTRY_WEIGHTS)])
    return dict(cr.fetchall())


def existing_partners():
    cr.execute("SELECT count(*) FROM res_partner WHERE ref LIKE %s", [PARTNER_TAG + "%"])
    return cr.fetchone()[0]


def existing_leads():
    cr.execute("SELECT count(*) FROM crm_lead WHERE referred = %s", [LEAD_TAG])
    return cr.fetchone()[0]


def recompute(model, ids):
    """Compute the addon's keys and Odoo's phone_sanitized with their own
    compute methods, as the ORM does when a record is written."""
    Model = env[model].with_context(active_test=False)
    records = Model.browse(ids)
    for fname in ("sms_phone_e164", "sms_mobile_e164", "phone_sanitized"):
        env.add_to_compute(Model._fields[fname], records)
    records._recompute_recordset()
    env.flush_all()
    env.invalidate_all()


def populate_partners(target, countries):
    start = existing_partners()
    if start >= target:
        return 0
    log(f"res.partner: {start} benchmark rows, adding {target - start}")
    for lo in range(start, target, BATCH):
        rows = []
        for i in range(lo, min(lo + BATCH, target)):
            data = gen_record("res.partner", i)
            name = f"Bench Contact {i:07d}"
            rows.append(
                (
                    name,
                    name,
                    PARTNER_TAG + str(i),
                    countries[data["country"]],
                    data["phone"] and data["phone"][0],
                    data["mobile"] and data["mobile"][0],
                )
            )
        ids = [
            r[0]
            for r in cr.execute_values(
                """INSERT INTO res_partner (name, complete_name, ref, country_id, phone, mobile, active, type,
                                         is_company, lang, partner_share, create_uid, write_uid,
                                         create_date, write_date)
               VALUES %s RETURNING id""",
                rows,
                template="(%s, %s, %s, %s, %s, %s, true, 'contact', false, 'en_US', true, 1, 1,"
                " now() at time zone 'UTC', now() at time zone 'UTC')",
                page_size=1000,
                fetch=True,
            )
        ]
        cr.execute("UPDATE res_partner SET commercial_partner_id = id WHERE id = ANY(%s)", [ids])
        recompute("res.partner", ids)
        cr.commit()
        log(f"res.partner: {lo + len(ids)}/{target}")
    return target - start


def populate_leads(target, countries, company_id):
    start = existing_leads()
    if start >= target:
        return 0
    log(f"crm.lead: {start} benchmark rows, adding {target - start}")
    for lo in range(start, target, BATCH):
        rows = []
        for i in range(lo, min(lo + BATCH, target)):
            data = gen_record("crm.lead", i)
            rows.append(
                (
                    f"Bench Lead {i:07d}",
                    "lead" if i % 3 else "opportunity",
                    company_id,
                    countries[data["country"]],
                    data["phone"] and data["phone"][0],
                    data["mobile"] and data["mobile"][0],
                )
            )
        ids = [
            r[0]
            for r in cr.execute_values(
                """INSERT INTO crm_lead (name, type, company_id, country_id, phone, mobile, referred, active,
                                      priority, create_uid, write_uid, create_date, write_date)
               VALUES %s RETURNING id""",
                rows,
                template=f"(%s, %s, %s, %s, %s, %s, '{LEAD_TAG}', true, '0', 1, 1,"
                " now() at time zone 'UTC', now() at time zone 'UTC')",
                page_size=1000,
                fetch=True,
            )
        ]
        recompute("crm.lead", ids)
        cr.commit()
        log(f"crm.lead: {lo + len(ids)}/{target}")
    return target - start


def vacuum_analyze(tables, vacuum):
    """VACUUM needs its own autocommit connection; ANALYZE alone runs here."""
    if vacuum:
        with odoo.sql_db.db_connect(cr.dbname).cursor() as vcr:
            vcr._cnx.autocommit = True
            for table in tables:
                vcr.execute(f"VACUUM ANALYZE {table}")
    else:
        for table in tables:
            cr.execute(f"ANALYZE {table}")


def bench_number():
    """A real sms.number of the main company (created once)."""
    Account = env["sms.account"].with_context(active_test=False)
    account = Account.search([("name", "=", "SMS bench account")], limit=1)
    if not account:
        account = Account.create({"name": "SMS bench account", "provider": "simulator"})
    number = env["sms.number"].with_context(active_test=False).search([("account_id", "=", account.id)], limit=1)
    if not number:
        number = env["sms.number"].create({"number": "+14155550100", "account_id": account.id})
        cr.commit()
    return number


# ---------------------------------------------------------------------------
# Targets: numbers known to exist, half stored in a national format
# ---------------------------------------------------------------------------


def pick_targets(n_partners, n_leads, count, rng):
    """``count`` targets: half held by a benchmark partner, half by a lead;
    in each half, half stored in a national format. Each target is a dict:
    e164, model and id of the holder, stored text, stored format kind."""
    wanted = []
    for model, n_rows in (("res.partner", n_partners), ("crm.lead", n_leads)):
        share = count // 2 if model == "res.partner" else count - count // 2
        quota = {True: share // 2, False: share - share // 2}  # national / international
        seen = set()
        while any(quota.values()):
            i = rng.randrange(n_rows)
            if i in seen:
                continue
            seen.add(i)
            data = gen_record(model, i)
            stored = [data[f] for f in ("phone", "mobile") if data[f]]
            if not stored:
                continue
            text, e164, kind = rng.choice(stored)
            if quota[is_national(kind)]:
                quota[is_national(kind)] -= 1
                wanted.append((model, i, text, e164, kind))
    refs = [PARTNER_TAG + str(i) for model, i, *_ in wanted if model == "res.partner"]
    cr.execute("SELECT ref, id FROM res_partner WHERE ref = ANY(%s)", [refs])
    partner_ids = dict(cr.fetchall())
    names = [f"Bench Lead {i:07d}" for model, i, *_ in wanted if model == "crm.lead"]
    cr.execute("SELECT name, id FROM crm_lead WHERE referred = %s AND name = ANY(%s)", [LEAD_TAG, names])
    lead_ids = dict(cr.fetchall())
    targets = []
    for model, i, text, e164, kind in wanted:
        rec_id = partner_ids[PARTNER_TAG + str(i)] if model == "res.partner" else lead_ids[f"Bench Lead {i:07d}"]
        targets.append({"e164": e164, "model": model, "id": rec_id, "stored": text, "kind": kind})
    rng.shuffle(targets)
    return targets


# ---------------------------------------------------------------------------
# Methods under test
# ---------------------------------------------------------------------------


def methods(number):
    Partner = env["res.partner"].with_context(active_test=False)
    Lead = env["crm.lead"].with_context(active_test=False)
    Conversation = env["sms.conversation"]

    def ids_of(records, model):
        return {r.id for r in records if r._name == model}

    def routing(e164):
        found = Conversation._routing_candidates(number, e164)
        return {("res.partner", i) for i in ids_of(found, "res.partner")} | {
            ("crm.lead", i) for i in ids_of(found, "crm.lead")
        }

    def search(Model, domain_of):
        def run(e164):
            return {(Model._name, i) for i in Model.search(domain_of(e164)).ids}

        return run

    def both(first, second):
        def run(e164):
            return first(e164) | second(e164)

        return run

    def sql_partner(e164):
        cr.execute("SELECT id FROM res_partner WHERE sms_phone_e164 = %s OR sms_mobile_e164 = %s", [e164, e164])
        return {("res.partner", row[0]) for row in cr.fetchall()}

    stock_partner = search(Partner, lambda e: [("phone_mobile_search", "=", e)])
    stock_lead = search(Lead, lambda e: [("phone_mobile_search", "=", e)])
    # key, label, models searched, reference (ours) for the ratio, function
    return [
        (
            "ours_routing",
            "ours: `sms.conversation._routing_candidates(number, e164)` (partners + leads + conversations)",
            ("res.partner", "crm.lead"),
            None,
            routing,
        ),
        (
            "ours_partner",
            "ours: ORM `res.partner` search `_sms_phone_key_domain(e164)`",
            ("res.partner",),
            None,
            search(Partner, Partner._sms_phone_key_domain),
        ),
        (
            "ours_lead",
            "ours: ORM `crm.lead` search `_sms_phone_key_domain(e164)`",
            ("crm.lead",),
            None,
            search(Lead, Lead._sms_phone_key_domain),
        ),
        (
            "ours_sql_partner",
            "ours, without the ORM: raw SQL `sms_phone_e164 = %s OR sms_mobile_e164 = %s` on res_partner",
            ("res.partner",),
            "ours_partner",
            sql_partner,
        ),
        (
            "stock_partner",
            "stock: ORM `res.partner` search `phone_mobile_search = e164`",
            ("res.partner",),
            "ours_partner",
            stock_partner,
        ),
        (
            "stock_lead",
            "stock: ORM `crm.lead` search `phone_mobile_search = e164`",
            ("crm.lead",),
            "ours_lead",
            stock_lead,
        ),
        (
            "stock_partner_sanitized",
            "stock: ORM `res.partner` search `phone_sanitized = e164` (not indexed)",
            ("res.partner",),
            "ours_partner",
            search(Partner, lambda e: [("phone_sanitized", "=", e)]),
        ),
        (
            "stock_lead_sanitized",
            "stock: ORM `crm.lead` search `phone_sanitized = e164` (indexed on crm_lead)",
            ("crm.lead",),
            "ours_lead",
            search(Lead, lambda e: [("phone_sanitized", "=", e)]),
        ),
        (
            "stock_both",
            "stock equivalent of routing: `phone_mobile_search` on res.partner, then on crm.lead",
            ("res.partner", "crm.lead"),
            "ours_routing",
            both(stock_partner, stock_lead),
        ),
    ]


# ---------------------------------------------------------------------------
# Query plans of one lookup (EXPLAIN ANALYZE of the SELECTs a method runs)
# ---------------------------------------------------------------------------


def capture_queries(fn, e164):
    captured = []
    original = cr.execute

    def spy(query, params=None, log_exceptions=True):
        captured.append((query, params))
        return original(query, params, log_exceptions)

    cr.execute = spy
    try:
        fn(e164)
    finally:
        del cr.execute
    return captured


def _plan_nodes(node, out):
    kind = node["Node Type"]
    if "Scan" in kind:
        where = node.get("Index Name") or node.get("Relation Name") or ""
        est = node["Plan Rows"]
        actual = node.get("Actual Rows")
        out.append(f"{kind} {where} (est. {est} rows, actual {actual})")
    for child in node.get("Plans", []):
        _plan_nodes(child, out)
    return out


def plan_summary(fn, e164):
    lines = []
    for query, params in capture_queries(fn, e164):
        text = query.code if isinstance(query, SQL) else str(query)
        if not text.lstrip().upper().startswith("SELECT"):
            continue
        if isinstance(query, SQL):
            cr.execute(SQL("EXPLAIN (ANALYZE, FORMAT JSON) %s", query))
        else:
            cr.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + text, params)
        plan = cr.fetchone()[0]
        plan = json.loads(plan) if isinstance(plan, str) else plan
        table = re.search(r'FROM\s+"?(\w+)"?', text)
        nodes = _plan_nodes(plan[0]["Plan"], [])
        lines.append(f"{table.group(1) if table else '?'}: " + ("; ".join(nodes) or "no scan (ids already known)"))
    return lines


# ---------------------------------------------------------------------------
# Measurement
# ---------------------------------------------------------------------------


def measure(method_list, targets, repeat, rng):
    fns = {key: fn for key, _label, _models, _ref, fn in method_list}
    # Warm-up: every method on every target once, untimed.
    for target in targets:
        for fn in fns.values():
            fn(target["e164"])
    samples = {key: [] for key in fns}
    found = {key: [] for key in fns}
    order = list(fns)
    for rep in range(repeat):
        for target in targets:
            rng.shuffle(order)  # no method always runs first (or last)
            for key in order:
                t0 = time.perf_counter()
                result = fns[key](target["e164"])
                samples[key].append((time.perf_counter() - t0) * 1000.0)
                if rep == 0:
                    found[key].append((target["model"], target["id"]) in result)
    return samples, found


def recall(method, targets, found_flags, national=None):
    models = method[2]
    hits = [
        flag
        for target, flag in zip(targets, found_flags, strict=True)
        if target["model"] in models and (national is None or is_national(target["kind"]) == national)
    ]
    return (sum(hits) / len(hits), len(hits)) if hits else (float("nan"), 0)


def table_stats():
    stats = {}
    for model, table in (("res.partner", "res_partner"), ("crm.lead", "crm_lead")):
        cr.execute(
            f"SELECT count(*), count(phone), count(mobile), count(sms_phone_e164), count(sms_mobile_e164),"
            f" count(phone_sanitized) FROM {table}"
        )
        stats[model] = dict(
            zip(
                ("rows", "phone", "mobile", "sms_phone_e164", "sms_mobile_e164", "phone_sanitized"),
                cr.fetchone(),
                strict=True,
            )
        )
    return stats


def native_findable_share():
    """Share of the benchmark partners' stored numbers that the native search
    can find: separators stripped, they read +E164 or 00E164."""
    cr.execute(
        r"""SELECT count(*) FILTER (WHERE regexp_replace(n, '[\s\\./\(\)\-]', '', 'g') IN (k, '00' || substr(k, 2))),
                  count(*)
              FROM (SELECT phone AS n, sms_phone_e164 AS k FROM res_partner WHERE ref LIKE %s AND phone IS NOT NULL
                    UNION ALL
                    SELECT mobile, sms_mobile_e164 FROM res_partner WHERE ref LIKE %s AND mobile IS NOT NULL) s""",
        [PARTNER_TAG + "%", PARTNER_TAG + "%"],
    )
    return cr.fetchone()


def main():
    t_start = time.time()
    countries = country_ids()
    company = env.ref("base.main_company")
    added_p = populate_partners(N_PARTNERS, countries)
    added_l = populate_leads(N_LEADS, countries, company.id)
    t_populated = time.time()
    log("VACUUM ANALYZE" if added_p or added_l else "ANALYZE")
    vacuum_analyze(["res_partner", "crm_lead"], vacuum=bool(added_p or added_l))
    number = bench_number()
    n_partners, n_leads = existing_partners(), existing_leads()
    if (n_partners, n_leads) != (N_PARTNERS, N_LEADS):
        log(f"note: database holds {n_partners} benchmark partners and {n_leads} leads (asked {N_PARTNERS}/{N_LEADS})")
    rng = random.Random(SEED)
    targets = pick_targets(n_partners, n_leads, N_TARGETS, rng)
    method_list = methods(number)

    # Sanity: our keys must equal the ground truth for every target.
    key_misses = [t for t in targets if t["e164"] not in env[t["model"]].browse(t["id"])._sms_phone_numbers().values()]
    log(f"measuring {len(method_list)} methods x {len(targets)} targets x {REPEAT} passes (after a warm-up pass)")
    load_before = os.getloadavg()
    t_measure = time.time()
    samples, found = measure(method_list, targets, REPEAT, rng)
    t_measured = time.time()
    load_after = os.getloadavg()
    plan_target = next(t for t in targets if t["model"] == "res.partner" and is_national(t["kind"]))
    plans = {key: plan_summary(fn, plan_target["e164"]) for key, _l, _m, _r, fn in method_list}

    p50 = {key: statistics.median(values) for key, values in samples.items()}
    p95 = {key: percentile(values, 0.95) for key, values in samples.items()}
    stats = table_stats()
    cr.execute("SHOW server_version")
    pg_version = cr.fetchone()[0]
    cr.execute(
        "SELECT pg_size_pretty(pg_relation_size('res_partner__sms_phone_e164_index')),"
        " pg_size_pretty(pg_relation_size('res_partner__sms_mobile_e164_index'))"
    )
    index_sizes = cr.fetchone()

    lines = [
        "# Inbound routing lookup vs stock Odoo phone searches",
        "",
        f"- date: {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}",
        f"- database: `{cr.dbname}`; N = {n_partners:,} benchmark partners ({stats['res.partner']['rows']:,} rows in"
        f" res_partner), M = {n_leads:,} benchmark leads ({stats['crm.lead']['rows']:,} rows in crm_lead)",
        f"- machine: {os.cpu_count()} cores, {platform.machine()}, Linux {platform.release()}, Python"
        f" {platform.python_version()}, PostgreSQL {pg_version}, Odoo {odoo.release.version},"
        f" addon at {git_revision()}",
        f"- load average (1/5/15 min) before measuring: {'/'.join(f'{x:.2f}' for x in load_before)}, after:"
        f" {'/'.join(f'{x:.2f}' for x in load_after)} (other processes on the machine widen p95 more than p50)",
        f"- {len(targets)} target numbers known to exist ({sum(t['model'] == 'res.partner' for t in targets)} held by a"
        f" partner, {sum(t['model'] == 'crm.lead' for t in targets)} by a lead; "
        f"{sum(is_national(t['kind']) for t in targets)} stored in a national format), seed {SEED}",
        f"- every method runs on the same {len(targets)} E.164 numbers, in one transaction, as superuser, with"
        f" `active_test=False`; one untimed warm-up pass, then {REPEAT} timed passes ({len(targets) * REPEAT} samples"
        " per method), methods shuffled per target",
        "- recall: share of the targets held by the searched model(s) whose holder is in the result; "
        "national / international: the same, split by how the target is stored",
        "",
        "| method | p50 ms | p95 ms | recall | recall national | recall international | p50 / ours (same scope) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for method in method_list:
        key, label, _models, ref, _fn = method
        r_all, n_all = recall(method, targets, found[key])
        r_nat, _ = recall(method, targets, found[key], national=True)
        r_int, _ = recall(method, targets, found[key], national=False)
        ratio = f"{p50[key] / p50[ref]:.1f}x vs `{ref}`" if ref else "reference"
        lines.append(
            f"| {label} [`{key}`] | {p50[key]:.3f} | {p95[key]:.3f} | {r_all:.1%} (n={n_all}) | {r_nat:.1%} |"
            f" {r_int:.1%} | {ratio} |"
        )
    stored_ok, stored_all = native_findable_share()
    lines += [
        "",
        f"- partner columns: {stats['res.partner']}; lead columns: {stats['crm.lead']}",
        f"- partial btree indexes on res_partner: sms_phone_e164 {index_sizes[0]}, sms_mobile_e164 {index_sizes[1]}",
        f"- benchmark partner numbers stored in international form without `(0)`, which the native"
        f" `phone_mobile_search` can find: {stored_ok / stored_all:.1%} of {stored_all:,}",
        f"- targets whose addon key differs from the generated E.164 (should be 0): {len(key_misses)}",
        "",
        f"## Query plans for one target stored nationally (`{plan_target['stored']}`, {plan_target['e164']})",
        "",
    ]
    for key, plan_lines in plans.items():
        lines.append(f"- `{key}`: " + (" | ".join(plan_lines) or "no SELECT"))
    lines += [
        "",
        f"Population this run: {added_p:,} partners and {added_l:,} leads added in {t_populated - t_start:.0f} s;"
        f" measurement {t_measured - t_measure:.0f} s; total {time.time() - t_start:.0f} s.",
        "",
    ]
    report = "\n".join(lines)
    print(report)
    os.makedirs(os.path.dirname(OUTPUT), exist_ok=True)
    with open(OUTPUT, "w", encoding="utf-8") as handle:
        handle.write(report)
    log(f"written to {OUTPUT}")
    cr.rollback()  # measurements are read-only; drop anything they may have cached in the transaction


main()
