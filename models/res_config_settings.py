from odoo import fields, models

from .sms_event import DEFAULT_RETENTION_DAYS, RETENTION_PARAM


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    sms_event_retention_days = fields.Integer(
        "Keep Provider Events (days)",
        config_parameter=RETENTION_PARAM,
        default=DEFAULT_RETENTION_DAYS,
        help="Processed and failed provider events (with what the provider sent) are deleted after this many "
        "days. 0 keeps them forever.",
    )

    def set_values(self):
        res = super().set_values()
        if not self.sms_event_retention_days:
            # Settings store a zero integer as "no value" (the default, 90): 0 means "forever".
            self.env["ir.config_parameter"].sudo().set_param(RETENTION_PARAM, "0")
        return res
