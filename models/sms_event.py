import dataclasses
import json
import logging
import time
from datetime import timedelta

from psycopg2 import errors

from odoo import _, api, fields, models, modules, sql_db
from odoo.addons.base.models.ir_cron import ODOO_NOTIFY_FUNCTION
from odoo.exceptions import AccessError
from odoo.tools import SQL, config

from ..tools.compat import Constraint, cron_progress
from ..tools.sms_provider import InboundSms, StatusReport

_logger = logging.getLogger(__name__)

# Minutes to wait before each new attempt of an event whose processing failed;
# the event fails for good after the last one (about 5 hours in all).
RETRY_DELAYS = (1, 2, 5, 15, 30, 60, 180)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
# Seconds to wait when a concurrent transaction made the processing fail (not
# counted as an attempt), and before another look at the events a run left
# because their customer was busy elsewhere.
POSTPONE_SECONDS = 5
# First key of the advisory locks serializing the processing of a customer's messages.
ADVISORY_LOCK_CLASS = 81731
# Seconds one run of the processing cron works before leaving the rest to a new
# run: well within the cron worker's time limit (--limit-time-real-cron, by
# default --limit-time-real: 120 s), past which the worker is killed.
CRON_TIME_BUDGET = 10
# Odoo may run a job up to 10 times in a row within the cron worker's real-time limit:
# each run takes at most this share of that limit.
CRON_RUNS_PER_LIMIT = 15
# Crons that process customers' messages alongside the processing cron when a
# backlog is due: Odoo runs a cron job on one cron worker at a time.
HELPER_CRONS = (
    "crm_sms_conversation.ir_cron_sms_event_process_helper_1",
    "crm_sms_conversation.ir_cron_sms_event_process_helper_2",
)
# Due events a run of the processing cron must find to wake the helpers up.
HELPERS_MIN_DUE = 10
RETENTION_PARAM = "crm_sms_conversation.event_retention_days"
DEFAULT_RETENTION_DAYS = 90
# Fields written once, when the provider's call is stored.
IMMUTABLE_FIELDS = frozenset(
    {"account_id", "kind", "external_id", "payload", "remote_number", "serial_key", "part_group"}
)
# Minutes the parts of a long inbound message wait for the missing ones, counted from the first
# part's arrival; then what came is posted, each missing part marked.
PART_WAIT_MINUTES = 10
# Hours a posted part is remembered: a part delivered again within them is not posted twice, and
# a part arriving late is recognised as the missing part of the message already posted.
PART_MEMORY_HOURS = 24
CONCURRENCY_ERRORS = (errors.SerializationFailure, errors.DeadlockDetected, errors.LockNotAvailable)


class PartsPending(Exception):
    """A part of a long inbound message waits for the others until ``until``."""

    def __init__(self, until):
        super().__init__(f"waiting for the other parts until {until}")
        self.until = until


def in_test_mode():
    """Whether Odoo runs tests: processing then neither commits nor locks."""
    return bool(modules.module.current_test)


def wake_cron_workers(dbname):
    """Notify the cron workers of ``dbname`` that a job is due, as
    ``ir.cron._notifydb`` does, once the caller holds no connection: a
    webhook calls it after its answer is sent and its cursor given back, so a
    request never needs two connections at once. The cron runs within a
    minute anyway: a failure here is only a delay."""
    try:
        with sql_db.db_connect("postgres").cursor() as cr:
            cr.execute(SQL("SELECT %s('cron_trigger', %s)", SQL.identifier(ODOO_NOTIFY_FUNCTION), dbname))
    except Exception as exc:  # noqa: BLE001 - only a delay, never an error for the provider
        _logger.warning("SMS events: could not wake the cron workers up now (%s); they run within a minute", exc)


