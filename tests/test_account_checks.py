from odoo.addons.mail.tests.common import mail_new_test_user
from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from .common import TWILIO_SID, FakeResponse, SmsConversationCase
from .test_outbound import connection_refused


@tagged("post_install", "-at_install")
class TestAccountChecks(SmsConversationCase):
    """The account form's Test Connection and Send Test SMS buttons."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.user_manager = mail_new_test_user(
            cls.env, login="sms_checker", name="SMS Checker", groups="sales_team.group_sale_manager"
        )

    def test_connection_accepted(self):
        with self.mock_twilio([FakeResponse(200, {"sid": TWILIO_SID, "friendly_name": "Harbor Sales"})]) as calls:
            action = self.account.with_user(self.user_manager).action_test_connection()
        self.assertEqual(calls[0]["method"], "GET")
        self.assertTrue(calls[0]["url"].endswith(f"/2010-04-01/Accounts/{TWILIO_SID}.json"))
        self.assertTrue(calls[0]["auth"].startswith("Basic "), "authenticated with the account's credentials")
        self.assertEqual(action["params"]["type"], "success")
        self.assertIn("Harbor Sales", action["params"]["message"])

    def test_connection_with_wrong_credentials_says_what_to_check(self):
        refused = FakeResponse(401, {"code": 20003, "message": "Authentication Error - invalid username"})
        with self.mock_twilio([refused]):
            action = self.account.with_user(self.user_manager).action_test_connection()
        self.assertEqual(action["params"]["type"], "danger")
        self.assertIn("20003", action["params"]["message"])
        self.assertIn("Auth Token", action["params"]["message"])

    def test_connection_without_network_says_so(self):
        with self.mock_twilio([connection_refused()]):
            action = self.account.with_user(self.user_manager).action_test_connection()
        self.assertEqual(action["params"]["type"], "danger")
        self.assertIn("could not be reached", action["params"]["message"])
        self.assertTrue(self.account.sudo().unreachable_since)

    def test_sellers_cannot_test_the_account(self):
        with self.assertRaises(AccessError):
            self.env["sms.account.test"].with_user(self.user_seller_a).create(
                {"account_id": self.account.id, "to_number": "+14155550123"}
            )

    def _wizard(self, to_number, **values):
        return (
            self.env["sms.account.test"]
            .with_user(self.user_manager)
            .create({"account_id": self.account.id, "to_number": to_number, **values})
        )

    def test_send_test_sms(self):
        wizard = self._wizard("(415) 555-0123", body="Does it work?")
        self.assertEqual(wizard.number_id, self.account.number_ids[:1], "the account's first number by default")
        with self.mock_twilio() as calls:
            action = wizard.action_send()
        self.assertEqual(
            (calls[0]["data"]["To"], calls[0]["data"]["From"], calls[0]["data"]["Body"]),
            ("+14155550123", wizard.number_id.number, "Does it work?"),
        )
        self.assertEqual(action["params"]["type"], "success")

    def test_send_test_sms_refused_says_what_to_do(self):
        refused = FakeResponse(400, {"code": 21211, "message": "The 'To' number is not a valid phone number."})
        with self.mock_twilio([refused]):
            action = self._wizard("+14155550123").action_send()
        self.assertEqual(action["params"]["type"], "danger")
        self.assertIn("21211", action["params"]["message"])
        self.assertIn("E.164", action["params"]["message"])

    def test_send_test_sms_checks_the_number_first(self):
        self.env["phone.blacklist"].sudo()._add(["+14155550124"])
        with self.mock_twilio() as calls:
            with self.assertRaisesRegex(UserError, "not a phone number"):
                self._wizard("call me").action_send()
            with self.assertRaisesRegex(UserError, "opted out"):
                self._wizard("+14155550124").action_send()
        self.assertFalse(calls, "nothing reached the provider")
