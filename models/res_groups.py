from odoo import api, models

from ..tools.compat import ODOO_19

SMS_GROUP_XMLIDS = (
    "crm_sms_conversation.crm_sms_conversation_group_seller",
    "crm_sms_conversation.crm_sms_conversation_group_manager",
)
CATEGORY_XMLID = "crm_sms_conversation.module_category_crm_sms_conversation"
PRIVILEGE_XMLID = "crm_sms_conversation.res_groups_privilege_crm_sms_conversation"


class ResGroups(models.Model):
    _inherit = "res.groups"

    @api.model
    def _sms_conversation_place_groups(self):
        """Show the SMS groups under their own heading of the user form: the
        SMS Conversations category on Odoo 18, a privilege of it on Odoo 19
        (which groups users' rights by privilege)."""
        category = self.env.ref(CATEGORY_XMLID)
        groups = self.browse([self.env.ref(xmlid).id for xmlid in SMS_GROUP_XMLIDS])
        if not ODOO_19:
            groups.write({"category_id": category.id})
            return
        # Loaded like a record of the security file: updated on -u, removed at uninstallation.
        privilege = self.env["res.groups.privilege"]._load_records(
            [
                {
                    "xml_id": PRIVILEGE_XMLID,
                    "values": {"name": category.name, "sequence": 20, "category_id": category.id},
                    "noupdate": False,
                }
            ]
        )
        groups.write({"privilege_id": privilege.id})
