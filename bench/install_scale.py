"""Installing the addon on a database of a million contacts vs Odoo's own
``phone_sanitized`` recompute over the same rows, in one run.

Usage (``make bench`` runs it; plain Python of the virtual environment):

    python bench/install_scale.py [--stock wt_bench_1m_stock] [--rounds 1]

``--stock`` is a database filled by ``scale_data.py`` without the addon. Each
round, in alternating order, on a fresh copy of it (``createdb -T``):

- ``install``: ``odoo-bin -i crm_sms_conversation --stop-after-init``, the
  whole installation (its ``pre_init_hook`` fills the routing keys of every
  contact and lead by SQL batches);
- ``phone_sanitized``: in ``odoo-bin shell``, the column emptied (not timed),
  then recomputed by the ORM for every contact and lead
  (``env.add_to_compute`` + ``flush_model``), as Odoo does when the field is
  added to a populated database: the same starting point as the addon's keys.
  It runs with ``--limit-memory-hard=0``: within Odoo's default hard limit
  (2.5 GiB of address space) it stops with a MemoryError at a million contacts.

Each process runs under ``/usr/bin/time -v``: wall time and peak resident
memory. The recompute is also timed inside the shell (registry loading left
out). Writes its section of bench/RESULTS.md.
"""

import argparse
import os
import re
import subprocess
import sys
import time

import benchlib
from benchlib import log

RECOMPUTE = """
import time
cr = env.cr
for table in ("res_partner", "crm_lead"):
    cr.execute(f"UPDATE {table} SET phone_sanitized = NULL")
env.invalidate_all()
started = time.perf_counter()
for model in ("res.partner", "crm.lead"):
    Model = env[model].with_context(active_test=False)
    env.add_to_compute(Model._fields["phone_sanitized"], Model.search([]))
    Model.flush_model(["phone_sanitized"])
print("RECOMPUTE_SECONDS", time.perf_counter() - started)
cr.execute("SELECT count(phone_sanitized) FROM res_partner")
print("PARTNERS_SANITIZED", cr.fetchone()[0])
cr.rollback()
"""


def timed(command, stdin=None):
    """(wall seconds, peak RSS in MiB, output) of ``command`` run under /usr/bin/time -v."""
    started = time.monotonic()
    result = subprocess.run(["/usr/bin/time", "-v", *command], input=stdin, capture_output=True, text=True, check=False)
    wall = time.monotonic() - started
    if result.returncode:
        raise RuntimeError(f"{' '.join(command[:4])}... failed: {result.stderr[-2000:]}")
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", result.stderr)
    return wall, int(rss.group(1)) / 1024 if rss else float("nan"), result.stdout + result.stderr


def copy_db(stock, name):
    subprocess.run(["dropdb", "--if-exists", name], check=True)
    subprocess.run(["createdb", "-T", stock, name], check=True)


def odoo_command(*args):
    return ["bash", os.path.join(benchlib.REPO_DIR, "scripts", "odoo.sh"), *args]


def run_install(stock, name):
    copy_db(stock, name)
    try:
        wall, rss, _out = timed(
            odoo_command(
                "-d",
                name,
                "-i",
                "crm_sms_conversation",
                "--stop-after-init",
                "--no-http",
                "--log-level=warn",
                "--max-cron-threads=0",
            )
        )
        with benchlib.db_cursor(name) as cr:
            cr.execute("SELECT count(sms_phone_e164), count(sms_mobile_e164) FROM res_partner")
            keys = cr.fetchone()
        return {"wall": wall, "rss": rss, "inner": None, "filled": f"{keys[0]:,} phone and {keys[1]:,} mobile keys"}
    finally:
        subprocess.run(["dropdb", "--if-exists", name], check=True)


