"""Hostile input, generated: whatever a caller sends, every provider's parser
and signature check either reads it or refuses it with ``InvalidPayload``
(a 4xx), and the webhook route never answers 5xx nor stores a refused call.

The number of generated cases is modest in ``make test``; ``SMS_FUZZ_EXAMPLES``
(per parser test) and ``SMS_FUZZ_HTTP_EXAMPLES`` (calls through the route)
raise it (``make soak``)."""

import base64
import contextlib
import hmac
import os
from urllib.parse import urlencode

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from odoo.tests import tagged
from odoo.tools import mute_logger

from ..tools import keywords
from ..tools.phone import normalize_e164
from ..tools.sms_provider import PROVIDERS, IgnoredEvent, InvalidPayload, ProviderConfig
from ..tools.sms_simulator import simulator_signature
from .common import SmsWebhookCase

EXAMPLES = int(os.environ.get("SMS_FUZZ_EXAMPLES") or 300)
HTTP_EXAMPLES = int(os.environ.get("SMS_FUZZ_HTTP_EXAMPLES") or 100)
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,  # nothing written in the repository
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Field names the parsers look for, mixed with anything.
KNOWN_KEYS = [
    "MessageSid", "SmsSid", "From", "To", "Body", "NumMedia", "MessageStatus", "SmsStatus", "ErrorCode",
    "ErrorMessage", "MessageUUID", "Text", "Type", "Status", "Sequence", "Media0", "id", "from", "to",
    "body", "status", "num_media", "error_code", "data", "payload", "event_type",
    "MediaUrl0", "MediaContentType0", "MediaUrl1", "Media1", "MediaCount", "media0", "media_type0", "url",
    "content_type", "msisdn", "messageId", "text", "type", "concat", "concat-ref", "concat-part", "concat-total",
    "err-code", "client-ref", "sig", "timestamp", "message_uuid", "channel", "message_type", "client_ref", "error",
]  # fmt: skip
texts = st.one_of(
    st.text(max_size=40),
    st.text(max_size=5000),
    st.sampled_from(["", "0", "-1", "1e9", "+14155550123", "14155550123", "delivered", "failed", "\x00", "null"]),
)
keys = st.one_of(st.sampled_from(KNOWN_KEYS), st.text(max_size=20))
form_params = st.lists(st.tuples(keys, texts), max_size=20)
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), texts),
    lambda children: st.one_of(st.lists(children, max_size=5), st.dictionaries(keys, children, max_size=8)),
    max_leaves=30,
)
telnyx_like = st.fixed_dictionaries(
    {
        "data": st.fixed_dictionaries(
            {
                "event_type": st.sampled_from(["message.received", "message.sent", "message.finalized", "other"]),
                "payload": st.dictionaries(
                    st.sampled_from(["id", "from", "to", "text", "media", "errors"]), json_values, max_size=6
                ),
            }
        )
    }
)
headers = st.dictionaries(
    st.sampled_from(
        [
            "X-Twilio-Signature", "X-Simulator-Signature", "telnyx-signature-ed25519", "telnyx-timestamp",
            "X-Plivo-Signature-V2", "X-Plivo-Signature-V2-Nonce", "X-Plivo-Signature-V3", "X-Plivo-Signature-V3-Nonce",
            "Authorization",
        ]
    ),
    texts,
    max_size=4,
)  # fmt: skip
ACCEPTED = (InvalidPayload, IgnoredEvent)


def _configs():
    """Each provider's configurations: Vonage's SMS API and Messages API."""
    for variant in ("sms", "messages"):
        yield ProviderConfig(
            account_sid="AC0123",
            auth_token="token",
            public_key=base64.b64encode(b"k" * 32).decode(),
            signature_secret="secret",
            signature_method="sha256",
            api_variant=variant,
            api_base_url="",
        )


def _apis():
    return [api_class(config) for api_class in PROVIDERS.values() for config in _configs()]


@tagged("post_install", "-at_install")
class TestParsersFuzz(SmsWebhookCase):
    def _parse(self, api, params):
        for parse in (api.parse_inbound, api.parse_status):
            with contextlib.suppress(*ACCEPTED):
                parse(params)

    @FUZZ
    @given(params=form_params)
    def test_form_providers_read_or_refuse_anything(self, params):
        for api in _apis():
            if "form" in api.body_formats():
                self._parse(api, params)

    @FUZZ
    @given(params=st.one_of(json_values, telnyx_like))
    def test_json_providers_read_or_refuse_anything(self, params):
        for api in _apis():
            if "json" in api.body_formats():
                self._parse(api, params if isinstance(params, dict) else {"data": params})

    @FUZZ
    @given(url=texts, params=form_params, headers=headers, raw_body=st.binary(max_size=2000))
    def test_signature_checks_answer_yes_or_no(self, url, params, headers, raw_body):
        for api in _apis():
            self.assertIn(api.verify_request(url, params, headers, raw_body), (True, False))
            api.replay_key(headers)

    @FUZZ
    @given(text=st.text(max_size=300))
    def test_keywords_and_numbers_take_anything(self, text):
        keywords.classify(text, keywords.keyword_sets())
        keywords.parse_keywords(text)
        self.assertIn(type(normalize_e164(text, "US")), (str, bool, type(None)))


@tagged("post_install", "-at_install")
class TestWebhookFuzz(SmsWebhookCase):
    """Through the real route: signed and unsigned calls, any content type and body."""

    CONTENT_TYPES = [
        "application/x-www-form-urlencoded",
        "application/json",
        "multipart/form-data; boundary=x",
        "text/plain",
        "",
    ]

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.simulator.simulator_secret = "fuzz-secret"

    def _post(self, kind, body, content_type, sign):
        path = self._webhook_path(self.simulator, kind)
        headers = {"Content-Type": content_type} if content_type else {}
        if sign:
            headers["X-Simulator-Signature"] = simulator_signature(
                "fuzz-secret", self._signed_url(self.simulator, path), body
            )
        return self.url_open(path, data=body, headers=headers)

    @mute_logger("odoo.addons.crm_sms_conversation.controllers.main", "odoo.http", "werkzeug")
    @settings(FUZZ, max_examples=HTTP_EXAMPLES)
    @given(
        kind=st.sampled_from(["inbound", "status"]),
        body=st.one_of(
            form_params.map(lambda params: urlencode(params).encode()),
            st.binary(max_size=3000),
            json_values.map(lambda value: repr(value).encode()),
        ),
        content_type=st.sampled_from(CONTENT_TYPES),
        sign=st.booleans(),
    )
    def test_no_5xx_and_nothing_stored_when_refused(self, kind, body, content_type, sign):
        Event = self.env["sms.event"].sudo()
        before = Event.search_count([])
        response = self._post(kind, body, content_type, sign)
        self.assertLess(response.status_code, 500, response.text[:200])
        if response.status_code != 200:
            self.assertEqual(Event.search_count([]), before, "a refused call stores nothing")
        if not sign:
            self.assertNotEqual(response.status_code, 200, "an unsigned call is never accepted")

    def test_forged_signature_of_the_right_length(self):
        """A forged signature, even of the right shape, is refused."""
        path = self._webhook_path(self.simulator, "inbound")
        body = urlencode({"id": "x", "from": "+14155550123", "to": "+14155550300", "body": "hi"}).encode()
        forged = hmac.new(b"wrong", body, "sha256").hexdigest()
        headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Simulator-Signature": forged}
        with mute_logger("odoo.addons.crm_sms_conversation.controllers.main"):
            self.assertEqual(self.url_open(path, data=body, headers=headers).status_code, 403)
