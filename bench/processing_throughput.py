"""Processing throughput of stored inbound webhooks: the processing cron alone
against the processing cron with its helper crons, on one prefork server, in one run.

Usage (``make bench`` runs it; plain Python of the virtual environment):

    python bench/processing_throughput.py [--db wt_bench_1k] [--port 18730]

One ``odoo-bin`` in prefork mode (``--workers=2``, ``--max-cron-threads=2``:
Odoo's default) serves the database. In each round, for each case in a new
random order: the processing crons are paused, ``BENCH_PROC_MESSAGES`` signed
Twilio inbound webhooks from ``BENCH_HTTP_CONTACTS`` contacts are posted (8 at
once) and stored, then the processing cron is resumed, alone (``one``) or
with its helpers (``helpers``), and the time until every message is posted is
measured (polled every 0.2 s). The webhooks wake the processing cron as in
production; its run wakes the helpers. Checks: each message posted exactly
once, each customer's messages in the order they came, no ``ERROR`` logged.
Writes its section of bench/RESULTS.md.

Settings: BENCH_PROC_MESSAGES (messages per case and round: 600),
BENCH_PROC_ROUNDS (2), BENCH_HTTP_CONTACTS (200 senders), BENCH_PROC_CRON_THREADS (2).
"""

import argparse
import os
import random
import sys
import time

import benchlib
from benchlib import log

CASES = ("one", "helpers")
PROCESSING_CRONS = (
    "ir_cron_sms_event_process",
    "ir_cron_sms_event_process_helper_1",
    "ir_cron_sms_event_process_helper_2",
)


def cron_ids(admin):
    return [
        admin.call(
            "ir.model.data", "check_object_reference", "crm_sms_conversation", xmlid, context={"active_test": False}
        )[1]
        for xmlid in PROCESSING_CRONS
    ]


def set_active(admin, crons, active):
    """Write ``active`` on the crons, once no run of theirs holds them (Odoo refuses to change a running job)."""
    for _attempt in range(600):
        try:
            admin.call("ir.cron", "write", crons, {"active": active})
            return
        except Exception:  # noqa: BLE001 - a run still going: try again
            time.sleep(0.2)
    raise RuntimeError("the processing crons stayed busy for 2 minutes")


def wait_done(dbname, external_ids, timeout, started):
    """(seconds from ``started`` until every event of ``external_ids`` is done, events left)."""
    with benchlib.db_cursor(dbname) as cr:
        while True:
            cr.execute(
                "SELECT count(*) FROM sms_event WHERE external_id = ANY(%s) AND state != 'done'", [list(external_ids)]
            )
            left = cr.fetchone()[0]
            if not left or time.monotonic() - started > timeout:
                return time.monotonic() - started, left
            time.sleep(0.2)


def out_of_order(dbname, external_ids):
    """Customers' messages posted in another order than they came (by event id)."""
    with benchlib.db_cursor(dbname) as cr:
        cr.execute(
            """
            SELECT count(*) FROM (
                SELECT message_id, lag(message_id) OVER (PARTITION BY remote_number ORDER BY id) AS previous
                  FROM sms_event WHERE kind = 'inbound' AND external_id = ANY(%s)
            ) ordered
             WHERE message_id < previous
            """,
            [list(external_ids)],
        )
        return cr.fetchone()[0]


