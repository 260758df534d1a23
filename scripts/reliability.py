"""Reliability over real HTTP, on real ``odoo-bin`` servers in prefork mode.

Each check runs on a fresh database where the addon is installed without demo
data, against a mock Twilio run by this script (``MockTwilio``: it accepts
messages, answers Twilio's look-up, and fails on demand):

- ``crash``: (a) 200 signed inbound webhooks, then SIGKILL of the cron worker
  processing them, three times in a row: every event is processed, each
  message posted once, in order per customer; (b) SIGKILL of the whole server
  during an outbound batch of 300 texts to a slow provider, then a restart on
  the same database: each text reaches the provider exactly once (those in
  flight are looked up, not resent) and every notification is sent.
- ``outage``: 1000 texts posted in the chatter of 1000 contacts while the
  provider fails for 60 seconds (server errors, connection resets, read
  timeouts after accepting the message): once the queue is empty, each text
  reached the provider exactly once, from its contact owner's number, and
  every notification is sent.
- ``db-restart``: on a private PostgreSQL cluster, a steady stream of signed
  inbound webhooks while the cluster restarts; the script re-posts every call
  not answered 200, as a provider does: no call answered 200 is lost, each
  message is stored and processed once, and what the server answered while
  the database was down is reported: 5xx (the route's 503), no answer, or
  Odoo's own 404 page when it cannot open the database before any route runs.
- ``two-servers``: two prefork servers on the same database (``--servers 1``:
  one, for comparison), each with 2 cron workers; 10,000 signed inbound
  messages (``--count``) of 500 contacts and 100 unknown numbers, each posted
  3 times at once to the servers in turn, 6 customers at a time
  (``--clients``), then 50 first messages of one unknown number at once over
  the servers: every call answered 200, each message stored once, processed
  once, posted once and in order, one lead and one conversation per unknown
  number; the calls per second and the messages processed per second are
  printed.

Usage: reliability.py --check crash|outage|db-restart|two-servers --db NAME --port PORT --log-dir DIR
Prints one line per check; the last line is "<check>: N checks passed, N failed".
"""

import argparse
import collections
import concurrent.futures
import email.utils
import glob
import itertools
import json
import math
import os
import random
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psycopg2
import requests
from http_concurrency import (
    SCRIPTS,
    Check,
    Rpc,
    create_seller,
    log_errors,
    post_inbound,
    setup,
    signed_inbound,
    start_server,
    stop_server,
)

SERIES = os.environ.get("ODOO_SERIES", "18.0")
# Production's usual mode, small: 2 HTTP workers and one cron worker.
PREFORK = ["--workers=2"]
# The mock keeps a "timed out" request this long before answering: past the client's 15 s read timeout.
TIMEOUT_DELAY = 20
PROCESS_CRON = "SMS Conversations: process provider events"
JOB_START_RE = re.compile(
    r"^\S+ \S+ (\d+) INFO \S+ odoo\.addons\.base\.models\.ir_cron: Job '"
    + re.escape(PROCESS_CRON)
    + r"' \(\d+\) starting",
    re.MULTILINE,
)
PRIVATE_PG_PORT = 55432


# Mock provider ----------------------------------------------------------


class MockTwilioHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):
        pass

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
        if not urllib.parse.urlsplit(self.path).path.endswith("/Messages.json"):
            return self._json(404, {"code": 20404, "message": "Not Found"})
        mode = self.server.failure()
        if mode in ("500", "reset"):
            return self._fail(mode)
        message = self.server.accept(form)
        with self.server.lock:
            self.server.answering += 1
        # A read timeout: accepted, but answered after the client gave up.
        time.sleep(TIMEOUT_DELAY if mode == "timeout" else self.server.latency)
        with self.server.lock:
            self.server.answering -= 1
        return self._json(201, message)

    def do_GET(self):
        parts = urllib.parse.urlsplit(self.path)
        if not parts.path.endswith("/Messages.json"):
            return self._json(404, {"code": 20404, "message": "Not Found"})
        mode = self.server.failure()
        if mode in ("500", "reset"):
            return self._fail(mode)
        if mode == "timeout":
            time.sleep(TIMEOUT_DELAY)
        query = dict(urllib.parse.parse_qsl(parts.query))
        messages = self.server.find(query.get("To"), query.get("From"), int(query.get("PageSize") or 50))
        return self._json(200, {"messages": messages, "page_size": len(messages)})

    def _fail(self, mode):
        if mode == "500":
            return self._json(500, {"code": 20500, "message": "Internal Server Error", "status": 500})
        # Read, then drop the connection without answering (RST): nothing was accepted.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True
        return None

    def _json(self, status, payload):
        body = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()
        except OSError:
            self.close_connection = True  # the client is gone (it timed out, or was killed)


