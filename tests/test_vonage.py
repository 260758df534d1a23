"""Vonage: the SMS API's ``sig`` and the Messages API's JWT against the vectors of
Vonage's SDKs, Vonage's documented payloads, long inbound messages put back
together, and whole inbound -> reply -> delivery receipt cycles through the
real route, for the SMS API (form, JSON and GET) and for the Messages API."""

import hashlib
import json
import time
import uuid
from datetime import timedelta
from urllib.parse import urlencode

import jwt
import requests

from odoo import fields
from odoo.tests import BaseCase, tagged
from odoo.tools import mute_logger

from ..models.sms_event import PART_WAIT_MINUTES
from ..tools.sms_provider import IgnoredEvent, InvalidPayload, OutgoingSms, ProviderConfig
from ..tools.sms_vonage import VonageApi, is_gsm7, vonage_jwt_claims, vonage_signature
from .common import FakeResponse, SmsWebhookCase, patch_now

CONTROLLER_LOGGER = "odoo.addons.crm_sms_conversation.controllers.main"
API_KEY = "abcd1234"
API_SECRET = "vonage-test-api-secret"
SIGNATURE_SECRET = "vonage-test-signature-secret-0123"
OUR_NUMBER = "+14155550600"

# Vonage/vonage-python-sdk, http_client/tests/test_auth.py (secret "signature_secret").
SDK_AUTH_VECTORS = [
    ({"param1": "value1", "param2": "value2", "timestamp": 1234567890}, "sha256",
     "280c4320703dbc98bfa22db676655ed2acfbfe8792b062ff7622e67f1183c287"),
    ({"param1": "value1", "param2": "value2", "timestamp": 1234567890}, "md5", "724c2bf6ca423c36e20631b11d1c5753"),
    ({"param1": "value&1", "param2": "value=2", "timestamp": 1234567890}, "md5", "2bbf0abafb2c55e5af6231513896a2ac"),
    ({"param": "value", "timestamp": 1234567890}, "md5", "655a4d0b7f064dff438defc52b012cf5"),
]  # fmt: skip
# vonage-python-sdk 3.x, tests/test_signature.py (secret "secret", params a=1, b=2, timestamp=1461605396).
SDK_METHOD_VECTORS = {
    "md5hash": "6af838ef94998832dbfc29020b564830",
    "md5": "c15c21ced558c93a226c305f58f902f2",
    "sha1": "3e19a4e6880fdc2c1426bfd0587c98b9532f0210",
    "sha256": "a321e824b9b816be7c3f28859a31749a098713d39f613c80d455bbaffae1cd24",
    "sha512": (
        "812a18f76680fa0fe1b8bd9ee1625466ceb1bd96242e4d050d2cfd9a7b40166c63ed26ec9702168781b6edcf1633db8ff95af9341701004eec3fcf9550572ee8"
    ),
}
# vonage-python-sdk, jwt/tests/test_verify_jwt.py.
SDK_JWT_SECRET = "qwertyuiopasdfghjklzxcvbnm123456"
SDK_JWT = (
    "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJPbmxpbmUgSldUIEJ1aWxkZXIiLCJpYXQiOjE2OTc2MzQ2ODAsImV4cCI6MzMy"
    "NTQ1NDA4MjgsImF1ZCI6IiIsInN1YiI6IiJ9.88vJc3I2HhuqEDixHXVhc9R30tA6U_HQHZTC29y6CGM"
)

