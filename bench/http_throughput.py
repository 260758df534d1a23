"""Webhook throughput against Odoo's own routes, on one prefork server, in one run.

Usage (``make bench`` runs it; plain Python of the virtual environment):

    python bench/http_throughput.py [--db wt_bench_1k] [--port 18700]

One ``odoo-bin`` in prefork mode (``--workers=3``, one cron worker) serves the
database, named with ``-d`` and no ``--db-filter`` (a request without session
then lists no database). The same Python client (threads, one new connection
per request) sends, in rounds where the order of the cases is shuffled:

- ``inbound``: signed Twilio inbound webhooks from contacts of the database
  (each the only holder of its number, assigned to a seller), each message
  with its own id;
- ``sms_status``: Odoo's ``/sms/status`` route (IAP's delivery reports), each
  call turning one pending SMS notification into delivered (a real
  ``sms.tracker``, the notification written, the bus notified);
- ``rpc_read``: a logged-in JSON-RPC ``call_kw`` reading one contact.

at concurrency 8 and 16. The processing cron is paused during the rounds (its
work would load whichever case follows), then resumed: the time it takes to
process every stored message (post it on the contact, notify the seller) is
measured alone. Checks: every webhook stored exactly once, each posted once,
no 5xx. Writes its section of bench/RESULTS.md.

Settings: BENCH_HTTP_REQUESTS (requests per case, concurrency and round: 1000),
BENCH_HTTP_ROUNDS (5), BENCH_HTTP_CONTACTS (200 senders).
"""

import argparse
import os
import random
import statistics
import sys
import time
import uuid

import benchlib
from benchlib import log

CONCURRENCIES = (8, 16)
CASES = ("inbound", "sms_status", "rpc_read")


def create_trackers(admin, partner_id, count):
    """``count`` SMS notifications waiting for their delivery report, each
    with its ``sms.tracker``: what ``/sms/status`` updates. Returns the uuids."""
    uuids = []
    for lo in range(0, count, 2000):
        size = min(2000, count - lo)
        messages = admin.call(
            "mail.message",
            "create",
            [
                {"model": "res.partner", "res_id": partner_id, "message_type": "sms", "body": "Benchmark SMS"}
                for _i in range(size)
            ],
        )
        notifications = admin.call(
            "mail.notification",
            "create",
            [
                {
                    "mail_message_id": message_id,
                    "res_partner_id": partner_id,
                    "notification_type": "sms",
                    "notification_status": "pending",
                }
                for message_id in messages
            ],
        )
        batch = [uuid.uuid4().hex for _i in range(size)]
        admin.call(
            "sms.tracker",
            "create",
            [
                {"sms_uuid": sms_uuid, "mail_notification_id": notification_id}
                for sms_uuid, notification_id in zip(batch, notifications, strict=True)
            ],
        )
        uuids += batch
    return uuids


def set_processing_cron(admin, active):
    cron = admin.call(
        "ir.model.data",
        "check_object_reference",
        "crm_sms_conversation",
        "ir_cron_sms_event_process",
        context={"active_test": False},
    )
    admin.call("ir.cron", "write", [cron[1]], {"active": active})


