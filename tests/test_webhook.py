import hashlib
import hmac
from unittest.mock import patch

import psycopg2

from odoo.tests import tagged
from odoo.tools import mute_logger

from ..tools.sms_twilio import EMPTY_TWIML, twilio_signature
from .common import TWILIO_TOKEN, SmsWebhookCase

CONTROLLER_LOGGER = "odoo.addons.crm_sms_conversation.controllers.main"


@tagged("post_install", "-at_install")
class TestInboundWebhook(SmsWebhookCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.partner = cls._partner("Webhook Customer", phone="(415) 555-0123", user_id=cls.user_seller_b.id)

    def _events(self):
        return self.env["sms.event"].search([("account_id", "=", self.account.id)])

    def _assert_nothing_stored(self):
        self.env.invalidate_all()
        self.assertFalse(self._events(), "a refused call stores nothing")
        self.assertFalse(self.env["sms.conversation"].search([("remote_number", "=", self.customer_number)]))

    def test_signed_inbound_lands_on_the_record(self):
        response = self._post_twilio("inbound", self._inbound_params("Is the quote still valid?"))
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.headers["Content-Type"].split(";")[0], "text/xml")
        self.assertEqual(response.text, EMPTY_TWIML)
        self.env.invalidate_all()
        event = self._events()
        self.assertEqual(event.state, "pending", "the webhook stores and answers; the processing cron posts")
        self.assertFalse(event.message_id)
        self._run_event_cron()
        self.assertEqual(event.state, "done")
        message = event.message_id
        self.assertEqual((message.model, message.res_id), ("res.partner", self.partner.id))
        self.assertEqual(message.message_type, "sms")
        self.assertEqual(message.sms_direction, "inbound")
        self.assertIn("Is the quote still valid?", message.body)
        self.assertIn(message, self.partner.message_ids)

    def test_duplicate_delivery_is_stored_once(self):
        params = self._inbound_params("Only once")
        for _attempt in range(2):
            self.assertEqual(self._post_twilio("inbound", params).status_code, 200)
        self._run_event_cron()
        self.assertEqual(len(self._events()), 1)
        messages = self.env["mail.message"].search(
            [("model", "=", "res.partner"), ("res_id", "=", self.partner.id), ("sms_direction", "=", "inbound")]
        )
        self.assertEqual(len(messages), 1, "a provider's retry does not post the message twice")

    @mute_logger("odoo.http")
    def test_database_error_is_answered_503_and_the_resend_stored_once(self):
        """The database went away during the call (a restart, a failover):
        the provider is asked to send it again, in a few seconds."""
        params = self._inbound_params("While the database restarts")
        lost = psycopg2.OperationalError("server closed the connection unexpectedly")
        with patch.object(type(self.env["sms.account"]), "_receive_webhook", side_effect=lost):
            response = self._post_twilio("inbound", params)
        self.assertEqual(response.status_code, 503)
        self.assertEqual(response.headers["Retry-After"], "5")
        self.assertEqual(response.headers["Content-Type"].split(";")[0], "text/plain")
        self.assertNotIn("Traceback", response.text)
        self._assert_nothing_stored()

        self.assertEqual(self._post_twilio("inbound", params).status_code, 200, "sent again: stored")
        self._run_event_cron()
        self.assertEqual(len(self._events()), 1)
        self.assertEqual(self._events().message_id.res_id, self.partner.id)

    @mute_logger(CONTROLLER_LOGGER)
    def test_forged_signature_is_refused(self):
        response = self._post_twilio("inbound", self._inbound_params(), signature="bm90IGEgc2lnbmF0dXJl")
        self.assertEqual(response.status_code, 403)
        self._assert_nothing_stored()

    @mute_logger(CONTROLLER_LOGGER)
    def test_tampered_parameters_are_refused(self):
        params = self._inbound_params("Original")
        path = self._webhook_path(self.account, "inbound")
        signature = twilio_signature(TWILIO_TOKEN, self._signed_url(self.account, path), list(params.items()))
        params["Body"] = "Tampered"
        response = self.url_open(path, data=params, headers={"X-Twilio-Signature": signature})
        self.assertEqual(response.status_code, 403)
        self._assert_nothing_stored()

    @mute_logger(CONTROLLER_LOGGER)
    def test_missing_signature_is_refused(self):
        response = self._post_twilio("inbound", self._inbound_params(), signature="")
        self.assertEqual(response.status_code, 403)
        self._assert_nothing_stored()

    @mute_logger(CONTROLLER_LOGGER)
    def test_unknown_token_and_disabled_account_look_like_a_bad_signature(self):
        forged = self._post_twilio("inbound", self._inbound_params(), signature="bm90IGEgc2lnbmF0dXJl")
        unknown = self.url_open(
            "/crm_sms_conversation/webhook/not-a-token/inbound",
            data=self._inbound_params(),
            headers={"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"},
        )
        self.assertEqual((unknown.status_code, unknown.text), (forged.status_code, forged.text))
        self.account.active = False
        disabled = self._post_twilio("inbound", self._inbound_params())
        self.assertEqual((disabled.status_code, disabled.text), (forged.status_code, forged.text))
        self._assert_nothing_stored()

    @mute_logger(CONTROLLER_LOGGER)
    def test_missing_fields_are_refused(self):
        for field in ("MessageSid", "From", "To", "Body"):
            params = self._inbound_params()
            del params[field]
            response = self._post_twilio("inbound", params)
            self.assertEqual(response.status_code, 400, field)
            self.assertIn(field, response.text)
        self._assert_nothing_stored()

    @mute_logger(CONTROLLER_LOGGER)
    def test_unparseable_numbers_are_refused(self):
        response = self._post_twilio("inbound", self._inbound_params(from_number="Twilio"))
        self.assertEqual(response.status_code, 400)
        self.assertIn("sender", response.text)
        response = self._post_twilio("inbound", self._inbound_params(to_number="+14155559999"))
        self.assertEqual(response.status_code, 400, "not one of the account's numbers")
        self._assert_nothing_stored()

    @mute_logger(CONTROLLER_LOGGER)
    def test_body_over_64_kib_is_refused(self):
        response = self._post_twilio("inbound", self._inbound_params("x" * (64 * 1024 + 1)))
        self.assertEqual(response.status_code, 413)
        self._assert_nothing_stored()

    @mute_logger(CONTROLLER_LOGGER)
    def test_oversized_request_is_refused_before_parsing(self):
        response = self._post_twilio("inbound", self._inbound_params("x" * (200 * 1024)))
        self.assertEqual(response.status_code, 413)
        self._assert_nothing_stored()

    @mute_logger(CONTROLLER_LOGGER)
    def test_wrong_content_type_is_refused(self):
        path = self._webhook_path(self.account, "inbound")
        response = self.url_open(
            path, data='{"Body": "json"}', headers={"Content-Type": "application/json", "X-Twilio-Signature": "x"}
        )
        self.assertEqual(response.status_code, 415)
        self._assert_nothing_stored()

    def test_get_is_not_allowed(self):
        response = self.url_open(self._webhook_path(self.account, "inbound"))
        self.assertEqual(response.status_code, 405)
        self._assert_nothing_stored()

    @mute_logger(CONTROLLER_LOGGER)
    def test_unknown_kind_is_not_found(self):
        response = self._post_twilio("other", self._inbound_params())
        self.assertEqual(response.status_code, 404)
        self._assert_nothing_stored()

    def test_webhook_urls_use_the_public_url(self):
        base = self.account.webhook_base_url.rstrip("/")
        token = self.account.webhook_token
        self.assertEqual(self.account.inbound_url, f"{base}/crm_sms_conversation/webhook/{token}/inbound")
        self.assertEqual(self.account.status_url, f"{base}/crm_sms_conversation/webhook/{token}/status")
        self.account.action_regenerate_webhook_token()
        self.assertNotEqual(self.account.webhook_token, token)
        self.assertNotIn(token, self.account.inbound_url)


