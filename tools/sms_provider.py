"""Provider-independent protocol for SMS gateways.

Each provider is a plain Python class (no ORM) registered in ``PROVIDERS``. The
``sms.account`` model picks the class with ``_get_provider_api_class`` and
hands it a ``ProviderConfig``. Results are plain data classes that the models
turn into Odoo states.
"""

import dataclasses
import datetime
import re
import socket
import time
import urllib.parse

import requests
from urllib3.exceptions import NewConnectionError

from . import media

# How long to wait for a provider, in seconds: (connect, read).
DEFAULT_TIMEOUT = (5, 15)
# Files of one inbound message kept at most (Twilio's and Plivo's limit): more are not downloaded.
MAX_MEDIA = 10
# A media download: redirects followed at most, seconds it may last in all, bytes read at a time.
MEDIA_MAX_REDIRECTS = 3
MEDIA_DOWNLOAD_SECONDS = 60
MEDIA_CHUNK_BYTES = 64 * 1024
# A look-up searches the provider's records from this long before a message's first attempt
# (the provider's clock and ours may differ).
LOOKUP_CLOCK_SLACK = datetime.timedelta(minutes=1)

PROVIDERS = {}


def register_provider(code):
    def decorator(cls):
        PROVIDERS[code] = cls
        cls.code = code
        return cls

    return decorator


@dataclasses.dataclass
class ProviderConfig:
    """What a provider needs of an account: credentials and endpoints."""

    account_sid: str = ""
    auth_token: str = ""
    api_base_url: str = ""
    # Key checking the provider's webhook signatures, when it is not the auth token (Telnyx).
    public_key: str = ""
    # Secret shared with the provider to sign its webhooks, when it is not the auth token (Vonage).
    signature_secret: str = ""
    # How the provider signs its webhooks, when the account chooses it (Vonage's signature method).
    signature_method: str = ""
    # Which of the provider's APIs the account uses, when it offers several (Vonage: "sms" or "messages").
    api_variant: str = ""
    # An application of the provider and its private key (PEM), signing the JWTs some calls want
    # (Vonage's Secure Inbound Media); empty when the account has none.
    application_id: str = ""
    private_key: str = ""


@dataclasses.dataclass
class OutgoingSms:
    to_number: str
    from_number: str
    body: str
    status_callback: str = ""
    # Stable per message: lets a provider recognise a resend of the same message.
    idempotency_key: str = ""
    # For a look-up: the provider's ids of our other messages since this one's first attempt,
    # never to be taken for this one (a text sent twice to a customer, or a provider whose
    # records carry no text).
    known_ids: frozenset = frozenset()


@dataclasses.dataclass
class SendResult:
    """Outcome of one send request.

    ``status`` is one of:

    - ``accepted``: the provider took the message (``external_id`` is its id);
    - ``retry``: the provider surely did not take it (connection refused,
      throttled, server error): sending again is safe;
    - ``unknown``: the request may have reached the provider (read timeout):
      look the message up before sending it again;
    - ``error``: refused for good (``error_code`` and ``error_message`` say why).
    """

    status: str
    external_id: str = ""
    error_code: str = ""
    error_message: str = ""
    retry_after: int = 0

    @property
    def reached(self):
        """Whether the provider answered (accepted or refused), rather than not at all."""
        return self.status not in ("retry", "unknown")


@dataclasses.dataclass
class InboundSms:
    external_id: str
    from_number: str
    to_number: str
    body: str
    # Files the provider counted (some may lack a URL).
    num_media: int = 0
    # The files: [url, declared content type ("" when not given)] pairs, in the message's order.
    media: list = dataclasses.field(default_factory=list)
    # One part of a long message the provider delivers part by part (Vonage's SMS API): the
    # parts sharing ``part_ref`` (and sender, number and total) are posted as one message.
    part_ref: str = ""
    part_number: int = 0
    part_total: int = 0


@dataclasses.dataclass
class StatusReport:
    external_id: str
    status: str
    error_code: str = ""
    error_message: str = ""
    # Our own id of the message, from the status callback URL.
    sms_uuid: str = ""
    # Order of the provider's reports of one message, when it numbers them (Plivo): 0 otherwise.
    sequence: int = 0
    # Whether the provider signed ``sms_uuid`` (Vonage's client reference): the report then
    # applies to our message whichever part of a long message (with its own id) it is about.
    sms_uuid_signed: bool = False


