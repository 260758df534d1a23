"""Plivo: signatures V2 and V3 (the published vectors), the documented
payloads, delivery reports in their Sequence order, and a whole inbound ->
reply -> delivery report cycle through the real route."""

import uuid
from datetime import timedelta
from urllib.parse import urlsplit

import requests

from odoo import fields
from odoo.tests import tagged
from odoo.tools import mute_logger

from ..tools.sms_plivo import PlivoApi, plivo_signature_v2, plivo_signature_v3
from ..tools.sms_provider import InvalidPayload, OutgoingSms, ProviderConfig
from .common import FakeResponse, SmsWebhookCase

# ../shared/test-vectors.md: plivo-python (V2) and plivo-go TestValidateSignatureV3Pass1-4 (V3).
V3_TOKEN = "Y2Q2ZDgxZmY5YWRiOTI5YmQ1Njg0MTAxZWIyOTc4"
V3_NONCE = "31627761595286130198"
V3_URL = "https://plivobin.non-prod.plivops.com/api/v1/validate_signature03.xml"
V3_PARAMS = {
    "Direction": "outbound",
    "From": "19792014278",
    "ALegUUID": "3e82ae9d-2c78-4d85-b1a4-6eae7dbafb36",
    "CallStatus": "in-progress",
    "BillRate": "0.002",
    "ParentAuthID": "MANWVLYTK4ZWU1YTY4QA",
    "To": "sip:PlivoSignature382029104058171078704104@phone-qa.voice.plivodev.com",
    "ALegRequestUUID": "3e82ae9d-2c78-4d85-b1a4-6eae7dbafb36",
    "CallUUID": "3e82ae9d-2c78-4d85-b1a4-6eae7dbafb36",
    "RequestUUID": "3e82ae9d-2c78-4d85-b1a4-6eae7dbafb36",
    "SIP-H-To": "<sip:PlivoSignature382029104058171078704104@52.9.11.55;transport=udp>;tag=1",
    "SessionStart": "2020-04-08 11:34:33.238707",
    "Event": "StartApp",
}
AUTH_ID = "MAXXXXXXXXXXXXXXXXXX"
AUTH_TOKEN = "plivo-test-auth-token"


def inbound_params(text="Hello from Plivo", from_number="14155550123", to_number="14155550500", uuid=None):
    """An incoming message, as in Plivo's "Receive an SMS" guide (numbers without +)."""
    return {
        "From": from_number,
        "To": to_number,
        "Text": text,
        "Type": "sms",
        "MessageUUID": uuid or "4b5b2a52-6d51-11ee-b3e0-0242ac110003",
        "MessageIntent": "",
        "Units": "1",
        "TotalAmount": "0.00000",
        "TotalRate": "0.00000",
    }


def status_params(uuid, status, sequence, error_code="000"):
    return {
        "MessageUUID": uuid,
        "Status": status,
        "ErrorCode": error_code,
        "From": "14155550500",
        "To": "14155550123",
        "Sequence": str(sequence),
        "Units": "1",
    }


class PlivoCase(SmsWebhookCase):
    def mock_plivo(self, responses=None):
        return self.mock_provider_api(
            "https://api.plivo.com/",
            responses,
            lambda count: FakeResponse(
                202, {"api_id": "x", "message": "message(s) queued", "message_uuid": [f"uuid-{count}"]}
            ),
        )


