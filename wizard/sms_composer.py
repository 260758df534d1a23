from odoo import _, api, fields, models
from odoo.exceptions import UserError

from ..tools.phone import normalize_e164

SELLER_GROUP = "crm_sms_conversation.crm_sms_conversation_group_seller"


class SmsComposer(models.TransientModel):
    _inherit = "sms.composer"

    # Sellers only: other users send without choosing (and may not read SMS numbers).
    sms_allowed_number_ids = fields.Many2many(
        "sms.number", string="Allowed Sender Numbers", compute="_compute_sms_allowed_number_ids", groups=SELLER_GROUP
    )
    sms_number_count = fields.Integer(compute="_compute_sms_allowed_number_ids", groups=SELLER_GROUP)
    sms_number_id = fields.Many2one(
        "sms.number",
        string="From",
        groups=SELLER_GROUP,
        compute="_compute_sms_number_id",
        readonly=False,
        store=True,
        domain="[('id', 'in', sms_allowed_number_ids)]",
        help="Our number the message is sent from. By default the last number used with this customer, "
        "else one assigned to you, else one of your sales teams'.",
    )

    @api.depends("res_model", "res_id", "composition_mode")
    def _compute_sms_allowed_number_ids(self):
        """Numbers the user may send from: theirs and their teams' (all of the company for SMS managers)."""
        for composer in self:
            company = composer._sms_conversation_company()
            numbers = self.env["sms.number"]._get_sendable_numbers(company) if company else self.env["sms.number"]
            composer.sms_allowed_number_ids = numbers
            composer.sms_number_count = len(numbers)

    @api.depends("sms_allowed_number_ids", "recipient_single_number_itf", "recipient_single_number")
    def _compute_sms_number_id(self):
        Number = self.env["sms.number"]
        for composer in self:
            allowed = composer.sms_allowed_number_ids
            if not allowed:
                composer.sms_number_id = False
                continue
            record = composer._get_records()
            company = composer._sms_conversation_company()
            number = composer.recipient_single_number_itf or composer.recipient_single_number
            region = company.country_id.code
            is_conversation_record = len(record) == 1 and isinstance(record, self.pool["sms.phone.key.mixin"])
            if is_conversation_record:
                region = record._sms_phone_region()
            default = Number._get_default_sender(
                remote_number=normalize_e164(number, region) if number else None,
                company=company,
                record=record if is_conversation_record else None,
            )
            composer.sms_number_id = default if default in allowed else allowed[:1]

    def _sms_conversation_company(self):
        """Company of the record an SMS is written on (comment mode only), else False."""
        self.ensure_one()
        if self.composition_mode != "comment" or not self.res_model:
            return False
        record = self._get_records()
        if not record or not isinstance(record, self.pool["mail.thread"]):
            return False
        return record[:1]._sms_conversation_company()

    def _action_send_sms(self):
        # sudo: the fields are the sellers' (Odoo 19 checks field groups on every read); the
        # numbers are still those of the current user.
        composer_sudo = self.sudo()
        if number := composer_sudo.sms_number_id:
            if number not in composer_sudo.sms_allowed_number_ids:
                raise UserError(_("You may only send from your numbers or your teams' numbers."))
            self = self.with_context(sms_conversation_number_id=number.id)
        return super()._action_send_sms()