@dataclasses.dataclass
class MediaDownload:
    """Outcome of one media download.

    ``status`` is one of:

    - ``ok``: ``content`` is the file, ``content_type`` what it really is;
    - ``retry``: the provider was not reached, or answered an error
      (``error_code`` is its HTTP status), or the account's credentials
      cannot be used as saved (``error_code`` ``credentials``, a private
      key that cannot be read): try again later;
    - ``refused``: never to be tried again; ``error_code`` says why: ``size``
      (over the limit), ``type`` (not allowed), ``mismatch`` (the bytes are
      not what the type says), ``address`` (not https, or a private address).
    """

    status: str
    content: bytes = b""
    content_type: str = ""
    error_code: str = ""
    error_message: str = ""


def utc(moment):
    """``moment`` as an aware UTC datetime (Odoo's datetimes are naive UTC)."""
    return moment.replace(tzinfo=datetime.UTC) if moment.tzinfo is None else moment.astimezone(datetime.UTC)


def utc_now():
    return datetime.datetime.now(datetime.UTC)


def parse_time(value):
    """An aware UTC datetime from an ISO 8601 text (offset, Z, or none for UTC), or None."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return utc(datetime.datetime.fromisoformat(value.strip().replace("Z", "+00:00")))
    except ValueError:
        return None


def same_number(first, second):
    """Whether two renderings of a phone number (with or without +) are the same number."""
    digits = [re.sub(r"\D", "", value) if isinstance(value, str) else "" for value in (first, second)]
    return bool(digits[0]) and digits[0] == digits[1]


def request_surely_not_sent(exc):
    """Whether a failed request never reached the provider: no connection
    could be made. A connection reset or a read timeout may come after the
    provider took the request."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    if isinstance(exc, requests.exceptions.ConnectionError) and not isinstance(exc, requests.exceptions.ReadTimeout):
        reason = exc.args[0] if exc.args else None
        reason = getattr(reason, "reason", reason)
        return isinstance(reason, NewConnectionError)
    return False


class InvalidPayload(ValueError):
    """The provider's request is malformed: answered with ``status``."""

    status = 400


class PayloadTooLarge(InvalidPayload):
    status = 413


class CredentialsError(ValueError):
    """The account's credentials cannot be used as saved (a private key that
    cannot be read): the message says why, without the secret."""


class IgnoredEvent(Exception):
    """A genuine provider call about something the addon does not follow
    (another event type): answered 200, nothing stored."""


