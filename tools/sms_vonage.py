"""Vonage: the SMS API or the Messages API, as the account chooses.

- SMS API: form requests; webhooks posted as a form, as JSON or called with
  GET (the dashboard's "HTTP Method"), signed with ``sig`` over the sorted
  parameters; a long inbound message comes part by part.
- Messages API: JSON requests; JSON webhooks signed with a JWT (HS256, the
  signature secret) whose ``payload_hash`` binds the raw body.

https://developer.vonage.com/en/messaging/sms/overview
https://developer.vonage.com/en/getting-started/concepts/signing-messages
https://developer.vonage.com/en/messages/concepts/signed-webhooks

The files of inbound messages (Messages API, MMS channel) are on Vonage's media
servers: with the Vonage application's "Secure Inbound Media" switched on, they
are fetched with a JWT of that application (RS256, its private key).
https://developer.vonage.com/en/messages/concepts/secure-inbound-media
"""

import datetime
import hashlib
import hmac
import logging
import re
import time
import uuid

import jwt
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .phone import e164_from_digits
from .sms_provider import (
    CredentialsError,
    IgnoredEvent,
    InboundSms,
    InvalidPayload,
    SendResult,
    SmsProviderApi,
    StatusReport,
    register_provider,
)

_logger = logging.getLogger(__name__)

VONAGE_API_BASE_URL = "https://rest.nexmo.com"
# The Messages API's root; an account's own API Base URL (tests, proxies) serves both APIs.
VONAGE_MESSAGES_BASE_URL = "https://api.nexmo.com"
# The Reports API (https://developer.vonage.com/en/reports/overview), on the Messages API's host:
# a look-up reads at most this many pages of its records.
LOOKUP_PAGES = 5
SIGNATURE_METHODS = ("md5hash", "md5", "sha1", "sha256", "sha512")
# Signed calls more than 5 minutes away from our clock are refused (replays), as for Telnyx.
REPLAY_WINDOW_SECONDS = 300
# Vonage refuses a longer per-message callback URL (SMS API status 23).
MAX_CALLBACK_LENGTH = 100
# A concatenated SMS has at most 255 parts (its part count is one byte).
MAX_PARTS = 255
SMS_UUID_RE = re.compile(r"[0-9a-f]{32}")
# SMS API send statuses meaning that nothing was sent and sending again later is safe: throttled,
# internal error, too many binds (https://developer.vonage.com/en/messaging/sms/guides/troubleshooting-sms).
RETRY_SEND_STATUSES = frozenset({"1", "5", "10"})
# GSM 03.38: the basic character set and its extension table. A text with any other character is
# sent as "unicode" (UCS-2): as "text", Vonage would replace the character.
GSM7_CHARACTERS = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿"
    "abcdefghijklmnopqrstuvwxyzäöñüà"
    "^{}\\[~]|€\f"
)

# Vonage's media servers, where the Messages API's inbound files are (https://<host>/v3/media/<id>):
# with Secure Inbound Media, they get the application's JWT, as the account's own API host does.
VONAGE_MEDIA_HOSTS = frozenset({"api.nexmo.com", "api-us.nexmo.com", "api-eu.nexmo.com", "api-ap.nexmo.com"})
# Seconds an application JWT is valid: it serves one request of a download (60 s at most).
APPLICATION_JWT_SECONDS = 300
PEM_RE = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \1-----", re.DOTALL)

# Messages API inbound MMS: message types carrying a file, in an object of that name.
# https://developer.vonage.com/en/api/messages#inbound-message (MMS channel)
MMS_FILE_TYPES = ("image", "vcard", "audio", "video")


def is_gsm7(text):
    """Whether ``text`` can be sent in the GSM 7-bit alphabet."""
    return all(char in GSM7_CHARACTERS for char in text)


