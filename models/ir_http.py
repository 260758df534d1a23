import psycopg2
from werkzeug.exceptions import LengthRequired, RequestEntityTooLarge

from odoo import models
from odoo.http import request

from .sms_account import WEBHOOK_ROUTE

# A provider's webhook call is a few kilobytes; an SMS body is at most 64 KiB.
MAX_WEBHOOK_REQUEST_SIZE = 128 * 1024
# Seconds a provider is asked to wait before sending again a call that met a database error.
WEBHOOK_RETRY_AFTER = 5


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

    @classmethod
    def _handle_error(cls, exception):
        """A webhook call whose transaction met a database error (the
        database restarted or failed over, the connection was lost, a
        concurrent update persisted) is answered 503 with Retry-After instead
        of Odoo's HTML error page, so that the provider sends it again:
        nothing was stored, or (a commit cut short) the resend is stored once
        anyway (unique key)."""
        if request.httprequest.path.startswith(WEBHOOK_ROUTE + "/") and isinstance(
            exception, (psycopg2.OperationalError, psycopg2.InterfaceError)
        ):
            return request.make_response(
                "Service Unavailable",
                headers=[("Content-Type", "text/plain"), ("Retry-After", str(WEBHOOK_RETRY_AFTER))],
                status=503,
            )
        return super()._handle_error(exception)
