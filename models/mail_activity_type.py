from odoo import fields, models


class MailActivityType(models.Model):
    _inherit = "mail.activity.type"

    category = fields.Selection(
        selection_add=[("sms_conversation", "Text Message")],
        ondelete={"sms_conversation": "set default"},
    )