# Vonage's SMS API reference (the InboundMessage example values): part 2 of a long message.
DOC_INBOUND = {
    "api-key": "abcd1234",
    "msisdn": "447700900001",
    "to": "447700900000",
    "messageId": "0A0000000123ABCD1",
    "text": "Hello world",
    "type": "text",
    "keyword": "HELLO",
    "message-timestamp": "2020-01-01 12:00:00",
    "timestamp": "1578787200",
    "nonce": "aaaaaaaa-bbbb-cccc-dddd-0123456789ab",
    "concat": "true",
    "concat-ref": "1",
    "concat-total": "3",
    "concat-part": "2",
}
# https://developer.vonage.com/en/messaging/sms/guides/delivery-receipts ("a typical DLR").
DOC_DLR = {
    "err-code": "0",
    "message-timestamp": "2018-10-25 12:10:29",
    "messageId": "0B00000127FDBC63",
    "msisdn": "447547232824",
    "network-code": "23410",
    "price": "0.03330000",
    "scts": "1810251310",
    "status": "delivered",
    "to": "Vonage",
}
# https://developer.vonage.com/en/opt-out-assist/guides/messaging-opted-out-numbers (SMS API).
DOC_OPT_OUT_DLR = {
    "msisdn": "447700900000",
    "to": "AcmeInc",
    "network-code": "12345",
    "messageId": "aaaaaaaa-bbbb-cccc-dddd-0123456789ab",
    "price": "0.00000000",
    "status": "failed",
    "scts": "2001011400",
    "err-code": "9",
    "api-key": "abcd1234",
    "message-timestamp": "2020-01-01 12:00:00",
}
# https://developer.vonage.com/en/messaging/sms/guides/troubleshooting-sms (a send's answer).
DOC_SEND_ANSWER = {
    "message-count": "1",
    "messages": [
        {
            "to": "447700900000",
            "message-id": "0C000000217B7F02",
            "status": "0",
            "remaining-balance": "15.53590000",
            "message-price": "0.03330000",
            "network": "23410",
        }
    ],
}
# https://developer.vonage.com/en/messages/concepts/messages-status-callbacks (the SMS example).
DOC_MESSAGE_STATUS = {
    "message_uuid": "aaaaaaaa-bbbb-cccc-dddd-0123456789ab",
    "to": "447700900000",
    "from": "447700900001",
    "timestamp": "2023-05-01T14:00:00.000Z",
    "status": "submitted",
    "usage": {"currency": "EUR", "price": "0.0333"},
    "channel": "sms",
}
# The Messages API's inbound SMS, with the example values of its reference.
DOC_MESSAGE_INBOUND = {
    "channel": "sms",
    "message_uuid": "aaaaaaaa-bbbb-cccc-dddd-0123456789ab",
    "to": "447700900000",
    "from": "447700900001",
    "timestamp": "2020-01-01T14:00:00.000Z",
    "text": "Hello From Vonage!",
    "sms": {"num_messages": "2"},
    "usage": {"currency": "EUR", "price": "0.0333"},
    "message_type": "text",
}


def sign(params, method="sha256", secret=SIGNATURE_SECRET, timestamp=None):
    """``params`` signed as Vonage signs a webhook: a timestamp, a nonce, then ``sig``
    (upper-case hex, as in Vonage's delivery receipt example)."""
    values = dict(params, timestamp=str(int(time.time()) if timestamp is None else timestamp), nonce=str(uuid.uuid4()))
    values["sig"] = vonage_signature(secret, values, method).upper()
    return values


def bearer(raw_body, secret=SIGNATURE_SECRET, iat=None, **claims):
    """The Authorization header of a Messages API webhook (claims as in Vonage's sample signed JWT)."""
    payload = {
        "iat": int(time.time()) if iat is None else iat,
        "jti": str(uuid.uuid4()),
        "iss": "Vonage",
        "payload_hash": hashlib.sha256(raw_body).hexdigest(),
        "api_key": API_KEY,
        "application_id": "aaaaaaaa-bbbb-cccc-dddd-0123456789ab",
        **claims,
    }
    return f"Bearer {jwt.encode(payload, secret, algorithm='HS256')}"


def sms_config(**values):
    return ProviderConfig(
        **{
            "account_sid": API_KEY,
            "auth_token": API_SECRET,
            "signature_secret": SIGNATURE_SECRET,
            "signature_method": "sha256",
            "api_variant": "sms",
            **values,
        }
    )


class VonageCase(SmsWebhookCase):
    def mock_vonage(self, responses=None):
        """The SMS API (and the account's balance): each text accepted in one part."""
        return self.mock_provider_api(
            "https://rest.nexmo.com/",
            responses,
            lambda count: FakeResponse(
                200,
                {"message-count": "1", "messages": [{"to": "x", "message-id": f"0C{count:014X}", "status": "0"}]},
            ),
        )

    def mock_vonage_messages(self, responses=None):
        """The Messages API: each message accepted (202) with its message_uuid."""
        return self.mock_provider_api(
            "https://api.nexmo.com/",
            responses,
            lambda count: FakeResponse(202, {"message_uuid": f"00000000-0000-4000-8000-{count:012d}"}),
        )


