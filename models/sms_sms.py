import logging
import threading
from datetime import timedelta

from odoo import api, fields, models

from ..tools.phone import normalize_e164
from ..tools.sms_provider import OutgoingSms, SendResult
from .sms_conversation import CONVERSATION_MODELS

_logger = logging.getLogger(__name__)

MAX_SEND_ATTEMPTS = 5
RETRY_BASE_DELAY = 30  # seconds, doubled at each attempt


class SmsSms(models.Model):
    _inherit = "sms.sms"

    sms_number_id = fields.Many2one("sms.number", string="Sender Number", index="btree_not_null")
    sms_conversation_id = fields.Many2one("sms.conversation", string="Conversation", index="btree_not_null")
    sms_attempt_count = fields.Integer("Send Attempts", default=0, readonly=True)
    sms_first_attempt_date = fields.Datetime(readonly=True)
    sms_next_attempt_date = fields.Datetime(
        "Next Attempt", readonly=True, help="Set after a temporary failure: the message is sent again then."
    )
    sms_outcome_unknown = fields.Boolean(
        readonly=True,
        help="The last attempt timed out after reaching the provider: look the message up before resending.",
    )

    # Queue -------------------------------------------------------------

    def resend_failed(self):
        """A resend by a user starts a new series of attempts."""
        self.filtered(lambda sms: sms.state == "error").write({"sms_attempt_count": 0, "sms_next_attempt_date": False})
        return super().resend_failed()

    def send(self, unlink_failed=False, unlink_sent=True, auto_commit=False, raise_exception=False):
        """Leave the messages waiting for a retry in the queue until their time."""
        now = fields.Datetime.now()
        due = self.filtered(lambda sms: not sms.sms_next_attempt_date or sms.sms_next_attempt_date <= now)
        return super(SmsSms, due).send(
            unlink_failed=unlink_failed,
            unlink_sent=unlink_sent,
            auto_commit=auto_commit,
            raise_exception=raise_exception,
        )

    @api.model
    def _process_queue(self, ids=None):
        """The queue is the only place where our SMS reach the provider."""
        return super(SmsSms, self.with_context(sms_conversation_queue=True))._process_queue(ids=ids)

    def _send(self, unlink_failed=False, unlink_sent=True, raise_exception=False):
        """Send through our SMS accounts the SMS linked to a sender number,
        the others through Odoo's IAP. Outside the queue (e.g. a resend from
        a user's request), ours wait for the queue, which is woken up."""
        ours = self.filtered("sms_number_id")
        if others := self - ours:
            super(SmsSms, others)._send(
                unlink_failed=unlink_failed, unlink_sent=unlink_sent, raise_exception=raise_exception
            )
        if not ours:
            return None
        if not self.env.context.get("sms_conversation_queue"):
            self.env.ref("sms.ir_cron_sms_scheduler_action").sudo()._trigger()
            return None
        for number, batch in ours.grouped("sms_number_id").items():
            batch._send_with_account(number.account_id, unlink_failed=unlink_failed, unlink_sent=unlink_sent)
        ours.mail_message_id._notify_message_notification_update()
        return None

    # Preparation -------------------------------------------------------

    def _sms_conversation_prepare(self, record, company):
        """Link SMS just posted on ``record`` to their sender number and conversation."""
        forced_number = self.env["sms.number"].browse(self.env.context.get("sms_conversation_number_id")).exists()
        forced_number = forced_number.filtered(lambda n: n.company_id == company)
        in_conversation = record._name in CONVERSATION_MODELS
        region = record._sms_phone_region() if in_conversation else company.country_id.code
        for sms in self:
            remote = normalize_e164(sms.number, region) or sms.number
            number = forced_number or self.env["sms.number"]._get_default_sender(remote_number=remote, company=company)
            values = {"sms_number_id": number.id, "number": remote}
            if number and in_conversation:
                conversation = self.env["sms.conversation"].sudo()._get_or_create(number, remote, record)
                conversation._touch(preview=sms.body or "")
                values["sms_conversation_id"] = conversation.id
                sms.mail_message_id.sudo().write({"sms_conversation_id": conversation.id, "sms_direction": "outbound"})
            sms.write(values)

    # Sending -----------------------------------------------------------

    def _send_with_account(self, account, unlink_failed=False, unlink_sent=True):
        """One provider request per SMS. From the cron, each SMS is marked
        in flight and committed before its request, and its outcome committed
        right after: a crash in between leads to a look-up, not a resend."""
        api = account._get_provider_api()
        commit = not getattr(threading.current_thread(), "testing", False)
        blacklisted = set(
            self.env["phone.blacklist"].sudo().search([("number", "in", self.mapped("number"))]).mapped("number")
        )
        for sms in self:
            outgoing = OutgoingSms(
                to_number=normalize_e164(sms.number) or "",
                from_number=sms.sms_number_id.number,
                body=sms.body or "",
                status_callback=account._get_status_callback_url(sms.uuid),
                idempotency_key=sms.uuid,
            )
            needs_lookup = sms.sms_outcome_unknown
            if sms.number in blacklisted or outgoing.to_number in blacklisted:
                result = SendResult("error", error_code="blacklist")
            elif not outgoing.to_number:
                result = SendResult("error", error_code="missing")
            else:
                if commit:
                    sms.write(
                        {
                            "sms_outcome_unknown": True,
                            "sms_first_attempt_date": sms.sms_first_attempt_date or fields.Datetime.now(),
                        }
                    )
                    # In flight before the request.
                    self.env.cr.commit()  # pylint: disable=invalid-commit
                result = sms._send_one(api, outgoing, needs_lookup)
            sms._apply_send_result(api, account, outgoing, result, needs_lookup, unlink_failed, unlink_sent)
            if commit:
                # The provider's answer is kept.
                self.env.cr.commit()  # pylint: disable=invalid-commit

    def _send_one(self, api, outgoing, needs_lookup):
        """One provider request, or a look-up first when an earlier attempt may have gone through."""
        self.ensure_one()
        if needs_lookup and not api.supports_idempotency:
            found = api.lookup(outgoing, self.sms_first_attempt_date or fields.Datetime.now())
            if found:
                return found
        _logger.info("Sending SMS %s to %s through %s", self.id, outgoing.to_number, api.code)
        return api.send(outgoing)

    def _apply_send_result(self, api, account, outgoing, result, needs_lookup, unlink_failed, unlink_sent):
        self.ensure_one()
        now = fields.Datetime.now()
        attempts = self.sms_attempt_count + 1
        values = {"sms_attempt_count": attempts, "sms_first_attempt_date": self.sms_first_attempt_date or now}
        tracker = self.sms_tracker_id.with_context(sms_skip_msg_notification=True)
        if result.status == "accepted":
            tracker.provider_message_id = result.external_id
            tracker._action_update_from_sms_state("pending")
            self.write(
                dict(
                    values,
                    state="pending",
                    failure_type=False,
                    sms_outcome_unknown=False,
                    sms_next_attempt_date=False,
                    to_delete=unlink_sent,
                )
            )
            account._after_accepted(api, outgoing, result)
        elif result.status in ("retry", "unknown") and attempts < MAX_SEND_ATTEMPTS:
            delay = max(result.retry_after, RETRY_BASE_DELAY * 2 ** (attempts - 1))
            next_date = now + timedelta(seconds=delay)
            self.write(
                dict(
                    values,
                    sms_next_attempt_date=next_date,
                    sms_outcome_unknown=needs_lookup or result.status == "unknown",
                )
            )
            self.env.ref("sms.ir_cron_sms_scheduler_action").sudo()._trigger(at=next_date)
            _logger.info("SMS %s: temporary failure (%s), retry at %s", self.id, result.error_message, next_date)
        else:
            if result.status in ("retry", "unknown"):
                failure_type, code = "sms_server", result.error_code
            elif result.error_code == "blacklist":
                failure_type, code = "sms_optout", ""
            elif result.error_code == "missing":
                failure_type, code = "sms_number_missing", ""
            else:
                failure_type, code = api.map_error(result.error_code), result.error_code
            tracker._action_update_from_provider_failure(failure_type, code, result.error_message)
            if api.is_opt_out(code):
                tracker._sms_blacklist_recipients()
            self.write(
                dict(
                    values,
                    state="error",
                    failure_type=self._sms_failure_type(failure_type),
                    # Given up on an uncertain attempt: a resend looks it up first.
                    sms_outcome_unknown=result.status in ("retry", "unknown")
                    and (needs_lookup or result.status == "unknown"),
                    sms_next_attempt_date=False,
                    to_delete=unlink_failed,
                )
            )

    @api.model
    def _sms_failure_type(self, failure_type):
        """``failure_type`` if sms.sms knows it, else 'unknown' (details stay on the notification)."""
        known = dict(self._fields["failure_type"].selection)
        return failure_type if failure_type in known else "unknown"

    def _write_provider_state(self, state, report):
        """Follow a delivery report on SMS not yet garbage-collected."""
        for sms in self:
            values = {"state": state if state in dict(self._fields["state"].selection) else sms.state}
            if state == "error":
                values["failure_type"] = "unknown"
            sms.write(values)
