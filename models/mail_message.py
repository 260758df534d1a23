from odoo import fields, models


class MailMessage(models.Model):
    _inherit = "mail.message"

    sms_conversation_id = fields.Many2one(
        "sms.conversation", string="SMS Conversation", index="btree_not_null", ondelete="set null"
    )
    sms_direction = fields.Selection([("inbound", "Received"), ("outbound", "Sent")], string="SMS Direction")