def run(args):
    n_requests = args.requests
    rounds = args.rounds
    port = args.port
    base_url = f"http://127.0.0.1:{port}"
    tag = str(int(time.time() * 1000) % 10**5) + "7"
    logfile = f"/tmp/{args.db}_throughput.log"
    if os.path.exists(logfile):
        os.remove(logfile)
    rng = random.Random(tag)
    warm_up = sum(concurrency * 4 for concurrency in CONCURRENCIES)
    per_case = n_requests * len(CONCURRENCIES) * rounds + warm_up
    contacts = benchlib.pick_contacts(args.db, args.contacts, tag)
    server = benchlib.start_odoo(args.db, port, logfile, workers=3, cron_threads=1)
    try:
        log(f"server on port {port} (pid {server.pid}); set-up")
        conf = benchlib.prepare_webhooks(base_url, args.db, tag, [pid for pid, _e164 in contacts])
        admin = conf["admin"]
        uuids = create_trackers(admin, contacts[0][0], per_case)
        set_processing_cron(admin, False)
        session = benchlib.Rpc(base_url, args.db, "admin", "admin")
        cookie = "; ".join(f"{k}={v}" for k, v in session.session.cookies.items())

        external_ids = []

        def inbound_requests(count):
            batch = []
            for _i in range(count):
                sid = f"SM{tag}{len(external_ids):08d}"
                external_ids.append(sid)
                _pid, sender = contacts[len(external_ids) % len(contacts)]
                body, headers = benchlib.inbound_request(conf, sid, sender, f"Benchmark message {sid}")
                batch.append((port, conf["path"], body, headers))
            return batch

        status_left = list(uuids)

        def status_requests(count):
            batch = []
            for _i in range(count):
                body = benchlib.json_body(
                    {"message_statuses": [{"sms_status": "delivered", "uuids": [status_left.pop()]}]}
                )
                batch.append((port, "/sms/status", body, {"Content-Type": "application/json"}))
            return batch

        def rpc_requests(count):
            batch = []
            for i in range(count):
                partner_id = contacts[i % len(contacts)][0]
                body = benchlib.json_body(
                    {
                        "model": "res.partner",
                        "method": "read",
                        "args": [[partner_id], ["name", "phone", "email", "country_id"]],
                        "kwargs": {},
                    }
                )
                headers = {"Content-Type": "application/json", "Cookie": cookie}
                batch.append((port, "/web/dataset/call_kw/res.partner/read", body, headers))
            return batch

        makers = {"inbound": inbound_requests, "sms_status": status_requests, "rpc_read": rpc_requests}
        # Warm-up: every case once at each concurrency (not counted, inbound ids not checked).
        for case in CASES:
            for concurrency in CONCURRENCIES:
                benchlib.run_load(makers[case](concurrency * 4), concurrency)
        warm_ids = list(external_ids)
        external_ids.clear()
        samples = {(c, k): [] for c in CASES for k in CONCURRENCIES}
        walls = {(c, k): 0.0 for c in CASES for k in CONCURRENCIES}
        statuses = {c: {} for c in CASES}
        load_before = benchlib.load_average()
        for round_no in range(rounds):
            order = [(case, concurrency) for case in CASES for concurrency in CONCURRENCIES]
            rng.shuffle(order)
            for case, concurrency in order:
                latencies, codes, wall = benchlib.run_load(makers[case](n_requests), concurrency)
                samples[case, concurrency] += latencies
                walls[case, concurrency] += wall
                for code in codes:
                    statuses[case][code] = statuses[case].get(code, 0) + 1
                log(f"round {round_no + 1}/{rounds} {case} c={concurrency}: {n_requests / wall:.0f}/s")
        load_after = benchlib.load_average()

        log(f"processing cron resumed: {len(external_ids) + len(warm_ids)} events to process")
        started = time.monotonic()
        set_processing_cron(admin, True)
        benchlib.wake_cron(args.db)
        waited, left = benchlib.wait_processed(args.db, external_ids + warm_ids, timeout=args.drain_timeout)
        drain = time.monotonic() - started
        stored, posted, twice = benchlib.stored_once(args.db, external_ids)
    finally:
        benchlib.stop(server)
    errors = benchlib.server_errors(logfile)
    return report(args, locals())


