"""Draining the outbound queue: one request at a time against several at once.

Run inside ``odoo-bin shell`` on the benchmark database (see bench/README.md):

    bash bench/run_routing_lookup.sh crm_sms_conversation_bench outbound_drain.py

A local mock of Twilio's Messages API (an HTTP server on 127.0.0.1, in a
process of its own, answering each request after BENCH_LATENCY seconds, 0.1
by default, and stamping it when it arrives) receives the texts
of an account of BENCH_NUMBERS sender numbers (50). For each mode, BENCH_MESSAGES
texts (1,000) are posted on as many contacts, spread over the numbers, then
Odoo's SMS queue is run as its cron does (committing) until it is empty:

- ``one by one``: one request at a time (``send_concurrency`` = 1), as the
  queue sent before;
- ``parallel, 1/s``: the default, 16 requests at once, each number at most 1
  message per second (a US long code);
- ``parallel, 10/s``: the same with numbers allowed 10 messages per second.

Reported: drain time and its ratio to one by one, the mock's count of requests
per message (by body and our message id in the status callback URL: each must be 1), the shortest gap
between two requests of one number against its limit, and the chatter states.
Writes bench/results/outbound_drain.md.
"""

import collections
import os
import platform
import subprocess
import sys
import time

import requests

from odoo.modules.module import get_module_path

ADDON = "crm_sms_conversation"
N_MESSAGES = int(os.environ.get("BENCH_MESSAGES", 1000))
N_NUMBERS = int(os.environ.get("BENCH_NUMBERS", 50))
LATENCY = float(os.environ.get("BENCH_LATENCY", 0.1))
OUTPUT = os.path.join(os.path.realpath(get_module_path(ADDON)), "bench", "results", "outbound_drain.md")

env = globals().get("env")  # provided by odoo-bin shell
if env is None:
    raise SystemExit("run this script inside odoo-bin shell: see bench/README.md")
cr = env.cr
if not (cr.dbname.endswith("_bench") or os.environ.get("BENCH_ALLOW_DB")):
    raise SystemExit(f"refusing to populate database {cr.dbname!r}: use a *_bench database")


# The mock provider runs in a process of its own: it stamps each request when it
# arrives, whatever the Odoo process (and its GIL) is busy with.
MOCK_SERVER = r"""
import json, sys, threading, time, uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl
LATENCY = float(sys.argv[1])
records, lock = [], threading.Lock()

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _answer(self, status, payload):
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        start = time.monotonic()
        length = int(self.headers.get("Content-Length") or 0)
        form = dict(parse_qsl(self.rfile.read(length).decode()))
        time.sleep(LATENCY)
        with lock:
            # The status callback URL holds our id of the message (sms_uuid).
            records.append((form.get("From"), form.get("Body"), form.get("StatusCallback"), start))
        self._answer(201, {"sid": "SM" + uuid.uuid4().hex, "status": "queued"})

    def do_GET(self):
        with lock:
            payload = list(records)
            if self.path == "/records?clear=1":
                records.clear()
        self._answer(200, payload)

    def log_message(self, *args):
        pass

server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
"""


def mock_records(port, clear=False):
    url = f"http://127.0.0.1:{port}/records" + ("?clear=1" if clear else "")
    return [tuple(record) for record in requests.get(url, timeout=30).json()]


def setup_account(port):
    Account = env["sms.account"]
    account = Account.with_context(active_test=False).search([("name", "=", "Bench outbound")], limit=1)
    if not account:
        account = Account.create(
            {
                "name": "Bench outbound",
                "provider": "twilio",
                "twilio_account_sid": "AC" + "0" * 32,
                "twilio_auth_token": "bench-token",
                "sequence": 0,
            }
        )
    # The only active account of the company: it sends everything.
    (Account.search([("company_id", "=", account.company_id.id)]) - account).write({"active": False})
    account.write({"active": True, "api_base_url": f"http://127.0.0.1:{port}"})
    existing = {number.number for number in account.with_context(active_test=False).number_ids}
    env["sms.number"].create(
        [
            {"number": f"+1415555{1000 + index}", "account_id": account.id}
            for index in range(N_NUMBERS)
            if f"+1415555{1000 + index}" not in existing
        ]
    )
    env.registry.clear_cache()
    return account


