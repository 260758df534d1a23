from odoo import api, fields, models

from ..tools.phone import normalize_e164


class SmsComposer(models.TransientModel):
    _inherit = "sms.composer"

    sms_number_id = fields.Many2one(
        "sms.number",
        string="From",
        compute="_compute_sms_number_id",
        readonly=False,
        store=True,
        domain="[('company_id', 'in', allowed_company_ids), ('account_id.active', '=', True)]",
        help="Our number the message is sent from. By default the last number used with this customer, "
        "else one assigned to you, else one of your sales teams'.",
    )
    sms_number_count = fields.Integer(compute="_compute_sms_number_count")

    @api.depends("res_model", "res_id", "recipient_single_number_itf", "recipient_single_number")
    def _compute_sms_number_id(self):
        for composer in self:
            if composer.composition_mode != "comment" or not composer.res_model:
                composer.sms_number_id = False
                continue
            record = composer._get_records()
            if not record or not isinstance(record, self.pool["mail.thread"]):
                composer.sms_number_id = False
                continue
            company = record[:1]._sms_conversation_company()
            number = composer.recipient_single_number_itf or composer.recipient_single_number
            region = company.country_id.code
            if len(record) == 1 and isinstance(record, self.pool["sms.phone.key.mixin"]):
                region = record._sms_phone_region()
            composer.sms_number_id = (
                self.env["sms.number"]
                .sudo()
                ._get_default_sender(remote_number=normalize_e164(number, region) if number else None, company=company)
            )

    def _compute_sms_number_count(self):
        count = self.env["sms.number"].search_count([("company_id", "in", self.env.companies.ids)])
        for composer in self:
            composer.sms_number_count = count

    def _action_send_sms(self):
        if self.sms_number_id:
            self = self.with_context(sms_conversation_number_id=self.sms_number_id.id)
        return super()._action_send_sms()
