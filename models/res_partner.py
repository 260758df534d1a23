from odoo import fields, models


class ResPartner(models.Model):
    _name = "res.partner"
    _inherit = ["res.partner", "sms.phone.key.mixin"]

    sms_consent_ids = fields.Many2many(
        "sms.consent",
        string="Text Message Consent",
        compute="_compute_sms_consent_ids",
        groups="crm_sms_conversation.crm_sms_conversation_group_seller",
        help="Opt-outs and opt-ins of the contact's numbers.",
    )

    def _compute_sms_consent_ids(self):
        numbers = {partner: set(partner._sms_phone_numbers().values()) for partner in self}
        logs = self.env["sms.consent"].search([("number", "in", list(set().union(*numbers.values())))])
        for partner in self:
            partner.sms_consent_ids = logs.filtered(lambda log, own=numbers[partner]: log.number in own)

    def write(self, vals):
        res = super().write(vals)
        if {"user_id", "team_id"} & set(vals):
            self.env["sms.conversation"]._sync_owner(self)
        return res

    def _sms_routing_type_rank(self):
        self.ensure_one()
        return 1 if self.is_company else 0

    def _sms_type_code(self):
        self.ensure_one()
        return "company" if self.is_company else "contact"

    def _sms_routing_author(self, remote_number):
        self.ensure_one()
        return self
