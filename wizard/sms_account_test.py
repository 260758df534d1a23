import uuid

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from ..tools.phone import normalize_e164
from ..tools.sms_provider import OutgoingSms


class SmsAccountTest(models.TransientModel):
    """One text message sent at once from a number of an account, to check
    the whole set-up (credentials, sender number, the provider's rules)."""

    _name = "sms.account.test"
    _description = "Send a Test Text Message"

    account_id = fields.Many2one("sms.account", required=True, ondelete="cascade")
    number_id = fields.Many2one(
        "sms.number",
        string="From",
        required=True,
        domain="[('account_id', '=', account_id)]",
        compute="_compute_number_id",
        store=True,
        precompute=True,
        readonly=False,
    )
    to_number = fields.Char("To", required=True, help="A mobile number in international format, e.g. +14155550123.")
    body = fields.Text(required=True, default=lambda self: self.env._("Test message from Odoo."))

    @api.depends("account_id")
    def _compute_number_id(self):
        for wizard in self:
            wizard.number_id = wizard.account_id.number_ids.filtered("active")[:1]

    def action_send(self):
        self.ensure_one()
        account = self.account_id
        to_number = normalize_e164(self.to_number, account.company_id.country_id.code)
        if not to_number:
            raise UserError(
                _("%s is not a phone number: use the international format (+ country code, number).", self.to_number)
            )
        if self.env["phone.blacklist"]._sms_blacklisted([to_number]):
            raise UserError(_("%s opted out of text messages (phone blacklist): choose another number.", to_number))
        api = account._get_provider_api()
        result = api.send(
            OutgoingSms(
                to_number=to_number,
                from_number=self.number_id.number,
                body=self.body,
                idempotency_key=uuid.uuid4().hex,
            )
        )
        account._set_reachable(result.reached)
        if result.status == "accepted":
            return account._notification(
                "success",
                _(
                    "%(provider)s accepted the message to %(number)s (id %(id)s).",
                    provider=account._provider_label(),
                    number=to_number,
                    id=result.external_id,
                ),
            )
        reason = self.env["sms.tracker"]._get_failure_help().get(api.map_error(result.error_code)) or ""
        return account._notification(
            "danger",
            _(
                "The message was not sent [%(code)s]: %(error)s %(reason)s",
                code=result.error_code or result.status,
                error=result.error_message,
                reason=reason,
            ),
        )
