"""Telnyx: the Ed25519 signature (RFC 8032 vector), the documented payloads,
and a whole inbound -> reply -> delivery report cycle through the real route."""

import base64
import json
import time
from datetime import timedelta

import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from odoo import fields
from odoo.tests import tagged
from odoo.tools import mute_logger

from ..tools.sms_provider import IgnoredEvent, InvalidPayload, OutgoingSms, ProviderConfig
from ..tools.sms_telnyx import TelnyxApi, telnyx_verify
from .common import FakeResponse, SmsWebhookCase

# RFC 8032, section 7.1, TEST 1 (../shared/test-vectors.md).
RFC8032_SEED = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
RFC8032_PUBLIC_KEY = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
RFC8032_EMPTY_SIGNATURE = bytes.fromhex(
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
)
PRIVATE_KEY = Ed25519PrivateKey.from_private_bytes(RFC8032_SEED)
PUBLIC_KEY_B64 = base64.b64encode(RFC8032_PUBLIC_KEY).decode()
TELNYX_MESSAGES = "https://api.telnyx.com/v2/messages"


def telnyx_sign(timestamp, raw_body):
    return base64.b64encode(PRIVATE_KEY.sign(f"{timestamp}|".encode() + raw_body)).decode()


def received_event(text="Hello from Telnyx", from_number="+14155550123", to_number="+14155550400", msg_id=None):
    """A message.received webhook, as in Telnyx's "Receiving webhooks" guide."""
    return {
        "data": {
            "event_type": "message.received",
            "id": "b301ed3f-1490-491f-995f-6e64e69674d4",
            "occurred_at": "2026-12-01T10:00:00.000+00:00",
            "payload": {
                "direction": "inbound",
                "from": {"carrier": "T-Mobile USA", "line_type": "Wireless", "phone_number": from_number},
                "id": msg_id or "84cca175-9755-4859-b67f-4730d7f58aa3",
                "media": [],
                "messaging_profile_id": "740572b6-099c-44a1-89b9-6c92163bc68d",
                "record_type": "message",
                "text": text,
                "to": [
                    {
                        "carrier": "Telnyx",
                        "line_type": "Wireless",
                        "phone_number": to_number,
                        "status": "webhook_delivered",
                    }
                ],
                "type": "SMS",
            },
            "record_type": "event",
        },
        "meta": {"attempt": 1, "delivered_to": "https://crm.example.com/webhook"},
    }


def finalized_event(msg_id, status="delivered", errors=()):
    return {
        "data": {
            "event_type": "message.finalized",
            "id": "4ee8c3a6-4995-4309-a3c6-38e3db9ea4be",
            "payload": {
                "direction": "outbound",
                "id": msg_id,
                "errors": list(errors),
                "to": [{"phone_number": "+14155550123", "status": status}],
                "type": "SMS",
            },
            "record_type": "event",
        }
    }


class TelnyxCase(SmsWebhookCase):
    def mock_telnyx(self, responses=None):
        return self.mock_provider_api(
            "https://api.telnyx.com/",
            responses,
            lambda count: FakeResponse(200, {"data": {"id": f"40318d{count:026d}", "type": "SMS"}}),
        )


