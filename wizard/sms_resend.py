from odoo import fields, models

from ..tools.compat import ODOO_19

if not ODOO_19:  # Odoo 19 has no resend wizard: its chatter resends from the message's notifications.

    class SmsResendRecipient(models.TransientModel):
        _inherit = "sms.resend.recipient"

        failure_reason = fields.Text(
            related="notification_id.failure_reason", string="What to do", related_sudo=True, readonly=True
        )
