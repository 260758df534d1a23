"""What the HTTP and installation benchmarks share: servers, signed
webhooks, contacts to route to, percentiles, the machine, the results file.

Plain Python of the virtual environment (requests, psycopg2); the Twilio
signature, the JSON-RPC session and the account set-up are those of
``scripts/http_concurrency.py`` (the concurrency check of ``make test``).
"""

import contextlib
import datetime
import http.client
import json
import os
import platform
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.parse

import psycopg2

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_DIR = os.path.dirname(BENCH_DIR)
sys.path.insert(0, os.path.join(REPO_DIR, "scripts"))
from http_concurrency import ACCOUNT_SID, Rpc, setup, start_server, stop_server, twilio_signature  # noqa: E402

# BENCH_RESULTS: another file for the sections (a quick run), bench/results/ then left alone.
RESULTS = os.environ.get("BENCH_RESULTS") or os.path.join(BENCH_DIR, "RESULTS.md")
# Contacts of the scale data (bench/scale_data.py).
PARTNER_TAG = "smsscale:"


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def percentile(values, q):
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def db_connect(dbname):
    cnx = psycopg2.connect(dbname=dbname)
    cnx.autocommit = True
    return cnx


@contextlib.contextmanager
def db_cursor(dbname):
    """An autocommit cursor on ``dbname``, its connection closed at the end
    (a connection left open would keep ``createdb -T`` from copying it)."""
    cnx = db_connect(dbname)
    try:
        with cnx.cursor() as cr:
            yield cr
    finally:
        cnx.close()


def db_exists(dbname):
    with db_cursor("postgres") as cr:
        cr.execute("SELECT 1 FROM pg_database WHERE datname = %s", [dbname])
        return bool(cr.fetchone())


# ---------------------------------------------------------------------------
# Odoo servers
# ---------------------------------------------------------------------------


def start_odoo(db, port, logfile, workers=3, cron_threads=1, extra=()):
    """odoo-bin serving only ``db`` (named with ``-d``, no ``--db-filter``: a
    request without session then lists no database), in prefork mode: the
    concurrency check's server, with the benchmark's settings (the last of a
    repeated option wins)."""
    options = [
        f"--gevent-port={port + 50}",
        f"--workers={workers}",
        f"--max-cron-threads={cron_threads}",
        "--limit-time-real=600",
        "--limit-time-cpu=600",
        "--log-level=warn",
        *extra,
    ]
    return start_server(db, port, logfile, options=options, timeout=180)


def server_errors(logfile):
    with open(logfile, encoding="utf-8", errors="replace") as handle:
        return re.findall(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ \d+ (?:ERROR|CRITICAL) .*$", handle.read(), re.M)


# ---------------------------------------------------------------------------
# Requests: one new connection per request (as a provider's webhook comes),
# timed from the connection to the last byte of the answer.
# ---------------------------------------------------------------------------


def http_post(port, path, body, headers):
    """(status, seconds); status 0 when the connection failed."""
    started = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        status = response.status
    except OSError:
        status = 0
    finally:
        connection.close()
    return status, time.perf_counter() - started


def inbound_request(conf, sid, sender, body):
    """The body and headers of a Twilio inbound webhook, signed for the account's public URL."""
    params = {
        "MessageSid": sid,
        "AccountSid": ACCOUNT_SID,
        "From": sender,
        "To": conf["seller_number"],
        "Body": body,
        "NumMedia": "0",
    }
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": twilio_signature(conf["base_url"] + conf["path"], params),
    }
    return urllib.parse.urlencode(params).encode(), headers


def run_load(requests_list, concurrency):
    """Send the (port, path, body, headers) of ``requests_list`` with
    ``concurrency`` threads; returns (latencies in s, statuses, wall seconds)."""
    lock = threading.Lock()
    position = [0]
    latencies, statuses = [], []

    def worker():
        while True:
            with lock:
                index = position[0]
                position[0] += 1
            if index >= len(requests_list):
                return
            status, seconds = http_post(*requests_list[index])
            with lock:
                latencies.append(seconds)
                statuses.append(status)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, statuses, time.perf_counter() - started


def json_body(params):
    return json.dumps({"jsonrpc": "2.0", "method": "call", "params": params}).encode()


# ---------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------


def pick_contacts(dbname, count, seed):
    """``count`` benchmark contacts, each the only holder of its number
    (no other contact nor lead has it): [(partner id, E.164)]. Drawn by a
    hash of the id and ``seed``."""
    with db_cursor(dbname) as cr:
        cr.execute(
            """
            SELECT p.id, COALESCE(p.sms_mobile_e164, p.sms_phone_e164)
              FROM res_partner p
             WHERE p.ref LIKE %s AND COALESCE(p.sms_mobile_e164, p.sms_phone_e164) IS NOT NULL
          ORDER BY md5(p.id::text || %s)
             LIMIT %s
            """,
            [PARTNER_TAG + "%", str(seed), count * 3],
        )
        picked = []
        for partner_id, e164 in cr.fetchall():
            cr.execute(
                """
                SELECT (SELECT count(*) FROM res_partner WHERE sms_phone_e164 = %(n)s OR sms_mobile_e164 = %(n)s)
                     + (SELECT count(*) FROM crm_lead WHERE sms_phone_e164 = %(n)s OR sms_mobile_e164 = %(n)s)
                """,
                {"n": e164},
            )
            if cr.fetchone()[0] == 1:
                picked.append((partner_id, e164))
            if len(picked) == count:
                return picked
    raise RuntimeError(f"{dbname}: not enough benchmark contacts with a number of their own")


