from odoo import api, models

SALES_TO_SMS_GROUPS = {
    "sales_team.group_sale_salesman": "crm_sms_conversation.crm_sms_conversation_group_seller",
    "sales_team.group_sale_manager": "crm_sms_conversation.crm_sms_conversation_group_manager",
}
GATEWAY_XMLID = "crm_sms_conversation.user_sms_gateway"


class ResUsers(models.Model):
    _inherit = "res.users"

    @api.model_create_multi
    def create(self, vals_list):
        users = super().create(vals_list)
        users._sms_conversation_grant_default_groups()
        return users

    def write(self, vals):
        before = {xmlid: self.filtered(lambda u, x=xmlid: u.has_group(x)) for xmlid in SALES_TO_SMS_GROUPS}
        res = super().write(vals)
        for sales_xmlid, sms_xmlid in SALES_TO_SMS_GROUPS.items():
            gained = self.filtered(lambda u, x=sales_xmlid: u.has_group(x)) - before[sales_xmlid]
            gained._sms_conversation_grant_default_groups(only=sms_xmlid)
        return res

    def _is_sms_seller(self):
        self.ensure_one()
        return self.has_group("crm_sms_conversation.crm_sms_conversation_group_seller")

    @api.model
    def _sms_gateway_user_id(self):
        """Id of the SMS Gateway, the technical user processing webhooks."""
        return self.env["ir.model.data"]._xmlid_to_res_id(GATEWAY_XMLID, raise_if_not_found=False)

    def _is_sms_gateway(self):
        self.ensure_one()
        return self.id == self._sms_gateway_user_id()

    @api.model
    def _sms_managers(self, company):
        """Active SMS managers of ``company``, people only (no technical user)."""
        group = self.env.ref("crm_sms_conversation.crm_sms_conversation_group_manager")
        return group.sudo().users.filtered(
            lambda u: u.active and not u.share and company in u.company_ids and not u._is_sms_gateway()
        )

    @api.model
    def _sms_conversation_grant_default_groups_all(self):
        """At installation: the existing sales users and managers."""
        self.with_context(active_test=False).search([("share", "=", False)])._sms_conversation_grant_default_groups()

    def _sms_conversation_grant_default_groups(self, only=None):
        """Sales users get the SMS seller group, sales managers the SMS manager
        group, when they receive their sales rights; an admin may remove it."""
        for sales_xmlid, sms_xmlid in SALES_TO_SMS_GROUPS.items():
            if only and sms_xmlid != only:
                continue
            sms_group = self.env.ref(sms_xmlid, raise_if_not_found=False)
            users = self.filtered(lambda u, x=sales_xmlid: not u.share and u.has_group(x) and not u._is_sms_gateway())
            if sms_group and users:
                sms_group.sudo().write({"users": [(4, user.id) for user in users]})
