import logging
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

    def _send(self, unlink_failed=False, unlink_sent=True, raise_exception=False):
        """Send through our SMS accounts what belongs to them, the rest through Odoo's IAP."""
        ours = self._sms_conversation_assign_numbers()
        if others := self - ours:
            super(SmsSms, others)._send(
                unlink_failed=unlink_failed, unlink_sent=unlink_sent, raise_exception=raise_exception
            )
        for number, batch in ours.grouped("sms_number_id").items():
            batch._send_with_account(number.account_id, unlink_failed=unlink_failed, unlink_sent=unlink_sent)
        if ours:
            ours.mail_message_id._notify_message_notification_update()
        return None

    # Preparation -------------------------------------------------------

    def _sms_conversation_prepare(self, record):
        """Link SMS just posted on ``record`` to their sender number and conversation."""
        forced_number = self.env["sms.number"].browse(self.env.context.get("sms_conversation_number_id"))
        for sms in self:
            remote = (
                normalize_e164(sms.number, record._sms_phone_region() if record._name in CONVERSATION_MODELS else None)
                or sms.number
            )
            number = forced_number.exists() or self.env["sms.number"]._get_default_sender(remote_number=remote)
            values = {"sms_number_id": number.id}
            if number and record._name in CONVERSATION_MODELS:
                conversation = self.env["sms.conversation"].sudo()._get_or_create(number, remote, record)
                conversation._touch()
                values["sms_conversation_id"] = conversation.id
                sms.mail_message_id.sudo().write({"sms_conversation_id": conversation.id, "sms_direction": "outbound"})
            sms.write(values)

    def _sms_conversation_assign_numbers(self):
        """SMS of ``self`` that an SMS account sends; those without a sender
        number get their company's default one."""
        missing = self.filtered(lambda sms: not sms.sms_number_id)
        if missing and self.env["sms.account"].sudo().search_count([("company_id", "=", self.env.company.id)]):
            default = self.env["sms.number"].sudo()._get_default_sender()
            if default:
                missing.sms_number_id = default
        return self.filtered("sms_number_id")

    # Sending -----------------------------------------------------------

    def _send_with_account(self, account, unlink_failed=False, unlink_sent=True):
        api = account._get_provider_api()
        blacklisted = set(
            self.env["phone.blacklist"].sudo().search([("number", "in", self.mapped("number"))]).mapped("number")
        )
        for sms in self:
            outgoing = OutgoingSms(
                to_number=normalize_e164(sms.number) or sms.number or "",
                from_number=sms.sms_number_id.number,
                body=sms.body or "",
                status_callback=account._get_status_callback_url(sms.uuid),
                idempotency_key=sms.uuid,
            )
            if sms.number in blacklisted or outgoing.to_number in blacklisted:
                result = SendResult("error", error_code="blacklist")
            elif not outgoing.to_number:
                result = SendResult("error", error_code="missing")
            else:
                result = sms._send_one(api, outgoing)
            sms._apply_send_result(api, account, outgoing, result, unlink_failed, unlink_sent)

    def _send_one(self, api, outgoing):
        """One provider request, or a look-up first when an earlier attempt may have gone through."""
        self.ensure_one()
        if self.sms_outcome_unknown and not api.supports_idempotency:
            found = api.lookup(outgoing, self.sms_first_attempt_date or fields.Datetime.now())
            if found:
                return found
        _logger.info("Sending SMS %s to %s through %s", self.id, outgoing.to_number, api.code)
        return api.send(outgoing)

    def _apply_send_result(self, api, account, outgoing, result, unlink_failed, unlink_sent):
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
                    sms_outcome_unknown=self.sms_outcome_unknown or result.status == "unknown",
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
