"""Webhooks in bursts, over real HTTP, on a real Odoo server.

Odoo's test framework runs every request of a test in one transaction, one at
a time: it cannot show what happens when a provider posts many messages at
once. This check starts ``odoo-bin`` on a database where the addon is
installed (no demo data), in threaded mode (the default of ``odoo-bin``), in
prefork mode (``--workers``), or as two prefork servers on the same database
(``two-servers``: the calls alternate between them, as behind a load
balancer, and both run the processing cron), and posts, signed as Twilio does:

- 50 messages at once from one unknown number;
- 3 messages at once from each of 20 unknown numbers (60 calls);
- 10 messages delivered twice at once (a provider's retry racing the first
  try), three times across the two servers;
- 2 sellers' first messages to the same new customer at once (JSON-RPC).

It then waits for the processing cron and checks that every call was answered
200, every message stored and posted exactly once, in order, one lead and one
conversation per number, and that the server logged no ERROR.

Usage: http_concurrency.py --db DB --mode threaded|prefork|two-servers --port PORT --log FILE
Prints one line per check; the last line is "<mode>: N checks passed, N failed".
"""

import argparse
import base64
import concurrent.futures
import hashlib
import hmac
import os
import re
import signal
import subprocess
import sys
import time
import uuid

import requests

SCRIPTS = os.path.dirname(os.path.abspath(__file__))
AUTH_TOKEN = "http-concurrency-auth-token"
ACCOUNT_SID = "AC00000000000000000000000000000000"
ERROR_RE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ \d+ (ERROR|CRITICAL) ", re.MULTILINE)


def twilio_signature(url, params):
    """What Twilio sends: base64(HMAC-SHA1(auth token, URL + sorted name/value pairs))."""
    data = url + "".join(f"{key}{params[key]}" for key in sorted(params))
    return base64.b64encode(hmac.new(AUTH_TOKEN.encode(), data.encode(), hashlib.sha1).digest()).decode()


class Rpc:
    """A JSON-RPC session on the server."""

    def __init__(self, base_url, db, login, password):
        self.base_url = base_url
        self.session = requests.Session()
        result = self._post("/web/session/authenticate", {"db": db, "login": login, "password": password})
        if not result.get("uid"):
            raise RuntimeError(f"cannot log in as {login}")

    def _post(self, path, params):
        response = self.session.post(
            self.base_url + path, json={"jsonrpc": "2.0", "method": "call", "params": params}, timeout=120
        )
        response.raise_for_status()
        payload = response.json()
        if "error" in payload:
            raise RuntimeError(payload["error"].get("data", {}).get("message") or payload["error"])
        return payload["result"]

    def call(self, model, method, *args, **kwargs):
        return self._post(
            f"/web/dataset/call_kw/{model}/{method}",
            {"model": model, "method": method, "args": list(args), "kwargs": kwargs},
        )


class Check:
    def __init__(self, mode):
        self.mode = mode
        self.passed = self.failed = 0

    def __call__(self, ok, what):
        if ok:
            self.passed += 1
        else:
            self.failed += 1
        print(f"[{self.mode}] {'ok  ' if ok else 'FAIL'} {what}", flush=True)
        return ok


# odoo-bin options of each mode, on top of those of ``start_server``.
MODE_OPTIONS = {
    "threaded": [],
    # Odoo's prefork server listens with a backlog of 8 connections per
    # worker: 8 workers queue a burst of 60 (in production a reverse proxy
    # queues them, see the README).
    "prefork": ["--workers=8", "--limit-time-real=300"],
    "two-servers": ["--workers=4", "--limit-time-real=300"],
}


def start_server(db, port, log_path, options=(), env=None, timeout=120):
    """``odoo-bin`` serving ``db`` on ``port`` in a process group of its own
    (``scripts/odoo.sh``, environment ``env``), once it answers."""
    command = [
        "bash",
        os.path.join(SCRIPTS, "odoo.sh"),
        # One database named on the command line, no --db-filter: a webhook
        # (no session) then costs no database-listing connection (README).
        "-d",
        db,
        f"--http-port={port}",
        f"--gevent-port={port + 3}",
        "--http-interface=127.0.0.1",
        "--max-cron-threads=1",
        f"--logfile={log_path}",
        "--log-level=info",
        *options,
    ]
    server = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True, env=env
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server stopped at start (see {log_path})")
        try:
            if requests.get(f"http://127.0.0.1:{port}/web/health", timeout=2).ok:
                return server
        except requests.RequestException:
            pass
        time.sleep(0.5)
    stop_server(server)
    raise RuntimeError(f"the server did not answer in {timeout} s")


def stop_server(server):
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


def create_seller(rpc, login, name):
    """An internal user with the Sales (own documents) right: an SMS seller."""
    # res.users' groups: groups_id on Odoo 18, group_ids on 19.
    groups_field = "group_ids" if "group_ids" in rpc.call("res.users", "fields_get", [], ["type"]) else "groups_id"
    salesman = rpc.call("ir.model.data", "check_object_reference", "sales_team", "group_sale_salesman")[1]
    return rpc.call(
        "res.users",
        "create",
        {
            "name": name,
            "login": login,
            "password": login,
            "email": f"{login}@example.com",
            groups_field: [(6, 0, [salesman])],
        },
    )


