"""Telnyx Messaging API (v2): JSON requests and webhooks signed with Ed25519.

https://developers.telnyx.com/docs/messaging/messages/receiving-webhooks
"""

import base64
import binascii
import time
import urllib.parse

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from .sms_provider import (
    IgnoredEvent,
    InboundSms,
    InvalidPayload,
    SendResult,
    SmsProviderApi,
    StatusReport,
    parse_time,
    register_provider,
    utc_now,
)

TELNYX_API_BASE_URL = "https://api.telnyx.com"
# Telnyx's own libraries refuse webhooks signed more than 5 minutes away from now.
REPLAY_WINDOW_SECONDS = 300
INBOUND_EVENTS = frozenset({"message.received"})
STATUS_EVENTS = frozenset({"message.sent", "message.finalized"})
# A look-up reads at most this many message detail records, and the text of this many of them.
LOOKUP_RECORDS = 50
LOOKUP_READS = 5


def telnyx_verify(public_key_b64, signature_b64, timestamp, raw_body, now=None):
    """Whether ``signature_b64`` is Telnyx's Ed25519 signature of
    ``"{timestamp}|{raw body}"`` with the account's public key, within the
    replay window."""
    try:
        public_key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key_b64, validate=True))
        signature = base64.b64decode(signature_b64, validate=True)
        sent_at = int(timestamp)
    except (ValueError, binascii.Error, TypeError):
        return False
    if abs((now if now is not None else time.time()) - sent_at) > REPLAY_WINDOW_SECONDS:
        return False
    try:
        public_key.verify(signature, str(sent_at).encode() + b"|" + (raw_body or b""))
    except InvalidSignature:
        return False
    return True