@tagged("post_install", "-at_install")
class TestVonageSignatures(BaseCase):
    def test_sdk_signature_vectors(self):
        for params, method, expected in SDK_AUTH_VECTORS:
            with self.subTest(params=params, method=method):
                self.assertEqual(vonage_signature("signature_secret", params, method), expected)
        params = {"a": "1", "b": "2", "timestamp": "1461605396"}
        for method, expected in SDK_METHOD_VECTORS.items():
            with self.subTest(method=method):
                self.assertEqual(vonage_signature("secret", params, method), expected)

    def test_sig_check_and_replay_window(self):
        """The vectors' old timestamps pass the signature, not the check of a call: that needs a fresh one."""
        api = VonageApi(sms_config(signature_secret="secret", signature_method="md5hash"))
        old = {"a": "1", "b": "2", "timestamp": "1461605396", "sig": SDK_METHOD_VECTORS["md5hash"]}
        self.assertFalse(api.verify_request("", list(old.items()), {}, b""), "a 2016 timestamp is a replay")
        fresh = sign({"a": "1", "b": "2"}, method="md5hash", secret="secret")
        self.assertTrue(api.verify_request("", list(fresh.items()), {}, b""))
        self.assertTrue(api.verify_request("", dict(fresh), {}, b""), "JSON bodies are signed alike")
        self.assertTrue(api.verify_request("", dict(fresh, sig=fresh["sig"].lower()), {}, b""), "case-insensitive")
        stale = sign({"a": "1"}, method="md5hash", secret="secret", timestamp=int(time.time()) - 301)
        for case, params in {
            "stale": stale,
            "forged value": dict(fresh, a="2"),
            "no timestamp": {key: value for key, value in fresh.items() if key != "timestamp"},
            "no sig": {key: value for key, value in fresh.items() if key != "sig"},
            "other method": sign({"a": "1"}, method="sha1", secret="secret"),
        }.items():
            with self.subTest(case=case):
                self.assertFalse(api.verify_request("", list(params.items()), {}, b""))
        self.assertFalse(api.verify_request("", [*fresh.items(), ("a", "3")], {}, b""), "a repeated field")

    def test_jwt_vector_and_checks(self):
        claims = vonage_jwt_claims(SDK_JWT, SDK_JWT_SECRET)
        self.assertEqual((claims["iss"], claims["iat"]), ("Online JWT Builder", 1697634680))
        self.assertIsNone(vonage_jwt_claims(SDK_JWT, "another-secret-of-thirty-two-b!!"))
        self.assertIsNone(vonage_jwt_claims(SDK_JWT[:-2] + "xx", SDK_JWT_SECRET), "signature changed")
        expired = jwt.encode({"iat": 1, "exp": 2}, SDK_JWT_SECRET, algorithm="HS256")
        self.assertIsNone(vonage_jwt_claims(expired, SDK_JWT_SECRET))
        unsigned = jwt.encode({"iat": int(time.time())}, None, algorithm="none")
        self.assertIsNone(vonage_jwt_claims(unsigned, SDK_JWT_SECRET), "alg none")

        api = VonageApi(sms_config(api_variant="messages"))
        body = json.dumps(DOC_MESSAGE_INBOUND).encode()
        self.assertTrue(api.verify_request("", {}, {"Authorization": bearer(body)}, body))
        ahead = bearer(body, iat=int(time.time()) + 60)
        self.assertTrue(api.verify_request("", {}, {"Authorization": ahead}, body), "Vonage's clock a minute ahead")
        for case, header in {
            "other body": bearer(b"{}"),
            "other secret": bearer(body, secret="another-secret-of-thirty-two-b!!"),
            "issued 6 minutes ago": bearer(body, iat=int(time.time()) - 360),
            "other API key": bearer(body, api_key="zzzz9999"),
            "no bearer": "Basic " + bearer(body).split(" ", 1)[1],
        }.items():
            with self.subTest(case=case):
                self.assertFalse(api.verify_request("", {}, {"Authorization": header}, body))
        self.assertFalse(api.verify_request("", {}, {}, body))

    def test_gsm7_or_unicode(self):
        self.assertTrue(is_gsm7("Hola, ¿qué tal? 10€ {ok} ñ"))
        self.assertFalse(is_gsm7("Olá, ç"), "ç is not in GSM 03.38 (Ç is)")
        self.assertFalse(is_gsm7("👍"))