def setup(rpc, base_url, tag, api_base_url="http://127.0.0.1:9"):
    """An account with a one-seller number and a team number, fresh for this
    run; its texts go to ``api_base_url`` (by default nowhere: nothing listens
    there)."""
    company_id = rpc.call(
        "res.users", "read", [rpc.call("res.users", "search", [("login", "=", "admin")])[0]], ["company_id"]
    )[0]["company_id"][0]
    sellers = [create_seller(rpc, f"seller_{name}_{tag}", f"Seller {name} {tag}") for name in ("one", "two")]
    team = rpc.call("crm.team", "create", {"name": f"Team {tag}", "member_ids": [(6, 0, sellers)]})
    account = rpc.call(
        "sms.account",
        "create",
        {
            "name": f"Twilio {tag}",
            "provider": "twilio",
            "company_id": company_id,
            "twilio_account_sid": ACCOUNT_SID,
            "twilio_auth_token": AUTH_TOKEN,
            "webhook_base_url": base_url,
            "api_base_url": api_base_url,
        },
    )
    prefix = "+1415555" + tag[-1]
    seller_number = rpc.call(
        "sms.number",
        "create",
        {"number": f"{prefix}100", "account_id": account, "user_ids": [(6, 0, sellers[:1])]},
    )
    team_number = rpc.call("sms.number", "create", {"number": f"{prefix}200", "account_id": account, "team_id": team})
    token = rpc.call("sms.account", "read", [account], ["webhook_token"])[0]["webhook_token"]
    numbers = rpc.call("sms.number", "read", [seller_number, team_number], ["number"])
    return {
        "account": account,
        "path": f"/crm_sms_conversation/webhook/{token}/inbound",
        "seller_number": numbers[0]["number"],
        "team_number": numbers[1]["number"],
        "sellers": sellers,
        "prefix": prefix,
        "company": company_id,
    }


def signed_inbound(base_url, path, sid, sender, to, body):
    """The form and headers of an inbound message signed for the public URL ``base_url``, as Twilio posts it."""
    params = {
        "MessageSid": sid,
        "AccountSid": ACCOUNT_SID,
        "From": sender,
        "To": to,
        "Body": body,
        "NumMedia": "0",
    }
    return params, {"X-Twilio-Signature": twilio_signature(base_url + path, params)}


def post_inbound(base_url, path, sid, sender, to, body, target_url=None, timeout=60):
    """A call signed for the public URL ``base_url``, sent to ``target_url`` (a server behind it)."""
    params, headers = signed_inbound(base_url, path, sid, sender, to, body)
    try:
        response = requests.post((target_url or base_url) + path, data=params, headers=headers, timeout=timeout)
    except requests.RequestException as exc:
        return sid, f"no answer: {exc}"
    return sid, response.status_code


def log_errors(log_paths):
    """The ERROR and CRITICAL lines of the server logs."""
    errors = []
    for path in log_paths:
        if os.path.exists(path):
            with open(path, encoding="utf-8", errors="replace") as log:
                errors += [line for line in log.read().splitlines() if ERROR_RE.match(line)]
    return errors


