from odoo import fields, models

from ..tools import keywords
from .phone_blacklist import OPT_IN_LIFTS_MANUAL_PARAM
from .sms_conversation import KEYWORD_PARAMS
from .sms_event import DEFAULT_RETENTION_DAYS, RETENTION_PARAM
from .sms_media import DEFAULT_MAX_SIZE_MB, MAX_SIZE_PARAM


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    sms_event_retention_days = fields.Integer(
        "Keep Provider Events (days)",
        config_parameter=RETENTION_PARAM,
        default=DEFAULT_RETENTION_DAYS,
        help="Processed and failed provider events (with what the provider sent) are deleted after this many "
        "days. 0 keeps them forever.",
    )

    sms_media_max_size_mb = fields.Integer(
        "Largest File Kept (MB)",
        config_parameter=MAX_SIZE_PARAM,
        default=DEFAULT_MAX_SIZE_MB,
        help="Pictures and other files of received messages larger than this are not downloaded: the message "
        "says so instead. Providers send at most 5 MB per message.",
    )

    sms_opt_out_keywords = fields.Char(
        "More Opt-out Keywords",
        config_parameter=KEYWORD_PARAMS[keywords.OPT_OUT],
        help="Comma separated, added to STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT, REVOKE, OPTOUT, OPT OUT "
        "and the Spanish and Galician BAJA, DARSE DE BAJA, PARAR, CANCELAR, BAIXA, DARSE DE BAIXA.",
    )
    sms_opt_in_keywords = fields.Char(
        "More Opt-in Keywords",
        config_parameter=KEYWORD_PARAMS[keywords.OPT_IN],
        help="Comma separated, added to START, YES, UNSTOP, ALTA and DARSE DE ALTA.",
    )
    sms_help_keywords = fields.Char(
        "More Help Keywords",
        config_parameter=KEYWORD_PARAMS[keywords.HELP],
        help="Comma separated, added to HELP, INFO, AYUDA and AXUDA: answered with the account's Help Answer.",
    )
    sms_opt_in_lifts_manual_blacklist = fields.Boolean(
        "Opt-in Lifts Numbers Blacklisted by Hand",
        config_parameter=OPT_IN_LIFTS_MANUAL_PARAM,
        help="By default a customer's START lifts only the opt-outs the customer made (STOP, provider opt-out), "
        "never a number an administrator blacklisted.",
    )

    def set_values(self):
        res = super().set_values()
        if not self.sms_event_retention_days:
            # Settings store a zero integer as "no value" (the default, 90): 0 means "forever".
            self.env["ir.config_parameter"].sudo().set_param(RETENTION_PARAM, "0")
        return res