def report(args, v):
    samples, walls, statuses = v["samples"], v["walls"], v["statuses"]
    n_total = len(v["external_ids"])
    rate = {key: len(values) / walls[key] for key, values in samples.items()}
    p50 = {key: statistics.median(values) * 1000 for key, values in samples.items()}
    p95 = {key: benchlib.percentile(values, 0.95) * 1000 for key, values in samples.items()}
    five_xx = {
        case: sum(n for code, n in codes.items() if code >= 500 or code == 0) for case, codes in statuses.items()
    }
    processed = n_total + len(v["warm_ids"])
    lines = [
        "## HTTP throughput: inbound webhook vs Odoo's `/sms/status` and a JSON-RPC read (`http_throughput.py`)",
        "",
        f"- date: {benchlib.now()}; database `{args.db}`; machine: {benchlib.machine(args.db)}",
        f"- load average (1/5/15 min) before the rounds: {v['load_before']}, after: {v['load_after']}",
        f"- command: `{benchlib.command_line()}`",
        f"- one `odoo-bin` (`-d {args.db}`, no `--db-filter`, `--workers=3`, `--max-cron-threads=1`,"
        " `--log-level=warn`), the client on the same machine (Python threads, a new connection per request);"
        f" {args.rounds} rounds x {args.requests} requests per case and concurrency, the 6 (case, concurrency)"
        " runs in a new random order each round, after a warm-up",
        "",
        "| case | c | requests | req/s | p50 ms | p95 ms | 5xx or no answer |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    labels = {
        "inbound": "inbound webhook (Twilio, signed, stored for the cron)",
        "sms_status": "Odoo `/sms/status`, a pending notification delivered (write + bus)",
        "rpc_read": "JSON-RPC `call_kw` `res.partner.read` of one contact (logged in)",
    }
    for case in CASES:
        for concurrency in CONCURRENCIES:
            key = (case, concurrency)
            lines.append(
                f"| {labels[case]} | {concurrency} | {len(samples[key])} | {rate[key]:.0f} | {p50[key]:.1f} |"
                f" {p95[key]:.1f} | {five_xx[case] if concurrency == CONCURRENCIES[0] else ''} |"
            )
    lines += ["", "| target | c | measured | target | |", "|---|---:|---:|---:|---|"]
    for concurrency in CONCURRENCIES:
        ratio = rate["inbound", concurrency] / rate["sms_status", concurrency]
        lines.append(
            f"| inbound req/s / `/sms/status` req/s | {concurrency} | {ratio:.2f}x | >= 2x |"
            f" {benchlib.met(ratio >= 2)} |"
        )
    for concurrency in CONCURRENCIES:
        ratio = p50["inbound", concurrency] / p50["rpc_read", concurrency]
        lines.append(
            f"| inbound p50 / JSON-RPC read p50 | {concurrency} | {ratio:.2f}x | <= 2x | {benchlib.met(ratio <= 2)} |"
        )
    stored_ok = v["stored"] == n_total and not v["twice"]
    posted_ok = v["posted"] == n_total and not v["left"]
    lines += [
        f"| webhooks stored exactly once (by provider id) | | {v['stored']} stored, {v['twice']} twice, of"
        f" {n_total} | all once | {benchlib.met(stored_ok)} |",
        f"| stored webhooks posted exactly once by the cron (within {args.drain_timeout} s) | | {v['posted']} posted"
        f" of {n_total} | all once | {benchlib.met(posted_ok)} |",
        f"| 5xx answers (all cases) | | {sum(five_xx.values())} | 0 | {benchlib.met(not sum(five_xx.values()))} |",
        "",
        f"- processing: the cron, paused during the rounds, then resumed alone: {processed - v['left']} of the"
        f" {processed} stored messages routed to their contact, posted and their seller notified in"
        f" {v['drain']:.0f} s ({(processed - v['left']) / v['drain']:.1f} messages/s with one cron worker; answer"
        f" rate of the webhook at c=8: {rate['inbound', 8]:.0f}/s)"
        + (f"; {v['left']} still waiting when the benchmark stopped waiting" if v["left"] else ""),
        f"- answers per status code: {v['statuses']}",
        f"- ERROR lines in the server log: {len(v['errors'])}"
        + (f" (first: `{v['errors'][0][:200]}`)" if v["errors"] else ""),
    ]
    text = "\n".join(lines)
    benchlib.write_section("http_throughput", text)
    print(text)
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="wt_bench_1k")
    parser.add_argument("--port", type=int, default=18700)
    parser.add_argument("--requests", type=int, default=int(os.environ.get("BENCH_HTTP_REQUESTS", 1000)))
    parser.add_argument("--rounds", type=int, default=int(os.environ.get("BENCH_HTTP_ROUNDS", 5)))
    parser.add_argument("--contacts", type=int, default=int(os.environ.get("BENCH_HTTP_CONTACTS", 200)))
    parser.add_argument("--drain-timeout", type=int, default=1800)
    args = parser.parse_args()
    benchlib.handle_sigterm()
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