def prepare_webhooks(base_url, db, tag, partner_ids):
    """A Twilio account and numbers (``http_concurrency.setup``), the given
    contacts assigned to its first seller; returns the set-up dict."""
    admin = Rpc(base_url, db, "admin", "admin")
    conf = setup(admin, base_url, tag)
    admin.call("res.partner", "write", partner_ids, {"user_id": conf["sellers"][0]})
    conf.update(base_url=base_url, admin=admin)
    return conf


def wait_processed(dbname, external_ids, timeout):
    """Wait until every event of ``external_ids`` is processed; returns
    (seconds waited, events not processed)."""
    started = time.monotonic()
    with db_cursor(dbname) as cr:
        while True:
            cr.execute(
                "SELECT count(*) FROM sms_event WHERE external_id = ANY(%s) AND state != 'done'", [list(external_ids)]
            )
            left = cr.fetchone()[0]
            if not left or time.monotonic() - started > timeout:
                return time.monotonic() - started, left
            time.sleep(0.5)


def stored_once(dbname, external_ids):
    """(events stored, distinct messages posted, events stored twice) for ``external_ids``."""
    with db_cursor(dbname) as cr:
        cr.execute(
            """
            SELECT count(*), count(DISTINCT message_id), count(*) - count(DISTINCT external_id)
              FROM sms_event WHERE kind = 'inbound' AND external_id = ANY(%s)
            """,
            [list(external_ids)],
        )
        return cr.fetchone()


# ---------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------


def machine(dbname=None):
    pg = ""
    if dbname:
        with db_cursor(dbname) as cr:
            cr.execute("SHOW server_version")
            pg = f", PostgreSQL {cr.fetchone()[0].split()[0]}"
    return (
        f"{os.cpu_count()} cores, {platform.machine()}, Linux {platform.release()}, Python"
        f" {platform.python_version()}{pg}, Odoo 18.0, addon at {git_revision()}"
    )


def load_average():
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def now():
    return datetime.datetime.now().astimezone().isoformat(timespec="seconds")


def git_revision():
    try:
        rev = subprocess.run(
            ["git", "-C", REPO_DIR, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", REPO_DIR, "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        return rev + (" + uncommitted changes" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def command_line():
    """The command that produced a result, as typed (the make target sets BENCH_COMMAND)."""
    return os.environ.get("BENCH_COMMAND") or " ".join([os.path.relpath(sys.argv[0], REPO_DIR), *sys.argv[1:]])


def met(ok):
    return "**met**" if ok else "**not met**"


def write_section(name, text):
    """Replace benchmark ``name``'s section of bench/RESULTS.md (kept between
    markers, the other benchmarks' sections untouched) and write the full
    report to bench/results/<name>.md."""
    begin, end = f"<!-- {name}: begin -->", f"<!-- {name}: end -->"
    block = f"{begin}\n{text.strip()}\n{end}"
    content = ""
    if os.path.exists(RESULTS):
        with open(RESULTS, encoding="utf-8") as handle:
            content = handle.read()
    if begin in content and end in content:
        head, _sep, rest = content.partition(begin)
        _old, _sep, tail = rest.partition(end)
        content = head + block + tail
    else:
        content = (content.rstrip() + "\n\n" if content else RESULTS_HEADER) + block + "\n"
    with open(RESULTS, "w", encoding="utf-8") as handle:
        handle.write(content)
    if os.environ.get("BENCH_RESULTS"):
        return
    os.makedirs(os.path.join(BENCH_DIR, "results"), exist_ok=True)
    with open(os.path.join(BENCH_DIR, "results", f"{name}.md"), "w", encoding="utf-8") as handle:
        handle.write(text.strip() + "\n")


RESULTS_HEADER = """# Benchmark results

Each section is written by its benchmark (see [README.md](README.md)); every figure that is compared is a ratio of
things measured interleaved in the same run, on the same machine, so that other work on the machine weighs on both
sides. Absolute times are given for reading only.

"""


def stop(server):
    if server and server.poll() is None:
        stop_server(server)


def handle_sigterm():
    """Stop the servers (finally blocks) when the run is interrupted."""
    signal.signal(signal.SIGTERM, lambda *_args: sys.exit(143))


def wake_cron(dbname):
    """Wake the cron workers of ``dbname`` up now, as Odoo's ``ir.cron._notifydb`` does."""
    with db_cursor("postgres") as cr:
        cr.execute("SELECT pg_notify('cron_trigger', %s)", [dbname])