def vonage_signature(secret, params, method="md5hash"):
    """Vonage's ``sig`` of ``params`` ({key: value}, without ``sig``): each parameter
    written ``&key=value``, sorted by key, with ``&`` and ``=`` in the value
    replaced by ``_``; then the MD5 of that text followed by the secret
    (``md5hash``), or its HMAC keyed with the secret (``md5``, ``sha1``,
    ``sha256``, ``sha512``); lower-case hex."""
    signed = "".join(f"&{key}={str(params[key]).replace('&', '_').replace('=', '_')}" for key in sorted(params))
    if method == "md5hash":
        return hashlib.md5((signed + secret).encode()).hexdigest()
    if method not in SIGNATURE_METHODS:
        raise ValueError(f"unknown signature method {method!r}")
    return hmac.new(secret.encode(), signed.encode(), method).hexdigest()


def vonage_jwt_claims(token, secret):
    """The claims of a Messages API webhook's JWT when it is signed (HS256) with
    ``secret`` and not expired; None otherwise. Vonage's tokens carry ``iat``,
    not always ``exp``: their age is checked by the caller."""
    if not token or not secret:
        return None
    try:
        # The leeway lets a clock a little ahead issue the token: its age is checked both ways by the caller.
        return jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            options={"require": ["iat"], "verify_aud": False},
            leeway=REPLAY_WINDOW_SECONDS,
        )
    except (jwt.PyJWTError, TypeError, ValueError):
        return None


def private_key_pem(text):
    """A PEM private key as pasted, with its lines put back: a password input
    drops the newlines, a configuration file may write them ``\\n``. A text
    without PEM markers comes back stripped."""
    text = (text or "").strip().replace("\\n", "\n")
    match = PEM_RE.search(text)
    if not match:
        return text
    label, body = match.group(1), match.group(2)
    if ":" in body:
        # Headers (an encrypted key of the traditional format): the lines are kept as they are.
        return match.group(0)
    body = re.sub(r"\s", "", body)
    lines = [body[start : start + 64] for start in range(0, len(body), 64)]
    return "\n".join([f"-----BEGIN {label}-----", *lines, f"-----END {label}-----"]) + "\n"


def load_private_key(text):
    """The RSA private key of a PEM text (``private_key_pem``); raises
    ``CredentialsError`` saying why it cannot sign Vonage's JWTs (RS256)."""
    pem = private_key_pem(text)
    match = PEM_RE.search(pem)
    if not match:
        raise CredentialsError("no -----BEGIN PRIVATE KEY----- ... -----END PRIVATE KEY----- block")
    label = match.group(1)
    if "ENCRYPTED" in label or "Proc-Type:" in match.group(2):
        raise CredentialsError("the private key is protected by a password")
    if not label.endswith("PRIVATE KEY"):
        raise CredentialsError(f"a {label.lower()}, not a private key")
    try:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
    except TypeError:
        raise CredentialsError("the private key is protected by a password") from None
    except (ValueError, UnsupportedAlgorithm):
        raise CredentialsError("the private key's content cannot be read") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise CredentialsError("not an RSA private key")
    return key


def application_jwt(application_id, private_key):
    """A JWT of a Vonage application: RS256, signed with its private key (PEM),
    with the claims ``application_id``, ``iat``, ``exp`` (``APPLICATION_JWT_SECONDS``
    later) and a new ``jti``. Raises ``CredentialsError`` when the key cannot sign."""
    key = load_private_key(private_key)
    issued_at = int(time.time())
    claims = {
        "application_id": application_id,
        "iat": issued_at,
        "exp": issued_at + APPLICATION_JWT_SECONDS,
        "jti": str(uuid.uuid4()),
    }
    try:
        return jwt.encode(claims, key, algorithm="RS256")
    except (jwt.PyJWTError, TypeError, ValueError) as exc:
        raise CredentialsError(f"the private key cannot sign a JWT: {exc}") from None


