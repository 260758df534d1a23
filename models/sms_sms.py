import logging
from datetime import timedelta

from odoo import api, fields, models

from ..tools.compat import domain_and
from ..tools.phone import normalize_e164
from ..tools.sms_provider import OutgoingSms, SendResult
from .sms_conversation import CONVERSATION_MODELS
from .sms_event import in_test_mode

_logger = logging.getLogger(__name__)

MAX_SEND_ATTEMPTS = 5
# Failures found by Odoo itself, before or instead of any provider request.
LOCAL_ERRORS = frozenset({"blacklist", "missing", "no_sender", "account_archived", "internal"})
RETRY_BASE_DELAY = 30  # seconds, doubled at each attempt


class SmsSms(models.Model):
    _inherit = "sms.sms"

    sms_account_id = fields.Many2one(
        "sms.account",
        string="SMS Account",
        index="btree_not_null",
        help="The company's SMS account sending this message (instead of Odoo's IAP service).",
    )
    sms_number_id = fields.Many2one("sms.number", string="Sender Number", index="btree_not_null")
    sms_conversation_id = fields.Many2one("sms.conversation", string="Conversation", index="btree_not_null")
    sms_attempt_count = fields.Integer("Send Attempts", default=0, readonly=True)
    sms_first_attempt_date = fields.Datetime(readonly=True)
    sms_next_attempt_date = fields.Datetime(
        "Next Attempt", readonly=True, help="Set after a temporary failure: the message is sent again then."
    )
    sms_auto_reply = fields.Selection(
        [("stop", "Opt-out confirmation"), ("help", "Help answer")],
        string="Automatic Answer",
        readonly=True,
        help="Sent by the account itself, not by a seller. The opt-out confirmation reaches the blacklisted number.",
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

    @api.model
    def _process_queue(self, *args, **kwargs):
        """The queue is the only place where our SMS reach the provider."""
        return super(SmsSms, self.with_context(sms_conversation_queue=True))._process_queue(*args, **kwargs)

    @api.model
    def _search(self, domain, *args, **kwargs):
        """The queue takes due messages only: those waiting for a retry
        neither leave early nor fill the queue's batch (Odoo 19 takes its
        first ``batch_size`` messages by id), ahead of due ones."""
        if self.env.context.get("sms_conversation_queue"):
            now = fields.Datetime.now()
            domain = domain_and(
                domain, ["|", ("sms_next_attempt_date", "=", False), ("sms_next_attempt_date", "<=", now)]
            )
        return super()._search(domain, *args, **kwargs)

    def _send(self, unlink_failed=False, unlink_sent=True, raise_exception=False):
        """Send through our SMS accounts the SMS given to one, the others
        through Odoo's IAP. Outside the queue (e.g. a resend from a user's
        request), ours wait for the queue, which is woken up."""
        ours = self.filtered("sms_account_id")
        if others := self - ours:
            super(SmsSms, others)._send(
                unlink_failed=unlink_failed, unlink_sent=unlink_sent, raise_exception=raise_exception
            )
        if not ours:
            return None
        if not self.env.context.get("sms_conversation_queue"):
            self.env.ref("sms.ir_cron_sms_scheduler_action").sudo()._trigger()
            return None
        # Read before sending: sent messages are deleted, and Odoo 19 empties the cache at each commit.
        messages = ours.mail_message_id
        for account, batch in ours.grouped("sms_account_id").items():
            batch._send_with_account(account, unlink_failed=unlink_failed, unlink_sent=unlink_sent)
        messages._notify_message_notification_update()
        return None

    # Preparation -------------------------------------------------------

    def _sms_conversation_prepare(self, record, company, account):
        """Give SMS just posted on ``record`` to ``account``, with their sender
        number and conversation. A number forced by the composer or the pane
        is kept only if the acting user may send from it."""
        Number = self.env["sms.number"]
        forced_number = Number.browse(self.env.context.get("sms_conversation_number_id")).exists()
        if forced_number and forced_number not in Number._get_sendable_numbers(company):
            forced_number = Number
        in_conversation = record._name in CONVERSATION_MODELS
        region = record._sms_phone_region() if in_conversation else company.country_id.code
        for sms in self:
            remote = normalize_e164(sms.number, region) or sms.number
            number = forced_number or Number._get_default_sender(
                remote_number=remote, company=company, record=record if in_conversation else None
            )
            values = {
                "sms_account_id": number.account_id.id or account.id,
                "sms_number_id": number.id,
                "number": remote,
                # Only the SMS Gateway answers automatically: nobody else may pass the blacklist.
                "sms_auto_reply": (
                    self.env.user._is_sms_gateway() and self.env.context.get("sms_conversation_auto_reply")
                )
                or False,
            }
            if number and in_conversation:
                conversation = self.env["sms.conversation"].sudo()._get_or_create(number, remote, record)
                conversation._touch(preview=sms.body or "", outbound=True)
                values["sms_conversation_id"] = conversation.id
                sms.mail_message_id.sudo().write({"sms_conversation_id": conversation.id, "sms_direction": "outbound"})
            sms.write(values)

    # Sending -----------------------------------------------------------

    def _send_with_account(self, account, unlink_failed=False, unlink_sent=True):
        """One provider request per SMS. From the cron, each SMS is marked
        in flight and committed before its request, and its outcome committed
        right after: a crash in between leads to a look-up, not a resend. One
        message's unexpected failure neither stops nor undoes the others."""
        commit = not in_test_mode()
        api = account._get_provider_api()
        blacklisted = self.env["phone.blacklist"]._sms_blacklisted(self.mapped("number"))
        for sms in self:
            try:
                if commit:
                    sms._send_with_account_one(account, api, blacklisted, commit, unlink_failed, unlink_sent)
                else:
                    with self.env.cr.savepoint():
                        sms._send_with_account_one(account, api, blacklisted, commit, unlink_failed, unlink_sent)
            except Exception as exc:  # noqa: BLE001 - isolated: the others are still sent
                sms._send_failed_unexpectedly(account, api, exc, commit, unlink_failed, unlink_sent)
            if commit:
                # The provider's answer is kept.
                self.env.cr.commit()  # pylint: disable=invalid-commit

    def _send_failed_unexpectedly(self, account, api, exc, commit, unlink_failed, unlink_sent):
        """An error of ours (not the provider's answer) while sending: the
        message is retried later, looked up first if its request may have
        gone out; the rest of the batch goes on."""
        self.ensure_one()
        _logger.warning("SMS %s could not be sent through %s: %s", self.id, account.name, exc, exc_info=True)
        if commit:
            self.env.cr.rollback()
        try:
            with self.env.cr.savepoint():
                self._apply_send_result(
                    api,
                    account,
                    None,
                    SendResult("retry", error_code="internal", error_message=str(exc)),
                    self.sms_outcome_unknown,
                    unlink_failed,
                    unlink_sent,
                )
        except Exception:
            _logger.exception("SMS %s: its failure could not be recorded either", self.id)

    def _send_with_account_one(self, account, api, blacklisted, commit, unlink_failed, unlink_sent):
        self.ensure_one()
        outgoing = OutgoingSms(
            to_number=normalize_e164(self.number) or "",
            from_number=self.sms_number_id.number or "",
            body=self.body or "",
            status_callback=account._get_status_callback_url(self.uuid),
            idempotency_key=self.uuid,
        )
        needs_lookup = self.sms_outcome_unknown
        if not account.active:
            result = SendResult("error", error_code="account_archived")
        elif not self.sms_number_id or not self.sms_number_id.active or self.sms_number_id.account_id != account:
            result = SendResult("error", error_code="no_sender")
        elif (self.number in blacklisted or outgoing.to_number in blacklisted) and self.sms_auto_reply != "stop":
            result = SendResult("error", error_code="blacklist")
        elif not outgoing.to_number:
            result = SendResult("error", error_code="missing")
        else:
            if commit:
                self.write(
                    {
                        "sms_outcome_unknown": True,
                        "sms_first_attempt_date": self.sms_first_attempt_date or fields.Datetime.now(),
                    }
                )
                # In flight before the request (the savepoint is released by the commit).
                self.env.cr.commit()  # pylint: disable=invalid-commit
            result = self._send_one(api, outgoing, needs_lookup)
        self._apply_send_result(api, account, outgoing, result, needs_lookup, unlink_failed, unlink_sent)

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
        if result.error_code not in LOCAL_ERRORS:
            # The provider answered, or could not be reached.
            account._set_reachable(result.reached)
        if result.status == "accepted":
            tracker.write({"provider_message_id": result.external_id, "sms_account_id": account.id})
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
            details = result.error_message
            if result.status in ("retry", "unknown"):
                # A transport error (an exception's text) is for the logs, not for the seller.
                _logger.warning("SMS %s: given up after %s attempts: %s", self.id, attempts, result.error_message)
                failure_type, code, details = "sms_server", "", ""
            elif result.error_code == "blacklist":
                failure_type, code = "sms_optout", ""
            elif result.error_code == "missing":
                failure_type, code = "sms_number_missing", ""
            elif result.error_code in ("account_archived", "no_sender"):
                failure_type, code = "sms_acc", ""
            else:
                failure_type, code = api.map_error(result.error_code), result.error_code
            tracker._action_update_from_provider_failure(
                failure_type,
                code,
                details,
                reason=self._sms_local_failure_reason(result.error_code, account),
            )
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

    def _sms_local_failure_reason(self, code, account):
        """What the seller is told when Odoo itself could not send the message, or None."""
        self.ensure_one()
        _ = self.env._
        if code == "account_archived":
            return _(
                "The SMS account %s is archived: its messages are not sent. Ask your administrator to restore it "
                "or to move the number to an active account, then resend.",
                account.name,
            )
        if code == "no_sender":
            return _(
                "The SMS account %s has no active sender number. Ask your administrator to add or restore a "
                "number, then resend.",
                account.name,
            )
        return None

    @api.model
    def _sms_max_attempts(self):
        return MAX_SEND_ATTEMPTS

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
