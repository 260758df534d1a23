import json
import logging
import threading
from contextlib import contextmanager
from datetime import timedelta

from odoo import api, fields, models

from ..tools.sms_provider import InboundSms, StatusReport

_logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
# Processing of an event that failed is retried after this delay (by the cron).
RETRY_DELAY_MINUTES = 1
# First key of the advisory locks serializing the processing of a customer's messages.
ADVISORY_LOCK_CLASS = 81731


class SmsEvent(models.Model):
    """A verified webhook call of a provider, stored before it is processed.

    The row is committed in its own transaction as soon as the signature is
    verified: whatever happens next, nothing verified is lost. The unique key
    (account, kind, external id) stores a provider's repeated delivery once.
    """

    _name = "sms.event"
    _description = "SMS Provider Event"
    _order = "id desc"

    account_id = fields.Many2one("sms.account", required=True, ondelete="cascade", index=True)
    kind = fields.Selection([("inbound", "Inbound Message"), ("status", "Delivery Report")], required=True)
    external_id = fields.Char(required=True, help="Provider's id of the message (with the status for reports).")
    payload = fields.Text(required=True, help="The verified event as the provider sent it (JSON).")
    state = fields.Selection(
        [("pending", "To Process"), ("done", "Processed"), ("error", "Failed")],
        default="pending",
        required=True,
        index=True,
    )
    attempts = fields.Integer(default=0)
    error = fields.Text()
    processed_date = fields.Datetime()
    conversation_id = fields.Many2one("sms.conversation", ondelete="set null")
    message_id = fields.Many2one("mail.message", ondelete="set null")

    _sql_constraints = [
        ("external_unique", "unique(account_id, kind, external_id)", "This provider event is already stored."),
    ]

    # Storage -------------------------------------------------------------

    @api.model
    def _store(self, account, kind, event_values, raw_params=None):
        """Insert the event unless already there; return its id.

        Plain SQL with ON CONFLICT: a repeated or replayed delivery neither
        fails nor creates a second row.
        """
        external_id = event_values["external_id"]
        if kind == "status":
            external_id = f"{external_id}:{event_values['status']}"
        payload = {"event": event_values, "params": raw_params or []}
        self.env.cr.execute(
            """
            INSERT INTO sms_event (account_id, kind, external_id, payload, state, attempts,
                                   create_uid, create_date, write_uid, write_date)
            VALUES (%s, %s, %s, %s, 'pending', 0, %s, now() at time zone 'UTC', %s, now() at time zone 'UTC')
            ON CONFLICT (account_id, kind, external_id) DO NOTHING
            RETURNING id
            """,
            (account.id, kind, external_id, json.dumps(payload), self.env.uid, self.env.uid),
        )
        row = self.env.cr.fetchone()
        if row:
            return row[0]
        self.env.cr.execute(
            "SELECT id FROM sms_event WHERE account_id = %s AND kind = %s AND external_id = %s",
            (account.id, kind, external_id),
        )
        return self.env.cr.fetchone()[0]

    def _get_event_values(self):
        self.ensure_one()
        return json.loads(self.payload)["event"]

    def _serialization_key(self):
        """Events sharing a key are processed one at a time: two first
        messages of an unknown number must not create two leads."""
        self.ensure_one()
        if self.kind != "inbound":
            return None
        return f"{self.account_id.company_id.id}:{self._get_event_values()['from_number']}"

    @contextmanager
    def _serialized(self):
        """Process under a session-level advisory lock on the event's key.

        The lock is taken, then the transaction committed, so that the
        processing runs on a snapshot that sees what the previous holder
        committed; the lock is released once the processing is committed.
        """
        key = self._serialization_key()
        cr = self.env.cr
        if key is None:
            yield
            # Processing runs in its own transaction.
            cr.commit()  # pylint: disable=invalid-commit
            return
        cr.execute("SELECT pg_advisory_lock(%s, hashtext(%s))", (ADVISORY_LOCK_CLASS, key))
        try:
            # A fresh snapshot, taken under the lock.
            cr.commit()  # pylint: disable=invalid-commit
            yield
            # Committed before the lock is released.
            cr.commit()  # pylint: disable=invalid-commit
        except Exception:
            cr.rollback()
            raise
        finally:
            cr.execute("SELECT pg_advisory_unlock(%s, hashtext(%s))", (ADVISORY_LOCK_CLASS, key))

    # Processing ----------------------------------------------------------

    def _lock_for_processing(self):
        """Events of ``self`` still to process that no one else is processing."""
        if not self.ids:
            return self.browse()
        self.flush_recordset(["state", "attempts"])
        self.env.cr.execute(
            """
            SELECT id FROM sms_event
             WHERE id IN %s AND state != 'done' AND attempts < %s
               FOR UPDATE SKIP LOCKED
            """,
            (tuple(self.ids), MAX_ATTEMPTS),
        )
        return self.browse([row[0] for row in self.env.cr.fetchall()])

    def _process(self):
        """Process the events; a failed one is kept with its error for the cron."""
        for event in self._lock_for_processing():
            try:
                with self.env.cr.savepoint():
                    event._process_one()
            except Exception as exc:  # noqa: BLE001 - any failure is kept for a retry
                attempts = event.attempts + 1
                _logger.warning(
                    "SMS event %s could not be processed (attempt %s of %s): %s",
                    event.id,
                    attempts,
                    MAX_ATTEMPTS,
                    exc,
                    exc_info=attempts >= MAX_ATTEMPTS,
                )
                event.write({"state": "error", "attempts": attempts, "error": str(exc)})
                if attempts < MAX_ATTEMPTS:
                    cron = self.env.ref("crm_sms_conversation.ir_cron_sms_event_process", raise_if_not_found=False)
                    if cron:
                        cron.sudo()._trigger(fields.Datetime.now() + timedelta(minutes=RETRY_DELAY_MINUTES))
            else:
                event.write(
                    {
                        "state": "done",
                        "attempts": event.attempts + 1,
                        "error": False,
                        "processed_date": fields.Datetime.now(),
                    }
                )

    def _process_one(self):
        self.ensure_one()
        values = self._get_event_values()
        if self.kind == "inbound":
            message = self.account_id._process_inbound(InboundSms(**values))
            self.write({"conversation_id": message.sms_conversation_id.id, "message_id": message.id})
        else:
            self.account_id._process_status(StatusReport(**values))

    @api.model
    def _cron_process(self, batch_size=200):
        """Process events whose processing failed or was cut short."""
        limit_date = fields.Datetime.now() - timedelta(minutes=RETRY_DELAY_MINUTES)
        events = self.search(
            [("state", "!=", "done"), ("attempts", "<", MAX_ATTEMPTS), ("create_date", "<=", limit_date)],
            order="id",
            limit=batch_size,
        )
        testing = getattr(threading.current_thread(), "testing", False)
        for event in events:
            if testing:
                event._process()
            else:
                # Each event in its own transaction, as webhooks process them.
                with event._serialized():
                    event._process()
        return len(events)

    def action_retry(self):
        """Process again, as the webhook would: with all rights, not the user's."""
        events_sudo = self.sudo().filtered(lambda e: e.state != "done")
        events_sudo.write({"attempts": 0})
        events_sudo._process()
        return True
