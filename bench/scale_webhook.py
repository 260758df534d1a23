"""Inbound webhook on a million contacts vs on a thousand, interleaved, in one run.

Usage (``make bench`` runs it; plain Python of the virtual environment):

    python bench/scale_webhook.py [--big wt_bench_1m] [--small wt_bench_1k]

Two ``odoo-bin`` with the same settings (prefork, ``--workers=2``, one cron
worker, ``-d`` naming the database, no ``--db-filter``), one per database,
both filled by ``scale_data.py`` and with the addon installed. For each
message, the two databases are taken in a random order: a signed Twilio
inbound webhook from one of the contacts (each the only holder of its
number, assigned to a seller) is posted, one at a time, and timed:

- ``http``: from the connection to the end of the answer (the event stored);
- ``end-to-end``: from the connection until the processing cron has routed the
  message to the contact and posted it (the event ``done`` with its message),
  polled every 2 ms on the database.

A contact's first message on the run's number creates its conversation; the
later ones find it; every message is routed (the contact looked up by its
number). Writes its section of bench/RESULTS.md.

Settings: BENCH_SCALE_MESSAGES (messages per database: 300),
BENCH_SCALE_CONTACTS (senders per database: 50).
"""

import argparse
import os
import random
import statistics
import sys
import time

import benchlib
from benchlib import log

TARGET = 1.2


def post_and_wait(side, sid, sender, timeout=120):
    """(http seconds, end-to-end seconds or None, status) of one inbound message."""
    body, headers = benchlib.inbound_request(side["conf"], sid, sender, f"Scale benchmark {sid}")
    started = time.perf_counter()
    status, http_seconds = benchlib.http_post(side["port"], side["conf"]["path"], body, headers)
    if status != 200:
        return http_seconds, None, status
    cr = side["cr"]
    while time.perf_counter() - started < timeout:
        cr.execute(
            "SELECT 1 FROM sms_event WHERE kind = 'inbound' AND external_id = %s AND state = 'done'"
            " AND message_id IS NOT NULL",
            [sid],
        )
        if cr.fetchone():
            return http_seconds, time.perf_counter() - started, status
        time.sleep(0.002)
    return http_seconds, None, status