@tagged("post_install", "-at_install")
class TestPlivoTools(PlivoCase):
    def test_signature_vectors(self):
        self.assertEqual(
            plivo_signature_v2("my_auth_token", "https://answer.url", "12345"),
            "ehV3IKhLysWBxC1sy8INm0qGoQYdYsHwuoKjsX7FsXc=",
        )
        with_query = V3_URL + "/?a=b&c=d"
        for method, url, expected in (
            ("POST", with_query, "k7Pusd4OxCIjR5IfA9iedDNu/h/gbdYqdzG/MiYtd1c="),
            ("GET", with_query, "UBq8jAtd32wR8EK9VgxbBn4n5rpI/l1H9iN4WfSEHFQ="),
            ("POST", V3_URL, "iAjE5QqI37mbkYe4w3jTMudqEzbDufdqi7sYwTu64e0="),
            ("GET", V3_URL, "i/MQsaQSAd6fiKhOh2qeeeLHZ9faldADSb3/7+Akfbc="),
        ):
            with self.subTest(method=method, url=url):
                self.assertEqual(plivo_signature_v3(V3_TOKEN, method, url, dict(V3_PARAMS), V3_NONCE), expected)

    def test_verify_request(self):
        api = PlivoApi(ProviderConfig(account_sid=AUTH_ID, auth_token=V3_TOKEN))
        params = list(V3_PARAMS.items())
        good = {
            "X-Plivo-Signature-V3": "k7Pusd4OxCIjR5IfA9iedDNu/h/gbdYqdzG/MiYtd1c=",
            "X-Plivo-Signature-V3-Nonce": V3_NONCE,
        }
        url = V3_URL + "/?a=b&c=d"
        self.assertTrue(api.verify_request(url, params, good, b""))
        rotated = dict(good, **{"X-Plivo-Signature-V3": "b3RoZXI=, " + good["X-Plivo-Signature-V3"]})
        self.assertTrue(api.verify_request(url, params, rotated, b""), "one of several signatures")
        self.assertFalse(api.verify_request(url, [*params[:-1], ("Event", "Forged")], good, b""))
        self.assertFalse(api.verify_request(V3_URL, params, good, b""), "another URL")
        self.assertFalse(api.verify_request(url, params, {}, b""))

    def test_parse_documented_payloads(self):
        api = PlivoApi(ProviderConfig())
        inbound = api.parse_inbound(list(inbound_params("Hi").items()))
        self.assertEqual(
            (inbound.external_id, inbound.from_number, inbound.to_number, inbound.body),
            ("4b5b2a52-6d51-11ee-b3e0-0242ac110003", "+14155550123", "+14155550500", "Hi"),
        )
        report = api.parse_status(list(status_params("u-1", "failed", 4, "200").items()))
        self.assertEqual((report.status, report.error_code, report.sequence), ("failed", "200", 4))
        self.assertTrue(api.is_opt_out(report.error_code))
        self.assertEqual(api.parse_status(list(status_params("u-1", "delivered", 5).items())).error_code, "")
        for bad in ({"Text": "x"}, {**status_params("u", "delivered", 1), "Sequence": "x"}, {"Status": "lost"}):
            with self.assertRaises(InvalidPayload):
                (api.parse_status if "Status" in bad else api.parse_inbound)(list(bad.items()))

    def test_send_request(self):
        api = PlivoApi(ProviderConfig(account_sid=AUTH_ID, auth_token=AUTH_TOKEN))
        with self.mock_plivo() as calls:
            result = api.send(OutgoingSms("+14155550123", "+14155550500", "Hello", status_callback="https://x/s"))
        self.assertEqual((result.status, result.external_id), ("accepted", "uuid-1"))
        self.assertEqual(calls[0]["url"], f"https://api.plivo.com/v1/Account/{AUTH_ID}/Message/")
        self.assertEqual(
            calls[0]["json"],
            {"src": "+14155550500", "dst": "+14155550123", "text": "Hello", "url": "https://x/s", "method": "POST"},
        )
        with self.mock_plivo([FakeResponse(401, {"error": "Authentication failed"})]):
            result = api.send(OutgoingSms("+14155550123", "+14155550500", "Hello"))
        self.assertEqual((result.status, result.error_code), ("error", "http_401"))
        self.assertFalse(api.is_opt_out(result.error_code))

    def test_lookup_takes_the_oldest_message_of_ours_to_the_customer(self):
        """Plivo's list has no text: the oldest record from our number to the
        customer since the first attempt that is none of our known messages."""
        api = PlivoApi(ProviderConfig(account_sid=AUTH_ID, auth_token=AUTH_TOKEN))
        since = fields.Datetime.now() - timedelta(seconds=40)
        sent_at = (since + timedelta(seconds=5)).strftime("%Y-%m-%d %H:%M:%S")

        def record(uuid_, to_number="14155550123", from_number="14155550500"):
            return {
                "message_uuid": uuid_,
                "from_number": from_number,
                "to_number": to_number,
                "message_direction": "outbound",
                "message_time": f"{sent_at}+00:00",
            }

        page = {
            "objects": [
                record("newer-of-ours"),
                record("this-one"),
                record("another-customer", to_number="34600111222"),
                record("another-number", from_number="14155550999"),
                record("known-one"),
            ]
        }
        outgoing = OutgoingSms("+14155550123", "+14155550500", "Hello", known_ids=frozenset({"known-one"}))
        with self.mock_plivo([FakeResponse(200, page)]) as calls:
            result = api.lookup(outgoing, since)
        self.assertEqual((result.status, result.external_id), ("accepted", "this-one"))
        self.assertEqual(
            (calls[0]["method"], calls[0]["query"]["message_direction"], calls[0]["query"]["limit"]),
            ("GET", "outbound", "20"),
        )
        self.assertEqual(
            calls[0]["query"]["message_time__gte"], (since - timedelta(minutes=1)).strftime("%Y-%m-%d %H:%M:%S")
        )

        # Nothing of ours there: not trusted in the first minute, then sending again is safe.
        empty = FakeResponse(200, {"objects": [record("another-customer", to_number="34600111222")]})
        with self.mock_plivo([empty]):
            self.assertEqual(api.lookup(outgoing, fields.Datetime.now() - timedelta(seconds=20)).status, "unknown")
        with self.mock_plivo([empty]):
            self.assertIsNone(api.lookup(outgoing, fields.Datetime.now() - timedelta(seconds=90)))
        with self.mock_plivo([FakeResponse(500)]):
            self.assertEqual(api.lookup(outgoing, since).status, "unknown", "a failed look-up never says 'not sent'")


