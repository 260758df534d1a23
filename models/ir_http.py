from werkzeug.exceptions import LengthRequired, RequestEntityTooLarge

from odoo import models
from odoo.http import request

from .sms_account import WEBHOOK_ROUTE

# A provider's webhook call is a few kilobytes; an SMS body is at most 64 KiB.
MAX_WEBHOOK_REQUEST_SIZE = 128 * 1024


class IrHttp(models.AbstractModel):
    _inherit = "ir.http"

    @classmethod
    def _pre_dispatch(cls, rule, args):
        """Refuse oversized webhook calls before their body is parsed."""
        if request.httprequest.path.startswith(WEBHOOK_ROUTE + "/"):
            length = request.httprequest.content_length
            if length is None and request.httprequest.method == "POST":
                raise LengthRequired()
            if length and length > MAX_WEBHOOK_REQUEST_SIZE:
                raise RequestEntityTooLarge()
            # Keep the raw body before the form is parsed: signatures may cover it.
            request.httprequest.get_data(cache=True)
        return super()._pre_dispatch(rule, args)
