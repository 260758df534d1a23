from odoo import fields, models


class SmsTracker(models.Model):
    _inherit = "sms.tracker"

    provider_message_id = fields.Char("Provider Message ID", index="btree_not_null", copy=False)
    provider_status_sequence = fields.Integer(
        "Provider Report Sequence",
        copy=False,
        help="Sequence number of the latest delivery report applied, for providers that number them: an older "
        "report arriving late changes nothing.",
    )
    sms_account_id = fields.Many2one(
        "sms.account", string="SMS Account", index="btree_not_null", ondelete="set null", copy=False
    )

    def _get_failure_help(self):
        """What the seller should do, by failure type."""
        _ = self.env._
        return {
            "sms_number_format": _(
                "The number is not valid. Write it in international E.164 format: a + sign, the country code, "
                "then the number (for example +14155550123)."
            ),
            "sms_number_missing": _("The recipient has no phone number. Add one to the record, then resend."),
            "sms_optout": _(
                "The customer opted out of text messages (they replied STOP). Reach them another way; "
                "they can reply START to receive texts again."
            ),
            "sms_not_delivered": _(
                "The customer's phone could not be reached (switched off or out of coverage). Try again later "
                "or call them."
            ),
            "sms_invalid_destination": _(
                "This number does not exist or cannot receive text messages (a landline?). Check the number "
                "with the customer."
            ),
            "sms_rejected": _(
                "The carrier rejected the message as unwanted content. Rephrase it (no link shorteners) or "
                "ask your administrator to register the sender number for business messaging."
            ),
            "sms_not_allowed": _(
                "The carrier blocked this message. Ask your administrator to check the sender number."
            ),
            "sms_expired": _("The message could not be delivered in time. Send it again."),
            "sms_country_not_supported": _(
                "The SMS account may not send to this country. Ask your administrator to enable it."
            ),
            "sms_acc": _(
                "The SMS account refused the message (credentials or sender number). Ask your administrator to "
                "check the SMS account."
            ),
            "sms_server": _(
                "The SMS provider could not be reached after several attempts. Send the message again later."
            ),
        }

    def _update_sms_notifications(self, notification_status, failure_type=False, failure_reason=False):
        """Keep conversations' failure flag and open panes in line with delivery states."""
        res = super()._update_sms_notifications(
            notification_status, failure_type=failure_type, failure_reason=failure_reason
        )
        # From the states the notifications now have (Odoo ignores some late reports), and
        # from the last message of each conversation (a report on an older one changes no flag).
        notifications = self.mail_notification_id.filtered("mail_message_id.sms_conversation_id")
        for conversation, notifs in notifications.grouped(lambda n: n.mail_message_id.sms_conversation_id).items():
            conversation._update_failure_flag()
            conversation._notify_status(notifs.mail_message_id)
        return res

    def _action_update_from_provider_failure(self, failure_type, error_code="", error_message="", reason=None):
        """Mark the notifications failed, with a reason telling the seller what to do."""
        reason = reason or self._get_failure_help().get(failure_type) or self.env._("The message could not be sent.")
        details = " ".join(part for part in (error_code and f"[{error_code}]", error_message) if part)
        if details:
            reason = f"{reason} ({details})"
        bounce = failure_type in self.env["sms.sms"].BOUNCE_DELIVERY_ERRORS
        self._update_sms_notifications(
            "bounce" if bounce else "exception", failure_type=failure_type, failure_reason=reason
        )

    def _sms_blacklist_recipients(self):
        """The customer opted out at the provider: keep Odoo's phone blacklist in line."""
        for notification in self.mail_notification_id.filtered("sms_number"):
            number = notification.sms_number
            self.env["phone.blacklist"]._sms_opt_out(number, self.env._("Opted out at the SMS provider."))
            message = notification.mail_message_id
            self.env["sms.consent"]._record(
                number,
                "opt_out",
                "provider",
                company=message.record_company_id or self.env.company,
                conversation=message.sudo().sms_conversation_id,
                message=message,
            )
