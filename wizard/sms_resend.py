from odoo import fields, models


class SmsResendRecipient(models.TransientModel):
    _inherit = "sms.resend.recipient"

    failure_reason = fields.Text(
        related="notification_id.failure_reason", string="What to do", related_sudo=True, readonly=True
    )