class MockTwilio(ThreadingHTTPServer):
    """Twilio's Messages resource on 127.0.0.1: accepts messages, lists them
    for the look-up, and fails on demand (``fail``)."""

    daemon_threads = True

    def __init__(self, port):
        super().__init__(("127.0.0.1", port), MockTwilioHandler)
        self.url = f"http://127.0.0.1:{port}"
        self.lock = threading.Lock()
        self.messages = []  # accepted, oldest first
        self.answering = 0  # messages accepted, not answered yet
        self.latency = 0.0
        self.modes = ()
        self.failing_for, self.failing_until = 0, None
        self.turn = itertools.count()
        self.answers = collections.Counter()
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    def handle_error(self, request, client_address):
        pass  # a client gone mid-answer: expected here

    def stop(self):
        self.shutdown()
        self.server_close()

    def fail(self, seconds, modes=("500", "reset", "timeout")):
        """Fail every request for ``seconds`` from the next one, cycling through ``modes``."""
        with self.lock:
            self.modes = modes
            self.failing_for, self.failing_until = seconds, None

    def failure(self):
        with self.lock:
            if self.modes and self.failing_until is None:
                self.failing_until = time.monotonic() + self.failing_for
            if not self.modes or time.monotonic() >= self.failing_until:
                return None
            mode = self.modes[next(self.turn) % len(self.modes)]
            self.answers[mode] += 1
            return mode

    def accept(self, form):
        callback = urllib.parse.urlsplit(form.get("StatusCallback", ""))
        message = {
            "sid": "SM" + uuid.uuid4().hex,
            "status": "queued",
            "date_created": email.utils.formatdate(usegmt=True),
            "body": form.get("Body", ""),
            "to": form.get("To", ""),
            "from": form.get("From", ""),
        }
        with self.lock:
            self.answers["accepted"] += 1
            self.messages.append(
                dict(message, sms_uuid=dict(urllib.parse.parse_qsl(callback.query)).get("sms_uuid", ""))
            )
        return message

    def find(self, to, sender, limit):
        """Twilio's list: newest first."""
        with self.lock:
            self.answers["looked up"] += 1
            found = [
                {key: value for key, value in m.items() if key != "sms_uuid"}
                for m in reversed(self.messages)
                if m["to"] == to and m["from"] == sender
            ]
        return found[:limit]

    def accepted(self):
        with self.lock:
            return list(self.messages)


# Servers and databases --------------------------------------------------


def pg_env(host=None, port=None):
    """The environment of scripts/odoo.sh and of PostgreSQL's tools for a cluster."""
    env = dict(os.environ)
    env["PGHOST"] = host or env.get("PGHOST", "localhost")
    env["PGPORT"] = str(port or env.get("PGPORT", "5432"))
    env["PGUSER"] = env.get("PGUSER", "odoo") if env.get("PGUSER") != "postgres" else "odoo"
    return env