def run(args):
    check = Check(args.mode)
    base_url = f"http://127.0.0.1:{args.port}"
    # Numbers of a run start with +1415555 and the run's last digit: 1 threaded, 2 prefork.
    tag = str(int(time.time() * 1000) % 10**5) + {"threaded": "1", "prefork": "2", "two-servers": "3"}[args.mode]
    log_path = args.log
    ports = [args.port, args.port + 10] if args.mode == "two-servers" else [args.port]
    log_paths = [log_path] + [f"{log_path}.{port}" for port in ports[1:]]
    for path in log_paths:
        if os.path.exists(path):
            os.remove(path)
    servers = []
    try:
        for port, path in zip(ports, log_paths, strict=True):
            servers.append(start_server(args.db, port, path, MODE_OPTIONS[args.mode]))
        targets = [f"http://127.0.0.1:{port}" for port in ports]
        admin = Rpc(base_url, args.db, "admin", "admin")
        conf = setup(admin, base_url, tag)
        calls = []  # (sid, sender, to, body)
        unknown_one = conf["prefix"] + "900"
        calls += [(f"SMA{tag}{i:04d}", unknown_one, conf["seller_number"], f"burst {i:02d}") for i in range(50)]
        senders = [f"{conf['prefix']}{300 + i}" for i in range(20)]
        calls += [
            (f"SMB{tag}{i:02d}{j}", sender, conf["team_number"], f"from {sender} #{j}")
            for i, sender in enumerate(senders)
            for j in range(3)
        ]
        duplicated = [
            (f"SMD{tag}{i:02d}", f"{conf['prefix']}{500 + i}", conf["seller_number"], "twice") for i in range(10)
        ]
        unique_calls = calls + duplicated

        copies = 3 if len(targets) > 1 else 2
        bursts = (
            ("one unknown number, 50 messages", calls[:50]),
            ("20 numbers x 3 messages", calls[50:]),
            (f"10 messages delivered {copies} times", duplicated * copies),
        )
        for label, burst in bursts:
            started = time.monotonic()
            with concurrent.futures.ThreadPoolExecutor(max_workers=len(burst)) as pool:
                # Round robin over the servers, as a load balancer does.
                answers = list(
                    pool.map(
                        lambda indexed: post_inbound(
                            base_url, conf["path"], *indexed[1], target_url=targets[indexed[0] % len(targets)]
                        ),
                        enumerate(burst),
                    )
                )
            elapsed = time.monotonic() - started
            bad = [(sid, status) for sid, status in answers if status != 200]
            check(
                not bad,
                f"{label}: {len(burst)} concurrent webhooks answered 200 in {elapsed:.1f} s "
                f"({len(burst) / elapsed:.0f}/s) {bad[:5] or ''}",
            )

        # Two sellers send the first message to the same new customer at once.
        us = admin.call("res.country", "search", [("code", "=", "US")])[0]
        customer = admin.call(
            "res.partner", "create", {"name": f"New customer {tag}", "phone": conf["prefix"] + "700", "country_id": us}
        )
        team_seller = Rpc(base_url, args.db, f"seller_two_{tag}", f"seller_two_{tag}")
        seller_sessions = [team_seller, Rpc(base_url, args.db, f"seller_one_{tag}", f"seller_one_{tag}")]
        team_number_id = admin.call(
            "sms.number", "search", [("number", "=", conf["team_number"]), ("account_id", "=", conf["account"])]
        )[0]

        def send(session):
            try:
                return session.call(
                    "sms.conversation",
                    "send_message",
                    "res.partner",
                    customer,
                    conf["prefix"] + "700",
                    team_number_id,
                    f"Hello from {uuid.uuid4().hex[:6]}",
                )
            except RuntimeError as exc:
                return str(exc)

        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            sends = list(pool.map(send, seller_sessions))
        check(all(isinstance(s, dict) for s in sends), f"2 concurrent first sends to a new customer succeed {sends}")
        conversation_ids = {s["conversation_id"] for s in sends if isinstance(s, dict)}
        check(len(conversation_ids) == 1 and 0 not in conversation_ids, "... into one conversation")

        # The processing cron works through the events.
        sids = [sid for sid, *_rest in unique_calls]
        deadline = time.monotonic() + 240
        pending = None
        while time.monotonic() < deadline:
            pending = admin.call("sms.event", "search_count", [("external_id", "in", sids), ("state", "!=", "done")])
            if not pending:
                break
            time.sleep(1)
        stored = admin.call(
            "sms.event", "search_read", [("external_id", "in", sids)], ["external_id", "message_id"], order="id"
        )
        check(len(stored) == len(unique_calls), f"{len(stored)} events stored for {len(unique_calls)} messages")
        check(not pending, f"every event processed within 4 minutes ({pending} left)")
        message_ids = [e["message_id"][0] for e in stored if e["message_id"]]
        check(len(set(message_ids)) == len(unique_calls), "each message posted exactly once")
        burst = [e["message_id"][0] for e in stored if e["external_id"].startswith(f"SMA{tag}") and e["message_id"]]
        check(burst == sorted(burst), "one customer's messages posted in the order they were stored")

        for sender, _to, expected in (
            [(unknown_one, conf["seller_number"], 50)]
            + [(s, conf["team_number"], 3) for s in senders]
            + [(d[1], conf["seller_number"], 1) for d in duplicated]
        ):
            leads = admin.call(
                "crm.lead", "search_read", [("phone", "=", sender)], ["id"], context={"active_test": False}
            )
            conversations = admin.call("sms.conversation", "search_read", [("remote_number", "=", sender)], ["id"])
            messages = admin.call(
                "mail.message",
                "search_read",
                [("sms_conversation_id", "in", [c["id"] for c in conversations]), ("sms_direction", "=", "inbound")],
                ["body", "id"],
                order="id",
            )
            ok = len(leads) == 1 and len(conversations) == 1 and len(messages) == expected
            if not check(
                ok,
                f"{sender}: {len(leads)} lead, {len(conversations)} conversation, {len(messages)}/{expected} messages",
            ):
                break
    finally:
        for server in servers:
            stop_server(server)
    errors = log_errors(log_paths)
    check(not errors, f"no ERROR line in the server logs ({len(errors)} found, see {log_path}*)")
    print(f"{args.mode}: {check.passed} checks passed, {check.failed} failed", flush=True)
    return 1 if check.failed else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--mode", choices=("threaded", "prefork", "two-servers"), required=True)
    parser.add_argument("--port", type=int, default=18169)
    parser.add_argument("--log", required=True)
    args = parser.parse_args()
    try:
        return run(args)
    except Exception as exc:  # noqa: BLE001 - reported as a failed check
        print(f"[{args.mode}] FAIL {exc}")
        print(f"{args.mode}: 0 checks passed, 1 failed", flush=True)
        return 1


if __name__ == "__main__":
    sys.exit(main())
