"""Plivo Messaging: JSON requests, form webhooks signed with signatures V2 and V3.

https://www.plivo.com/docs/messaging/api/message/send-a-message
https://www.plivo.com/docs/messaging/concepts/signature-validation
"""

import base64
import hashlib
import hmac
import urllib.parse

from .phone import e164_from_digits
from .sms_provider import (
    InboundSms,
    InvalidPayload,
    SendResult,
    SmsProviderApi,
    StatusReport,
    parse_time,
    register_provider,
    same_number,
)

PLIVO_API_BASE_URL = "https://api.plivo.com"
# A look-up reads Plivo's message list this many pages of this many messages at most (20 is its maximum).
LOOKUP_PAGES = 5
LOOKUP_PAGE_SIZE = 20


def _params_map(params):
    """{key: value, or sorted list of values when repeated} of (key, value) pairs."""
    values = {}
    for key, value in params:
        values.setdefault(key, []).append(value)
    return {key: items[0] if len(items) == 1 else items for key, items in values.items()}


def _sorted_pairs(params, between="", separator=""):
    """The (key, value) pairs of ``params`` sorted by key, then by value for a
    repeated key, each written ``key + between + value``, joined by ``separator``."""
    return separator.join(
        f"{key}{between}{item}"
        for key in sorted(params)
        for item in (sorted(params[key]) if isinstance(params[key], list) else [params[key]])
    )