@tagged("post_install", "-at_install")
class TestTelnyxTools(TelnyxCase):
    def test_rfc8032_vector(self):
        """The key pair of RFC 8032 TEST 1: its public key, and its signature of the empty message."""
        public = PRIVATE_KEY.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.assertEqual(public, RFC8032_PUBLIC_KEY)
        self.assertEqual(PRIVATE_KEY.sign(b""), RFC8032_EMPTY_SIGNATURE)

    def test_signature_over_timestamp_and_raw_body(self):
        body = json.dumps(received_event()).encode()
        now = 1764583200
        signature = telnyx_sign(now, body)
        self.assertTrue(telnyx_verify(PUBLIC_KEY_B64, signature, str(now), body, now=now))
        self.assertFalse(telnyx_verify(PUBLIC_KEY_B64, signature, str(now), body + b" ", now=now), "body changed")
        self.assertFalse(telnyx_verify(PUBLIC_KEY_B64, signature, str(now + 1), body, now=now), "timestamp changed")
        self.assertFalse(
            telnyx_verify(PUBLIC_KEY_B64, signature, str(now), body, now=now + 301), "replayed after 5 minutes"
        )
        self.assertTrue(telnyx_verify(PUBLIC_KEY_B64, signature, str(now), body, now=now + 299))
        for key, sig, ts in (
            ("not base64!", signature, now),
            (PUBLIC_KEY_B64, "@@", now),
            (PUBLIC_KEY_B64, signature, "x"),
        ):
            self.assertFalse(telnyx_verify(key, sig, str(ts), body, now=now))

    def test_parse_documented_payloads(self):
        api = TelnyxApi(ProviderConfig())
        inbound = api.parse_inbound(received_event("Hi"))
        self.assertEqual(
            (inbound.external_id, inbound.from_number, inbound.to_number, inbound.body),
            ("84cca175-9755-4859-b67f-4730d7f58aa3", "+14155550123", "+14155550400", "Hi"),
        )
        report = api.parse_status(finalized_event("m-1", "delivery_failed", [{"code": "40300", "title": "STOP"}]))
        self.assertEqual((report.external_id, report.status, report.error_code), ("m-1", "delivery_failed", "40300"))
        self.assertTrue(api.is_opt_out(report.error_code))
        self.assertEqual(api.map_error("40300"), "sms_optout")
        expired = api.parse_status(finalized_event("m-2", "expired", [{"code": "40005", "title": "Message expired"}]))
        self.assertEqual((api.map_status(expired.status), api.map_error(expired.error_code)), ("error", "sms_expired"))
        with self.assertRaises(IgnoredEvent):
            api.parse_inbound(finalized_event("m-1"))
        for bad in (
            {},
            {"data": []},
            {"data": {"event_type": "message.received", "payload": {}}},
            {"data": {"event_type": 3}},
        ):
            with self.assertRaises(InvalidPayload):
                api.parse_inbound(bad)

    def test_send_request(self):
        api = TelnyxApi(ProviderConfig(auth_token="KEY123"))
        with self.mock_telnyx() as calls:
            result = api.send(OutgoingSms("+14155550123", "+14155550400", "Hello", status_callback="https://x/s"))
        self.assertEqual(result.status, "accepted")
        self.assertEqual(calls[0]["json"]["webhook_url"], "https://x/s")
        self.assertEqual(calls[0]["auth"], "Bearer KEY123")
        refused = FakeResponse(400, {"errors": [{"code": "40300", "title": "Blocked due to STOP message"}]})
        with self.mock_telnyx([refused]):
            result = api.send(OutgoingSms("+14155550123", "+14155550400", "Hello"))
        self.assertEqual((result.status, result.error_code), ("error", "40300"))

    def test_lookup_reads_the_records_then_their_text(self):
        """Detail records from our number to the customer (no text), then each
        message, oldest first, until one has this text and is none of our known ones."""
        api = TelnyxApi(ProviderConfig(auth_token="KEY123"))
        since = fields.Datetime.now() - timedelta(seconds=30)
        at = since.strftime("%Y-%m-%dT%H:%M:%S")
        records = FakeResponse(
            200,
            {
                "data": [
                    {"id": "newest", "cli": "+14155550400", "cld": "+14155550123", "created_at": f"{at}.900Z"},
                    {"id": "known", "cli": "+14155550400", "cld": "+14155550123", "created_at": f"{at}.100Z"},
                    {"id": "other-text", "cli": "+14155550400", "cld": "+14155550123", "created_at": f"{at}.200Z"},
                    {"id": "this-one", "cli": "+14155550400", "cld": "+14155550123", "created_at": f"{at}.300Z"},
                ]
            },
        )
        outgoing = OutgoingSms("+14155550123", "+14155550400", "See you at 5", known_ids=frozenset({"known"}))
        with self.mock_telnyx(
            [
                records,
                FakeResponse(200, {"data": {"id": "other-text", "text": "An earlier text"}}),
                FakeResponse(200, {"data": {"id": "this-one", "text": "See you at 5"}}),
            ]
        ) as calls:
            result = api.lookup(outgoing, since)
        self.assertEqual((result.status, result.external_id), ("accepted", "this-one"))
        self.assertEqual(
            {key: calls[0]["query"][key] for key in ("direction", "cli", "cld")},
            {"direction": "OUTBOUND", "cli": "+14155550400", "cld": "+14155550123"},
        )
        self.assertEqual(
            [call["url"].split("?")[0] for call in calls[1:]],
            ["https://api.telnyx.com/v2/messages/other-text", "https://api.telnyx.com/v2/messages/this-one"],
        )
        # No record: not trusted for five minutes (records come late), then sending again is safe.
        with self.mock_telnyx([FakeResponse(200, {"data": []})]):
            self.assertEqual(api.lookup(outgoing, since).status, "unknown")
        with self.mock_telnyx([FakeResponse(200, {"data": []})]):
            self.assertIsNone(api.lookup(outgoing, fields.Datetime.now() - timedelta(minutes=6)))
        with self.mock_telnyx([records, FakeResponse(503)]):
            self.assertEqual(api.lookup(outgoing, since).status, "unknown", "a message unread is not 'not sent'")