def run_recompute(stock, name):
    copy_db(stock, name)
    try:
        # odoo-bin wants "shell" before any option, and scripts/odoo.sh puts its options first.
        env_sh = os.path.join(benchlib.REPO_DIR, "scripts", "env.sh")
        shell = [
            "bash",
            "-c",
            f'. "{env_sh}" && exec "$VENV/bin/python" "$ODOO_SRC/odoo-bin" shell'
            ' --addons-path="$ODOO_SRC/addons,$ODOO_SRC/odoo/addons,$ADDONS_LINK_DIR"'
            f' --db_host="$PGHOST" --db_port="$PGPORT" --db_user="$PGUSER" -d {name} --no-http --log-level=warn'
            # Odoo's default hard limit (2.5 GiB of address space) stops this recompute with a MemoryError.
            " --limit-memory-hard=0",
        ]
        wall, rss, out = timed(shell, stdin=RECOMPUTE)
        inner = float(re.search(r"RECOMPUTE_SECONDS ([\d.]+)", out).group(1))
        filled = int(re.search(r"PARTNERS_SANITIZED (\d+)", out).group(1))
        return {"wall": wall, "rss": rss, "inner": inner, "filled": f"{filled:,} contacts' phone_sanitized"}
    finally:
        subprocess.run(["dropdb", "--if-exists", name], check=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stock", default="wt_bench_1m_stock")
    parser.add_argument("--rounds", type=int, default=int(os.environ.get("BENCH_INSTALL_ROUNDS", 1)))
    args = parser.parse_args()
    if not benchlib.db_exists(args.stock):
        raise SystemExit(f"{args.stock} does not exist: run bench/scale_db.sh first")
    with benchlib.db_cursor(args.stock) as cr:
        cr.execute("SELECT (SELECT count(*) FROM res_partner), (SELECT count(*) FROM crm_lead)")
        partners, leads = cr.fetchone()
    runs = {"install": [], "phone_sanitized": []}
    load_before = benchlib.load_average()
    for round_no in range(args.rounds):
        order = ["install", "phone_sanitized"] if round_no % 2 == 0 else ["phone_sanitized", "install"]
        for case in order:
            log(f"round {round_no + 1}/{args.rounds}: {case}")
            copy = f"wt_bench_install_{case[:5]}"
            result = run_install(args.stock, copy) if case == "install" else run_recompute(args.stock, copy)
            log(f"{case}: {result}")
            runs[case].append(result)
    load_after = benchlib.load_average()

    def best(case, key):
        return min(r[key] for r in runs[case])

    install_wall, recompute_wall = best("install", "wall"), best("phone_sanitized", "wall")
    recompute_inner = best("phone_sanitized", "inner")
    install_rss = max(r["rss"] for r in runs["install"])
    recompute_rss = max(r["rss"] for r in runs["phone_sanitized"])
    ratio = install_wall / recompute_inner
    lines = [
        "## Installing on a million contacts vs Odoo's `phone_sanitized` recompute (`install_scale.py`)",
        "",
        f"- date: {benchlib.now()}; copies of `{args.stock}`: {partners:,} contacts, {leads:,} leads; machine:"
        f" {benchlib.machine(args.stock)}",
        f"- load average (1/5/15 min) before: {load_before}, after: {load_after}",
        f"- command: `{benchlib.command_line()}`",
        f"- {args.rounds} round(s), the two cases alternating, each on a fresh `createdb -T` copy; wall time and peak"
        " RSS of the odoo-bin process from `/usr/bin/time -v` (the fastest round's time, the highest peak)",
        "",
        "| case | wall s | of which the recompute itself | peak RSS MiB | result |",
        "|---|---:|---:|---:|---|",
        f"| `odoo-bin -i crm_sms_conversation` (whole installation, keys filled by the pre-init hook) |"
        f" {install_wall:.0f} | | {install_rss:.0f} | {runs['install'][0]['filled']} |",
        f"| `odoo-bin shell`: ORM recompute of `phone_sanitized` on every contact and lead (column emptied first) |"
        f" {recompute_wall:.0f} | {recompute_inner:.0f} | {recompute_rss:.0f} |"
        f" {runs['phone_sanitized'][0]['filled']} |",
        "",
        "| target | measured | target | |",
        "|---|---:|---:|---|",
        f"| whole installation / the recompute alone (registry loading excluded) | {ratio:.2f}x | <= 0.5x |"
        f" {benchlib.met(ratio <= 0.5)} |",
        f"| peak memory of the installation | {install_rss:.0f} MiB | < 1024 MiB |"
        f" {benchlib.met(install_rss < 1024)} |",
        "",
        f"- every round: {runs}",
    ]
    text = "\n".join(lines)
    benchlib.write_section("install_scale", text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