def plivo_signature_v2(auth_token, url, nonce):
    """X-Plivo-Signature-V2: base64(HMAC-SHA256(token, URL without its query + nonce))."""
    parts = urllib.parse.urlsplit(url)
    base = urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    digest = hmac.new(auth_token.encode(), (base + nonce).encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def plivo_signature_v3(auth_token, method, url, params, nonce):
    """X-Plivo-Signature-V3: base64(HMAC-SHA256(token, signed URL + "." + nonce)). The
    signed URL holds the query sorted by key; for a POST, then the parameters
    concatenated as sorted key-value pairs (after a "." when there was a query)."""
    parts = urllib.parse.urlsplit(url)
    base = urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    query = urllib.parse.parse_qs(parts.query, keep_blank_values=True)
    if method.upper() == "GET":
        merged = {**params, **query}
        signed = base + ("?" + _sorted_pairs(merged, "=", "&") if merged else "")
    else:
        query_string = _sorted_pairs(query, "=", "&")
        signed = base
        if query_string or params:
            signed += "?" + query_string
        if query_string and params:
            signed += "."
        signed += _sorted_pairs(params)
    digest = hmac.new(auth_token.encode(), f"{signed}.{nonce}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


@register_provider("plivo")
class PlivoApi(SmsProviderApi):
    API_BASE_URL = PLIVO_API_BASE_URL
    # https://www.plivo.com/docs/messaging/api/message#the-message-object (message_state)
    STATUS_TO_SMS_STATE = {
        "queued": "pending",
        "sent": "pending",
        "delivered": "sent",
        "undelivered": "error",
        "failed": "error",
        "rejected": "error",
    }
    # https://www.plivo.com/docs/messaging/troubleshooting/error-codes
    ERROR_TO_FAILURE_TYPE = {
        "10": "sms_rejected",  # Invalid message
        "20": "sms_not_delivered",  # Network error
        "30": "sms_rejected",  # Spam detected
        "40": "sms_acc",  # Invalid source number
        "50": "sms_number_format",  # Invalid destination number
        "200": "sms_optout",  # Source number blocked by STOP from destination number
    }
    # Plivo blocks a number that replied STOP and fails further messages with error 200
    # (support.plivo.com, "Can I reply to customers who have opted out?").
    OPT_OUT_ERRORS = frozenset({"200"})
    # Files of inbound MMS are on the API's host or on Plivo's media host; both want the credentials.
    MEDIA_BASIC_AUTH = True
    MEDIA_AUTH_HOSTS = frozenset({"api.plivo.com", "media.plivo.com"})
    # A message Plivo took is in its message list within moments; a minute is given.
    LOOKUP_SETTLE_SECONDS = 60

    def _url(self, path):
        return f"{self._base_url()}/v1/Account/{self.config.account_sid}/{path}"

    def _auth(self):
        return (self.config.account_sid, self.config.auth_token)

    @staticmethod
    def _error(payload, response):
        message = payload.get("error")
        # An HTTP status, never to be read as one of Plivo's message error codes (200 opts out).
        return f"http_{response.status_code}", str(message or response.text[:200])

    # Outbound ------------------------------------------------------------

    def send(self, sms):
        data = {"src": sms.from_number, "dst": sms.to_number, "text": sms.body}
        if sms.status_callback:
            data.update(url=sms.status_callback, method="POST")
        failure, response = self._post(self._url("Message/"), None, auth=self._auth(), json=data)
        if failure:
            return failure
        payload = self._json(response)
        uuids = payload.get("message_uuid")
        if response.ok and isinstance(uuids, list) and uuids:
            return SendResult("accepted", external_id=str(uuids[0]))
        code, message = self._error(payload, response)
        return SendResult("error", error_code=code, error_message=message)

    def lookup(self, sms, since):
        """Plivo's message list (its message detail records: outbound, newest
        first, 20 a page, no text): the oldest message from our number to the
        customer since the first attempt that is none of our other messages.
        A customer's texts leave one number in order, so it is this one."""
        start = self._lookup_start(since)
        found = None
        for page in range(LOOKUP_PAGES):
            payload, failure = self._lookup_get(
                self._url("Message/"),
                params={
                    "message_direction": "outbound",
                    "message_time__gte": start.strftime("%Y-%m-%d %H:%M:%S"),
                    "limit": str(LOOKUP_PAGE_SIZE),
                    "offset": str(page * LOOKUP_PAGE_SIZE),
                },
                auth=self._auth(),
            )
            if failure:
                return failure
            records = payload.get("objects")
            if not isinstance(records, list):
                return SendResult("unknown", error_message="look-up failed: no message list")
            for record in records:
                if (
                    isinstance(record, dict)
                    and same_number(record.get("from_number"), sms.from_number)
                    and same_number(record.get("to_number"), sms.to_number)
                    and record.get("message_uuid")
                    and record["message_uuid"] not in sms.known_ids
                    and (parse_time(record.get("message_time")) or start) >= start
                ):
                    found = record["message_uuid"]
            if len(records) < LOOKUP_PAGE_SIZE:
                break
        if found:
            return SendResult("accepted", external_id=str(found))
        return self._lookup_not_found(since)

    def check_credentials(self):
        """The account's details: free, and refused (401) on wrong credentials."""
        return self._check_get(
            self._url(""),
            lambda payload: str(payload.get("name") or self.config.account_sid),
            self._error,
            auth=self._auth(),
        )

    # Inbound -------------------------------------------------------------

    def verify_request(self, url, params, headers, raw_body):
        token = self.config.auth_token
        if not token:
            return False
        signature_v3 = headers.get("X-Plivo-Signature-V3") or ""
        nonce_v3 = headers.get("X-Plivo-Signature-V3-Nonce") or ""
        if signature_v3 and nonce_v3:
            expected = plivo_signature_v3(token, "POST", url, _params_map(params), nonce_v3).encode()
            # Several signatures, comma separated, while Plivo rotates the token.
            return any(
                hmac.compare_digest(expected, candidate.strip().encode()) for candidate in signature_v3.split(",")
            )
        signature_v2 = headers.get("X-Plivo-Signature-V2") or ""
        nonce_v2 = headers.get("X-Plivo-Signature-V2-Nonce") or ""
        if signature_v2 and nonce_v2:
            return hmac.compare_digest(plivo_signature_v2(token, url, nonce_v2).encode(), signature_v2.encode())
        return False

    def replay_key(self, headers):
        """V2 signs the URL and the nonce, not the parameters: each nonce is accepted once."""
        if headers.get("X-Plivo-Signature-V3"):
            return headers.get("X-Plivo-Signature-V3-Nonce") or None
        return headers.get("X-Plivo-Signature-V2-Nonce") or None

    @staticmethod
    def _required(values, key):
        value = values.get(key)
        if not value:
            raise InvalidPayload(f"missing field {key}")
        return value

    def parse_inbound(self, params):
        """An SMS has its text in Text; an MMS in Body, with its files' URLs in
        Media0, Media1... (numbered from 0 or 1) and their count in MediaCount."""
        values = dict(params)
        body = values.get("Text", values.get("Body"))
        if body is None:
            raise InvalidPayload("missing field Text")
        media = sum(1 for key in values if key.startswith("Media") and key[5:].isdecimal())
        # Plivo writes numbers in E.164 without the + sign (14155550123).
        return InboundSms(
            external_id=self._required(values, "MessageUUID"),
            from_number=e164_from_digits(self._required(values, "From")),
            to_number=e164_from_digits(self._required(values, "To")),
            body=body,
            num_media=media,
            media=self._numbered_media(values, "Media", "MediaContentType"),
        )

    def parse_status(self, params):
        values = dict(params)
        status = self._required(values, "Status")
        if status not in self.STATUS_TO_SMS_STATE:
            raise InvalidPayload(f"unknown message status {status!r}")
        sequence = values.get("Sequence") or "0"
        if not (sequence.isascii() and sequence.isdecimal()):
            raise InvalidPayload("Sequence is not a number")
        error_code = values.get("ErrorCode") or ""
        return StatusReport(
            external_id=self._required(values, "MessageUUID"),
            status=status,
            error_code="" if error_code == "000" else error_code,
            sequence=int(sequence),
        )
