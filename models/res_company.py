from odoo import api, models


class ResCompany(models.Model):
    _inherit = "res.company"

    @api.model_create_multi
    def create(self, vals_list):
        companies = super().create(vals_list)
        companies._sms_conversation_add_gateway_user()
        return companies

    @api.model
    def _sms_conversation_add_gateway_user_all(self):
        self.search([])._sms_conversation_add_gateway_user()

    def _sms_conversation_add_gateway_user(self):
        """The webhook user processes the messages of every company."""
        gateway = self.env.ref("crm_sms_conversation.user_sms_gateway", raise_if_not_found=False)
        if gateway:
            gateway.sudo().write({"company_ids": [(4, company.id) for company in self]})