class SmsEvent(models.Model):
    """A verified webhook call of a provider, stored before it is processed.

    The webhook stores the row with the request's own cursor and answers:
    nothing else happens inside the provider's request. The processing cron,
    woken up at once, processes the events in batches, each in its own
    transaction, as the SMS Gateway user, serialized per customer number. A
    failed processing is retried later; after the last attempt the event is
    failed for good and the SMS managers are told. The unique key (account,
    kind, external id) stores a provider's repeated delivery once.
    """

    _name = "sms.event"
    _inherit = ["mail.thread"]
    _description = "SMS Provider Event"
    _order = "id desc"
    _rec_name = "external_id"

    account_id = fields.Many2one("sms.account", required=True, readonly=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(related="account_id.company_id", store=True, index=True)
    kind = fields.Selection(
        [("inbound", "Inbound Message"), ("status", "Delivery Report")], required=True, readonly=True
    )
    external_id = fields.Char(
        "Provider ID", required=True, readonly=True, help="Provider's id of the message (with the status for reports)."
    )
    payload = fields.Text(required=True, readonly=True, help="The verified event as the provider sent it (JSON).")
    remote_number = fields.Char(
        "Customer Number", readonly=True, index="btree_not_null", help="Sender of an inbound message (E.164)."
    )
    serial_key = fields.Char(
        readonly=True, help="Events sharing this key (company and customer number) are processed one at a time."
    )
    part_group = fields.Char(
        readonly=True,
        index="btree_not_null",
        help="Parts of one long message the provider delivers part by part share this key (account, numbers, "
        "the provider's reference and part count): they are posted as one message.",
    )
    summary = fields.Char(compute="_compute_summary")
    state = fields.Selection(
        [("pending", "To Process"), ("done", "Processed"), ("error", "Failed")],
        default="pending",
        required=True,
        readonly=True,
        index=True,
    )
    attempts = fields.Integer(default=0, readonly=True)
    next_attempt_date = fields.Datetime(
        "Next Attempt", readonly=True, help="When a failed processing is tried again (empty: as soon as possible)."
    )
    error = fields.Text(readonly=True)
    processed_date = fields.Datetime(readonly=True)
    conversation_id = fields.Many2one("sms.conversation", ondelete="set null", readonly=True)
    message_id = fields.Many2one("mail.message", ondelete="set null", readonly=True)

    _external_unique = Constraint("unique(account_id, kind, external_id)", "This provider event is already stored.")

    def init(self):
        # The processing cron's look-up: due events, oldest first.
        self.env.cr.execute(
            """
            CREATE INDEX IF NOT EXISTS sms_event_pending_idx ON sms_event (id) WHERE state = 'pending'
            """
        )

    @api.depends("kind", "payload")
    def _compute_summary(self):
        for event in self:
            values = event._get_event_values() if event.payload else {}
            if event.kind == "inbound":
                event.summary = _(
                    "From %(sender)s to %(number)s: %(body)s",
                    sender=values.get("from_number", ""),
                    number=values.get("to_number", ""),
                    body=(values.get("body") or "")[:80],
                )
            elif event.kind == "status":
                event.summary = _(
                    "%(status)s for %(message)s", status=values.get("status", ""), message=values.get("external_id", "")
                )
            else:
                event.summary = False

    # CRUD ----------------------------------------------------------------

    def write(self, vals):
        if IMMUTABLE_FIELDS & set(vals) and not self.env.su:
            raise AccessError(_("What a provider sent cannot be changed."))
        return super().write(vals)

    # Actions -------------------------------------------------------------

    def action_retry(self):
        """Process again with a fresh series of attempts, the way every event
        is processed: by the processing cron, woken up at once (as the SMS
        Gateway, one customer at a time, on a snapshot taken under the
        customer's lock)."""
        self.check_access("write")
        events = self.filtered(lambda e: e.state != "done")
        if not events:
            return True
        events.sudo().write({"state": "pending", "attempts": 0, "next_attempt_date": False, "error": False})
        self._trigger_processing()
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "info",
                "message": _("Queued: the processing starts in a few seconds."),
                "next": {"type": "ir.actions.act_window_close"},
            },
        }

    # Storage -------------------------------------------------------------

    @api.model
    def _store(self, account, kind, event_values, raw_params=None):
        """Insert the event unless already there; return its id, or None when
        a concurrent delivery of the same event stored it.

        Plain SQL with ON CONFLICT and the caller's cursor: a repeated or
        replayed delivery neither fails nor creates a second row, and a
        concurrent one is neither an error nor a retry of the request.
        """
        external_id = event_values["external_id"]
        remote_number = serial_key = part_group = None
        if kind == "status":
            external_id = f"{external_id}:{event_values['status']}"
            if event_values.get("sequence"):
                external_id += f":{event_values['sequence']}"
        else:
            remote_number = event_values["from_number"]
            serial_key = f"{account.company_id.id}:{remote_number}"
            if event_values.get("part_total"):
                part_group = ":".join(
                    str(event_values[key]) for key in ("from_number", "to_number", "part_ref", "part_total")
                )
        payload = {"event": event_values, "params": raw_params or []}
        gateway_id = self.env["res.users"]._sms_gateway_user_id()
        cr = self.env.cr
        try:
            with cr.savepoint(flush=False):
                cr.execute(
                    """
                    INSERT INTO sms_event (account_id, company_id, kind, external_id, payload, remote_number,
                                           serial_key, part_group, state, attempts,
                                           create_uid, create_date, write_uid, write_date)
                    VALUES (%s, %s, %s, %s, %s, %s, %s, %s, 'pending', 0,
                            %s, now() at time zone 'UTC', %s, now() at time zone 'UTC')
                    ON CONFLICT (account_id, kind, external_id) DO NOTHING
                    RETURNING id
                    """,
                    (
                        account.id,
                        account.company_id.id,
                        kind,
                        external_id,
                        json.dumps(payload),
                        remote_number,
                        serial_key,
                        part_group,
                        gateway_id,
                        gateway_id,
                    ),
                    log_exceptions=False,
                )
                row = cr.fetchone()
        except errors.SerializationFailure:
            # The same event was stored by a transaction committed after this
            # one started: it is kept there.
            return None
        if row:
            return row[0]
        cr.execute(
            "SELECT id FROM sms_event WHERE account_id = %s AND kind = %s AND external_id = %s",
            (account.id, kind, external_id),
        )
        row = cr.fetchone()
        return row[0] if row else None

    @api.model
    def _trigger_processing(self, notify=True):
        """Have the processing cron run at once.

        Each call adds a trigger (a run is then sure to come), in one SQL
        statement: through the ORM, the trigger was a third of a webhook's
        time. It is dated by the database's clock as it is inserted, to the
        microsecond. Odoo 18 deletes, once a run is over, the triggers dated
        before the run began: a trigger dated to the second, as Odoo's own,
        is dated before a run that began within that second even when
        inserted after it began, and its event, committed after the run's
        last look at the events, would wait for the cron's next interval.
        Odoo 19 deletes the triggers as a run begins, before it looks at the
        events (a trigger of that same second outlives the run: one run
        more, which finds nothing).

        The cron workers are notified of every call: a trigger already due
        does not mean that a run will see this event. A run going on may have
        looked at the events before this one was committed (Odoo then deletes
        the triggers dated before the run began): without a notification, the
        event would wait for a cron worker's next look, up to a minute later.
        With ``notify``, the notification is sent when the transaction
        commits; without, the caller sends it (``wake_cron_workers``) when the
        method returns True (the cron is active).
        """
        cron = self._processing_cron()
        if not cron:
            return False
        self.env.cr.execute(
            """
            INSERT INTO ir_cron_trigger (cron_id, call_at, create_uid, create_date, write_uid, write_date)
            VALUES (%(cron)s, clock_timestamp() AT TIME ZONE 'UTC',
                    %(uid)s, now() AT TIME ZONE 'UTC', %(uid)s, now() AT TIME ZONE 'UTC')
            RETURNING (SELECT active FROM ir_cron WHERE id = %(cron)s)
            """,
            {"cron": cron.id, "uid": self.env.uid},
        )
        active = self.env.cr.fetchone()[0]
        if active and notify:
            self.env.cr.postcommit.add(cron._notifydb)
        return bool(active)

    @api.model
    def _processing_cron(self):
        """The scheduled action processing the events (sudo; empty if deleted)."""
        cron = self.env.ref("crm_sms_conversation.ir_cron_sms_event_process", raise_if_not_found=False)
        return (cron or self.env["ir.cron"]).sudo()

    @api.model
    def _processing_helper_crons(self):
        """The crons processing customers' messages alongside the processing
        cron when a backlog is due (sudo; override to have more or fewer)."""
        crons = self.env["ir.cron"]
        for xmlid in HELPER_CRONS:
            crons |= self.env.ref(xmlid, raise_if_not_found=False) or self.env["ir.cron"]
        return crons.sudo()

    @api.model
    def _wake_processing_helpers(self):
        """Have the active helper crons run at once, those not already asked
        to: when this transaction commits, the cron workers free (on any
        server) take them."""
        helpers = self._processing_helper_crons().filtered("active")
        if not helpers:
            return
        self.env.cr.execute(
            "SELECT DISTINCT cron_id FROM ir_cron_trigger WHERE cron_id IN %s AND call_at <= %s",
            (tuple(helpers.ids), fields.Datetime.now()),
        )
        asked = {row[0] for row in self.env.cr.fetchall()}
        for helper in helpers.filtered(lambda cron: cron.id not in asked):
            helper._trigger()

    def _get_event_values(self):
        self.ensure_one()
        return json.loads(self.payload)["event"]

    # Processing ----------------------------------------------------------

    def _get_processing_env(self):
        """Environment of the processing: the SMS Gateway user in the
        account's company, whoever (cron, button, simulator) asks for it."""
        self.ensure_one()
        return self.account_id.sudo()._get_gateway_env()

    def _lock_for_processing(self):
        """Events of ``self`` still to process that no one else is processing."""
        if not self.ids:
            return self.browse()
        self.flush_recordset(["state"])
        self.env.cr.execute(
            """
            SELECT id FROM sms_event
             WHERE id IN %s AND state = 'pending'
               FOR UPDATE SKIP LOCKED
            """,
            (tuple(self.ids),),
        )
        locked = {row[0] for row in self.env.cr.fetchall()}
        return self.filtered(lambda e: e.id in locked)

    def _try_lock_customer(self, transaction=True):
        """Whether this transaction (or, with ``transaction=False``, this
        session) now holds the lock on the event's customer; never waits."""
        self.ensure_one()
        if not self.serial_key:
            return True
        function = "pg_try_advisory_xact_lock" if transaction else "pg_try_advisory_lock"
        self.env.cr.execute(
            SQL("SELECT %s(%s, hashtext(%s))", SQL.identifier(function), ADVISORY_LOCK_CLASS, self.serial_key)
        )
        return self.env.cr.fetchone()[0]

    def _unlock_customer(self):
        self.ensure_one()
        if self.serial_key:
            self.env.cr.execute("SELECT pg_advisory_unlock(%s, hashtext(%s))", (ADVISORY_LOCK_CLASS, self.serial_key))

    def _process(self):
        """Process the events in the current transaction; returns those
        processed (successfully or not). An event whose customer is being
        processed by another transaction, or that waits for an earlier
        message of its customer, is left for the cron.

        A failed event is kept with its error and retried later. Concurrency
        errors (serialization failures, deadlocks) are raised: the caller
        retries the whole transaction.
        """
        processed = self.browse()
        for event in self._lock_for_processing():
            if not event._try_lock_customer():
                continue
            if event._waits_for_earlier():
                # An earlier message of this customer is still to be posted (its customer was busy,
                # or it met a concurrent update): it goes first, this one right after it.
                continue
            event._process_attempt()
            processed |= event
        return processed

    def _waits_for_earlier(self):
        """Whether an earlier message of the same customer is still to be
        posted for the first time: a customer's messages are posted in the
        order they came, whichever worker or server takes them. Messages that
        failed (retried later, with their error) and parts of a long message
        (waiting for the other parts) hold nothing up."""
        self.ensure_one()
        if not self.serial_key or self.kind != "inbound":
            return False
        self.flush_model(["state", "attempts"])
        self.env.cr.execute(
            """
            SELECT 1 FROM sms_event
             WHERE remote_number = %s AND serial_key = %s AND kind = 'inbound'
               AND state = 'pending' AND attempts = 0
               AND part_group IS NULL AND id < %s
             LIMIT 1
            """,
            (self.remote_number, self.serial_key, self.id),
        )
        return bool(self.env.cr.fetchone())

    def _process_attempt(self):
        """One attempt, in a savepoint: its changes are all kept or all undone."""
        self.ensure_one()
        try:
            with self.env.cr.savepoint():
                self.with_env(self._get_processing_env())._process_one()
        except CONCURRENCY_ERRORS:
            raise
        except PartsPending as pending:
            # Not a failure: the part waits for the others (or for the end of the wait).
            self._postpone(pending.until)
        except Exception as exc:  # noqa: BLE001 - any failure is kept for a retry
            self._record_failure(exc)
        else:
            self.sudo().write(
                {
                    "state": "done",
                    "attempts": self.attempts + 1,
                    "error": False,
                    "next_attempt_date": False,
                    "processed_date": fields.Datetime.now(),
                }
            )

    def _record_failure(self, exc):
        self.ensure_one()
        attempts = self.attempts + 1
        final = attempts >= MAX_ATTEMPTS
        _logger.warning(
            "SMS event %s could not be processed (attempt %s of %s): %s",
            self.id,
            attempts,
            MAX_ATTEMPTS,
            exc,
            exc_info=final,
        )
        next_date = False if final else fields.Datetime.now() + timedelta(minutes=RETRY_DELAYS[attempts - 1])
        self.sudo().write(
            {
                "state": "error" if final else "pending",
                "attempts": attempts,
                "error": str(exc) or exc.__class__.__name__,
                "next_attempt_date": next_date,
            }
        )
        if final:
            self._notify_failure()
        else:
            self._processing_cron()._trigger(next_date)

    def _process_one(self):
        self.ensure_one()
        values = self._get_event_values()
        if self.kind == "inbound" and self.part_group:
            self._process_part()
        elif self.kind == "inbound":
            message = self.account_id._process_inbound(InboundSms(**values))
            self.sudo().write({"conversation_id": message.sms_conversation_id.id, "message_id": message.id})
        else:
            self.account_id._process_status(StatusReport(**values))

    # Long messages delivered part by part ------------------------------

    def _process_part(self):
        """One part of a long inbound message. The customer's lock is held: the
        other parts, sharing the customer, are processed one at a time too.

        - A part delivered again (same part, same text) as one already posted
          is linked to that message: nothing is posted twice.
        - A part missing from a message posted incomplete is posted alone,
          marked as arriving late.
        - Otherwise the waiting parts make the message: posted once, whole and
          in order, when every part is there; when the first part has waited
          ``PART_WAIT_MINUTES``, posted with each missing part marked. Until
          then the part waits (``PartsPending``), which is no failed attempt.
        """
        self.ensure_one()
        part = InboundSms(**self._get_event_values())
        siblings = self.sudo().search(
            [
                ("account_id", "=", self.account_id.id),
                ("kind", "=", "inbound"),
                ("part_group", "=", self.part_group),
                ("id", "!=", self.id),
                ("create_date", ">=", fields.Datetime.now() - timedelta(hours=PART_MEMORY_HOURS)),
            ],
            order="id",
        )
        posted = siblings.filtered(lambda event: event.state == "done" and event.message_id)
        if posted:
            last_message = posted.message_id.sorted("id")[-1]
            held = {
                values.part_number: values.body
                for values in (
                    InboundSms(**event._get_event_values()) for event in posted if event.message_id == last_message
                )
            }
            if held.get(part.part_number) == part.body:
                self._link_parts(self, last_message)
                return
            if part.part_number not in held and len(held) < part.part_total:
                late = self.env._(
                    "[part %(part)s of %(total)s, arrived late] %(text)s",
                    part=part.part_number,
                    total=part.part_total,
                    text=part.body,
                )
                self._link_parts(self, self._post_parts(part, late))
                return

        chosen, duplicates = {}, siblings.browse()
        for event in (siblings.filtered(lambda event: event.state == "pending") | self).sorted("id"):
            values = InboundSms(**event._get_event_values())
            if values.part_number not in chosen:
                chosen[values.part_number] = (event, values)
            elif chosen[values.part_number][1].body == values.body:
                duplicates |= event
        group = siblings.browse([event.id for event, _values in chosen.values()])
        deadline = min(group.mapped("create_date")) + timedelta(minutes=PART_WAIT_MINUTES)
        if self not in group | duplicates:
            # Another message reusing the reference while this one waits: after it.
            raise PartsPending(deadline + timedelta(seconds=POSTPONE_SECONDS))
        complete = set(chosen) == set(range(1, part.part_total + 1))
        if not complete and fields.Datetime.now() < deadline:
            raise PartsPending(deadline)
        body = ""
        for number in range(1, part.part_total + 1):
            if number in chosen:
                body += chosen[number][1].body
            else:
                marker = self.env._("[part %(part)s of %(total)s missing]", part=number, total=part.part_total)
                body += f"{'' if not body or body[-1].isspace() else ' '}{marker} "
        message = self._post_parts(chosen[min(chosen)][1], body.strip())
        self._link_parts(group | duplicates, message)

    def _post_parts(self, part, body):
        """Post ``body``, made of the parts of a long message, as the customer's message."""
        self.ensure_one()
        inbound = dataclasses.replace(part, body=body, part_ref="", part_number=0, part_total=0)
        return self.account_id._process_inbound(inbound)

    def _link_parts(self, events, message):
        """The part events ``events`` are done: they made ``message``."""
        events.sudo().write(
            {
                "state": "done",
                "error": False,
                "next_attempt_date": False,
                "processed_date": fields.Datetime.now(),
                "conversation_id": message.sms_conversation_id.id,
                "message_id": message.id,
            }
        )

    def _process_in_own_transaction(self):
        """Process one event in a transaction of its own, committed at once
        (outside tests). The customer's lock is taken first, then a fresh
        snapshot: the processing sees what the previous holder committed. A
        message waiting for an earlier one of its customer is passed by
        without the lock."""
        self.ensure_one()
        cr = self.env.cr
        if self._waits_for_earlier():
            # Passed by without taking the customer's lock, even for a moment: the run posting the
            # earlier message goes on with this one, and would pass it by if it found the lock taken
            # (then every later message of the customer would wait for another run).
            if not in_test_mode():
                cr.commit()  # pylint: disable=invalid-commit
            return self.browse()
        if in_test_mode():
            return self._process()
        if not self._try_lock_customer(transaction=False):
            # Another run (a helper cron, another server) or a request processes this customer's
            # messages: left to it, which goes on with the customer's due messages in turn, or to
            # the look asked for at the end of this run. Nothing is written. The commit ends the
            # transaction, so that the next look-up of due events sees what came meanwhile.
            cr.commit()  # pylint: disable=invalid-commit
            return self.browse()
        try:
            cr.commit()  # pylint: disable=invalid-commit
            try:
                processed = self._process()
                cr.commit()  # pylint: disable=invalid-commit
            except CONCURRENCY_ERRORS as exc:
                cr.rollback()
                _logger.info("SMS event %s met a concurrent update, postponed: %s", self.id, exc)
                self._postpone()
                cr.commit()  # pylint: disable=invalid-commit
                processed = self.browse()
            return processed
        except Exception:
            cr.rollback()
            raise
        finally:
            self._unlock_customer()
            cr.commit()  # pylint: disable=invalid-commit

    def _postpone(self, next_date=None):
        next_date = next_date or fields.Datetime.now() + timedelta(seconds=POSTPONE_SECONDS)
        self.sudo().write({"next_attempt_date": next_date})
        self._processing_cron()._trigger(next_date)

    @api.model
    def _due_event_ids(self, limit, exclude=(), kinds=("inbound", "status")):
        self.flush_model(["state", "next_attempt_date"])
        self.env.cr.execute(
            """
            SELECT id FROM sms_event
             WHERE state = 'pending'
               AND (next_attempt_date IS NULL OR next_attempt_date <= %s)
               AND NOT id = ANY(%s)
               AND kind IN %s
             ORDER BY id
             LIMIT %s
            """,
            (fields.Datetime.now(), list(exclude), tuple(kinds), limit),
        )
        return [row[0] for row in self.env.cr.fetchall()]

    @api.model
    def _cron_time_budget(self):
        """Seconds one run of the processing cron may work: a prefork cron
        worker running longer than its real-time limit is killed (the event
        in progress is rolled back, to be processed again)."""
        limit = config["limit_time_real_cron"]
        if limit == -1:
            limit = config["limit_time_real"]
        return min(CRON_TIME_BUDGET, limit / CRON_RUNS_PER_LIMIT) if limit and limit > 0 else CRON_TIME_BUDGET

    @api.model
    def _cron_process(self, batch_size=100, helper=False):
        """Process the due events, oldest first, each in its own transaction
        with its progress, until none is left or the run's time is up
        (checked before each event). A run whose time is up asks for a new
        run instead of reporting work left: Odoo would call the job again up
        to 10 times in a row, all within the cron worker's time limit.

        Several runs work at once: the processing cron's, its helpers' (a run
        of the processing cron that finds a backlog wakes them up) and those
        of other servers. Each event goes to the run that takes its
        customer's lock first (the others pass it by, writing nothing: the
        run holding the customer goes on with their due messages in turn),
        is processed once (``_lock_for_processing``) and after the
        customer's earlier messages (``_waits_for_earlier``). A run that
        leaves events still due asks for another look a few seconds later.
        A helper (``helper``) takes customers' messages only: delivery
        reports stay with the processing cron, applied one at a time in the
        order they came.
        """
        started = time.monotonic()
        budget = self._cron_time_budget()
        kinds = ("inbound",) if helper else ("inbound", "status")
        done, seen = 0, set()
        while time.monotonic() - started < budget:
            ids = self._due_event_ids(batch_size, exclude=seen, kinds=kinds)
            if not ids:
                break
            if not seen and not helper and len(ids) >= HELPERS_MIN_DUE:
                self._wake_processing_helpers()
            for event in self.browse(ids):
                # Checked before each event, not each batch: a batch can take minutes.
                if time.monotonic() - started >= budget:
                    break
                seen.add(event.id)
                processed = len(event._process_in_own_transaction())
                done += processed
                if processed:
                    # Committed with the event: a run killed later is not taken by Odoo for a hung one.
                    cron_progress(self.env, processed)
        if time.monotonic() - started >= budget and self._due_event_ids(1, exclude=seen, kinds=kinds):
            self._processing_cron()._trigger()
        elif self._due_event_ids(1, kinds=kinds):
            # Left by this run: their customer was busy elsewhere, or an earlier message of theirs
            # was still to be posted.
            self._processing_cron()._trigger(fields.Datetime.now() + timedelta(seconds=POSTPONE_SECONDS))
        return done

    # Failures ------------------------------------------------------------

    def _notify_failure(self):
        """Tell the company's SMS managers that an event failed for good."""
        self.ensure_one()
        managers = self.env["res.users"]._sms_managers(self.company_id)
        if not managers:
            return
        event_sudo = self.sudo()
        if self.kind == "inbound":
            values = self._get_event_values()
            subject = _("A customer's text message could not be processed")
            body = _(
                "The text message from %(sender)s to %(number)s could not be posted after %(attempts)s attempts: "
                "%(error)s. It is kept under Text Messages > Provider Events: fix the cause, then click "
                "Process Again.",
                sender=values.get("from_number", ""),
                number=values.get("to_number", ""),
                attempts=self.attempts,
                error=self.error or "",
            )
        else:
            subject = _("A delivery report could not be processed")
            body = _(
                "A delivery report of %(account)s could not be applied after %(attempts)s attempts: %(error)s.",
                account=self.account_id.name,
                attempts=self.attempts,
                error=self.error or "",
            )
        event_sudo.with_context(mail_notify_force_send=False).message_notify(
            partner_ids=managers.partner_id.ids,
            subject=subject,
            body=body,
            author_id=self.env.ref("base.partner_root").id,
            # OdooBot has no e-mail on most databases: the notice leaves from the company's sender.
            email_from=event_sudo._sms_gateway_email_from() or None,
        )

    @api.autovacuum
    def _gc_events(self):
        """Delete the processed and failed events past the retention period."""
        days = self.env["ir.config_parameter"].sudo().get_param(RETENTION_PARAM, DEFAULT_RETENTION_DAYS)
        try:
            days = int(days)
        except (TypeError, ValueError):
            days = DEFAULT_RETENTION_DAYS
        if days <= 0:
            return
        limit_date = fields.Datetime.now() - timedelta(days=days)
        events = self.sudo().search([("state", "!=", "pending"), ("create_date", "<", limit_date)], limit=10000)
        events.unlink()
