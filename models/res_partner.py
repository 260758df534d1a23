from odoo import models


class ResPartner(models.Model):
    _name = "res.partner"
    _inherit = ["res.partner", "sms.phone.key.mixin"]

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
