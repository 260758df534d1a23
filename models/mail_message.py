from odoo import fields, models


class MailMessage(models.Model):
    _inherit = "mail.message"

    sms_conversation_id = fields.Many2one(
        "sms.conversation", string="SMS Conversation", index="btree_not_null", ondelete="set null"
    )
    sms_direction = fields.Selection([("inbound", "Received"), ("outbound", "Sent")], string="SMS Direction")

    def _extras_to_store(self, store, format_reply):
        """Tell the web client which messages are text messages of a conversation
        (the notification center opens the conversation pane for them)."""
        res = super()._extras_to_store(store, format_reply=format_reply)
        # sudo: the message is readable; its conversation's number is the record's business.
        for message in self.sudo().filtered("sms_conversation_id"):
            store.add(
                message,
                {
                    "sms_conversation_id": message.sms_conversation_id.id,
                    "sms_direction": message.sms_direction,
                    "sms_remote_number": message.sms_conversation_id.remote_number,
                },
            )
        return res