def _fresh(timestamp, now=None):
    """Whether the unix ``timestamp`` is within the replay window of now."""
    try:
        sent_at = int(timestamp)
    except (TypeError, ValueError, OverflowError):
        return False
    return abs((now if now is not None else time.time()) - sent_at) <= REPLAY_WINDOW_SECONDS


def _values(params):
    """{key: text} of a form or query (a list of pairs) or of a JSON object; a
    repeated key, or a value that is no text nor number, is refused."""
    if isinstance(params, dict):
        items = list(params.items())
    elif isinstance(params, list):
        items = params
    else:
        raise InvalidPayload("the parameters are not an object")
    values = {}
    for item in items:
        if not isinstance(item, tuple | list) or len(item) != 2 or not isinstance(item[0], str):
            raise InvalidPayload("the parameters are not pairs")
        key, value = item
        if key in values:
            raise InvalidPayload(f"repeated field {key}")
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise InvalidPayload(f"field {key} is not a text")
        values[key] = str(value)
    return values


def _json_object(params, name):
    value = params.get(name)
    return value if isinstance(value, dict) else {}


@register_provider("vonage")
class VonageApi(SmsProviderApi):
    API_BASE_URL = VONAGE_API_BASE_URL
    # SMS API delivery receipts (https://developer.vonage.com/en/messaging/sms/guides/delivery-receipts)
    # and Messages API statuses (https://developer.vonage.com/en/messages/concepts/messages-status-callbacks).
    # A DLR "unknown" is a failure, as the Messages API reads it (error 1330).
    STATUS_TO_SMS_STATE = {
        "accepted": "pending",
        "buffered": "pending",
        "delivered": "sent",
        "expired": "error",
        "failed": "error",
        "rejected": "error",
        "unknown": "error",
        "submitted": "pending",
        "read": "sent",
        "undeliverable": "error",
    }
    # Three tables, told apart by their codes: the SMS API's delivery receipt err-code (0-99,
    # https://developer.vonage.com/en/messaging/sms/guides/delivery-receipts#dlr-error-codes), its
    # send statuses written "send-N" (https://developer.vonage.com/en/messaging/sms/guides/troubleshooting-sms)
    # and the Messages API's errors (1000-1999, https://developer.vonage.com/en/api-errors/messages).
    ERROR_TO_FAILURE_TYPE = {
        "1": "sms_not_delivered",  # Unknown
        "2": "sms_not_delivered",  # Absent Subscriber - Temporary
        "3": "sms_invalid_destination",  # Absent Subscriber - Permanent
        "4": "sms_invalid_destination",  # Call Barred by User
        "5": "sms_not_delivered",  # Portability Error
        "6": "sms_rejected",  # Anti-Spam Rejection
        "7": "sms_not_delivered",  # Handset Busy
        "8": "sms_not_delivered",  # Network Error
        "9": "sms_optout",  # Illegal Number: the user asked not to receive messages from this sender
        "10": "sms_rejected",  # Illegal Message
        "11": "sms_not_allowed",  # Unroutable
        "12": "sms_invalid_destination",  # Destination Unreachable
        "13": "sms_rejected",  # Subscriber Age Restriction
        "14": "sms_invalid_destination",  # Number Blocked by Carrier
        "15": "sms_not_delivered",  # Prepaid Insufficient Funds
        "50": "sms_not_allowed",  # Entity Filter
        "51": "sms_not_allowed",  # Header Filter
        "52": "sms_not_allowed",  # Content Filter (content-id)
        "53": "sms_not_allowed",  # Consent Filter
        "54": "sms_not_allowed",  # Regulation Error
        "99": "sms_not_delivered",  # General Error
        "send-4": "sms_acc",  # Invalid Credentials
        "send-6": "sms_number_format",  # Invalid Message (unrecognized number prefix)
        "send-7": "sms_not_allowed",  # Number Barred (on Vonage's list of barred numbers)
        "send-8": "sms_acc",  # Partner Account Barred
        "send-9": "sms_acc",  # Partner Quota Violation (no credit)
        "send-11": "sms_acc",  # Account Not Enabled For HTTP
        "send-14": "sms_acc",  # Invalid Signature
        "send-15": "sms_acc",  # Invalid Sender Address
        "send-29": "sms_acc",  # Non-Whitelisted Destination (account in demo mode)
        "send-32": "sms_acc",  # Signature And API Secret Disallowed
        "send-33": "sms_invalid_destination",  # Number De-activated
        "http_401": "sms_acc",  # Credentials refused
        "1040": "sms_number_format",  # Invalid message (unrecognised prefix)
        "1050": "sms_not_allowed",  # Number barred
        "1060": "sms_acc",  # Partner account barred
        "1070": "sms_acc",  # Partner quota exceeded
        "1080": "sms_acc",  # Account not enabled for REST
        "1110": "sms_acc",  # Invalid Signature
        "1120": "sms_acc",  # Illegal Sender Address - rejected
        "1160": "sms_acc",  # Non White-listed Destination
        "1170": "sms_number_format",  # Invalid or Missing Msisdn Param
        "1180": "sms_not_delivered",  # Absent Subscriber Temporary
        "1190": "sms_invalid_destination",  # Absent Subscriber Permanent
        "1200": "sms_not_delivered",  # Portability Error
        "1210": "sms_rejected",  # Anti-Spam Rejection
        "1220": "sms_not_delivered",  # Handset Busy
        "1230": "sms_not_delivered",  # Network Error
        "1240": "sms_optout",  # Illegal Number: the user sent STOP
        "1250": "sms_not_allowed",  # Unroutable
        "1260": "sms_invalid_destination",  # Destination unreachable
        "1270": "sms_rejected",  # Subscriber Age Restriction
        "1280": "sms_invalid_destination",  # Number Blocked by Carrier
        "1290": "sms_not_delivered",  # Pre-Paid - Insufficent funds
        "1330": "sms_not_delivered",  # Unknown (from the carrier)
        "1360": "sms_expired",  # TTL was activated (an expired SMS)
    }
    # A number that opted out: the SMS API accepts the message, then its delivery receipt fails
    # with err-code 9; the Messages API's status fails with error 1240
    # (https://developer.vonage.com/en/opt-out-assist/guides/messaging-opted-out-numbers).
    OPT_OUT_ERRORS = frozenset({"9", "1240"})

    # Reports are usage data: a message Vonage took may show in them minutes later.
    LOOKUP_SETTLE_SECONDS = 300
    # Inbound files: on Vonage's media servers; without Secure Inbound Media, their URLs need
    # no credentials (``_media_auth_kwargs``).
    MEDIA_AUTH_HOSTS = VONAGE_MEDIA_HOSTS

    @property
    def uses_messages_api(self):
        return self.config.api_variant == "messages"

    def _root(self, official):
        """The official root of one of Vonage's APIs, or the account's own for both."""
        custom = (self.config.api_base_url or "").rstrip("/")
        return official if not custom or custom == VONAGE_API_BASE_URL else custom

    def _auth(self):
        return (self.config.account_sid, self.config.auth_token)

    @staticmethod
    def _number(number):
        """Vonage takes numbers in E.164 without the + sign."""
        return number[1:] if number.startswith("+") else number

    # Outbound ------------------------------------------------------------

    def send(self, sms):
        return self._send_message(sms) if self.uses_messages_api else self._send_sms(sms)

    def _send_sms(self, sms):
        """SMS API: one request, one answer per part of the text (each with its
        id): the first part's id names the message; ``client-ref`` (our id)
        comes back in every part's delivery receipt."""
        data = {
            "api_key": self.config.account_sid,
            "api_secret": self.config.auth_token,
            "from": self._number(sms.from_number),
            "to": self._number(sms.to_number),
            "text": sms.body,
            "type": "text" if is_gsm7(sms.body) else "unicode",
        }
        if sms.idempotency_key:
            data["client-ref"] = sms.idempotency_key
        # Our id travels in client-ref: the callback is the status URL alone, when Vonage takes
        # its length; otherwise the dashboard's delivery receipt URL serves.
        callback = (sms.status_callback or "").split("?", 1)[0]
        if callback and len(callback) <= MAX_CALLBACK_LENGTH:
            data["callback"] = callback
        failure, response = self._post(f"{self._root(VONAGE_API_BASE_URL)}/sms/json", data)
        if failure:
            return failure
        payload = self._json(response)
        parts = payload.get("messages")
        if not response.ok or not isinstance(parts, list) or not parts or not isinstance(parts[0], dict):
            return SendResult("error", error_code=f"http_{response.status_code}", error_message=response.text[:200])
        refused = next((part for part in parts if not isinstance(part, dict) or part.get("status") != "0"), None)
        if refused is None:
            return SendResult("accepted", external_id=str(parts[0].get("message-id") or ""))
        refused = refused if isinstance(refused, dict) else {}
        status = str(refused.get("status") or "")
        message = str(refused.get("error-text") or "")
        if status in RETRY_SEND_STATUSES and refused is parts[0]:
            # No part was taken: sending again later sends the whole message once.
            return SendResult("retry", error_code=f"send-{status}", error_message=message)
        return SendResult("error", error_code=f"send-{status}", error_message=message)

    def _send_message(self, sms):
        """Messages API: one message, one ``message_uuid``; our id as ``client_ref``."""
        data = {
            "message_type": "text",
            "channel": "sms",
            "to": self._number(sms.to_number),
            "from": self._number(sms.from_number),
            "text": sms.body,
        }
        if sms.idempotency_key:
            data["client_ref"] = sms.idempotency_key
        failure, response = self._post(
            f"{self._root(VONAGE_MESSAGES_BASE_URL)}/v1/messages", None, auth=self._auth(), json=data
        )
        if failure:
            return failure
        payload = self._json(response)
        if response.ok and payload.get("message_uuid"):
            return SendResult("accepted", external_id=str(payload["message_uuid"]))
        code, message = self._problem(payload, response)
        return SendResult("error", error_code=code, error_message=message)

    def lookup(self, sms, since):
        """The Reports API's records of our outbound messages since the first
        attempt (synchronous): the one carrying our
        id as its client reference. An account whose key may not read reports
        cannot look up: the message is then sent again, as without a look-up."""
        end = self._lookup_end()
        # A call covers 24 hours at most: the last ones, for a resend asked days later.
        start = max(self._lookup_start(since), end - datetime.timedelta(hours=24))
        url = f"{self._root(VONAGE_MESSAGES_BASE_URL)}/v2/reports/records"
        params = {
            "account_id": self.config.account_sid,
            "product": "MESSAGES" if self.uses_messages_api else "SMS",
            "direction": "outbound",
            "date_start": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "date_end": end.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        for _page in range(LOOKUP_PAGES):
            payload, failure = self._lookup_get(url, params=params, auth=self._auth())
            if failure and failure.error_code in ("401", "403"):
                _logger.warning("Vonage: the API key may not read reports; a message is sent again after a timeout")
                return None
            if failure:
                return failure
            records = payload.get("records")
            if not isinstance(records, list):
                return SendResult("unknown", error_message="look-up failed: no record list")
            for record in records:
                if (
                    isinstance(record, dict)
                    and sms.idempotency_key
                    and record.get("client_ref") == sms.idempotency_key
                    and record.get("message_id")
                    and record["message_id"] not in sms.known_ids
                ):
                    return SendResult("accepted", external_id=str(record["message_id"]))
            links = payload.get("_links")
            next_link = links.get("next") if isinstance(links, dict) else None
            next_url = next_link.get("href") if isinstance(next_link, dict) else None
            if not isinstance(next_url, str) or not next_url.startswith(f"{self._root(VONAGE_MESSAGES_BASE_URL)}/"):
                break
            url, params = next_url, None
        return self._lookup_not_found(since)

    @staticmethod
    def _error_number(problem):
        """The Messages API's error number of a problem: the end of its ``type``
        (``.../messages#1240``) or its ``title``; "" when it gives none."""
        kind = str(problem.get("type") or "")
        for candidate in (kind.rsplit("#", 1)[-1] if "#" in kind else "", str(problem.get("title") or "")):
            if candidate.isascii() and candidate.isdecimal():
                return candidate
        return ""

    @classmethod
    def _problem(cls, payload, response):
        """(code, message) of a refusal: its error number, else the HTTP status."""
        code = cls._error_number(payload) or f"http_{response.status_code}"
        message = payload.get("detail") or payload.get("title") or payload.get("error-code-label")
        return code, str(message or response.text[:200])

    def check_credentials(self):
        """The account balance: free, and refused (401) on a wrong key or secret."""
        return self._check_get(
            f"{self._root(VONAGE_API_BASE_URL)}/account/get-balance",
            lambda payload: f"{self.config.account_sid}, balance {payload.get('value', '?')}",
            self._problem,
            auth=self._auth(),
        )

    # Inbound -------------------------------------------------------------

    def _media_auth_kwargs(self):
        """With Secure Inbound Media (the account has the application's id and
        private key), a Bearer JWT of the application, new for each request;
        otherwise nothing: a standard media URL needs no credentials."""
        if not (self.config.application_id and self.config.private_key):
            return {}
        token = application_jwt(self.config.application_id, self.config.private_key)
        return {"headers": {"Authorization": f"Bearer {token}"}}

    def body_formats(self):
        """The Messages API posts JSON; the SMS API a form or JSON, as the dashboard says."""
        return ("json",) if self.uses_messages_api else ("form", "json")

    def webhook_methods(self):
        """The SMS API's webhooks may also come as GET (the dashboard's "HTTP Method")."""
        return ("POST",) if self.uses_messages_api else ("GET", "POST")

    def verify_request(self, url, params, headers, raw_body):
        if self.uses_messages_api:
            return self._verify_jwt(headers, raw_body)
        return self._verify_sig(params)

    def _verify_sig(self, params, now=None):
        """``sig`` over the other parameters with the signature secret and method, and a
        ``timestamp`` within the replay window."""
        secret = self.config.signature_secret
        if not secret:
            return False
        try:
            values = _values(params)
        except InvalidPayload:
            return False
        signature = values.pop("sig", "")
        if not signature or not _fresh(values.get("timestamp"), now):
            return False
        try:
            expected = vonage_signature(secret, values, self.config.signature_method or "md5hash")
        except ValueError:
            return False
        # Some of Vonage's signers write upper-case hex.
        return hmac.compare_digest(expected.encode(), signature.lower().encode())

    def _verify_jwt(self, headers, raw_body, now=None):
        """A Bearer JWT signed with the signature secret, issued within the replay
        window, for this API key, whose ``payload_hash`` is the SHA-256 of the raw body."""
        scheme, _space, token = (headers.get("Authorization") or "").partition(" ")
        if scheme.lower() != "bearer":
            return False
        claims = vonage_jwt_claims(token.strip(), self.config.signature_secret)
        if not claims or not _fresh(claims.get("iat"), now):
            return False
        api_key = claims.get("api_key")
        if api_key and self.config.account_sid and api_key != self.config.account_sid:
            return False
        body_hash = hashlib.sha256(raw_body or b"").hexdigest()
        return hmac.compare_digest(body_hash.encode(), str(claims.get("payload_hash") or "").lower().encode())

    def parse_inbound(self, params):
        if self.uses_messages_api:
            return self._parse_message(params)
        values = _values(params)
        kind = values.get("type") or "text"
        if kind not in ("text", "unicode"):
            # A binary message (a ringtone, a WAP push): not a text to post.
            raise IgnoredEvent(f"inbound message of type {kind}")
        if "text" not in values:
            raise InvalidPayload("missing field text")
        inbound = InboundSms(
            external_id=self._required(values, "messageId"),
            from_number=e164_from_digits(self._required(values, "msisdn")),
            to_number=e164_from_digits(self._required(values, "to")),
            body=values["text"],
        )
        if values.get("concat") == "true":
            inbound.part_ref = self._required(values, "concat-ref")
            inbound.part_number = self._count(values, "concat-part")
            inbound.part_total = self._count(values, "concat-total")
            if inbound.part_number > inbound.part_total:
                raise InvalidPayload("concat-part is over concat-total")
        return inbound

    def _parse_message(self, params):
        """A Messages API inbound message: text on the SMS channel, and on the
        MMS channel a text or a file (image, vCard, audio, video) whose URL
        is in the object named after its type, with an optional caption."""
        if not isinstance(params, dict):
            raise InvalidPayload("the body is not a JSON object")
        channel, message_type = params.get("channel"), params.get("message_type")
        files = []
        if channel in ("sms", "mms") and message_type == "text":
            text = params.get("text")
        elif channel == "mms" and message_type in MMS_FILE_TYPES:
            file = params.get(message_type)
            if not isinstance(file, dict):
                raise InvalidPayload(f"missing field {message_type}")
            text = file.get("caption") or ""
            files = self._media_pairs([(file.get("url"), "")])
        else:
            raise IgnoredEvent(f"inbound {channel} message of type {message_type}")
        if not isinstance(text, str):
            raise InvalidPayload("missing field text")
        return InboundSms(
            external_id=self._required(params, "message_uuid"),
            from_number=e164_from_digits(self._required(params, "from")),
            to_number=e164_from_digits(self._required(params, "to")),
            body=text,
            num_media=len(files),
            media=files,
        )

    def parse_status(self, params):
        if self.uses_messages_api:
            return self._parse_message_status(params)
        values = _values(params)
        status = values.get("status")
        if status not in self.STATUS_TO_SMS_STATE:
            raise InvalidPayload(f"unknown message status {status!r}")
        error_code = values.get("err-code") or ""
        report = StatusReport(
            external_id=self._required(values, "messageId"),
            status=status,
            error_code="" if error_code == "0" else error_code,
        )
        self._set_client_ref(report, values.get("client-ref"))
        return report

    def _parse_message_status(self, params):
        if not isinstance(params, dict):
            raise InvalidPayload("the body is not a JSON object")
        if params.get("channel", "sms") != "sms":
            raise IgnoredEvent(f"status of a {params.get('channel')} message")
        status = params.get("status")
        if not isinstance(status, str) or status not in self.STATUS_TO_SMS_STATE:
            raise InvalidPayload(f"unknown message status {status!r}")
        error = _json_object(params, "error")
        report = StatusReport(
            external_id=self._required(params, "message_uuid"),
            status=status,
            error_code=self._error_number(error),
            error_message=str(error.get("detail") or ""),
        )
        self._set_client_ref(report, params.get("client_ref"))
        return report

    @staticmethod
    def _set_client_ref(report, client_ref):
        """Our id, when the signed report carries it back as its client reference."""
        if isinstance(client_ref, str) and SMS_UUID_RE.fullmatch(client_ref):
            report.sms_uuid = client_ref
            report.sms_uuid_signed = True

    @staticmethod
    def _required(values, key):
        value = values.get(key)
        if not isinstance(value, str) or not value:
            raise InvalidPayload(f"missing field {key}")
        return value

    @classmethod
    def _count(cls, values, key):
        value = cls._required(values, key)
        if not (value.isascii() and value.isdecimal() and 1 <= int(value) <= MAX_PARTS):
            raise InvalidPayload(f"{key} is not a part number")
        return int(value)