@tagged("post_install", "-at_install")
class TestStatusWebhook(SmsWebhookCase):
    def test_signed_status_callback_updates_the_chatter_state(self):
        partner = self._partner("Status Customer", phone="(415) 555-0123")
        with self.mock_twilio() as calls:
            message = self._send_from(partner, "Your quote is ready")
            self._process_queue()
        self.assertEqual(len(calls), 1)
        status_callback = calls[0]["data"]["StatusCallback"]
        self.assertTrue(status_callback.startswith(self.account.status_url + "?sms_uuid="))
        query = status_callback.split("?", 1)[1]
        notification = self._notifications(message)
        self.assertEqual(notification.notification_status, "pending")

        response = self._post_twilio(
            "status",
            {"MessageSid": "SM00000000000000000000000000000001", "MessageStatus": "delivered", "AccountSid": "AC1"},
            query=query,
        )
        self.assertEqual(response.status_code, 200)
        self._run_event_cron()
        self.assertEqual(notification.notification_status, "sent", "delivered: the chatter shows it")

    @mute_logger(CONTROLLER_LOGGER)
    def test_unsigned_status_callback_changes_nothing(self):
        partner = self._partner("Status Customer", phone="(415) 555-0123")
        with self.mock_twilio():
            message = self._send_from(partner, "Your quote is ready")
            self._process_queue()
        response = self._post_twilio(
            "status",
            {"MessageSid": "SM00000000000000000000000000000001", "MessageStatus": "failed", "ErrorCode": "30007"},
            signature="bm90IGEgc2lnbmF0dXJl",
        )
        self.assertEqual(response.status_code, 403)
        self._run_event_cron()
        self.assertEqual(self._notifications(message).notification_status, "pending")

    @mute_logger(CONTROLLER_LOGGER)
    def test_malformed_status_callback_is_refused(self):
        response = self._post_twilio("status", {"MessageSid": "SM1", "MessageStatus": "exploded"})
        self.assertEqual(response.status_code, 400)
        response = self._post_twilio("status", {"MessageSid": "SM1", "MessageStatus": "sent"}, query="sms_uuid=../x")
        self.assertEqual(response.status_code, 400)
        self.env.invalidate_all()
        self.assertFalse(self.env["sms.event"].search([("kind", "=", "status")]))


