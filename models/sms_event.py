import json
import logging
import threading
from datetime import timedelta

from odoo import SUPERUSER_ID, api, fields, models

from ..tools.sms_provider import InboundSms, StatusReport

_logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5


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
    def _store(self, account, kind, external_id, payload):
        """Insert the event unless already there; return its id.

        Plain SQL with ON CONFLICT: a repeated or replayed delivery neither
        fails nor creates a second row.
        """
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

    @api.model
    def _store_in_own_transaction(self, account, kind, external_id, payload):
        """Store and commit at once, apart from the caller's transaction.

        While modules are being installed (demo data), the rows the event
        refers to are not committed yet: the event then joins the current
        transaction.
        """
        if not self.env.registry.ready:
            return self._store(account, kind, external_id, payload)
        with self.env.registry.cursor() as cr:
            return self.with_env(self.env(cr=cr, user=SUPERUSER_ID))._store(account, kind, external_id, payload)

    # Processing ----------------------------------------------------------

    def _lock_for_processing(self):
        """Events of ``self`` still to process that no one else is processing."""
        if not self.ids:
            return self.browse()
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
                _logger.warning("SMS event %s could not be processed: %s", event.id, exc, exc_info=True)
                event.write({"state": "error", "attempts": event.attempts + 1, "error": str(exc)})
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
        payload = json.loads(self.payload)
        if self.kind == "inbound":
            message = self.account_id._process_inbound(InboundSms(**payload))
            self.write({"conversation_id": message.sms_conversation_id.id, "message_id": message.id})
        else:
            self.account_id._process_status(StatusReport(**payload))

    @api.model
    def _cron_process(self, batch_size=200):
        """Process events whose processing failed or was cut short."""
        limit_date = fields.Datetime.now() - timedelta(minutes=1)
        events = self.search(
            [("state", "!=", "done"), ("attempts", "<", MAX_ATTEMPTS), ("create_date", "<=", limit_date)],
            order="id",
            limit=batch_size,
        )
        auto_commit = not getattr(threading.current_thread(), "testing", False)
        for event in events:
            event._process()
            if auto_commit:
                # Keep each processed event, as Odoo's SMS queue does with its batches.
                self.env.cr.commit()  # pylint: disable=invalid-commit
        return len(events)

    def action_retry(self):
        self.filtered(lambda e: e.state != "done").write({"attempts": 0})
        self._process()
        return True