def run(args):
    port = args.port
    base_url = f"http://127.0.0.1:{port}"
    tag = str(int(time.time() * 1000) % 10**5) + "8"
    logfile = f"/tmp/{args.db}_processing.log"
    if os.path.exists(logfile):
        os.remove(logfile)
    rng = random.Random(tag)
    contacts = benchlib.pick_contacts(args.db, args.contacts, tag)
    server = benchlib.start_odoo(args.db, port, logfile, workers=2, cron_threads=args.cron_threads)
    results = {case: [] for case in CASES}
    checks = {case: {"posted": 0, "stored": 0, "twice": 0, "out_of_order": 0, "left": 0} for case in CASES}
    loads = []
    try:
        log(f"server on port {port} (pid {server.pid}); set-up")
        conf = benchlib.prepare_webhooks(base_url, args.db, tag, [pid for pid, _e164 in contacts])
        admin = conf["admin"]
        crons = cron_ids(admin)
        sent = [0]

        def inbound_requests(count, prefix):
            batch, ids = [], []
            for _i in range(count):
                sid = f"SM{tag}{prefix}{sent[0]:07d}"
                sent[0] += 1
                ids.append(sid)
                _pid, sender = contacts[sent[0] % len(contacts)]
                body, headers = benchlib.inbound_request(conf, sid, sender, f"Processing benchmark {sid}")
                batch.append((port, conf["path"], body, headers))
            return batch, ids

        for round_no in range(args.rounds):
            order = list(CASES)
            rng.shuffle(order)
            for case in order:
                set_active(admin, crons, False)
                batch, ids = inbound_requests(args.messages, case[0])
                _latencies, codes, _wall = benchlib.run_load(batch, 8)
                if any(code != 200 for code in codes):
                    raise RuntimeError(f"webhooks not answered 200: {sorted(set(codes))}")
                load = benchlib.load_average()
                started = time.monotonic()
                set_active(admin, crons if case == "helpers" else crons[:1], True)
                benchlib.wake_cron(args.db)
                seconds, left = wait_done(args.db, ids, args.timeout, started)
                results[case].append((len(ids) - left) / seconds)
                loads.append(load)
                stored, posted, twice = benchlib.stored_once(args.db, ids)
                check = checks[case]
                check["stored"] += stored
                check["posted"] += posted
                check["twice"] += twice
                check["left"] += left
                check["out_of_order"] += out_of_order(args.db, ids)
                log(
                    f"round {round_no + 1}/{args.rounds} {case}: {len(ids) - left} messages posted in {seconds:.1f} s"
                    f" ({results[case][-1]:.1f}/s; load {load})"
                )
        set_active(admin, crons, True)
    finally:
        benchlib.stop(server)
    errors = benchlib.server_errors(logfile)
    return report(args, results, checks, loads, errors)


def report(args, results, checks, loads, errors):
    def mean(values):
        return sum(values) / len(values)

    total = args.messages * args.rounds
    speedup = mean(results["helpers"]) / mean(results["one"])
    lines = [
        "## Processing throughput: the processing cron alone vs with its helpers (`processing_throughput.py`)",
        "",
        f"- date: {benchlib.now()}; database `{args.db}`; machine: {benchlib.machine(args.db)}",
        f"- load average (1/5/15 min) as each case began: {', '.join(loads)}",
        f"- command: `{benchlib.command_line()}`",
        f"- one `odoo-bin` (`--workers=2`, `--max-cron-threads={args.cron_threads}`), the client on the same machine;"
        f" {args.rounds} rounds x {args.messages} messages from {args.contacts} contacts per case, the cases in a new"
        " random order each round; the webhooks posted (8 at once) while the processing crons are paused, then the"
        " time from resuming them to the last message posted (routed to its contact, posted, its seller notified)",
        "",
        "| case | messages/s per round | mean |",
        "|---|---|---:|",
        f"| the processing cron alone (helpers inactive) | {', '.join(f'{r:.1f}' for r in results['one'])} |"
        f" {mean(results['one']):.1f} |",
        f"| the processing cron and its 2 helpers | {', '.join(f'{r:.1f}' for r in results['helpers'])} |"
        f" {mean(results['helpers']):.1f} |",
        "",
        f"- with the helpers / alone: **{speedup:.2f}x** ({args.cron_threads} cron workers, {os.cpu_count()} cores"
        " shared by Odoo, PostgreSQL and the client)",
    ]
    for case in CASES:
        check = checks[case]
        ok = (
            check["stored"] == total
            and check["posted"] == total
            and not check["twice"]
            and not check["left"]
            and not check["out_of_order"]
        )
        lines.append(
            f"- {case}: {check['stored']} stored, {check['posted']} posted once, {check['twice']} twice,"
            f" {check['left']} not posted, {check['out_of_order']} posted out of their customer's order:"
            f" {benchlib.met(ok)}"
        )
    lines.append(
        f"- ERROR lines in the server log: {len(errors)}" + (f" (first: `{errors[0][:200]}`)" if errors else "")
    )
    text = "\n".join(lines)
    benchlib.write_section("processing_throughput", text)
    print(text)
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="wt_bench_1k")
    parser.add_argument("--port", type=int, default=18730)
    parser.add_argument("--messages", type=int, default=int(os.environ.get("BENCH_PROC_MESSAGES", 600)))
    parser.add_argument("--rounds", type=int, default=int(os.environ.get("BENCH_PROC_ROUNDS", 2)))
    parser.add_argument("--contacts", type=int, default=int(os.environ.get("BENCH_HTTP_CONTACTS", 200)))
    parser.add_argument("--cron-threads", type=int, default=int(os.environ.get("BENCH_PROC_CRON_THREADS", 2)))
    parser.add_argument("--timeout", type=int, default=900)
    args = parser.parse_args()
    benchlib.handle_sigterm()
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