def counts(dbname):
    with benchlib.db_cursor(dbname) as cr:
        cr.execute("SELECT (SELECT count(*) FROM res_partner), (SELECT count(*) FROM crm_lead)")
        return cr.fetchone()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--big", default="wt_bench_1m")
    parser.add_argument("--small", default="wt_bench_1k")
    parser.add_argument("--port", type=int, default=18710)
    parser.add_argument("--messages", type=int, default=int(os.environ.get("BENCH_SCALE_MESSAGES", 300)))
    parser.add_argument("--contacts", type=int, default=int(os.environ.get("BENCH_SCALE_CONTACTS", 50)))
    args = parser.parse_args()
    benchlib.handle_sigterm()
    tag = str(int(time.time() * 1000) % 10**5)
    rng = random.Random(tag)
    sides = {}
    try:
        for index, (key, db) in enumerate((("big", args.big), ("small", args.small))):
            port = args.port + 10 * index
            logfile = f"/tmp/{db}_scale.log"
            if os.path.exists(logfile):
                os.remove(logfile)
            contacts = benchlib.pick_contacts(db, args.contacts, tag)
            server = benchlib.start_odoo(db, port, logfile, workers=2, cron_threads=1)
            sides[key] = {"db": db, "port": port, "server": server, "logfile": logfile, "contacts": contacts}
            conf = benchlib.prepare_webhooks(
                f"http://127.0.0.1:{port}", db, tag + str(8 + index), [c[0] for c in contacts]
            )
            cnx = benchlib.db_connect(db)
            sides[key].update(conf=conf, cnx=cnx, cr=cnx.cursor(), rows=counts(db))
            log(f"{key}: {db} on port {port}, {sides[key]['rows'][0]:,} contacts")
        samples = {key: {"http": [], "e2e": [], "bad": 0} for key in sides}
        # Warm-up: 10 messages per database from a contact of its own, not counted.
        for i in range(10):
            for key, side in sides.items():
                post_and_wait(side, f"SMW{tag}{key[0]}{i:04d}", side["contacts"][-1][1])
        load_before = benchlib.load_average()
        for i in range(args.messages):
            order = list(sides)
            rng.shuffle(order)
            for key in order:
                side = sides[key]
                contact = i % (len(side["contacts"]) - 1)
                http_s, e2e_s, _status = post_and_wait(side, f"SMS{tag}{key[0]}{i:05d}", side["contacts"][contact][1])
                sample = samples[key]
                sample["http"].append(http_s * 1000)
                if e2e_s is None:
                    sample["bad"] += 1
                    continue
                sample["e2e"].append(e2e_s * 1000)
            if (i + 1) % 50 == 0:
                log(f"{i + 1}/{args.messages} messages per database")
        load_after = benchlib.load_average()
    finally:
        for side in sides.values():
            benchlib.stop(side.get("server"))
            if side.get("cnx"):
                side["cnx"].close()
    errors = {key: benchlib.server_errors(side["logfile"]) for key, side in sides.items()}

    def stat(key, kind, q):
        values = samples[key][kind]
        return statistics.median(values) if q == 50 else benchlib.percentile(values, 0.95)

    big, small = sides["big"], sides["small"]
    lines = [
        "## Inbound webhook at a million contacts vs a thousand (`scale_webhook.py`)",
        "",
        f"- date: {benchlib.now()}; machine: {benchlib.machine(args.big)}",
        f"- load average (1/5/15 min) before: {load_before}, after: {load_after}",
        f"- command: `{benchlib.command_line()}`",
        f"- `{args.big}`: {big['rows'][0]:,} contacts, {big['rows'][1]:,} leads; `{args.small}`:"
        f" {small['rows'][0]:,} contacts, {small['rows'][1]:,} leads; both filled by `scale_data.py`, the addon"
        " installed on them (its keys filled by the installation)",
        "- two `odoo-bin`, one per database, same settings (`-d <db>`, no `--db-filter`, `--workers=2`,"
        " `--max-cron-threads=1`, `--log-level=warn`), only one working at a time: each message goes to both"
        f" databases in a random order, one request at a time; {args.messages} messages per database from"
        f" {args.contacts - 1} contacts of each (the first message of a contact creates its conversation), after 10"
        " untimed ones",
        "",
        "| measure | 1k p50 ms | 1k p95 ms | 1M p50 ms | 1M p95 ms | 1M / 1k p50 | 1M / 1k p95 |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    labels = {
        "http": "webhook answer (HTTP)",
        "e2e": "end-to-end: answer + cron routes and posts",
    }
    ratios = {}
    for kind, label in labels.items():
        if not samples["big"][kind] or not samples["small"][kind]:
            continue
        r50 = stat("big", kind, 50) / stat("small", kind, 50)
        r95 = stat("big", kind, 95) / stat("small", kind, 95)
        ratios[kind] = (r50, r95)
        lines.append(
            f"| {label} | {stat('small', kind, 50):.1f} | {stat('small', kind, 95):.1f} | {stat('big', kind, 50):.1f}"
            f" | {stat('big', kind, 95):.1f} | {r50:.2f}x | {r95:.2f}x |"
        )
    lines += ["", "| target | measured | target | |", "|---|---:|---:|---|"]
    for kind in ("http", "e2e"):
        for q, ratio in zip((50, 95), ratios.get(kind, (float("nan"),) * 2), strict=True):
            lines.append(
                f"| {labels[kind]}: 1M / 1k p{q} | {ratio:.2f}x | <= {TARGET}x | {benchlib.met(ratio <= TARGET)} |"
            )
    lines += [
        "",
        f"- messages not processed within 2 minutes or not answered 200: 1M {samples['big']['bad']},"
        f" 1k {samples['small']['bad']}",
        f"- ERROR lines in the server logs: 1M {len(errors['big'])}, 1k {len(errors['small'])}",
    ]
    text = "\n".join(lines)
    benchlib.write_section("scale_webhook", text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
