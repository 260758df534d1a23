from odoo import Command, api, models

from ..tools.compat import GROUP_USERS_FIELD, USER_GROUPS_FIELD, group_all_users

SALES_TO_SMS_GROUPS = {
    "sales_team.group_sale_salesman": "crm_sms_conversation.crm_sms_conversation_group_seller",
    "sales_team.group_sale_manager": "crm_sms_conversation.crm_sms_conversation_group_manager",
}
GATEWAY_XMLID = "crm_sms_conversation.user_sms_gateway"
# The least rights processing webhooks needs: find customers, create leads, post on their chatter.
GATEWAY_GROUP_XMLIDS = (
    "base.group_user",
    "base.group_partner_manager",
    "sales_team.group_sale_salesman_all_leads",
    "crm_sms_conversation.crm_sms_conversation_group_manager",
)


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

    def _sms_works_for(self, company):
        """Whether the user may work in ``company``. Read in sudo: the SMS
        Gateway and sellers may not read other companies (Odoo 19 checks
        the companies of a user read by another one)."""
        self.ensure_one()
        return company in self.sudo().company_ids

    @api.model
    def _sms_gateway_user_id(self):
        """Id of the SMS Gateway, the technical user processing webhooks."""
        return self.env["ir.model.data"]._xmlid_to_res_id(GATEWAY_XMLID, raise_if_not_found=False)

    def _is_sms_gateway(self):
        self.ensure_one()
        return self.id == self._sms_gateway_user_id()

    @api.model
    def _sms_gateway_set_groups(self):
        """Give the SMS Gateway exactly its groups (at installation and update)."""
        gateway = self.env.ref(GATEWAY_XMLID, raise_if_not_found=False)
        if gateway:
            groups = [self.env.ref(xmlid).id for xmlid in GATEWAY_GROUP_XMLIDS]
            gateway.sudo().write({USER_GROUPS_FIELD: [Command.set(groups)]})

    @api.model
    def _sms_managers(self, company):
        """Active SMS managers of ``company``, people only (no technical user)."""
        group = self.env.ref("crm_sms_conversation.crm_sms_conversation_group_manager")
        return group_all_users(group.sudo()).filtered(
            lambda u: u.active and not u.share and u._sms_works_for(company) and not u._is_sms_gateway()
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
                sms_group.sudo().write({GROUP_USERS_FIELD: [Command.link(user.id) for user in users]})