class SmsProviderApi:
    """Base class of the providers. Subclasses fill the maps and methods."""

    code = None
    # Root of the provider's API, unless the account gives another one (tests, proxies).
    API_BASE_URL = ""
    # How the provider posts its webhooks: "form" (application/x-www-form-urlencoded or
    # multipart) or "json"; ``params`` are then a list of (key, value) pairs, or the JSON object.
    # ``body_formats`` gives those of an account, when its configuration decides.
    BODY_FORMAT = "form"
    # HTTP methods the provider calls the webhook with; a GET carries its parameters in the query
    # string (a list of (key, value) pairs). ``webhook_methods`` gives those of an account.
    WEBHOOK_METHODS = ("POST",)
    # Provider message status -> sms.sms state ('error' for failures).
    STATUS_TO_SMS_STATE = {}
    # Provider error code -> Odoo failure type of mail.notification / sms.sms.
    ERROR_TO_FAILURE_TYPE = {}
    # Error codes meaning that the customer opted out (number blacklisted).
    OPT_OUT_ERRORS = frozenset()
    # Whether resending with the same idempotency key can never duplicate.
    supports_idempotency = False
    # Whether the provider's media URLs want HTTP basic authentication (account id and token),
    # rather than being pre-signed; the hosts given the credentials (``_media_auth_kwargs``),
    # besides the API's own.
    MEDIA_BASIC_AUTH = False
    MEDIA_AUTH_HOSTS = frozenset()
    # Seconds after a message's first attempt during which a look-up finding nothing is not
    # trusted, when the provider's records of a message it took may come that late: the message
    # is then neither sent again nor given up, and looked up again at its next attempt.
    LOOKUP_SETTLE_SECONDS = 0

    def __init__(self, config, session=None):
        self.config = config
        self.session = session or requests.Session()

    # Outbound ------------------------------------------------------------

    def send(self, sms):
        """Send one ``OutgoingSms``; returns a ``SendResult``."""
        raise NotImplementedError()

    def check_credentials(self):
        """Call the provider's cheapest authenticated endpoint. Returns a
        ``SendResult``: ``accepted`` (credentials work; ``external_id`` names
        the provider's account), ``error`` (refused) or ``retry`` (not reached)."""
        raise NotImplementedError()

    def lookup(self, sms, since):
        """Find ``sms`` at the provider when an earlier attempt may have reached it.

        Returns a ``SendResult``: ``accepted`` when found, ``unknown`` when
        the look-up itself failed (try again later, do not send); ``None``
        when the provider surely has no such message (sending is safe).
        """
        return None

    def _lookup_get(self, url, **kwargs):
        """GET for a look-up: (the JSON object, None) when the provider answered
        it, else (None, an ``unknown`` result: try the look-up again later)."""
        try:
            response = self.session.get(url, timeout=DEFAULT_TIMEOUT, **kwargs)
        except requests.exceptions.RequestException as exc:
            return None, SendResult("unknown", error_message=f"look-up failed: {exc}")
        payload = self._json(response) if response.ok else None
        if payload is None:
            return None, SendResult("unknown", error_code=str(response.status_code), error_message="look-up failed")
        return payload, None

    def _lookup_not_found(self, since):
        """The outcome of a look-up that found nothing: None (sending again is
        safe), or ``unknown`` while the provider's records may still be coming."""
        if utc(since) + datetime.timedelta(seconds=self.LOOKUP_SETTLE_SECONDS) > utc_now():
            return SendResult("unknown", error_message="not in the provider's records yet")
        return None

    @staticmethod
    def _lookup_start(since):
        """The earliest time a look-up searches from (UTC)."""
        return utc(since) - LOOKUP_CLOCK_SLACK

    @staticmethod
    def _lookup_end():
        """The latest time a look-up searches to (UTC)."""
        return utc_now() + LOOKUP_CLOCK_SLACK

    def _base_url(self):
        return (self.config.api_base_url or self.API_BASE_URL).rstrip("/")

    def _post(self, url, data, auth=None, headers=None, json=None):
        """POST (a form, or ``json``) with a timeout, classifying transport failures."""
        return self._request("POST", url, data=data, json=json, auth=auth, headers=headers)

    def _request(self, method, url, **kwargs):
        """(failure, response): ``failure`` is a ``SendResult`` to retry (or to look
        up) when the provider was not reached or answered 429 or 5xx, else None."""
        try:
            response = self.session.request(method, url, timeout=DEFAULT_TIMEOUT, **kwargs)
        except requests.exceptions.RequestException as exc:
            status = "retry" if request_surely_not_sent(exc) else "unknown"
            return SendResult(status, error_message=str(exc)), None
        if response.status_code == 429 or response.status_code >= 500:
            retry_after = response.headers.get("Retry-After", "")
            return (
                SendResult(
                    "retry",
                    error_code=str(response.status_code),
                    # A streamed body is not read: it may be anything, of any size.
                    error_message=(response.reason or "") if kwargs.get("stream") else response.text[:200],
                    retry_after=min(int(retry_after), 3600) if retry_after.isascii() and retry_after.isdecimal() else 0,
                ),
                response,
            )
        return None, response

    @staticmethod
    def _json(response):
        """The JSON object of ``response``; {} for anything else."""
        try:
            payload = response.json()
        except ValueError:
            return {}
        return payload if isinstance(payload, dict) else {}

    def _check_get(self, url, account_name, error, **kwargs):
        """``check_credentials`` as most providers answer it: GET an authenticated
        resource; ``account_name(payload)`` names the account, ``error(payload,
        response)`` gives (code, message) of a refusal."""
        failure, response = self._request("GET", url, **kwargs)
        if failure:
            return failure
        payload = self._json(response)
        if response.ok:
            return SendResult("accepted", external_id=account_name(payload))
        code, message = error(payload, response)
        return SendResult("error", error_code=code, error_message=message)

    # Inbound -------------------------------------------------------------

    def _media_pairs(self, pairs):
        """``InboundSms.media`` of (url, content type) pairs read from a payload:
        the first ``MAX_MEDIA`` with an https or http URL, the others ignored."""
        kept = []
        for url, content_type in pairs:
            if isinstance(url, str) and url.lower().startswith(("https://", "http://")):
                kept.append([url, content_type if isinstance(content_type, str) else ""])
        return kept[:MAX_MEDIA]

    def _numbered_media(self, values, url_key, type_key):
        """``_media_pairs`` of numbered form fields (MediaUrl0, MediaContentType0, ...), by number."""
        numbered = []
        for key, url in values.items():
            suffix = key[len(url_key) :]
            if key.startswith(url_key) and 0 < len(suffix) <= 3 and suffix.isascii() and suffix.isdecimal():
                numbered.append((int(suffix), url, values.get(type_key + suffix)))
        return self._media_pairs((url, content_type) for _number, url, content_type in sorted(numbered))

    def download_media(self, url, max_bytes, allowed_types=media.ALLOWED_TYPES):
        """Fetch one file of an inbound message; returns a ``MediaDownload``.

        Every request has a timeout, and the whole download a deadline. The
        body is streamed and reading stops past ``max_bytes``. Only https URLs
        resolving to public addresses are fetched, redirects included (each
        followed by hand and checked), unless the account's API is itself on
        a local address (a test server). The account's credentials go to the
        provider's own hosts only, never to where they redirect: they are
        chosen again for each request. Credentials that cannot be used (a
        private key that cannot be read) make a ``retry`` with the reason.
        """
        deadline = time.monotonic() + MEDIA_DOWNLOAD_SECONDS
        for _hop in range(MEDIA_MAX_REDIRECTS + 1):
            refusal = self._check_media_address(url)
            if refusal:
                return refusal
            try:
                kwargs = self._media_request_kwargs(url)
            except CredentialsError as exc:
                return MediaDownload("retry", error_code="credentials", error_message=str(exc))
            failure, response = self._request("GET", url, stream=True, allow_redirects=False, **kwargs)
            if response is None:
                return MediaDownload("retry", error_code=failure.error_code, error_message=failure.error_message)
            with response:
                if response.is_redirect:
                    url = urllib.parse.urljoin(url, response.headers["Location"])
                    continue
                if not response.ok:
                    return MediaDownload(
                        "retry", error_code=str(response.status_code), error_message=response.reason or ""
                    )
                return self._read_media(response, max_bytes, allowed_types, deadline)
        return MediaDownload("refused", error_code="address", error_message="too many redirects")

    def _media_request_kwargs(self, url):
        """Arguments of the request fetching ``url``: the credentials
        (``_media_auth_kwargs``) when its host is one of the provider's own
        (``_media_auth_hosts``), none otherwise."""
        host = urllib.parse.urlsplit(url).hostname
        if not host or host not in self._media_auth_hosts():
            return {}
        return self._media_auth_kwargs()

    def _media_auth_hosts(self):
        """The hosts given the credentials of a media download: ``MEDIA_AUTH_HOSTS`` and the API's own."""
        return self.MEDIA_AUTH_HOSTS | {urllib.parse.urlsplit(self._base_url()).hostname}

    def _media_auth_kwargs(self):
        """Request arguments carrying the credentials of a media download on the
        provider's own hosts: HTTP basic authentication with the account id and
        token when ``MEDIA_BASIC_AUTH``, else none. Raises ``CredentialsError``
        when the credentials cannot be used as saved."""
        if not self.MEDIA_BASIC_AUTH:
            return {}
        return {"auth": (self.config.account_sid, self.config.auth_token)}

    def _check_media_address(self, url):
        """A refusing (or, when the host cannot be resolved, retrying)
        ``MediaDownload`` for a URL that is not to be fetched; None otherwise."""
        parts = urllib.parse.urlsplit(url)
        if not parts.hostname:
            return MediaDownload("refused", error_code="address", error_message=f"no host in {url!r}")
        if self._api_is_local():
            return None
        if parts.scheme != "https":
            return MediaDownload("refused", error_code="address", error_message=f"not an https URL: {url}")
        try:
            addresses = self._resolve_host(parts.hostname, parts.port or 443)
        except OSError as exc:
            return MediaDownload("retry", error_message=f"{parts.hostname} could not be resolved: {exc}")
        private = [address for address in addresses if not media.is_public_address(address)]
        if private or not addresses:
            return MediaDownload(
                "refused",
                error_code="address",
                error_message=f"{parts.hostname} resolves to a private address ({', '.join(private)})",
            )
        return None

    def _api_is_local(self):
        """Whether the account's API Base URL (not the provider's) is on this
        machine or a private network: a test server, whose media are local too."""
        host = urllib.parse.urlsplit(self.config.api_base_url or "").hostname
        if not host:
            return False
        try:
            addresses = self._resolve_host(host, 443)
        except OSError:
            return False
        return bool(addresses) and not any(media.is_public_address(address) for address in addresses)

    @staticmethod
    def _resolve_host(host, port):
        """The IP addresses ``host`` resolves to (raises OSError when it does not)."""
        return {info[4][0] for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)}

    def _read_media(self, response, max_bytes, allowed_types, deadline):
        """Read a streamed answer, stopping past ``max_bytes``, and check what it holds."""
        declared = media.mimetype(response.headers.get("Content-Type"))
        if declared not in media.GENERIC_TYPES and not media.is_allowed(declared, allowed_types):
            # Refused before its body is read.
            return MediaDownload("refused", error_code="type", error_message=declared)
        length = response.headers.get("Content-Length", "")
        if length.isascii() and length.isdecimal() and int(length) > max_bytes:
            return MediaDownload("refused", error_code="size", error_message=length)
        chunks, size = [], 0
        try:
            for chunk in response.iter_content(MEDIA_CHUNK_BYTES):
                size += len(chunk)
                if size > max_bytes:
                    return MediaDownload("refused", error_code="size", error_message=f"over {max_bytes}")
                if time.monotonic() > deadline:
                    return MediaDownload("retry", error_message=f"not downloaded in {MEDIA_DOWNLOAD_SECONDS} s")
                chunks.append(chunk)
        except requests.exceptions.RequestException as exc:
            return MediaDownload("retry", error_message=str(exc))
        return self._media_result(declared, b"".join(chunks), max_bytes, allowed_types)

    @staticmethod
    def _media_result(declared, data, max_bytes, allowed_types=media.ALLOWED_TYPES):
        """The ``MediaDownload`` of a file received whole: kept, or refused with the reason."""
        if len(data) > max_bytes:
            return MediaDownload("refused", error_code="size", error_message=str(len(data)))
        content_type, refusal = media.check_content(declared, data, allowed_types)
        if refusal:
            return MediaDownload("refused", error_code=refusal[0], error_message=refusal[1])
        return MediaDownload("ok", content=data, content_type=content_type)

    def body_formats(self):
        """Body formats ("form", "json") the provider posts with this configuration."""
        return (self.BODY_FORMAT,)

    def webhook_methods(self):
        """HTTP methods the provider calls the webhook with, with this configuration."""
        return self.WEBHOOK_METHODS

    def verify_request(self, url, params, headers, raw_body):
        """Whether the request really comes from the provider."""
        raise NotImplementedError()

    def replay_key(self, headers):
        """A value the provider never signs twice (a nonce), accepted once, for
        a signature that does not cover the whole request; None otherwise."""
        return None

    def parse_inbound(self, params):
        """Read an inbound message; raises ``InvalidPayload``, or ``IgnoredEvent``."""
        raise NotImplementedError()

    def parse_status(self, params):
        """Read a delivery report; raises ``InvalidPayload``."""
        raise NotImplementedError()

    def inbound_response(self):
        """(body, content type) the provider expects after an inbound message."""
        return "", "text/plain"

    # Mapping -------------------------------------------------------------

    def map_status(self, status):
        return self.STATUS_TO_SMS_STATE.get(status)

    def map_error(self, error_code):
        return self.ERROR_TO_FAILURE_TYPE.get(str(error_code or ""), "unknown")

    def is_opt_out(self, error_code):
        return str(error_code or "") in self.OPT_OUT_ERRORS