@register_provider("telnyx")
class TelnyxApi(SmsProviderApi):
    API_BASE_URL = TELNYX_API_BASE_URL
    BODY_FORMAT = "json"
    # https://developers.telnyx.com/docs/messaging/messages/message-detail-records (to[].status)
    STATUS_TO_SMS_STATE = {
        "queued": "pending",
        "sending": "pending",
        "sent": "pending",
        "delivery_unconfirmed": "pending",
        "delivered": "sent",
        "sending_failed": "error",
        "delivery_failed": "error",
        "expired": "error",
        "cancelled": "canceled",
        "scheduled": "pending",
    }
    # https://developers.telnyx.com/docs/messaging/messages/error-codes and
    # https://developers.telnyx.com/development/api-fundamentals/api-errors
    ERROR_TO_FAILURE_TYPE = {
        "40001": "sms_invalid_destination",  # Not routable (landline)
        "40002": "sms_rejected",  # Blocked as spam (temporary)
        "40003": "sms_rejected",  # Blocked as spam (permanent)
        "40004": "sms_not_delivered",  # Rejected by destination
        "40005": "sms_expired",  # Message expired
        "40006": "sms_not_delivered",  # Recipient unavailable
        "40008": "sms_not_delivered",  # Undeliverable
        "40009": "sms_rejected",  # Invalid message body
        "40300": "sms_optout",  # Blocked due to STOP message
        "10002": "sms_number_format",  # Invalid phone number
        "10016": "sms_number_format",  # Phone number must be in +E.164 format
        "10009": "sms_acc",  # Authentication failed
        "10010": "sms_acc",  # Authorization failed
    }
    OPT_OUT_ERRORS = frozenset({"40300"})
    # Message detail records are reporting data: a message Telnyx took may show there minutes later.
    LOOKUP_SETTLE_SECONDS = 300

    def _url(self, path):
        return f"{self._base_url()}/v2/{path}"

    def _headers(self):
        return {"Authorization": f"Bearer {self.config.auth_token}", "Accept": "application/json"}

    @staticmethod
    def _first_error(payload, response):
        errors = payload.get("errors")
        error = errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], dict) else {}
        return (
            str(error.get("code") or response.status_code),
            str(error.get("detail") or error.get("title") or response.text[:200]),
        )

    # Outbound ------------------------------------------------------------

    def send(self, sms):
        data = {"from": sms.from_number, "to": sms.to_number, "text": sms.body, "use_profile_webhooks": False}
        if sms.status_callback:
            data["webhook_url"] = sms.status_callback
        failure, response = self._post(self._url("messages"), None, headers=self._headers(), json=data)
        if failure:
            return failure
        payload = self._json(response)
        message = payload.get("data")
        if response.ok and isinstance(message, dict) and message.get("id"):
            return SendResult("accepted", external_id=str(message["id"]))
        code, detail = self._first_error(payload, response)
        return SendResult("error", error_code=code, error_message=detail)

    def lookup(self, sms, since):
        """Telnyx's message detail records from our number to the customer
        since the first attempt (they carry no text), then each one's message,
        oldest first, until one has this text and is none of our other messages."""
        payload, failure = self._lookup_get(
            self._url("reports/mdrs"),
            params={
                "start_date": self._lookup_start(since).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "end_date": self._lookup_end().strftime("%Y-%m-%dT%H:%M:%SZ"),
                "direction": "OUTBOUND",
                "cli": sms.from_number,
                "cld": sms.to_number,
                "page[size]": str(LOOKUP_RECORDS),
            },
            headers=self._headers(),
        )
        if failure:
            return failure
        records = payload.get("data")
        if not isinstance(records, list):
            return SendResult("unknown", error_message="look-up failed: no record list")
        candidates = sorted(
            (
                (parse_time(record.get("created_at")) or utc_now(), str(record["id"]))
                for record in records
                if isinstance(record, dict) and record.get("id") and str(record["id"]) not in sms.known_ids
            ),
        )
        for _created_at, message_id in candidates[:LOOKUP_READS]:
            url = self._url(f"messages/{urllib.parse.quote(message_id, safe='')}")
            message, failure = self._lookup_get(url, headers=self._headers())
            if failure:
                return failure
            data = message.get("data")
            if isinstance(data, dict) and data.get("text") == sms.body:
                return SendResult("accepted", external_id=message_id)
        return self._lookup_not_found(since)

    def check_credentials(self):
        """The balance: free, and refused (10009) on a wrong API key."""
        return self._check_get(
            self._url("balance"), lambda payload: "Telnyx", self._first_error, headers=self._headers()
        )

    # Inbound -------------------------------------------------------------

    def verify_request(self, url, params, headers, raw_body):
        signature = headers.get("telnyx-signature-ed25519") or ""
        timestamp = headers.get("telnyx-timestamp") or ""
        if not (signature and timestamp and self.config.public_key):
            return False
        return telnyx_verify(self.config.public_key, signature, timestamp, raw_body)

    @staticmethod
    def _event(params, event_types):
        data = params.get("data") if isinstance(params, dict) else None
        if not isinstance(data, dict):
            raise InvalidPayload("missing field data")
        event_type = data.get("event_type")
        if not isinstance(event_type, str):
            raise InvalidPayload("missing field data.event_type")
        if event_type not in event_types:
            # Other events of the messaging profile (e.g. a status event at the inbound URL).
            raise IgnoredEvent(event_type)
        payload = data.get("payload")
        if not isinstance(payload, dict) or not isinstance(payload.get("id"), str) or not payload["id"]:
            raise InvalidPayload("missing field data.payload.id")
        return payload

    @staticmethod
    def _phone(value, field):
        number = value.get("phone_number") if isinstance(value, dict) else None
        if not isinstance(number, str) or not number:
            raise InvalidPayload(f"missing field {field}.phone_number")
        return number

    def parse_inbound(self, params):
        payload = self._event(params, INBOUND_EVENTS)
        recipients = payload.get("to")
        if not isinstance(recipients, list) or not recipients:
            raise InvalidPayload("missing field to")
        text = payload.get("text")
        if text is None:
            text = ""
        if not isinstance(text, str):
            raise InvalidPayload("text is not a string")
        media = payload.get("media")
        media = media if isinstance(media, list) else []
        return InboundSms(
            external_id=payload["id"],
            from_number=self._phone(payload.get("from"), "from"),
            to_number=self._phone(recipients[0], "to"),
            body=text,
            num_media=len(media),
            media=self._media_pairs(
                (item.get("url"), item.get("content_type")) for item in media if isinstance(item, dict)
            ),
        )

    def parse_status(self, params):
        payload = self._event(params, STATUS_EVENTS)
        recipients = payload.get("to")
        recipient = recipients[0] if isinstance(recipients, list) and recipients else None
        status = recipient.get("status") if isinstance(recipient, dict) else None
        if status not in self.STATUS_TO_SMS_STATE:
            raise InvalidPayload(f"unknown message status {status!r}")
        errors = payload.get("errors")
        error = errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], dict) else {}
        return StatusReport(
            external_id=payload["id"],
            status=status,
            error_code=str(error.get("code") or ""),
            error_message=str(error.get("detail") or error.get("title") or ""),
        )
