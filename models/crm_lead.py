from odoo import models


class CrmLead(models.Model):
    _name = "crm.lead"
    _inherit = ["crm.lead", "sms.phone.key.mixin"]

    def write(self, vals):
        res = super().write(vals)
        if {"user_id", "team_id"} & set(vals):
            self.env["sms.conversation"]._sync_owner(self)
        return res

    def _merge_dependences(self, opportunities):
        """Merged leads' conversations follow their messages to the merged lead."""
        res = super()._merge_dependences(opportunities)
        self.env["sms.conversation"]._merge_records(opportunities, self)
        return res

    def _sms_routing_type_rank(self):
        self.ensure_one()
        return 2 if self.type == "opportunity" else 3

    def _sms_routing_is_active(self):
        self.ensure_one()
        return self.active and not self.stage_id.is_won

    def _sms_type_code(self):
        self.ensure_one()
        return "opportunity" if self.type == "opportunity" else "lead"

    def _sms_customer_name(self):
        self.ensure_one()
        return self.partner_id.display_name or self.contact_name or self.partner_name or False

    def _sms_routing_author(self, remote_number):
        self.ensure_one()
        partner = self.partner_id
        if partner and remote_number in partner._sms_phone_numbers().values():
            return partner
        return self.env["res.partner"]
