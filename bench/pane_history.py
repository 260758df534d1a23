"""Opening a long conversation in the pane vs a short one, measured in one run.

Run inside ``odoo-bin shell`` on the benchmark database (see bench/README.md):

    bash bench/run_routing_lookup.sh crm_sms_conversation_bench pane_history.py

It adds (once) two conversations on a Simulator number: one of BENCH_LONG
messages (10,000) and one of 40, half inbound, half outbound with their SMS
notifications, inserted by SQL. It then times, as a seller would call them:
the pane's data (``get_pane_data``), the newest page of messages
(``get_messages``, 30 messages) and a page in the middle of the long history
(``before_id``), and prints the ratio long / short. Writes
bench/results/pane_history.md.
"""

import datetime
import os
import statistics
import time

from odoo.modules.module import get_module_path

ADDON = "crm_sms_conversation"
N_LONG = int(os.environ.get("BENCH_LONG", 10_000))
N_SHORT = 40  # a full first page, so both return 30 messages
REPEAT = int(os.environ.get("BENCH_REPEAT", 200))
OUTPUT = os.path.join(os.path.realpath(get_module_path(ADDON)), "bench", "results", "pane_history.md")

env = globals().get("env")  # provided by odoo-bin shell
if env is None:
    raise SystemExit("run this script inside odoo-bin shell: see bench/README.md")
cr = env.cr
if not (cr.dbname.endswith("_bench") or os.environ.get("BENCH_ALLOW_DB")):
    raise SystemExit(f"refusing to populate database {cr.dbname!r}: use a *_bench database")


def ensure_conversation(number, remote, size):
    Partner = env["res.partner"]
    name = f"Pane bench {size}"
    partner = Partner.search([("name", "=", name)], limit=1) or Partner.create(
        {"name": name, "phone": remote, "country_id": env.ref("base.us").id}
    )
    conversation = env["sms.conversation"]._get_or_create(number, remote, partner)
    have = env["mail.message"].search_count([("sms_conversation_id", "=", conversation.id)])
    missing = size - have
    if missing > 0:
        author = partner.id
        cr.execute(
            """
            INSERT INTO mail_message (model, res_id, message_type, body, author_id, email_from, date,
                                      sms_conversation_id, sms_direction,
                                      create_date, write_date, create_uid, write_uid)
            SELECT 'res.partner', %s, 'sms', '<p>Message ' || g || '</p>',
                   CASE WHEN g %% 2 = 0 THEN %s ELSE NULL END, %s,
                   now() at time zone 'UTC' - (%s - g) * interval '1 minute',
                   %s, CASE WHEN g %% 2 = 0 THEN 'inbound' ELSE 'outbound' END,
                   now() at time zone 'UTC', now() at time zone 'UTC', 1, 1
              FROM generate_series(%s, %s) AS g
            RETURNING id, sms_direction
            """,
            (partner.id, author, remote, size, conversation.id, have + 1, size),
        )
        outbound = [row[0] for row in cr.fetchall() if row[1] == "outbound"]
        cr.execute(
            """
            INSERT INTO mail_notification (mail_message_id, notification_type, notification_status, sms_number,
                                           is_read, author_id)
            SELECT unnest(%s::int[]), 'sms', 'sent', %s, true, %s
            """,
            (outbound, remote, env.user.partner_id.id),
        )
        conversation._touch()
        cr.commit()
    return partner, conversation


def timed(fn):
    samples = []
    for _i in range(REPEAT):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
        env.invalidate_all()
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


account = env["sms.account"].search([("name", "=", "Pane bench")], limit=1) or env["sms.account"].create(
    {"name": "Pane bench", "provider": "simulator"}
)
number = env["sms.number"].search([("account_id", "=", account.id)], limit=1) or env["sms.number"].create(
    {"number": "+14155550990", "account_id": account.id, "user_ids": [(4, env.user.id)]}
)
cr.commit()
long_partner, long_conv = ensure_conversation(number, "+14155550991", N_LONG)
short_partner, short_conv = ensure_conversation(number, "+14155550992", N_SHORT)
cr.execute("ANALYZE mail_message; ANALYZE mail_notification; ANALYZE sms_conversation")
Conversation = env["sms.conversation"]
middle_id = (
    env["mail.message"].search([("sms_conversation_id", "=", long_conv.id)], order="id", offset=N_LONG // 2, limit=1).id
)

cases = {
    "get_pane_data": (
        lambda: Conversation.get_pane_data("res.partner", long_partner.id),
        lambda: Conversation.get_pane_data("res.partner", short_partner.id),
    ),
    "get_messages, newest page (30)": (
        lambda: Conversation.get_messages(long_conv.id),
        lambda: Conversation.get_messages(short_conv.id),
    ),
    "get_messages, page in the middle": (
        lambda: Conversation.get_messages(long_conv.id, before_id=middle_id),
        lambda: Conversation.get_messages(short_conv.id, before_id=short_conv.message_ids.sorted("id")[-1].id),
    ),
}
for long_fn, short_fn in cases.values():  # warm-up
    long_fn()
    short_fn()

rows = []
for label, (long_fn, short_fn) in cases.items():
    long_p50, long_p95 = timed(long_fn)
    short_p50, short_p95 = timed(short_fn)
    ratio = long_p50 / short_p50
    rows.append(f"| {label} | {short_p50:.2f} | {short_p95:.2f} | {long_p50:.2f} | {long_p95:.2f} | {ratio:.2f}x |")

report = "\n".join(
    [
        f"# Opening a conversation of {N_LONG:,} messages vs one of {N_SHORT}",
        "",
        f"- date: {datetime.datetime.now(datetime.UTC).isoformat(timespec='seconds')}; database `{cr.dbname}`;"
        f" {os.cpu_count()} cores; {REPEAT} samples per case after a warm-up, same run",
        f"- long conversation: {N_LONG} messages; short: {N_SHORT}; half outbound with their SMS notification",
        "",
        f"| call | p50 ms ({N_SHORT}) | p95 ms ({N_SHORT}) | p50 ms ({N_LONG}) | p95 ms ({N_LONG})"
        " | long / short (p50) |",
        "|---|---:|---:|---:|---:|---:|",
        *rows,
        "",
    ]
)
os.makedirs(os.path.dirname(OUTPUT), exist_ok=True)
with open(OUTPUT, "w", encoding="utf-8") as out:
    out.write(report)
print(report)
cr.rollback()
