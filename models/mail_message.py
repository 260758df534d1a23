from odoo import _, api, fields, models
from odoo.exceptions import AccessError

from ..tools.compat import store_add_values

# Set by the addon only: they put a message in a customer's conversation.
SMS_MESSAGE_FIELDS = frozenset({"sms_conversation_id", "sms_direction"})


class MailMessage(models.Model):
    _inherit = "mail.message"

    sms_conversation_id = fields.Many2one(
        "sms.conversation", string="SMS Conversation", index="btree_not_null", ondelete="set null"
    )
    sms_direction = fields.Selection([("inbound", "Received"), ("outbound", "Sent")], string="SMS Direction")

    @api.model_create_multi
    def create(self, vals_list):
        if any(SMS_MESSAGE_FIELDS & set(vals) for vals in vals_list):
            self._sms_check_conversation_fields()
        return super().create(vals_list)

    def write(self, vals):
        if SMS_MESSAGE_FIELDS & set(vals):
            self._sms_check_conversation_fields()
        return super().write(vals)

    def _sms_check_conversation_fields(self):
        """Only the addon's own code (in superuser mode, or as the SMS Gateway
        processing a provider's call) files messages in a conversation: a
        user posting over RPC cannot forge a customer's message."""
        if not (self.env.su or self.env.user._is_sms_gateway()):
            raise AccessError(_("Only text message conversations may file a message as a text message."))

    def _extras_to_store(self, store, format_reply):
        """Tell the web client which messages are text messages of a conversation
        (the notification center opens the conversation pane for them)."""
        res = super()._extras_to_store(store, format_reply=format_reply)
        # sudo: the message is readable; its conversation's number is the record's business.
        for message in self.sudo().filtered("sms_conversation_id"):
            store_add_values(
                store,
                "mail.message",
                {
                    "id": message.id,
                    "sms_conversation_id": message.sms_conversation_id.id,
                    "sms_direction": message.sms_direction,
                    "sms_remote_number": message.sms_conversation_id.remote_number,
                },
            )
        return res
