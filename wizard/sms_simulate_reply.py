from odoo import _, api, fields, models
from odoo.exceptions import UserError

from ..tools.sms_simulator import PHOTO_URL as SIMULATOR_PHOTO_URL


class SmsSimulateReply(models.TransientModel):
    """Play the customer: an inbound message to a Simulator number, processed
    exactly as a provider's webhook call would be."""

    _name = "sms.simulate.reply"
    _description = "Simulate a Customer's SMS"

    number_id = fields.Many2one(
        "sms.number",
        string="To (our number)",
        required=True,
        domain=[("account_id.provider", "=", "simulator")],
    )
    from_number = fields.Char("From (customer)", required=True)
    body = fields.Text("Message")
    with_picture = fields.Boolean(help="The message carries a picture, downloaded as a provider's would be.")

    @api.model
    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        conversation = self.env["sms.conversation"].browse(self.env.context.get("default_conversation_id"))
        if conversation.exists():
            values.setdefault("number_id", conversation.number_id.id)
            values.setdefault("from_number", conversation.remote_number)
        return values

    def action_send(self):
        self.ensure_one()
        if not (self.body or self.with_picture):
            raise UserError(_("Write the customer's message, or add a picture."))
        account = self.number_id.account_id
        event = account.sudo()._simulate_inbound(
            self.number_id.number,
            self.from_number,
            self.body or "",
            media=[(SIMULATOR_PHOTO_URL, "image/png")] if self.with_picture else None,
        )
        if event.state != "done" or not event.conversation_id:
            raise UserError(_("The simulated message could not be processed: %s", event.error or ""))
        return event.conversation_id.action_open_record()