@tagged("post_install", "-at_install")
class TestWebhookEdges(SmsWebhookCase):
    """10 and 15: the URL signatures are checked against, and odd requests."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.partner = cls._partner("Edge Customer", phone="(415) 555-0123")

    def _stored(self):
        self.env.invalidate_all()
        return self.env["sms.event"].search([("account_id", "=", self.account.id)])

    def test_base_url_changes_do_not_break_signatures(self):
        """web.base.url rewritten by an admin's login from another host, or a
        website domain: the provider still calls the URL it was given."""
        given = self.account.webhook_base_url
        self.env["ir.config_parameter"].sudo().set_param("web.base.url", "http://10.0.0.5:8069")
        self.account.invalidate_recordset()
        self.assertEqual(self.account.webhook_base_url, given)
        current = self.account.get_base_url()  # the company's website domain when website is installed
        self.assertNotEqual(current.rstrip("/"), given.rstrip("/"))
        self.assertIn(current, self.account.base_url_warning, "the form tells the admin")
        self.assertTrue(self.account.inbound_url.startswith(given.rstrip("/")))
        response = self._post_twilio("inbound", self._inbound_params("Still verified"))
        self.assertEqual(response.status_code, 200)
        self.assertEqual(len(self._stored()), 1)

    def test_public_url_with_a_path_prefix(self):
        """Odoo behind a proxy at https://example.com/odoo: the provider signs the
        public URL, the proxy hands Odoo the path without the prefix."""
        self.account.webhook_base_url = "https://crm.example.com/odoo"
        self.assertTrue(
            self.account.inbound_url.startswith("https://crm.example.com/odoo/crm_sms_conversation/webhook/")
        )
        response = self._post_twilio("inbound", self._inbound_params("Through the proxy"))
        self.assertEqual(response.status_code, 200)
        self.assertEqual(len(self._stored()), 1)

    @mute_logger(CONTROLLER_LOGGER)
    def test_a_url_other_than_the_public_one_is_refused(self):
        path = self._webhook_path(self.account, "inbound")
        params = self._inbound_params("Signed for another host")
        signature = twilio_signature(TWILIO_TOKEN, "https://attacker.example" + path, list(params.items()))
        response = self.url_open(path, data=params, headers={"X-Twilio-Signature": signature})
        self.assertEqual(response.status_code, 403)
        self.assertFalse(self._stored())

    def test_options_does_not_act(self):
        path = self._webhook_path(self.account, "inbound")
        params = self._inbound_params("Options")
        signature = twilio_signature(TWILIO_TOKEN, self._signed_url(self.account, path), list(params.items()))
        response = self.opener.options(
            self.base_url() + path, data=params, headers={"X-Twilio-Signature": signature}, timeout=10
        )
        self.assertIn(response.status_code, (200, 405))
        self.assertFalse(self._stored(), "only POST may act")

    @mute_logger(CONTROLLER_LOGGER)
    def test_sms_uuid_with_a_trailing_newline_is_refused(self):
        response = self._post_twilio(
            "status",
            {"MessageSid": "SM1", "MessageStatus": "delivered"},
            query="sms_uuid=0123456789abcdef0123456789abcdef%0A",
        )
        self.assertEqual(response.status_code, 400)
        self.assertFalse(self._stored())

    @mute_logger(CONTROLLER_LOGGER)
    def test_body_hash_binds_the_real_body(self):
        """A URL-only signature with ?bodySHA256= of an empty body must not vouch for form parameters."""
        empty_hash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        path = self._webhook_path(self.account, "inbound", f"bodySHA256={empty_hash}")
        signature = twilio_signature(TWILIO_TOKEN, self._signed_url(self.account, path), [])
        response = self.url_open(path, data=self._inbound_params("Forged"), headers={"X-Twilio-Signature": signature})
        self.assertEqual(response.status_code, 403)
        self.assertFalse(self._stored())


@tagged("post_install", "-at_install")
class TestSimulatorWebhook(SmsWebhookCase):
    def test_signed_by_hand_as_the_readme_shows(self):
        """README, "Calling the Simulator webhook by hand": the manager sets a
        signing secret, signs the URL followed by the raw body."""
        self.simulator.simulator_secret = "my-own-secret"
        path = self._webhook_path(self.simulator, "inbound")
        body = "id=manual-1&from=%2B14155550177&to=%2B14155550300&body=Hello+from+curl"
        url = self._signed_url(self.simulator, path)
        signature = hmac.new(b"my-own-secret", (url + body).encode(), hashlib.sha256).hexdigest()
        headers = {"X-Simulator-Signature": signature, "Content-Type": "application/x-www-form-urlencoded"}
        response = self.url_open(path, data=body, headers=headers)
        self.assertEqual(response.status_code, 200)
        self._run_event_cron()
        event = self.env["sms.event"].search([("external_id", "=", "manual-1")])
        self.assertEqual(event.state, "done", event.error)
        self.assertIn("Hello from curl", event.message_id.body)