def create_database(args, db, env):
    """A fresh database with the addon, without demo data, as scripts/run_tests.sh makes them
    (a copy of ``--template`` when given: quicker, for working on this script)."""
    subprocess.run(["dropdb", "--if-exists", db], env=env, check=True)
    if args.template:
        subprocess.run(["createdb", "-T", args.template, db], env=env, check=True)
        return
    without_demo = ["--without-demo=all"] if SERIES == "18.0" else []
    log_path = os.path.join(args.log_dir, f"{db}-install.log")
    with open(log_path, "w", encoding="utf-8") as log:
        done = subprocess.run(
            [
                "bash",
                os.path.join(SCRIPTS, "odoo.sh"),
                *("-d", db, "-i", "crm_sms_conversation", *without_demo),
                *("--stop-after-init", "--max-cron-threads=0", f"--http-port={args.port}", "--log-level=warn"),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            check=False,
        )
    if done.returncode:
        raise RuntimeError(f"the addon could not be installed on {db} (see {log_path})")


def drop_database(args, db, env):
    if not args.keep:
        subprocess.run(["dropdb", "--if-exists", db], env=env, check=False)


def children(pid):
    """Process ids of ``pid``'s children (a prefork server's workers)."""
    found = []
    for path in glob.glob(f"/proc/{pid}/task/*/children"):
        with open(path, encoding="ascii") as file:
            found += [int(child) for child in file.read().split()]
    return found


def wait_for(predicate, timeout, step=1.0):
    """Poll ``predicate`` until it returns a true value or ``timeout`` seconds pass; returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(step)


def new_tag(digit):
    """A run's tag; its last digit sets the run's numbers apart (see ``setup``)."""
    return str(int(time.time() * 1000) % 10**5) + digit


# Inbound ----------------------------------------------------------------


def inbound_calls(conf, tag, customers, per_customer, prefix="SMR"):
    """(sid, sender, to, body) of ``per_customer`` messages from each of ``customers`` new numbers."""
    return [
        (f"{prefix}{tag}{c:02d}{m:03d}", f"{conf['prefix']}{300 + c}", conf["seller_number"], f"message {m:03d}")
        for c in range(customers)
        for m in range(per_customer)
    ]


def check_inbound(check, admin, calls, timeout, ordered=True):
    """Every event processed within ``timeout``; each message stored and posted once (in order per customer)."""
    sids = [sid for sid, *_rest in calls]
    started = time.monotonic()
    pending = wait_for(
        lambda: not admin.call("sms.event", "search_count", [("external_id", "in", sids), ("state", "!=", "done")]),
        timeout,
        step=2,
    )
    left = admin.call("sms.event", "search_count", [("external_id", "in", sids), ("state", "!=", "done")])
    check(pending, f"every event processed, {time.monotonic() - started:.0f} s after the last call ({left} left)")
    check_posted_once(check, admin, calls, ordered)


def check_posted_once(check, admin, calls, ordered=True):
    """Each message stored and posted once (in the order it was sent, per customer: ``ordered``)."""
    sids = [sid for sid, *_rest in calls]
    events = admin.call(
        "sms.event", "search_read", [("external_id", "in", sids)], ["external_id", "message_id"], order="id"
    )
    check(
        len(events) == len(sids) and len({e["external_id"] for e in events}) == len(sids),
        f"{len(events)} events stored for {len(sids)} messages",
    )
    message_of = {e["external_id"]: e["message_id"] and e["message_id"][0] for e in events}
    posted = [m for m in message_of.values() if m]
    check(len(set(posted)) == len(sids), f"each message posted exactly once ({len(set(posted))} posted)")
    by_sender = collections.defaultdict(list)
    for sid, sender, _to, _body in calls:
        by_sender[sender].append(message_of.get(sid))
    if ordered:
        disordered = [s for s, ids in by_sender.items() if None in ids or ids != sorted(ids)]
        check(not disordered, f"each customer's messages posted in the order they were sent ({len(disordered)} not)")
    duplicated = []
    for sender, ids in by_sender.items():
        conversations = admin.call("sms.conversation", "search", [("remote_number", "=", sender)])
        count = admin.call(
            "mail.message",
            "search_count",
            [("sms_conversation_id", "in", conversations), ("sms_direction", "=", "inbound")],
        )
        if count != len(ids):
            duplicated.append((sender, count, len(ids)))
    check(not duplicated, f"each customer's conversation holds their messages once {duplicated[:3] or ''}")


# Outbound ---------------------------------------------------------------


def add_senders(admin, conf, tag, count, rate_limit):
    """``count`` sellers, each with a number of the account at ``rate_limit`` messages/s."""
    numbers = []
    for i in range(count):
        seller = create_seller(admin, f"sender_{i}_{tag}", f"Sender {i} {tag}")
        numbers.append(
            (
                seller,
                admin.call(
                    "sms.number",
                    "create",
                    {
                        "number": f"{conf['prefix']}{400 + i}",
                        "account_id": conf["account"],
                        "user_ids": [(6, 0, [seller])],
                        "rate_limit": rate_limit,
                    },
                ),
            )
        )
    return numbers


def contact_phone(tag, i):
    """The phone number of a run's ``i``-th contact."""
    return f"+1628{tag[-1]}{i:06d}"


def add_contacts(admin, tag, count, owners):
    """``count`` US contacts, owned in turn by ``owners`` (their texts leave from the owner's number).
    Odoo's "You have been assigned" e-mails to the owners are left out: no SMTP server here, and
    Odoo's e-mail queue would log its own errors sending them."""
    us = admin.call("res.country", "search", [("code", "=", "US")])[0]
    return admin.call(
        "res.partner",
        "create",
        [
            {
                "name": f"Customer {tag} {i:04d}",
                "phone": contact_phone(tag, i),
                "country_id": us,
                "user_id": owners[i % len(owners)],
            }
            for i in range(count)
        ],
        context={"mail_auto_subscribe_no_notify": True},
    )


def check_senders(check, admin, mock, tag, count, numbers):
    """Each of the ``count`` contacts' texts left from its owner's number (``add_contacts``' order)."""
    senders = [n["number"] for n in admin.call("sms.number", "read", [n for _seller, n in numbers], ["number"])]
    expected = {contact_phone(tag, i): senders[i % len(senders)] for i in range(count)}
    sent = [m for m in mock.accepted() if m["to"] in expected]
    wrong = sum(1 for m in sent if m["from"] != expected[m["to"]])
    check(
        sent and not wrong,
        f"each text sent from its owner's number ({len({m['from'] for m in sent})} numbers used, {wrong} not)",
    )


def post_texts(admin, partner_ids, tag, chunk=100):
    """Text each contact in its chatter, as a server action does ("SMS (with note)")."""
    model = admin.call("ir.model", "search", [("model", "=", "res.partner")])[0]
    template = admin.call(
        "sms.template",
        "create",
        {"name": f"Reliability {tag}", "model_id": model, "body": "Hello {{ object.name }}, your order is ready."},
    )
    action = admin.call(
        "ir.actions.server",
        "create",
        {
            "name": f"Text the contacts {tag}",
            "model_id": model,
            "state": "sms",
            "sms_template_id": template,
            "sms_method": "comment",
        },
    )
    for start in range(0, len(partner_ids), chunk):
        ids = partner_ids[start : start + chunk]
        admin.call("ir.actions.server", "run", [action], context={"active_model": "res.partner", "active_ids": ids})


def queue_left(admin, account):
    return admin.call("sms.sms", "search_count", [("sms_account_id", "=", account), ("state", "=", "outgoing")])


def check_outbound(check, admin, mock, account, partner_ids):
    """Each text of the contacts reached the provider exactly once; every notification is sent. Read
    from the chatter's notifications and their trackers, which stay: Odoo's clean-up (its auto-vacuum,
    also run a minute after the addon is installed) deletes the SMS it sent."""
    messages = admin.call(
        "mail.message",
        "search",
        [("model", "=", "res.partner"), ("res_id", "in", partner_ids), ("message_type", "=", "sms")],
    )
    notifications = admin.call(
        "mail.notification",
        "search_read",
        [("mail_message_id", "in", messages), ("notification_type", "=", "sms")],
        ["notification_status"],
    )
    trackers = admin.call(
        "sms.tracker",
        "search_read",
        [("mail_notification_id", "in", [n["id"] for n in notifications])],
        ["sms_uuid", "provider_message_id"],
    )
    check(
        len(messages) == len(partner_ids) == len(notifications) == len(trackers),
        f"{len(messages)} texts posted in the chatter of {len(partner_ids)} contacts",
    )
    accepted = collections.Counter(m["sms_uuid"] for m in mock.accepted())
    uuids = {t["sms_uuid"] for t in trackers}
    twice = sum(1 for u in uuids if accepted[u] > 1)
    missing = sum(1 for u in uuids if not accepted[u])
    check(
        not twice and not missing,
        f"each text accepted by the provider exactly once ({twice} twice, {missing} missing, "
        f"{sum(accepted[u] for u in uuids)} accepted)",
    )
    sid_of = {m["sms_uuid"]: m["sid"] for m in mock.accepted()}
    wrong_ids = sum(1 for t in trackers if t["provider_message_id"] != sid_of.get(t["sms_uuid"]))
    sms = admin.call(
        "sms.sms", "search_read", [("mail_message_id", "in", messages)], ["uuid", "state", "sms_attempt_count"]
    )
    states = collections.Counter(s["state"] for s in sms)
    attempts = collections.Counter(s["sms_attempt_count"] for s in sms)
    check(
        set(states) <= {"pending"} and not wrong_ids,
        f"every SMS sent: {dict(states)} (and {len(trackers) - len(sms)} sent, then deleted by Odoo's clean-up), "
        f"the provider's id of each kept ({wrong_ids} not); attempts: {dict(sorted(attempts.items()))}",
    )
    statuses = collections.Counter(n["notification_status"] for n in notifications)
    check(
        statuses == {"pending": len(partner_ids)},
        f"every chatter notification sent ('pending'), none in exception: {dict(statuses)}",
    )


# Checks -----------------------------------------------------------------


def cron_worker(server, log_path):
    """Pid of the cron worker running the processing cron now, else None."""
    with open(log_path, encoding="utf-8", errors="replace") as log:
        started = JOB_START_RE.findall(log.read())
    pid = int(started[-1]) if started else None
    return pid if pid in children(server.pid) else None


def run_crash(args, check, db, env):
    base_url = f"http://127.0.0.1:{args.port}"
    log_path = os.path.join(args.log_dir, "crash.log")
    restart_log = os.path.join(args.log_dir, "crash-restart.log")
    mock = MockTwilio(args.port + 10)
    server = None
    try:
        server = start_server(db, args.port, log_path, PREFORK, env=env)
        admin = Rpc(base_url, db, "admin", "admin")
        tag = new_tag("4")
        conf = setup(admin, base_url, tag, api_base_url=mock.url)

        # (a) The cron worker killed while it processes inbound messages.
        calls = inbound_calls(conf, tag, customers=10, per_customer=20)
        started = time.monotonic()
        by_sender = collections.defaultdict(list)
        for call in calls:
            by_sender[call[1]].append(call)
        with concurrent.futures.ThreadPoolExecutor(max_workers=len(by_sender)) as pool:
            answers = [
                answer
                for answers in pool.map(
                    lambda own: [post_inbound(base_url, conf["path"], *call) for call in own], by_sender.values()
                )
                for answer in answers
            ]
        bad = [(sid, status) for sid, status in answers if status != 200]
        check(
            not bad,
            f"{len(calls)} webhooks of 10 customers answered 200 in {time.monotonic() - started:.1f} s {bad[:3] or ''}",
        )
        sids = [sid for sid, *_rest in calls]
        kills = []  # (pid, events done when killed)

        def done_count():
            return admin.call("sms.event", "search_count", [("external_id", "in", sids), ("state", "=", "done")])

        def at_work():
            """(pid, events done) once the cron worker processed 2 events in its run: its first one's
            progress is committed (a run killed three times in a row before it processed anything is
            failed by Odoo as hung: "Job ... timed out", rescheduled at the cron's interval)."""
            pid = cron_worker(server, log_path)
            done = pid and done_count()
            return pid and done >= (kills[-1][1] if kills else 0) + 2 and (pid, done)

        while len(kills) < 3:
            found = wait_for(at_work, 90, step=0.2)
            if not found or found[1] == len(sids):
                break
            os.kill(found[0], signal.SIGKILL)
            kills.append(found)
        check(
            len(kills) == 3,
            "the cron worker SIGKILLed 3 times while it processed them "
            f"({', '.join(f'pid {pid} after {done} events' for pid, done in kills)})",
        )
        check_inbound(check, admin, calls, timeout=900)

        # (b) The whole server killed during an outbound batch to a slow provider.
        mock.latency = 0.3
        numbers = add_senders(admin, conf, tag, count=3, rate_limit=0)
        partners = add_contacts(admin, tag, args.count or 300, [seller for seller, _number in numbers])
        started = time.monotonic()
        post_texts(admin, partners, tag, chunk=len(partners))
        posted = time.monotonic() - started
        third = len(partners) // 3
        # Killed once a third is sent, while the provider holds requests not answered yet.
        wait_for(lambda: len(mock.accepted()) >= third and mock.answering, 300, step=0.01)
        os.killpg(server.pid, signal.SIGKILL)
        in_flight, at_kill = mock.answering, len(mock.accepted())
        server.wait()
        server = None
        check(
            in_flight and at_kill < len(partners),
            f"{len(partners)} texts posted in {posted:.1f} s; the server SIGKILLed with {at_kill} accepted, "
            f"{in_flight} of them not answered yet",
        )
        lookups = mock.answers["looked up"]
        started = time.monotonic()
        server = start_server(db, args.port, restart_log, PREFORK, env=env)
        admin = Rpc(base_url, db, "admin", "admin")
        drained = wait_for(lambda: not queue_left(admin, conf["account"]), 600, step=2)
        lookups = mock.answers["looked up"] - lookups
        check(drained, f"the queue emptied {time.monotonic() - started:.0f} s after the restart")
        check(lookups >= in_flight, f"the {in_flight} texts in flight looked up ({lookups} look-ups), not resent")
        check_outbound(check, admin, mock, conf["account"], partners)
        check_senders(check, admin, mock, tag, len(partners), numbers)
    finally:
        if server:
            stop_server(server)
        mock.stop()
    errors = log_errors([log_path, restart_log])
    check(not errors, f"no ERROR line in the server logs ({len(errors)} found, see {log_path}) {errors[:3] or ''}")


def run_outage(args, check, db, env):
    base_url = f"http://127.0.0.1:{args.port}"
    log_path = os.path.join(args.log_dir, "outage.log")
    mock = MockTwilio(args.port + 10)
    server = None
    try:
        server = start_server(db, args.port, log_path, PREFORK, env=env)
        admin = Rpc(base_url, db, "admin", "admin")
        tag = new_tag("5")
        conf = setup(admin, base_url, tag, api_base_url=mock.url)
        numbers = add_senders(admin, conf, tag, count=10, rate_limit=0)
        partners = add_contacts(admin, tag, args.count or 1000, [seller for seller, _number in numbers])
        mock.fail(args.outage)
        started = time.monotonic()
        post_texts(admin, partners, tag)
        posted = time.monotonic() - started
        drained = wait_for(lambda: not queue_left(admin, conf["account"]), args.timeout or 1800, step=5)
        answers = dict(mock.answers)
        check(
            drained,
            f"{len(partners)} texts posted in {posted:.0f} s, the provider failing for {args.outage} s: "
            f"the queue emptied in {time.monotonic() - started:.0f} s; the provider's answers: {answers}",
        )
        check_outbound(check, admin, mock, conf["account"], partners)
        check_senders(check, admin, mock, tag, len(partners), numbers)
    finally:
        if server:
            stop_server(server)
        mock.stop()
    errors = log_errors([log_path])
    check(not errors, f"no ERROR line in the server log ({len(errors)} found, see {log_path}) {errors[:3] or ''}")


class PrivateCluster:
    """A PostgreSQL cluster of this check only (initdb in a temporary folder,
    owned by the ``postgres`` OS user), listening on 127.0.0.1:``port``."""

    def __init__(self, port):
        self.port = port
        self.bin = os.environ.get("PG_BIN") or sorted(glob.glob("/usr/lib/postgresql/*/bin"))[-1]
        self.dir = None

    def _pg_ctl(self, *arguments):
        command = " ".join([os.path.join(self.bin, "pg_ctl"), "-D", self.dir, "-w", "-t", "60", *arguments])
        subprocess.run(["su", "postgres", "-c", command], check=True, stdout=subprocess.DEVNULL)

    def start(self):
        self.dir = tempfile.mkdtemp(prefix="wt_rel_pg_")
        shutil.chown(self.dir, "postgres", "postgres")
        subprocess.run(
            ["su", "postgres", "-c", f"{self.bin}/initdb -A trust -U postgres -D {self.dir}"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        options = f"-p {self.port} -k /tmp -c listen_addresses=127.0.0.1"
        self._pg_ctl("-l", os.path.join(self.dir, "server.log"), "-o", f"'{options}'", "start")
        subprocess.run(
            [
                "psql",
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-qc",
                "CREATE ROLE odoo SUPERUSER LOGIN",
            ],
            check=True,
        )
        return pg_env("127.0.0.1", self.port)

    def restart(self):
        self._pg_ctl("restart", "-m", "fast")

    def remove(self):
        if self.dir:
            subprocess.run(
                ["su", "postgres", "-c", f"{self.bin}/pg_ctl -D {self.dir} -m immediate stop"],
                check=False,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            shutil.rmtree(self.dir, ignore_errors=True)


def deliver(base_url, path, call, deadline, seen):
    """Post ``call`` until it is answered 200, as a provider retries: the
    answers of each attempt are added to ``seen`` (status or "no answer")."""
    sid, sender, to, body = call
    params, headers = signed_inbound(base_url, path, sid, sender, to, body)
    delay = 1.0
    while True:
        try:
            response = requests.post(base_url + path, data=params, headers=headers, timeout=20)
            answer = response.status_code
            if answer != 200:
                answer = (
                    answer,
                    response.headers.get("Content-Type", "").split(";")[0],
                    response.headers.get("Retry-After", ""),
                )
        except requests.RequestException as exc:
            text = str(exc).lower()
            reason = ": refused" if "refused" in text else ": dropped" if "aborted" in text or "reset" in text else ""
            answer = f"no answer ({type(exc).__name__}{reason})"
        seen.append((time.monotonic(), sid, answer))
        if answer == 200 or time.monotonic() > deadline:
            return answer == 200
        time.sleep(delay)
        delay = min(delay * 2, 8)


def run_db_restart(args, check, db, _env):
    base_url = f"http://127.0.0.1:{args.port}"
    log_path = os.path.join(args.log_dir, "db-restart.log")
    cluster = PrivateCluster(PRIVATE_PG_PORT)
    server = None
    try:
        env = cluster.start()
        create_database(args, db, env)
        server = start_server(db, args.port, log_path, PREFORK, env=env)
        admin = Rpc(base_url, db, "admin", "admin")
        tag = new_tag("6")
        conf = setup(admin, base_url, tag)
        rate, duration = 20, 30
        calls = inbound_calls(conf, tag, customers=20, per_customer=rate * duration // 20, prefix="SMP")
        seen = []
        started = time.monotonic()
        deadline = started + duration + 180
        restart = {}

        def restart_cluster():
            time.sleep(duration / 2)
            restart["start"] = time.monotonic()
            cluster.restart()
            restart["end"] = time.monotonic()

        restarter = threading.Thread(target=restart_cluster)
        restarter.start()
        with concurrent.futures.ThreadPoolExecutor(max_workers=200) as pool:
            futures = []
            # The customers' messages in turn, ``rate`` calls a second.
            for i, call in enumerate(sorted(calls, key=lambda c: (c[0][-3:], c[0]))):
                time.sleep(max(0.0, started + i / rate - time.monotonic()))
                futures.append(pool.submit(deliver, base_url, conf["path"], call, deadline, seen))
            delivered = sum(future.result() for future in futures)
        restarter.join()
        window = (restart["start"] - started, restart["end"] - started)
        statuses = collections.Counter(a if a == 200 else a[0] if isinstance(a, tuple) else a for _t, _s, a in seen)
        check(
            delivered == len(calls),
            f"{len(calls)} calls in {duration} s, the database restarted at {window[0]:.1f}-{window[1]:.1f} s: "
            f"{delivered} answered 200 in the end, {len(seen)} posts; answers: {dict(statuses)}",
        )
        refused = [a for _t, _s, a in seen if a != 200]
        # Odoo answers its own 404 page (HTML) when it cannot open the database
        # before any route runs ("Database or registry unusable, trying without").
        odoo_404 = [a for a in refused if isinstance(a, tuple) and a[:2] == (404, "text/html")]
        wrong = [a for a in refused if isinstance(a, tuple) and a[0] < 500 and a not in odoo_404]
        check(
            not wrong,
            "the calls not stored were answered 5xx, not at all, or with Odoo's own 404 page (the database "
            f"unreachable before the route), never 2xx-4xx by the route {wrong[:3] or ''}",
        )
        kinds = collections.Counter(a[:2] if isinstance(a, tuple) else a for a in refused)
        print(f"[{check.mode}] the answers while the database was down: {dict(kinds)}", flush=True)
        first_200 = {}
        for moment, sid, answer in seen:
            if answer == 200:
                first_200.setdefault(sid, moment)
        check(len(first_200) == len(calls), f"{len(first_200)} calls answered 200 (each stored before its answer)")
        # A provider's retries come out of order: no order to check.
        check_inbound(check, admin, calls, timeout=1800, ordered=False)
    finally:
        if server:
            stop_server(server)
        cluster.remove()
    errors = log_errors([log_path])
    outside = [line for line in errors if not _during(line, restart, started)] if restart else errors
    print(f"[{check.mode}] {len(errors)} ERROR lines in {log_path} ({len(outside)} out of the restart)", flush=True)
    for line in sorted({line.split(" ", 4)[-1][:160] for line in errors})[:5]:
        print(f"[{check.mode}]   {line}", flush=True)
    check(not outside, f"no ERROR line but while the database restarted ({len(outside)}) {outside[:2] or ''}")


def _during(line, restart, started):
    """Whether a log line was written during the restart (or the first seconds after it)."""
    moment = time.mktime(time.strptime(line[:19], "%Y-%m-%d %H:%M:%S"))
    offset = time.time() - time.monotonic()
    return restart["start"] + offset - 2 <= moment <= restart["end"] + offset + 30


# Two servers ------------------------------------------------------------

# Each call of the stream is delivered this many times at once, the copies going to the servers in turn.
COPIES = 3
# Customers whose messages are posted at once, by default: COPIES x CLIENTS requests in flight, within
# what one server of 2 workers queues (its listening socket holds 8 connections per worker).
CLIENTS = 6
KNOWN_CONTACTS, UNKNOWN_NUMBERS, BURST = 500, 100, 50
PROCESS_JOB_RE = re.compile(r"\.ir_cron: Job '(SMS Conversations: process provider events[^']*)' \(\d+\) starting")
SERVERS_PORT_STEP = 20


def stream_calls(conf, tag, count, known):
    """(sid, sender, to, body) of ``count`` messages in the order they are sent, from the contacts' numbers
    ``known`` and ``UNKNOWN_NUMBERS`` new numbers: a few customers write much, most a little (the customer
    of rank r writes in proportion to 1/sqrt(r)); and the new numbers."""
    rng = random.Random(tag)
    unknown = [f"{conf['prefix']}{300 + i}" for i in range(UNKNOWN_NUMBERS)]
    customers = known + unknown
    rng.shuffle(customers)
    weights = [1 / math.sqrt(rank + 1) for rank in range(len(customers))]
    sent = collections.Counter()
    calls = []
    for index, sender in enumerate(rng.choices(customers, weights=weights, k=count)):
        sent[sender] += 1
        sid = f"SMT{tag}{index:06d}"
        calls.append((sid, sender, conf["seller_number"], f"Message {sent[sender]} of {sender} [{sid}]"))
    return calls, unknown


def post_stream(base_url, path, calls, targets, clients, answers):
    """Post ``calls``, each ``COPIES`` times at once to the servers ``targets`` in turn (as behind a load
    balancer), ``clients`` customers at a time; a customer's next message once every copy of the previous
    one is answered (a provider's messages of one customer come in order). Appends (sid, [status of each
    copy]) to ``answers``; retries nothing."""
    pending = collections.deque(enumerate(calls))
    busy = set()
    turn = threading.Condition()

    def take():
        """The next call whose customer has no message in flight, or None when none is left."""
        with turn:
            while pending:
                for position, (index, call) in enumerate(pending):
                    if call[1] not in busy:
                        del pending[position]
                        busy.add(call[1])
                        return index, call
                turn.wait()
            return None

    def client():
        with concurrent.futures.ThreadPoolExecutor(max_workers=COPIES) as copies:
            while (taken := take()) is not None:
                index, call = taken
                futures = [
                    copies.submit(
                        post_inbound, base_url, path, *call, target_url=targets[(index + copy) % len(targets)]
                    )
                    for copy in range(COPIES)
                ]
                statuses = [future.result()[1] for future in futures]
                with turn:
                    answers.append((call[0], statuses))
                    busy.discard(call[1])
                    turn.notify_all()

    threads = [threading.Thread(target=client, daemon=True) for _i in range(clients)]
    for thread in threads:
        thread.start()
    return threads


def sql_rows(cnx, query, params=()):
    with cnx.cursor() as cr:
        cr.execute(query, params)
        return cr.fetchall()


def log_count(log_path, text):
    with open(log_path, encoding="utf-8", errors="replace") as log:
        return log.read().count(text)


def cron_runs(log_path):
    """Runs started by this server of the processing cron and of each helper."""
    with open(log_path, encoding="utf-8", errors="replace") as log:
        return collections.Counter(
            name.removeprefix("SMS Conversations: process provider events").strip(" ()") or "processing cron"
            for name in PROCESS_JOB_RE.findall(log.read())
        )


def run_two_servers(args, check, db, env):
    count = args.count or 10000
    ports = [args.port + SERVERS_PORT_STEP * i for i in range(args.servers)]
    targets = [f"http://127.0.0.1:{port}" for port in ports]
    # The providers' public URL: the signatures are computed for it, whichever server answers.
    base_url = targets[0]
    log_paths = [os.path.join(args.log_dir, f"two-servers-{i + 1}.log") for i in range(args.servers)]
    servers = []
    cnx = psycopg2.connect(dbname=db, host=env["PGHOST"], port=env["PGPORT"], user=env["PGUSER"])
    cnx.autocommit = True
    try:
        for port, log_path in zip(ports, log_paths, strict=True):
            # Odoo's default of 2 cron workers: the processing cron and its helpers may run on any server.
            servers.append(start_server(db, port, log_path, [*PREFORK, "--max-cron-threads=2"], env=env))
        admin = Rpc(base_url, db, "admin", "admin")
        tag = new_tag("7")
        conf = setup(admin, base_url, tag)
        partners = add_contacts(admin, tag, KNOWN_CONTACTS, conf["sellers"][:1])
        known = {p["phone"]: p["id"] for p in admin.call("res.partner", "read", partners, ["phone"])}
        calls, unknown = stream_calls(conf, tag, count, list(known))
        senders = collections.Counter(sender for _sid, sender, _to, _body in calls)
        print(
            f"[{check.mode}] {len(servers)} server(s) on ports {', '.join(map(str, ports))} "
            f"({' '.join(PREFORK)}, 2 cron workers each); {count} messages from {len(senders)} customers "
            f"({sum(1 for s in senders if s in known)} contacts of {KNOWN_CONTACTS}, "
            f"{sum(1 for s in senders if s not in known)} unknown numbers), up to {max(senders.values())} "
            f"from one; each posted {COPIES} times at once, {args.clients} customers at a time",
            flush=True,
        )
        pattern = f"^SM[TU]{tag}"
        # 50 first messages of one unknown number at once, spread over the servers. Without a proxy in
        # front, a prefork server queues 8 connections per worker: 50 at once on one server of 2
        # workers overflow its listening socket (connections reset before Odoo reads them), so the
        # comparison run on one server leaves them out.
        unknown_one = conf["prefix"] + "900"
        burst = [
            (f"SMU{tag}{i:03d}", unknown_one, conf["seller_number"], f"First message {i:02d} [SMU{tag}{i:03d}]")
            for i in range(BURST if len(targets) > 1 else 0)
        ]
        total = count + len(burst)
        accepted = set()

        def processed():
            return sql_rows(
                cnx, "SELECT count(*) FILTER (WHERE state = 'done') FROM sms_event WHERE external_id ~ %s", [pattern]
            )[0][0]

        def settled():
            """Every message stored, none left to process (processed, or failed for good)."""
            stored, pending = sql_rows(
                cnx,
                "SELECT count(*), count(*) FILTER (WHERE state = 'pending') FROM sms_event WHERE external_id ~ %s",
                [pattern],
            )[0]
            return stored >= len(accepted) and not pending

        answers = []
        started = time.monotonic()
        threads = post_stream(base_url, conf["path"], calls, targets, args.clients, answers)
        reported = started
        while any(thread.is_alive() for thread in threads):
            time.sleep(1)
            if time.monotonic() - reported >= 60:
                reported = time.monotonic()
                print(
                    f"[{check.mode}] {reported - started:.0f} s: {len(answers)} of {count} messages posted, "
                    f"{processed()} processed",
                    flush=True,
                )
        posted = time.monotonic()
        done_then = processed()
        wall = posted - started
        statuses = collections.Counter(status for _sid, copies in answers for status in copies)
        bad = [(sid, copies) for sid, copies in answers if any(status != 200 for status in copies)]
        check(
            len(answers) == count and not bad,
            f"{count * COPIES} calls ({count} messages x {COPIES}) answered 200 in {wall:.1f} s: "
            f"{count * COPIES / wall:.1f} calls/s, {count / wall:.1f} messages/s; answers {dict(statuses)} "
            f"{bad[:3] or ''}",
        )

        accepted.update(sid for sid, copies in answers if 200 in copies)
        if burst:
            burst_started = time.monotonic()
            with concurrent.futures.ThreadPoolExecutor(max_workers=len(burst)) as pool:
                burst_answers = list(
                    pool.map(
                        lambda indexed: post_inbound(
                            base_url, conf["path"], *indexed[1], target_url=targets[indexed[0] % len(targets)]
                        ),
                        enumerate(burst),
                    )
                )
            bad = [(sid, status) for sid, status in burst_answers if status != 200]
            accepted.update(sid for sid, status in burst_answers if status == 200)
            check(
                not bad,
                f"{len(burst)} first messages of the unknown number {unknown_one} at once, over the "
                f"{len(targets)} servers: answered 200 in {time.monotonic() - burst_started:.1f} s {bad[:3] or ''}",
            )
        else:
            print(f"[{check.mode}] the {BURST} first messages at once left out: one server", flush=True)

        left = wait_for(settled, args.timeout or 7200, step=2)
        finished = time.monotonic()
        done = processed()
        after = finished - posted
        check(
            left and done == total,
            f"every event processed ({done} of {total}): {done_then} while the calls came, the rest in "
            f"{after:.0f} s after the last answer ({(done - done_then) / after:.1f} messages/s); "
            f"{done / (finished - started):.1f} messages/s from the first call to the last message processed",
        )
        runs = [cron_runs(path) for path in log_paths]
        postponed = sum(log_count(path, "met a concurrent update, postponed") for path in log_paths)
        print(
            f"[{check.mode}] runs of the processing crons: "
            + "; ".join(f"server {i + 1}: {dict(sorted(r.items()))}" for i, r in enumerate(runs))
            + f"; events postponed after a concurrent update: {postponed}",
            flush=True,
        )

        # Stored once, posted once, in order (JSON-RPC, as the other checks).
        check_posted_once(check, admin, calls)
        # Posted once in the chatter, by the id each message's text carries.
        marks = sql_rows(
            cnx,
            """
            SELECT substring(body FROM %s), count(*), min(id) FROM mail_message
             WHERE body LIKE %s GROUP BY 1
            """,
            [f"SM[TU]{tag}[0-9]+", f"%SM_{tag}%"],
        )
        linked = dict(sql_rows(cnx, "SELECT external_id, message_id FROM sms_event WHERE external_id ~ %s", [pattern]))
        in_chatter = {sid: (posts, message) for sid, posts, message in marks}
        wrong = [
            (sid, in_chatter.get(sid), linked.get(sid))
            for sid, *_rest in calls + burst
            if in_chatter.get(sid, (0, None))[0] != 1 or in_chatter[sid][1] != linked.get(sid)
        ]
        check(
            not wrong and len(in_chatter) == total,
            f"each of the {total} texts found once in the chatter, in the message its event links to "
            f"({len(wrong)} not) {wrong[:3] or ''}",
        )
        conversations = sql_rows(
            cnx,
            "SELECT remote_number, res_model, res_id FROM sms_conversation WHERE remote_number = ANY(%s)",
            [[*senders, unknown_one]],
        )
        on = collections.defaultdict(list)
        for number, model, res_id in conversations:
            on[number].append((model, res_id))
        wrong = [n for n in senders if n in known and on[n] != [("res.partner", known[n])]]
        check(
            not wrong,
            f"each contact's messages in one conversation, on the contact ({len(wrong)} not) "
            f"{[(n, on[n]) for n in wrong[:3]] or ''}",
        )
        new_numbers = [n for n in unknown if n in senders]
        leads = collections.Counter(
            row["phone"]
            for row in admin.call(
                "crm.lead",
                "search_read",
                [("phone", "in", [*new_numbers, unknown_one])],
                ["phone"],
                context={"active_test": False},
            )
        )
        wrong = [
            (n, leads[n], on[n]) for n in new_numbers if leads[n] != 1 or len(on[n]) != 1 or on[n][0][0] != "crm.lead"
        ]
        check(
            not wrong,
            f"each of the {len(new_numbers)} unknown numbers: one lead, one conversation on it ({len(wrong)} not) "
            f"{wrong[:3] or ''}",
        )
        if burst:
            events = sql_rows(
                cnx, "SELECT message_id FROM sms_event WHERE external_id LIKE %s ORDER BY id", [f"SMU{tag}%"]
            )
            messages = sql_rows(
                cnx,
                """
                SELECT m.id FROM mail_message m JOIN sms_conversation c ON c.id = m.sms_conversation_id
                 WHERE c.remote_number = %s AND m.sms_direction = 'inbound' ORDER BY m.id
                """,
                [unknown_one],
            )
            # Posted in the order they were stored (sent at once, they came in no other order).
            ordered = [m for (m,) in messages] == [m for (m,) in events]
            check(
                leads[unknown_one] == 1 and len(on[unknown_one]) == 1 and len(messages) == len(burst) and ordered,
                f"{unknown_one}: {leads[unknown_one]} lead, {len(on[unknown_one])} conversation, {len(messages)} of "
                f"{len(burst)} messages, {'in' if ordered else 'NOT in'} the order they were stored",
            )
    finally:
        for server in servers:
            stop_server(server)
        cnx.close()
    errors = log_errors(log_paths)
    check(
        not errors,
        f"no ERROR line in the server logs ({len(errors)} found, see {log_paths[0]}) {errors[:3] or ''}",
    )


CHECKS = {"crash": run_crash, "outage": run_outage, "db-restart": run_db_restart, "two-servers": run_two_servers}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", choices=sorted(CHECKS), required=True)
    parser.add_argument("--db", required=True, help="database to create (dropped at the end)")
    parser.add_argument(
        "--port",
        type=int,
        default=18900,
        help="the server's; the mock provider's is PORT + 10, a second server's PORT + 20",
    )
    parser.add_argument("--log-dir", required=True)
    parser.add_argument(
        "--count", type=int, default=0, help="texts to send (outage: 1000, crash: 300), messages (two-servers: 10000)"
    )
    parser.add_argument("--outage", type=int, default=60, help="seconds the provider fails (outage)")
    parser.add_argument(
        "--timeout",
        type=int,
        default=0,
        help="seconds the queue may take to empty (outage: 1800), the processing (two-servers: 7200)",
    )
    parser.add_argument("--servers", type=int, default=2, choices=(1, 2), help="servers (two-servers)")
    parser.add_argument(
        "--clients", type=int, default=CLIENTS, help=f"customers posting at once (two-servers: {CLIENTS})"
    )
    parser.add_argument("--template", help="copy this database instead of installing the addon")
    parser.add_argument("--keep", action="store_true", help="keep the database at the end")
    args = parser.parse_args()
    # Stopped: the servers, the databases and the private cluster are cleaned up all the same.
    signal.signal(signal.SIGTERM, lambda _signal, _frame: sys.exit(143))
    os.makedirs(args.log_dir, exist_ok=True)
    for path in glob.glob(os.path.join(args.log_dir, f"{args.check}*.log")):
        os.remove(path)
    check = Check(args.check)
    env = pg_env()
    try:
        if args.check != "db-restart":
            create_database(args, args.db, env)
        CHECKS[args.check](args, check, args.db, env)
    except Exception as exc:  # noqa: BLE001 - reported as a failed check
        check(False, f"{type(exc).__name__}: {exc}")
    finally:
        if args.check != "db-restart":
            drop_database(args, args.db, env)
    print(f"{args.check}: {check.passed} checks passed, {check.failed} failed", flush=True)
    return 1 if check.failed else 0


if __name__ == "__main__":
    sys.exit(main())
