"""Twilio Programmable Messaging: send, look up, verify and read webhooks."""

import base64
import email.utils
import hashlib
import hmac
import urllib.parse

from .sms_provider import (
    InboundSms,
    InvalidPayload,
    SendResult,
    SmsProviderApi,
    StatusReport,
    register_provider,
)

TWILIO_API_BASE_URL = "https://api.twilio.com"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response />'


def twilio_signature(auth_token, url, params):
    """X-Twilio-Signature of a request: base64(HMAC-SHA1(token, url + sorted params)).

    ``params`` is a list of (key, value) pairs; repeated keys are signed with
    their values sorted, as Twilio's SDKs do.
    """
    data = url
    for key in sorted({key for key, _value in params}):
        for value in sorted({value for k, value in params if k == key}):
            data += key + value
    digest = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _url_variants(url):
    """The URL as given, without its default port and with it: Twilio signs
    the URL as configured in its console, which may differ on the port."""
    parts = urllib.parse.urlsplit(url)
    default_port = {"https": 443, "http": 80}.get(parts.scheme)
    host = parts.hostname or ""
    variants = [url]
    if parts.port:
        if parts.port == default_port:
            variants.append(urllib.parse.urlunsplit(parts._replace(netloc=host)))
    elif default_port:
        variants.append(urllib.parse.urlunsplit(parts._replace(netloc=f"{host}:{default_port}")))
    return variants