@tagged("post_install", "-at_install")
class TestTelnyxCycle(TelnyxCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.telnyx = cls.env["sms.account"].create(
            {
                "name": "Telnyx US",
                "provider": "telnyx",
                "telnyx_api_key": "KEY0123456789",
                "telnyx_public_key": PUBLIC_KEY_B64,
                "webhook_base_url": cls.env.company.get_base_url(),
            }
        )
        cls.telnyx_number = cls.env["sms.number"].create(
            {"number": "+14155550400", "account_id": cls.telnyx.id, "user_ids": [(6, 0, cls.user_seller_a.ids)]}
        )
        cls.account.active = False  # the company sends through Telnyx
        cls.env.registry.clear_cache()

    def _post_telnyx(self, kind, event, query="", timestamp=None, signature=None, content_type="application/json"):
        body = json.dumps(event).encode()
        timestamp = str(int(time.time())) if timestamp is None else timestamp
        headers = {
            "Content-Type": content_type,
            "telnyx-timestamp": timestamp,
            "telnyx-signature-ed25519": signature if signature is not None else telnyx_sign(timestamp, body),
        }
        return self.url_open(self._webhook_path(self.telnyx, kind, query), data=body, headers=headers)

    def test_read_timeout_waits_for_the_records_then_resends(self):
        """Not in Telnyx's records within five minutes of the first attempt: sent once more."""
        partner = self._partner("Telnyx Timeout", phone=self.customer_number, user_id=self.user_seller_a.id)
        no_record = FakeResponse(200, {"data": [], "meta": {"total_results": 0}})
        with self.mock_telnyx([requests.exceptions.ReadTimeout("read timed out"), no_record, no_record]) as calls:
            reply = (
                self.env["sms.conversation"]
                .with_user(self.user_seller_a)
                .send_message("res.partner", partner.id, self.customer_number, self.telnyx_number.id, "On my way")
            )
            self._process_queue()
            self._process_queue(at=self._later(31))
            self.assertEqual([call["method"] for call in calls], ["POST", "GET"], "records may come late: no resend")
            self._process_queue(at=self._later(400))
        self.assertEqual([call["method"] for call in calls], ["POST", "GET", "GET", "POST"])
        self.assertIn("/v2/reports/mdrs", calls[1]["url"])
        notification = self._notifications(self.env["mail.message"].browse(reply["message"]["id"]))
        self.assertEqual(notification.notification_status, "pending")

    def test_inbound_reply_and_delivery_report(self):
        partner = self._partner("Telnyx Customer", phone=self.customer_number, user_id=self.user_seller_a.id)
        response = self._post_telnyx("inbound", received_event("Do you ship to Vigo?"))
        self.assertEqual(response.status_code, 200)
        self._run_event_cron()
        message = self.env["mail.message"].search([("model", "=", "res.partner"), ("res_id", "=", partner.id)])
        self.assertIn("Do you ship to Vigo?", message.body)
        self.assertEqual(message.sms_conversation_id.number_id, self.telnyx_number)

        with self.mock_telnyx() as calls:
            reply = (
                self.env["sms.conversation"]
                .with_user(self.user_seller_a)
                .send_message("res.partner", partner.id, self.customer_number, self.telnyx_number.id, "Yes, on Tuesday")
            )
            self._process_queue()
        self.assertEqual(calls[0]["url"], TELNYX_MESSAGES)
        self.assertEqual(
            (calls[0]["json"]["from"], calls[0]["json"]["to"], calls[0]["json"]["text"]),
            ("+14155550400", self.customer_number, "Yes, on Tuesday"),
        )
        status_url = calls[0]["json"]["webhook_url"]
        self.assertTrue(status_url.startswith(self.telnyx.sudo().status_url))
        reply_message = self.env["mail.message"].browse(reply["message"]["id"])
        self.assertEqual(self._notifications(reply_message).notification_status, "pending")

        query = status_url.split("?", 1)[1]
        message_id = "40318d" + "1".zfill(26)
        self.assertEqual(self._post_telnyx("status", finalized_event(message_id), query=query).status_code, 200)
        self._run_event_cron()
        self.assertEqual(self._notifications(reply_message).notification_status, "sent", "delivered")

    @mute_logger("odoo.addons.crm_sms_conversation.controllers.main")
    def test_refused_calls_store_nothing(self):
        event = received_event("Forged")
        now = int(time.time())
        cases = {
            "bad signature": ({"signature": telnyx_sign(now, b"other")}, 403),
            "replayed": ({"timestamp": str(now - 600), "signature": None}, 403),
            "form body": ({"content_type": "application/x-www-form-urlencoded"}, 415),
        }
        for case, (kwargs, status) in cases.items():
            with self.subTest(case=case):
                self.assertEqual(self._post_telnyx("inbound", event, **kwargs).status_code, status)
        self.assertFalse(self.env["sms.event"].sudo().search([("account_id", "=", self.telnyx.id)]))

    @mute_logger("odoo.addons.crm_sms_conversation.controllers.main")
    def test_other_events_are_acknowledged_not_stored(self):
        response = self._post_telnyx("inbound", finalized_event("m-9"))
        self.assertEqual((response.status_code, response.text), (200, "Ignored"))
        body = b"not json"
        timestamp = str(int(time.time()))
        response = self.url_open(
            self._webhook_path(self.telnyx, "inbound"),
            data=body,
            headers={
                "Content-Type": "application/json",
                "telnyx-timestamp": timestamp,
                "telnyx-signature-ed25519": telnyx_sign(timestamp, body),
            },
        )
        self.assertEqual(response.status_code, 400)
        self.assertFalse(self.env["sms.event"].sudo().search([("account_id", "=", self.telnyx.id)]))