@tagged("post_install", "-at_install")
class TestPlivoCycle(PlivoCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.plivo = cls.env["sms.account"].create(
            {
                "name": "Plivo US",
                "provider": "plivo",
                "plivo_auth_id": AUTH_ID,
                "plivo_auth_token": AUTH_TOKEN,
                "webhook_base_url": cls.env.company.get_base_url(),
            }
        )
        cls.plivo_number = cls.env["sms.number"].create(
            {"number": "+14155550500", "account_id": cls.plivo.id, "user_ids": [(6, 0, cls.user_seller_a.ids)]}
        )
        cls.account.active = False  # the company sends through Plivo
        cls.env.registry.clear_cache()

    def _post_plivo(self, kind, params, query="", nonce=None, signature=None):
        """A call signed with V3 and a fresh nonce, as Plivo signs each call."""
        nonce = nonce or str(uuid.uuid4().int)[:20]
        path = self._webhook_path(self.plivo, kind, query)
        url = self._signed_url(self.plivo, path)
        if signature is None:
            signature = plivo_signature_v3(AUTH_TOKEN, "POST", url, dict(params), nonce)
        headers = {"X-Plivo-Signature-V3": signature, "X-Plivo-Signature-V3-Nonce": nonce}
        return self.url_open(path, data=params, headers=headers)

    def test_inbound_reply_and_reports_in_sequence_order(self):
        partner = self._partner("Plivo Customer", phone=self.customer_number, user_id=self.user_seller_a.id)
        self.assertEqual(self._post_plivo("inbound", inbound_params("Any news?")).status_code, 200)
        self._run_event_cron()
        message = self.env["mail.message"].search([("model", "=", "res.partner"), ("res_id", "=", partner.id)])
        self.assertIn("Any news?", message.body)
        self.assertEqual(message.sms_conversation_id.number_id, self.plivo_number)

        with self.mock_plivo() as calls:
            reply = (
                self.env["sms.conversation"]
                .with_user(self.user_seller_a)
                .send_message("res.partner", partner.id, self.customer_number, self.plivo_number.id, "Tomorrow")
            )
            self._process_queue()
        self.assertEqual((calls[0]["json"]["dst"], calls[0]["json"]["text"]), (self.customer_number, "Tomorrow"))
        reply_message = self.env["mail.message"].browse(reply["message"]["id"])
        query = urlsplit(calls[0]["json"]["url"]).query
        # "delivered" (3) arrives before "sent" (2): the older report changes nothing.
        for status, sequence in (("delivered", 3), ("sent", 2)):
            self.assertEqual(
                self._post_plivo("status", status_params("uuid-1", status, sequence), query).status_code, 200
            )
        self._run_event_cron()
        self.assertEqual(self._notifications(reply_message).notification_status, "sent", "still delivered")

    def test_read_timeout_is_looked_up_not_resent(self):
        partner = self._partner("Plivo Timeout", phone=self.customer_number, user_id=self.user_seller_a.id)
        listed = {
            "objects": [
                {
                    "message_uuid": "uuid-taken",
                    "from_number": "14155550500",
                    "to_number": self.customer_number.lstrip("+"),
                    "message_time": fields.Datetime.to_string(fields.Datetime.now()),
                }
            ]
        }
        with self.mock_plivo([requests.exceptions.ReadTimeout("read timed out"), FakeResponse(200, listed)]) as calls:
            reply = (
                self.env["sms.conversation"]
                .with_user(self.user_seller_a)
                .send_message("res.partner", partner.id, self.customer_number, self.plivo_number.id, "Tomorrow")
            )
            self._process_queue()
            self._process_queue(at=self._later(31))
        self.assertEqual([call["method"] for call in calls], ["POST", "GET"], "found at Plivo: not sent twice")
        notification = self._notifications(self.env["mail.message"].browse(reply["message"]["id"]))
        self.assertEqual(notification.notification_status, "pending")
        self.assertEqual(notification.sms_tracker_ids.provider_message_id, "uuid-taken")

    def test_opt_out_error_blacklists(self):
        partner = self._partner("Plivo Opted Out", phone=self.customer_number, user_id=self.user_seller_a.id)
        with self.mock_plivo() as calls:
            self.env["sms.conversation"].with_user(self.user_seller_a).send_message(
                "res.partner", partner.id, self.customer_number, self.plivo_number.id, "Offer"
            )
            self._process_queue()
        query = urlsplit(calls[0]["json"]["url"]).query
        self._post_plivo("status", status_params("uuid-1", "failed", 2, "200"), query)
        self._run_event_cron()
        self.assertTrue(self.env["phone.blacklist"].sudo().search([("number", "=", self.customer_number)]))
        log = self.env["sms.consent"].search([("number", "=", self.customer_number)])
        self.assertEqual((log.action, log.source), ("opt_out", "provider"))

    @mute_logger("odoo.addons.crm_sms_conversation.controllers.main")
    def test_forged_calls_store_nothing(self):
        self.assertEqual(self._post_plivo("inbound", inbound_params(), signature="Zm9yZ2Vk").status_code, 403)
        path = self._webhook_path(self.plivo, "inbound")
        self.assertEqual(self.url_open(path, data=inbound_params()).status_code, 403, "unsigned")
        self.assertFalse(self.env["sms.event"].sudo().search([("account_id", "=", self.plivo.id)]))

    @mute_logger("odoo.addons.crm_sms_conversation.controllers.main")
    def test_a_signature_is_not_accepted_twice(self):
        """V2 signs the URL and the nonce only: a captured signature is refused the second time."""
        self._partner("Replayed", phone=self.customer_number)
        path = self._webhook_path(self.plivo, "inbound")
        nonce = "11111111111111111111"
        headers = {
            "X-Plivo-Signature-V2": plivo_signature_v2(AUTH_TOKEN, self._signed_url(self.plivo, path), nonce),
            "X-Plivo-Signature-V2-Nonce": nonce,
        }
        self.assertEqual(self.url_open(path, data=inbound_params("Genuine"), headers=headers).status_code, 200)
        forged = inbound_params("Forged with the same signature", uuid="6c8e3f9e-0000-4000-8000-000000000001")
        self.assertEqual(self.url_open(path, data=forged, headers=headers).status_code, 403)
        events = self.env["sms.event"].sudo().search([("account_id", "=", self.plivo.id)])
        self.assertEqual(len(events), 1)
