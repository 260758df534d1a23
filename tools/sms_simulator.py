"""The Simulator provider: a gateway without network for demos and tests.

It accepts every message and reports its delivery, except for the test numbers
below, which fail the way real networks do. Inbound messages (a customer's
reply) are simulated from the conversation form.

========================  =====================================================
Destination               Behaviour
========================  =====================================================
``+15005550001``          refused at sending: invalid number (code 21211)
``+15005550004``          refused at sending: recipient opted out (code 21610)
``+15005550009``          gateway unavailable (HTTP 503) on every attempt
``+15005550003``          accepted, then undelivered: unreachable (code 30003)
``+15005550005``          accepted, then undelivered: unknown number (code 30005)
``+15005550007``          accepted, then rejected by the carrier (code 30007)
anything else             accepted, then delivered
========================  =====================================================

A customer's reply may carry files, as fields ``media0``, ``media1``... (with
``media_type0``...). The Simulator serves these URLs itself, without network:

========================================  =======================================
Media URL                                 Download
========================================  =======================================
``https://simulator.invalid/photo.png``   a picture (PNG)
``https://simulator.invalid/404``         the provider answers 404, every time
``https://simulator.invalid/503``         the provider answers 503, every time
anything else                             refused: not a Simulator file
========================================  =======================================
"""

import hashlib
import hmac
import struct
import zlib

from . import media
from .sms_provider import (
    InboundSms,
    InvalidPayload,
    MediaDownload,
    SendResult,
    SmsProviderApi,
    StatusReport,
    register_provider,
)

SEND_FAILURES = {
    "+15005550001": ("21211", "The 'To' number +15005550001 is not a valid phone number."),
    "+15005550004": ("21610", "Attempt to send to unsubscribed recipient."),
}
UNAVAILABLE_NUMBERS = frozenset({"+15005550009"})
MEDIA_ROOT = "https://simulator.invalid/"
PHOTO_URL = MEDIA_ROOT + "photo.png"
DELIVERY_FAILURES = {
    "+15005550003": ("undelivered", "30003", "Unreachable destination handset."),
    "+15005550005": ("undelivered", "30005", "Unknown destination handset."),
    "+15005550007": ("failed", "30007", "Message filtered by the carrier."),
}


def sample_png(width=96, height=64):
    """A small picture (a color gradient) in PNG, made without any file."""
    rows = b"".join(
        b"\x00" + b"".join(bytes((40 + 160 * x // width, 90 + 120 * y // height, 200)) for x in range(width))
        for y in range(height)
    )

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def simulator_signature(secret, url, raw_body):
    """X-Simulator-Signature: hex HMAC-SHA256, keyed with the account's
    signing secret, of the URL followed by the raw request body (what
    ``openssl dgst -sha256 -hmac`` gives for ``printf '%s%s' "$URL" "$BODY"``)."""
    return hmac.new(secret.encode(), url.encode() + (raw_body or b""), hashlib.sha256).hexdigest()


@register_provider("simulator")
class SimulatorApi(SmsProviderApi):
    STATUS_TO_SMS_STATE = {
        "sent": "pending",
        "delivered": "sent",
        "undelivered": "error",
        "failed": "error",
    }
    ERROR_TO_FAILURE_TYPE = {
        "21211": "sms_number_format",
        "21610": "sms_optout",
        "30003": "sms_not_delivered",
        "30005": "sms_invalid_destination",
        "30007": "sms_rejected",
    }
    OPT_OUT_ERRORS = frozenset({"21610"})
    # A message id is derived from the idempotency key: resending never duplicates.
    supports_idempotency = True

    def send(self, sms):
        if sms.to_number in UNAVAILABLE_NUMBERS:
            return SendResult("retry", error_code="503", error_message="Simulated gateway outage.")
        if sms.to_number in SEND_FAILURES:
            code, message = SEND_FAILURES[sms.to_number]
            return SendResult("error", error_code=code, error_message=message)
        return SendResult("accepted", external_id=self.external_id(sms.idempotency_key))

    def lookup(self, sms, since):
        return SendResult("accepted", external_id=self.external_id(sms.idempotency_key))

    def check_credentials(self):
        return SendResult("accepted", external_id="Simulator")

    @staticmethod
    def external_id(key):
        return "SIM" + hashlib.sha256(key.encode()).hexdigest()[:32]

    def delivery_report(self, sms, external_id):
        """The report the simulated network sends once ``sms`` was accepted."""
        status, code, message = DELIVERY_FAILURES.get(sms.to_number, ("delivered", "", ""))
        return StatusReport(external_id=external_id, status=status, error_code=code, error_message=message)

    # Inbound -------------------------------------------------------------

    def verify_request(self, url, params, headers, raw_body):
        signature = headers.get("X-Simulator-Signature") or ""
        if not signature or not self.config.auth_token:
            return False
        expected = simulator_signature(self.config.auth_token, url, raw_body)
        return hmac.compare_digest(expected.encode(), signature.encode())

    def parse_inbound(self, params):
        values = dict(params)
        for key in ("id", "from", "to"):
            if not values.get(key):
                raise InvalidPayload(f"missing field {key}")
        if values.get("body") is None:
            raise InvalidPayload("missing field body")
        files = self._numbered_media(values, "media", "media_type")
        return InboundSms(
            external_id=values["id"],
            from_number=values["from"],
            to_number=values["to"],
            body=values["body"],
            num_media=len(files),
            media=files,
        )

    def download_media(self, url, max_bytes, allowed_types=media.ALLOWED_TYPES):
        if url == PHOTO_URL:
            return self._media_result("image/png", sample_png(), max_bytes, allowed_types)
        status = url.removeprefix(MEDIA_ROOT)
        if status in ("404", "503"):
            return MediaDownload("retry", error_code=status, error_message="Simulated provider error.")
        return MediaDownload("refused", error_code="address", error_message=f"not a Simulator file: {url}")

    def parse_status(self, params):
        values = dict(params)
        if not values.get("id") or values.get("status") not in self.STATUS_TO_SMS_STATE:
            raise InvalidPayload("missing or unknown id or status")
        return StatusReport(
            external_id=values["id"],
            status=values["status"],
            error_code=values.get("error_code", ""),
            error_message=values.get("error_message", ""),
        )