@register_provider("twilio")
class TwilioApi(SmsProviderApi):
    API_BASE_URL = TWILIO_API_BASE_URL
    # https://www.twilio.com/docs/messaging/api/message-resource#message-status-values
    STATUS_TO_SMS_STATE = {
        "accepted": "pending",
        "scheduled": "pending",
        "queued": "pending",
        "sending": "pending",
        "sent": "pending",
        "delivered": "sent",
        "read": "sent",
        "undelivered": "error",
        "failed": "error",
        "canceled": "canceled",
    }
    # https://www.twilio.com/docs/api/errors
    ERROR_TO_FAILURE_TYPE = {
        "21211": "sms_number_format",  # Invalid 'To' phone number
        "21214": "sms_number_format",  # 'To' phone number cannot be reached
        "21217": "sms_number_format",  # Phone number does not appear to be valid
        "21265": "sms_number_format",  # 'To' number cannot be a short code
        "21614": "sms_number_format",  # 'To' number is not a valid mobile number
        "21604": "sms_number_missing",  # A 'To' phone number is required
        "21408": "sms_country_not_supported",  # Permission to send to this region not enabled
        "21612": "sms_country_not_supported",  # Cannot route to this number
        "21610": "sms_optout",  # Attempt to send to unsubscribed recipient
        "20003": "sms_acc",  # Authentication error
        "21606": "sms_acc",  # 'From' number is not a valid message-capable number
        "21608": "sms_acc",  # Unverified number on a trial account
        "30003": "sms_not_delivered",  # Unreachable destination handset
        "30005": "sms_invalid_destination",  # Unknown destination handset
        "30006": "sms_invalid_destination",  # Landline or unreachable carrier
        "30004": "sms_not_allowed",  # Message blocked
        "30007": "sms_rejected",  # Carrier violation (filtered)
        "30008": "sms_not_delivered",  # Unknown error
        "30001": "sms_expired",  # Queue overflow
        "30002": "sms_acc",  # Account suspended
    }
    OPT_OUT_ERRORS = frozenset({"21610"})
    # Media URLs (on api.twilio.com) want the credentials, then redirect to a pre-signed URL.
    MEDIA_BASIC_AUTH = True

    def _api_url(self, path):
        return f"{self._base_url()}/2010-04-01/Accounts/{self.config.account_sid}/{path}"

    def _auth(self):
        return (self.config.account_sid, self.config.auth_token)

    # Outbound ------------------------------------------------------------

    def send(self, sms):
        data = {"To": sms.to_number, "From": sms.from_number, "Body": sms.body}
        if sms.status_callback:
            data["StatusCallback"] = sms.status_callback
        failure, response = self._post(self._api_url("Messages.json"), data, auth=self._auth())
        if failure:
            return failure
        payload = self._json(response)
        if response.ok and payload.get("sid"):
            return SendResult("accepted", external_id=payload["sid"])
        code, message = self._error(payload, response)
        return SendResult("error", error_code=code, error_message=message)

    def check_credentials(self):
        """The account resource: free, and refused (20003) on wrong credentials."""
        return self._check_get(
            f"{self._base_url()}/2010-04-01/Accounts/{self.config.account_sid}.json",
            lambda payload: str(payload.get("friendly_name") or self.config.account_sid),
            self._error,
            auth=self._auth(),
        )

    @staticmethod
    def _error(payload, response):
        return str(payload.get("code") or response.status_code), str(payload.get("message") or response.text[:200])

    def lookup(self, sms, since):
        """Messages from our number to the customer created since ``since`` with the same body."""
        payload, failure = self._lookup_get(
            self._api_url("Messages.json"),
            params={"To": sms.to_number, "From": sms.from_number, "PageSize": "50"},
            auth=self._auth(),
        )
        if failure:
            return failure
        messages = payload.get("messages")
        if not isinstance(messages, list):
            return SendResult("unknown", error_message="look-up failed: no message list")
        start = self._lookup_start(since)
        # Newest first: the oldest match is this message (a customer's texts go out in order).
        for message in reversed(messages):
            if not isinstance(message, dict) or message.get("body") != sms.body or message.get("sid") in sms.known_ids:
                continue
            try:
                created_at = email.utils.parsedate_to_datetime(message.get("date_created") or "")
            except (TypeError, ValueError):
                continue
            if created_at >= start:
                return SendResult("accepted", external_id=message.get("sid", ""))
        return self._lookup_not_found(since)

    # Inbound -------------------------------------------------------------

    def verify_request(self, url, params, headers, raw_body):
        signature = headers.get("X-Twilio-Signature") or ""
        if not signature or not self.config.auth_token:
            return False
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
        if "bodySHA256" in query:
            # JSON webhooks sign the URL only; the body is bound by its hash.
            body_hash = hashlib.sha256(raw_body or b"").hexdigest()
            if not hmac.compare_digest(body_hash.encode(), query["bodySHA256"][0].encode()):
                return False
            params = []
        return any(
            hmac.compare_digest(twilio_signature(self.config.auth_token, variant, params).encode(), signature.encode())
            for variant in _url_variants(url)
        )

    @staticmethod
    def _required(params, *keys):
        values = dict(params)
        for key in keys:
            if values.get(key):
                return values[key]
        raise InvalidPayload(f"missing field {keys[0]}")

    def parse_inbound(self, params):
        values = dict(params)
        num_media = values.get("NumMedia") or "0"
        if not (num_media.isascii() and num_media.isdecimal()):
            raise InvalidPayload("NumMedia is not a number")
        body = values.get("Body")
        if body is None:
            raise InvalidPayload("missing field Body")
        return InboundSms(
            external_id=self._required(params, "MessageSid", "SmsSid"),
            from_number=self._required(params, "From"),
            to_number=self._required(params, "To"),
            body=body,
            num_media=int(num_media),
            media=self._numbered_media(values, "MediaUrl", "MediaContentType"),
        )

    def parse_status(self, params):
        values = dict(params)
        status = self._required(params, "MessageStatus", "SmsStatus")
        if status not in self.STATUS_TO_SMS_STATE:
            raise InvalidPayload(f"unknown message status {status!r}")
        return StatusReport(
            external_id=self._required(params, "MessageSid", "SmsSid"),
            status=status,
            error_code=values.get("ErrorCode") or "",
            error_message=values.get("ErrorMessage") or "",
        )

    def inbound_response(self):
        return EMPTY_TWIML, "text/xml"
