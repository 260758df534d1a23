from odoo.addons.crm_sms_conversation.tools.sms_twilio import EMPTY_TWIML
from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import SmsWebhookCase

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
        self.env.invalidate_all()
        self.assertEqual(len(self._events()), 1)
        messages = self.env["mail.message"].search(
            [("model", "=", "res.partner"), ("res_id", "=", self.partner.id), ("sms_direction", "=", "inbound")]
        )
        self.assertEqual(len(messages), 1, "a provider's retry does not post the message twice")

    @mute_logger(CONTROLLER_LOGGER)
    def test_forged_signature_is_refused(self):
        response = self._post_twilio("inbound", self._inbound_params(), signature="bm90IGEgc2lnbmF0dXJl")
        self.assertEqual(response.status_code, 403)
        self._assert_nothing_stored()

    @mute_logger(CONTROLLER_LOGGER)
    def test_tampered_parameters_are_refused(self):
        params = self._inbound_params("Original")
        path = self._webhook_path(self.account, "inbound")
        url = self.account.get_base_url().rstrip("/") + path
        from odoo.addons.crm_sms_conversation.tools.sms_twilio import twilio_signature

        signature = twilio_signature("twilio-test-auth-token", url, list(params.items()))
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

    def test_webhook_urls_use_the_base_url(self):
        base = self.account.get_base_url().rstrip("/")
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
        self.env.invalidate_all()
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
        self.env.invalidate_all()
        self.assertEqual(self._notifications(message).notification_status, "pending")

    @mute_logger(CONTROLLER_LOGGER)
    def test_malformed_status_callback_is_refused(self):
        response = self._post_twilio("status", {"MessageSid": "SM1", "MessageStatus": "exploded"})
        self.assertEqual(response.status_code, 400)
        response = self._post_twilio("status", {"MessageSid": "SM1", "MessageStatus": "sent"}, query="sms_uuid=../x")
        self.assertEqual(response.status_code, 400)
        self.env.invalidate_all()
        self.assertFalse(self.env["sms.event"].search([("kind", "=", "status")]))