def post_messages(account, mode):
    """BENCH_MESSAGES texts on as many contacts, spread over the numbers."""
    numbers = account.number_ids.sorted("id")[:N_NUMBERS]
    Partner = env["res.partner"].with_context(tracking_disable=True, mail_create_nolog=True)
    us = env.ref("base.us").id
    partners = Partner.create(
        [
            {"name": f"Outbound bench {index}", "phone": f"+1415666{index:04d}", "country_id": us}
            for index in range(N_MESSAGES)
        ]
    )
    for index, partner in enumerate(partners):
        number = numbers[index % len(numbers)]
        partner.with_context(sms_conversation_number_id=number.id)._message_sms(f"{mode} #{index}")
    cr.commit()
    return partners


def drain(mode, concurrency, rate):
    account = setup_account(MOCK_PORT)
    account.number_ids.write({"rate_limit": rate})
    env["ir.config_parameter"].set_param("crm_sms_conversation.send_concurrency", str(concurrency))
    partners = post_messages(account, mode)
    messages = env["mail.message"].search([("model", "=", "res.partner"), ("res_id", "in", partners.ids)])
    mock_records(MOCK_PORT, clear=True)
    start = time.monotonic()
    while env["sms.sms"].search_count([("state", "=", "outgoing"), ("sms_account_id", "=", account.id)]):
        env["sms.sms"]._process_queue()
        env.invalidate_all()
    elapsed = time.monotonic() - start
    received = mock_records(MOCK_PORT)
    per_message = collections.Counter((body, key) for _sender, body, key, _start in received)
    starts = collections.defaultdict(list)
    for sender, _body, _key, request_start in received:
        starts[sender].append(request_start)
    gaps = [b - a for values in starts.values() for a, b in zip(sorted(values), sorted(values)[1:], strict=False)]
    states = collections.Counter(
        env["mail.notification"]
        .search([("mail_message_id", "in", messages.ids), ("notification_type", "=", "sms")])
        .mapped("notification_status")
    )
    # Leave the database as it was: these contacts only serve this run.
    partners.unlink()
    cr.commit()
    return {
        "mode": mode,
        "concurrency": concurrency,
        "rate": rate,
        "seconds": elapsed,
        "requests": len(received),
        "max_per_message": max(per_message.values(), default=0),
        "messages_reached": len(per_message),
        "min_gap": min(gaps, default=float("nan")),
        "states": dict(states),
    }


MOCK = subprocess.Popen([sys.executable, "-c", MOCK_SERVER, str(LATENCY)], stdout=subprocess.PIPE, text=True)
MOCK_PORT = int(MOCK.stdout.readline())
try:
    runs = [
        drain("one by one", 1, 1.0),
        drain("parallel, 1/s", 16, 1.0),
        drain("parallel, 10/s", 16, 10.0),
    ]
finally:
    MOCK.terminate()
    MOCK.wait()

base = runs[0]["seconds"]
lines = [
    "# Outbound queue drain: one request at a time vs several at once",
    "",
    f"{N_MESSAGES} texts over {N_NUMBERS} sender numbers, mock provider answering after {LATENCY * 1000:.0f} ms, "
    f"on {platform.node()} ({os.cpu_count()} cores), load average {os.getloadavg()[0]:.2f} at the end.",
    f"Command: `make bench BENCH_ONLY=outbound` (database {cr.dbname}).",
    "",
    "| mode | requests at once | number limit (msg/s) | drain (s) | speed-up vs one by one | requests | "
    "messages reached | most requests for one message | shortest gap of one number (s) | chatter states |",
    "|---|---|---|---|---|---|---|---|---|---|",
]
for run in runs:
    lines.append(
        f"| {run['mode']} | {run['concurrency']} | {run['rate']:g} | {run['seconds']:.1f} | "
        f"{base / run['seconds']:.1f}x | {run['requests']} | {run['messages_reached']} | {run['max_per_message']} | "
        f"{run['min_gap']:.3f} | {', '.join(f'{k}: {v}' for k, v in sorted(run['states'].items()))} |"
    )
lines += [
    "",
    "A number's shortest gap must be at least 1 / its limit (1.000 s at 1/s, 0.100 s at 10/s), each message "
    "reached the provider once, and every chatter state is *pending* (sent, waiting for the delivery report).",
]
report = "\n".join(lines) + "\n"
print(report)
os.makedirs(os.path.dirname(OUTPUT), exist_ok=True)
with open(os.environ.get("BENCH_OUTPUT", OUTPUT), "w") as handle:
    handle.write(report)
