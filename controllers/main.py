import dataclasses
import functools
import json
import logging
import re

from odoo.http import Controller, request, route

from ..models.sms_event import wake_cron_workers
from ..tools.phone import normalize_e164
from ..tools.sms_provider import IgnoredEvent, InvalidPayload, PayloadTooLarge

_logger = logging.getLogger(__name__)

CONTENT_TYPES = {
    "form": ("application/x-www-form-urlencoded", "multipart/form-data"),
    "json": ("application/json",),
}
MAX_BODY_BYTES = 64 * 1024
SMS_UUID_RE = re.compile(r"[0-9a-f]{32}")


class SmsWebhookController(Controller):
    """One public route for every provider: the account is found by the token in the URL."""

    @route(
        "/crm_sms_conversation/webhook/<string:token>/<string:kind>",
        type="http",
        auth="public",
        methods=["GET", "POST"],
        csrf=False,
        save_session=False,
    )
    def webhook(self, token, kind, **kwargs):
        """Verify, store with the request's own cursor and answer: Odoo
        commits as the request ends, before the answer leaves. Processing
        happens afterwards, in the processing cron.

        Every provider posts; a provider that may also call with GET (its
        parameters in the query string) says so in ``webhook_methods``."""
        httprequest = request.httprequest
        method = httprequest.method
        if method not in ("GET", "POST"):
            # werkzeug lets OPTIONS (and HEAD) reach the route: only GET and POST may act.
            return request.make_response("", headers=[("Allow", "POST")], status=405)
        if kind not in ("inbound", "status"):
            return self._reply(404, "Not Found")
        body_format = None
        if method == "POST":
            body_format = next((fmt for fmt, types in CONTENT_TYPES.items() if httprequest.mimetype in types), None)
            if not body_format:
                _logger.warning("SMS webhook: refused content type %r", httprequest.mimetype)
                return self._reply(415, "Unsupported Media Type")

        account_sudo = request.env["sms.account"].sudo()._get_by_webhook_token(token)
        api = account_sudo._get_provider_api() if account_sudo else None
        methods = api.webhook_methods() if api else ("POST",)
        if method not in methods:
            return request.make_response("", headers=[("Allow", ", ".join(methods))], status=405)
        if api and body_format and body_format not in api.body_formats():
            _logger.warning("SMS webhook: refused content type %r for %s", httprequest.mimetype, api.code)
            return self._reply(415, "Unsupported Media Type")
        # The raw body was kept before the form was parsed (see ir.http's _pre_dispatch).
        raw_body = httprequest.get_data(cache=True)
        params, malformed = self._params(body_format, raw_body)
        url = (
            account_sudo._get_signed_url(httprequest.path, httprequest.query_string.decode(errors="replace"))
            if account_sudo
            else ""
        )
        if not api or not api.verify_request(url, params, httprequest.headers, raw_body):
            # Same answer for an unknown token, a disabled account and a bad signature.
            _logger.warning("SMS webhook: refused %s call with an unknown token or a bad signature", kind)
            return self._reply(403, "Forbidden")
        replay_key = api.replay_key(httprequest.headers)
        if replay_key and not request.env["sms.webhook.nonce"].sudo()._claim(account_sudo, replay_key):
            _logger.warning("SMS webhook: refused a replayed %s call of account %s", kind, account_sudo.id)
            return self._reply(403, "Forbidden")

        try:
            if malformed:
                raise malformed
            event = api.parse_inbound(params) if kind == "inbound" else api.parse_status(params)
            if kind == "inbound":
                self._check_inbound(account_sudo, event)
            else:
                # Our id from the callback URL, unless the provider signed it in the report.
                sms_uuid = self._status_sms_uuid()
                if not event.sms_uuid_signed:
                    event.sms_uuid = sms_uuid
        except InvalidPayload as exc:
            _logger.warning("SMS webhook: refused %s call of account %s: %s", kind, account_sudo.id, exc)
            return self._reply(exc.status, f"Refused: {exc}")
        except IgnoredEvent as exc:
            _logger.info("SMS webhook: %s call of account %s not followed: %s", kind, account_sudo.id, exc)
            return self._reply(200, "Ignored")

        _event_id, wake = account_sudo._receive_webhook(kind, dataclasses.asdict(event), params)
        if kind == "inbound":
            body, content_type = api.inbound_response()
            response = request.make_response(body, headers=[("Content-Type", content_type)])
        else:
            response = self._reply(200, "")
        if wake:
            # Once the answer is sent and the request's connection given back.
            response.call_on_close(functools.partial(wake_cron_workers, request.db))
        return response

    @classmethod
    def _params(cls, body_format, raw_body):
        """(params, error): the query's (key, value) pairs of a GET, the form's of a
        form post, the JSON object of a JSON post; ``error`` is the
        ``InvalidPayload`` of a body that is not a JSON object, raised once the
        call is verified ({} is checked meanwhile)."""
        httprequest = request.httprequest
        if body_format is None:
            return list(httprequest.args.items(multi=True)), None
        if body_format == "form":
            return list(httprequest.form.items(multi=True)), None
        try:
            return cls._json_params(raw_body), None
        except InvalidPayload as exc:
            return {}, exc

    @staticmethod
    def _check_inbound(account_sudo, inbound):
        """Normalize the numbers in place; raise ``InvalidPayload`` on bad input."""
        from_number = normalize_e164(inbound.from_number)
        to_number = normalize_e164(inbound.to_number)
        if not from_number:
            raise InvalidPayload(f"unparseable sender number {inbound.from_number!r}")
        if not to_number:
            raise InvalidPayload(f"unparseable receiving number {inbound.to_number!r}")
        if len(inbound.body.encode()) > MAX_BODY_BYTES:
            raise PayloadTooLarge("message body over 64 KiB")
        if not request.env["sms.number"].sudo().with_context(active_test=False)._get_by_e164(to_number, account_sudo):
            raise InvalidPayload(f"{to_number} is not a number of this account")
        inbound.from_number, inbound.to_number = from_number, to_number

    @staticmethod
    def _json_params(raw_body):
        """The JSON object of a verified body; raise ``InvalidPayload`` otherwise."""
        try:
            params = json.loads(raw_body.decode())
        except (UnicodeDecodeError, ValueError) as exc:
            raise InvalidPayload("the body is not valid JSON") from exc
        if not isinstance(params, dict):
            raise InvalidPayload("the body is not a JSON object")
        return params

    @staticmethod
    def _status_sms_uuid():
        """Our message id, set in the status callback URL of each message."""
        sms_uuid = request.httprequest.args.get("sms_uuid", "")
        if sms_uuid and not SMS_UUID_RE.fullmatch(sms_uuid):
            raise InvalidPayload("malformed sms_uuid")
        return sms_uuid

    @staticmethod
    def _reply(status, text):
        return request.make_response(text, headers=[("Content-Type", "text/plain")], status=status)