@tagged("post_install", "-at_install")
class TestVonageTools(VonageCase):
    def test_parse_documented_payloads(self):
        api = VonageApi(sms_config())
        inbound = api.parse_inbound(list(DOC_INBOUND.items()))
        self.assertEqual(
            (inbound.external_id, inbound.from_number, inbound.to_number, inbound.body),
            ("0A0000000123ABCD1", "+447700900001", "+447700900000", "Hello world"),
        )
        self.assertEqual((inbound.part_ref, inbound.part_number, inbound.part_total), ("1", 2, 3))
        report = api.parse_status(DOC_DLR)
        self.assertEqual((report.external_id, report.status, report.error_code), ("0B00000127FDBC63", "delivered", ""))
        self.assertEqual(api.map_status(report.status), "sent")
        opted_out = api.parse_status(list(DOC_OPT_OUT_DLR.items()))
        self.assertEqual((api.map_status(opted_out.status), opted_out.error_code), ("error", "9"))
        self.assertTrue(api.is_opt_out(opted_out.error_code))
        self.assertEqual(api.map_error("9"), "sms_optout")
        self.assertEqual((api.map_error("7"), api.map_error("send-7")), ("sms_not_delivered", "sms_not_allowed"))
        with self.assertRaises(IgnoredEvent):
            api.parse_inbound(dict(DOC_INBOUND, type="binary"))
        for bad in (
            dict(DOC_INBOUND, **{"concat-part": "4"}),
            dict(DOC_INBOUND, **{"concat-total": "0"}),
            {key: value for key, value in DOC_INBOUND.items() if key != "msisdn"},
            dict(DOC_INBOUND, text=["a list"]),
        ):
            with self.subTest(bad=bad), self.assertRaises(InvalidPayload):
                api.parse_inbound(bad)
        with self.assertRaises(InvalidPayload):
            api.parse_status(dict(DOC_DLR, status="exploded"))

        messages = VonageApi(sms_config(api_variant="messages"))
        inbound = messages.parse_inbound(DOC_MESSAGE_INBOUND)
        self.assertEqual(
            (inbound.external_id, inbound.from_number, inbound.to_number, inbound.body, inbound.part_total),
            ("aaaaaaaa-bbbb-cccc-dddd-0123456789ab", "+447700900001", "+447700900000", "Hello From Vonage!", 0),
        )
        status = messages.parse_status(DOC_MESSAGE_STATUS)
        self.assertEqual((messages.map_status(status.status), status.sms_uuid), ("pending", ""))
        rejected = messages.parse_status(
            dict(
                DOC_MESSAGE_STATUS,
                status="rejected",
                client_ref="0123456789abcdef0123456789abcdef",
                error={
                    "type": "https://developer.vonage.com/api-errors/messages#1240",
                    "title": "1240",
                    "detail": "Illegal Number",
                },
            )
        )
        self.assertEqual(
            (rejected.error_code, rejected.sms_uuid, rejected.sms_uuid_signed),
            ("1240", "0123456789abcdef0123456789abcdef", True),
        )
        self.assertTrue(messages.is_opt_out(rejected.error_code))
        with self.assertRaises(IgnoredEvent):
            messages.parse_inbound(dict(DOC_MESSAGE_INBOUND, channel="whatsapp"))
        # A picture on the MMS channel: its URL in the object named after its type, its caption as the text.
        picture = messages.parse_inbound(
            dict(
                DOC_MESSAGE_INBOUND,
                channel="mms",
                message_type="image",
                image={"url": "https://api.nexmo.com/v3/media/0b5ad4a1", "caption": "Our front door"},
            )
        )
        self.assertEqual(
            (picture.body, picture.num_media, picture.media),
            ("Our front door", 1, [["https://api.nexmo.com/v3/media/0b5ad4a1", ""]]),
        )
        with self.assertRaises(InvalidPayload):
            messages.parse_inbound(dict(DOC_MESSAGE_INBOUND, channel="mms", message_type="image"))

    def test_lookup_by_client_ref_in_the_reports(self):
        """The Reports API's records of our outbound messages, searched for our id (client_ref)."""
        key = "0123456789abcdef0123456789abcdef"
        outgoing = OutgoingSms("+14155550123", OUR_NUMBER, "Hello", idempotency_key=key, known_ids=frozenset({"OLD"}))
        since = fields.Datetime.now() - timedelta(seconds=40)
        first_page = {
            "records": [{"message_id": "OTHER", "client_ref": "f" * 32}, {"message_id": "OLD", "client_ref": key}],
            "_links": {"next": {"href": "https://api.nexmo.com/v2/reports/records?cursor=2"}},
        }
        second_page = {"records": [{"message_id": "0C000000000000AA", "client_ref": key, "to": "14155550123"}]}
        for api, product in (
            (VonageApi(sms_config()), "SMS"),
            (VonageApi(sms_config(api_variant="messages")), "MESSAGES"),
        ):
            with self.subTest(product=product):
                with self.mock_vonage_messages(
                    [FakeResponse(200, first_page), FakeResponse(200, second_page)]
                ) as calls:
                    result = api.lookup(outgoing, since)
                self.assertEqual((result.status, result.external_id), ("accepted", "0C000000000000AA"))
                query = calls[0]["query"]
                self.assertEqual(
                    (query["account_id"], query["product"], query["direction"]), (API_KEY, product, "outbound")
                )
                self.assertEqual(query["date_start"], (since - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ"))
                self.assertTrue(calls[0]["auth"].startswith("Basic "))
                self.assertEqual(calls[1]["query"], {"cursor": "2"})
        api = VonageApi(sms_config())
        with self.mock_vonage_messages([FakeResponse(200, {"records": []})]):
            self.assertEqual(api.lookup(outgoing, since).status, "unknown", "reports come late: not trusted yet")
        with self.mock_vonage_messages([FakeResponse(200, {"records": []})]):
            self.assertIsNone(api.lookup(outgoing, fields.Datetime.now() - timedelta(minutes=6)))
        with self.mock_vonage_messages([FakeResponse(500)]):
            self.assertEqual(api.lookup(outgoing, since).status, "unknown")
        with (
            mute_logger("odoo.addons.crm_sms_conversation.tools.sms_vonage"),
            self.mock_vonage_messages([FakeResponse(403, {"title": "Forbidden"})]),
        ):
            self.assertIsNone(api.lookup(outgoing, since), "a key that may not read reports: sent again")

    def test_sms_api_send(self):
        api = VonageApi(sms_config())
        with self.mock_vonage([FakeResponse(200, DOC_SEND_ANSWER)]) as calls:
            result = api.send(
                OutgoingSms("+14155550123", OUR_NUMBER, "Hello", status_callback="https://x.example/s?sms_uuid=1",
                            idempotency_key="0123456789abcdef0123456789abcdef")
            )  # fmt: skip
        self.assertEqual((result.status, result.external_id), ("accepted", "0C000000217B7F02"))
        self.assertEqual(calls[0]["url"], "https://rest.nexmo.com/sms/json")
        self.assertEqual(
            calls[0]["data"],
            {
                "api_key": API_KEY,
                "api_secret": API_SECRET,
                "from": "14155550600",
                "to": "14155550123",
                "text": "Hello",
                "type": "text",
                "client-ref": "0123456789abcdef0123456789abcdef",
                "callback": "https://x.example/s",
            },
        )
        self.assertEqual(calls[0]["timeout"], (5, 15))
        long_callback = "https://crm.example.com/" + "x" * 100
        two_parts = {
            "message-count": "2",
            "messages": [{"message-id": "PART1", "status": "0"}, {"message-id": "PART2", "status": "0"}],
        }
        with self.mock_vonage([FakeResponse(200, two_parts)]) as calls:
            result = api.send(OutgoingSms("+14155550123", OUR_NUMBER, "Olá 👋 " * 20, status_callback=long_callback))
        self.assertEqual(result.external_id, "PART1", "the first part names the message")
        self.assertEqual(calls[0]["data"]["type"], "unicode")
        self.assertNotIn("callback", calls[0]["data"], "over Vonage's 100 characters: the dashboard's URL serves")
        for answer, expected in (
            ({"messages": [{"status": "1", "error-text": "Throughput Rate Exceeded"}]}, ("retry", "send-1")),
            ({"messages": [{"status": "29", "error-text": "Non-Whitelisted Destination"}]}, ("error", "send-29")),
            ({"messages": [{"message-id": "P1", "status": "0"}, {"status": "1"}]}, ("error", "send-1")),
        ):
            with self.subTest(answer=answer), self.mock_vonage([FakeResponse(200, answer)]):
                result = api.send(OutgoingSms("+14155550123", OUR_NUMBER, "Hello"))
                self.assertEqual((result.status, result.error_code), expected)
        self.assertEqual(api.map_error("send-29"), "sms_acc")

    def test_messages_api_send_and_credentials(self):
        api = VonageApi(sms_config(api_variant="messages"))
        with self.mock_vonage_messages() as calls:
            result = api.send(OutgoingSms("+14155550123", OUR_NUMBER, "Hello", idempotency_key="f" * 32))
        self.assertEqual((result.status, result.external_id), ("accepted", "00000000-0000-4000-8000-000000000001"))
        self.assertEqual(calls[0]["url"], "https://api.nexmo.com/v1/messages")
        self.assertEqual(
            calls[0]["json"],
            {
                "message_type": "text",
                "channel": "sms",
                "to": "14155550123",
                "from": "14155550600",
                "text": "Hello",
                "client_ref": "f" * 32,
            },
        )
        self.assertTrue(calls[0]["auth"].startswith("Basic "))
        unauthorized = FakeResponse(
            401, {"type": "https://developer.nexmo.com/api-errors#unauthorized", "title": "Unauthorized"}
        )
        with self.mock_vonage_messages([unauthorized]):
            result = api.send(OutgoingSms("+14155550123", OUR_NUMBER, "Hello"))
        self.assertEqual(
            (result.status, result.error_code, api.map_error(result.error_code)), ("error", "http_401", "sms_acc")
        )

        with self.mock_vonage([FakeResponse(200, {"value": 10.28, "autoReload": False})]) as calls:
            self.assertEqual(api.check_credentials().status, "accepted")
        self.assertEqual(calls[0]["url"], "https://rest.nexmo.com/account/get-balance")
        refused = FakeResponse(401, {"error-code": "401", "error-code-label": "authentication failed"})
        with self.mock_vonage([refused]):
            result = api.check_credentials()
        self.assertEqual(
            (result.status, result.error_code, result.error_message), ("error", "http_401", "authentication failed")
        )


class VonageCycleCase(VonageCase):
    API = "sms"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.vonage = cls.env["sms.account"].create(
            {
                "name": "Vonage",
                "provider": "vonage",
                "vonage_api": cls.API,
                "vonage_api_key": API_KEY,
                "vonage_api_secret": API_SECRET,
                "vonage_signature_secret": SIGNATURE_SECRET,
                "vonage_signature_method": "sha256",
                "webhook_base_url": cls.env.company.get_base_url(),
            }
        )
        cls.vonage_number = cls.env["sms.number"].create(
            {"number": OUR_NUMBER, "account_id": cls.vonage.id, "user_ids": [(6, 0, cls.user_seller_a.ids)]}
        )
        cls.account.active = False  # the company sends through Vonage
        cls.env.registry.clear_cache()
        cls.partner = cls._partner("Vonage Customer", phone=cls.customer_number, user_id=cls.user_seller_a.id)

    def _events(self):
        self.env.invalidate_all()
        return self.env["sms.event"].sudo().search([("account_id", "=", self.vonage.id)])

    def _inbound_messages(self):
        return self.env["mail.message"].search(
            [("model", "=", "res.partner"), ("res_id", "=", self.partner.id), ("sms_direction", "=", "inbound")]
        )

    def _reply(self, body):
        """Seller A answers from the Vonage number, through the queue; returns the chatter message."""
        reply = (
            self.env["sms.conversation"]
            .with_user(self.user_seller_a)
            .send_message("res.partner", self.partner.id, self.customer_number, self.vonage_number.id, body)
        )
        self._process_queue()
        return self.env["mail.message"].browse(reply["message"]["id"])


@tagged("post_install", "-at_install")
class TestVonageSmsCycle(VonageCycleCase):
    def _call(self, kind, params, how="form", signed=True, **sign_kwargs):
        """A call of the SMS API as the dashboard's HTTP Method says: a POSTed form, POST-JSON or GET."""
        values = sign(params, **sign_kwargs) if signed else dict(params)
        path = self._webhook_path(self.vonage, kind)
        if how == "get":
            return self.url_open(f"{path}?{urlencode(values)}")
        if how == "json":
            return self.url_open(path, data=json.dumps(values), headers={"Content-Type": "application/json"})
        return self.url_open(path, data=values)

    def _inbound(self, text, message_id=None, **concat):
        params = {
            "msisdn": self.customer_number[1:],
            "to": OUR_NUMBER[1:],
            "messageId": message_id or uuid.uuid4().hex[:16].upper(),
            "text": text,
            "type": "text",
            "keyword": text.split(" ")[0].upper(),
            "message-timestamp": fields.Datetime.now().strftime("%Y-%m-%d %H:%M:%S"),
            "api-key": API_KEY,
        }
        if concat:
            params.update({"concat": "true", **{f"concat-{key}": str(value) for key, value in concat.items()}})
        return params

    def _receipt(self, message_id, client_ref, status="delivered", err_code="0"):
        return {
            "msisdn": self.customer_number[1:],
            "to": OUR_NUMBER[1:],
            "network-code": "310260",
            "messageId": message_id,
            "price": "0.00790000",
            "status": status,
            "scts": "2612011400",
            "err-code": err_code,
            "api-key": API_KEY,
            "client-ref": client_ref,
            "message-timestamp": "2026-12-01 14:00:00",
        }

    def test_read_timeout_is_looked_up_not_resent(self):
        reply = (
            self.env["sms.conversation"]
            .with_user(self.user_seller_a)
            .send_message("res.partner", self.partner.id, self.customer_number, self.vonage_number.id, "Noted")
        )
        sms = self.env["sms.sms"].sudo().search([("mail_message_id", "=", reply["message"]["id"])])
        record = {"message_id": "0C00000000000ABC", "client_ref": sms.uuid, "to": self.customer_number[1:]}
        with (
            self.mock_vonage([requests.exceptions.ReadTimeout("read timed out")]) as sent,
            self.mock_vonage_messages([FakeResponse(200, {"records": [record]})]) as looked_up,
        ):
            self._process_queue()
            self._process_queue(at=self._later(31))
        self.assertEqual(len(sent), 1, "found in the reports: not sent twice")
        self.assertEqual(len(looked_up), 1)
        notification = self._notifications(self.env["mail.message"].browse(reply["message"]["id"]))
        self.assertEqual(notification.notification_status, "pending")
        self.assertEqual(notification.sms_tracker_ids.provider_message_id, "0C00000000000ABC")

    def test_inbound_reply_and_delivery_receipts(self):
        self.assertEqual(self._call("inbound", self._inbound("Do you deliver to Lugo?")).status_code, 200)
        self._run_event_cron()
        message = self._inbound_messages()
        self.assertIn("Do you deliver to Lugo?", message.body)
        self.assertEqual(message.sms_conversation_id.number_id, self.vonage_number)

        two_parts = {"message-count": "2", "messages": [{"message-id": "PART1", "status": "0"},
                                                         {"message-id": "PART2", "status": "0"}]}  # fmt: skip
        with self.mock_vonage([FakeResponse(200, two_parts)]) as calls:
            reply = self._reply("Yes, on Thursday")
        data = calls[0]["data"]
        self.assertEqual((data["to"], data["from"], data["text"]), ("14155550123", "14155550600", "Yes, on Thursday"))
        client_ref = data["client-ref"]
        notification = self._notifications(reply)
        self.assertEqual(notification.notification_status, "pending")
        # The second part's receipt (its own id, our client-ref) first: the first part's tells the delivery.
        self.assertEqual(self._call("status", self._receipt("PART2", client_ref), how="json").status_code, 200)
        self._run_event_cron()
        self.assertEqual(notification.notification_status, "pending")
        self.assertEqual(self._call("status", self._receipt("PART1", client_ref), how="get").status_code, 200)
        self._run_event_cron()
        self.assertEqual(notification.notification_status, "sent", "delivered")
        self.assertEqual(set(self._events().mapped("state")), {"done"})

    def test_get_and_json_inbound(self):
        self.assertEqual(self._call("inbound", self._inbound("Sent with GET"), how="get").status_code, 200)
        self.assertEqual(self._call("inbound", self._inbound("Sent as JSON"), how="json").status_code, 200)
        self._run_event_cron()
        bodies = " ".join(self._inbound_messages().mapped("body"))
        self.assertIn("Sent with GET", bodies)
        self.assertIn("Sent as JSON", bodies)

    def test_long_message_in_reverse_order_with_a_part_twice(self):
        parts = {1: "Hello, I would like to know ", 2: "whether the offer of last week ", 3: "is still valid."}
        ids = {number: f"0A00000000000{number}" for number in parts}
        for number in (3, 2, 1):
            self._call("inbound", self._inbound(parts[number], ids[number], ref=42, total=3, part=number))
            if number == 2:
                # Delivered again: the same call (stored once), and the same part with another id.
                self._call("inbound", self._inbound(parts[2], ids[2], ref=42, total=3, part=2))
                self._call("inbound", self._inbound(parts[2], "0A0000000000099", ref=42, total=3, part=2))
                self._run_event_cron()
                self.assertFalse(self._inbound_messages(), "parts wait for the others")
        self.assertEqual(len(self._events()), 4)
        self._run_event_cron()
        message = self._inbound_messages()
        self.assertEqual(len(message), 1, "one message for the whole text")
        self.assertIn("Hello, I would like to know whether the offer of last week is still valid.", message.body)
        self.assertEqual(set(self._events().mapped("state")), {"done"})
        self.assertEqual(self._events().message_id, message)

    def test_missing_part_posted_after_the_wait_then_the_late_part(self):
        self._call("inbound", self._inbound("First part, ", ref=7, total=3, part=1))
        self._call("inbound", self._inbound("last part.", ref=7, total=3, part=3))
        self._run_event_cron()
        self.assertFalse(self._inbound_messages())
        events = self._events()
        self.assertEqual(set(events.mapped("state")), {"pending"})
        self.assertEqual(set(events.mapped("attempts")), {0}, "waiting is no failed attempt")
        self.assertTrue(all(events.mapped("next_attempt_date")))
        later = fields.Datetime.now() + timedelta(minutes=PART_WAIT_MINUTES + 1)
        with patch_now(later):
            self._run_event_cron()
        message = self._inbound_messages()
        self.assertEqual(len(message), 1)
        self.assertIn("First part, [part 2 of 3 missing] last part.", message.body)

        self._call("inbound", self._inbound("middle part, ", ref=7, total=3, part=2))
        with patch_now(later):
            self._run_event_cron()
        late = self._inbound_messages() - message
        self.assertEqual(len(late), 1, "the late part is posted, not lost")
        self.assertIn("[part 2 of 3, arrived late] middle part,", late.body)

    def test_opt_out_error_blacklists(self):
        two_parts = {"messages": [{"message-id": "OPT1", "status": "0"}, {"message-id": "OPT2", "status": "0"}]}
        with self.mock_vonage([FakeResponse(200, two_parts)]) as calls:
            reply = self._reply("Our new offer")
        client_ref = calls[0]["data"]["client-ref"]
        # Any part's failure fails the message: here the second part's receipt.
        receipt = self._receipt("OPT2", client_ref, status="failed", err_code="9")
        self.assertEqual(self._call("status", receipt).status_code, 200)
        self._run_event_cron()
        notification = self._notifications(reply)
        self.assertEqual((notification.notification_status, notification.failure_type), ("exception", "sms_optout"))
        self.assertTrue(self.env["phone.blacklist"].sudo().search([("number", "=", self.customer_number)]))
        log = self.env["sms.consent"].search([("number", "=", self.customer_number)])
        self.assertEqual((log.action, log.source), ("opt_out", "provider"))

    @mute_logger(CONTROLLER_LOGGER)
    def test_refused_calls_store_nothing(self):
        inbound = self._inbound("Forged")
        forged = dict(sign(inbound), text="Changed after signing")
        path = self._webhook_path(self.vonage, "inbound")
        cases = {
            "forged": lambda: self.url_open(path, data=forged),
            "expired timestamp": lambda: self._call("inbound", inbound, timestamp=int(time.time()) - 600),
            "other secret": lambda: self._call("inbound", inbound, secret="not-the-signature-secret"),
            "other method": lambda: self._call("inbound", inbound, method="md5hash"),
            "unsigned GET": lambda: self._call("inbound", inbound, how="get", signed=False),
        }
        for case, call in cases.items():
            with self.subTest(case=case):
                self.assertEqual(call().status_code, 403)
        self.assertEqual(self.url_open(path, data=b"x", headers={"Content-Type": "text/plain"}).status_code, 415)
        self.assertFalse(self._events())


@tagged("post_install", "-at_install")
class TestVonageMessagesCycle(VonageCycleCase):
    API = "messages"

    def _call(self, kind, payload, authorization=None, content_type="application/json"):
        body = json.dumps(payload).encode()
        headers = {"Content-Type": content_type, "Authorization": authorization or bearer(body)}
        return self.url_open(self._webhook_path(self.vonage, kind), data=body, headers=headers)

    def _inbound(self, text):
        return dict(
            DOC_MESSAGE_INBOUND,
            message_uuid=str(uuid.uuid4()),
            to=OUR_NUMBER[1:],
            text=text,
            timestamp=fields.Datetime.now().isoformat(),
            **{"from": self.customer_number[1:]},
        )

    def test_inbound_reply_and_status(self):
        self.assertEqual(self._call("inbound", self._inbound("Is the room free on Friday?")).status_code, 200)
        self._run_event_cron()
        self.assertIn("Is the room free on Friday?", self._inbound_messages().body)

        with self.mock_vonage_messages() as calls:
            reply = self._reply("It is")
        sent = calls[0]["json"]
        self.assertEqual((sent["channel"], sent["to"], sent["text"]), ("sms", "14155550123", "It is"))
        uuid_1 = "00000000-0000-4000-8000-000000000001"
        for status in ("submitted", "delivered"):
            status_call = dict(
                DOC_MESSAGE_STATUS, message_uuid=uuid_1, status=status, client_ref=sent["client_ref"],
                to=sent["to"], **{"from": sent["from"]},
            )  # fmt: skip
            self.assertEqual(self._call("status", status_call).status_code, 200)
        self._run_event_cron()
        self.assertEqual(self._notifications(reply).notification_status, "sent")

    @mute_logger(CONTROLLER_LOGGER)
    def test_refused_calls_store_nothing(self):
        payload = self._inbound("Forged")
        body = json.dumps(payload).encode()
        cases = {
            "bad JWT": ({"authorization": "Bearer not.a.jwt"}, 403),
            "other secret": ({"authorization": bearer(body, secret="another-secret-of-thirty-two-b!!")}, 403),
            "wrong payload_hash": ({"authorization": bearer(b'{"text": "other"}')}, 403),
            "issued 10 minutes ago": ({"authorization": bearer(body, iat=int(time.time()) - 600)}, 403),
            "form body": ({"content_type": "application/x-www-form-urlencoded"}, 415),
        }
        for case, (kwargs, status) in cases.items():
            with self.subTest(case=case):
                self.assertEqual(self._call("inbound", payload, **kwargs).status_code, status)
        path = self._webhook_path(self.vonage, "inbound")
        self.assertEqual(self.url_open(f"{path}?{urlencode({'text': 'x'})}").status_code, 405, "JSON posts only")
        self.assertFalse(self._events())
