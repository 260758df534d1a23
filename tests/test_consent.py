import importlib.util

from odoo.exceptions import UserError
from odoo.tests import tagged
from odoo.tools.misc import file_path

from ..models.phone_blacklist import OPT_IN_LIFTS_MANUAL_PARAM
from ..models.sms_conversation import KEYWORD_PARAMS
from ..tools import keywords
from .common import FakeResponse, SmsConversationCase


@tagged("post_install", "-at_install")
class TestConsentKeywords(SmsConversationCase):
    def test_keyword_variants(self):
        sets = keywords.keyword_sets()
        for body, expected in (
            ("STOP", ("opt_out", "STOP")),
            (" stop ", ("opt_out", "STOP")),
            ("Stop!", ("opt_out", "STOP")),
            ("stop.", ("opt_out", "STOP")),
            ("Stóp", ("opt_out", "STOP")),
            ("StopAll", ("opt_out", "STOPALL")),
            ("unsubscribe", ("opt_out", "UNSUBSCRIBE")),
            ("Cancel", ("opt_out", "CANCEL")),
            ("end", ("opt_out", "END")),
            ("Quit?", ("opt_out", "QUIT")),
            ("revoke", ("opt_out", "REVOKE")),
            ("OPTOUT", ("opt_out", "OPTOUT")),
            ("opt out", ("opt_out", "OPT OUT")),
            ("Opt-Out", ("opt_out", "OPT OUT")),
            ("opt   out!!", ("opt_out", "OPT OUT")),
            ("Baixa.", ("opt_out", "BAIXA")),
            ("darse de baja", ("opt_out", "DARSE DE BAJA")),
            ("¡Baja!", ("opt_out", "BAJA")),
            ("start", ("opt_in", "START")),
            ("Yes", ("opt_in", "YES")),
            ("unstop", ("opt_in", "UNSTOP")),
            ("Alta", ("opt_in", "ALTA")),
            ("help", ("help", "HELP")),
            ("Info?", ("help", "INFO")),
            ("Axuda", ("help", "AXUDA")),
            ("please stop", (None, "")),
            ("Stop sending me these", (None, "")),
            ("STOPPED", (None, "")),
            ("Yes, Tuesday at 10", (None, "")),
            ("", (None, "")),
            ("STOP " * 200, (None, "")),
        ):
            with self.subTest(body=body):
                self.assertEqual(keywords.classify(body, sets), expected)

    def test_stop_blacklists_at_once_and_is_logged(self):
        partner = self._partner("Opting Out", phone=self.customer_number)
        message = self._receive("Stop!")
        conversation = message.sms_conversation_id
        entry = self.env["phone.blacklist"].sudo().search([("number", "=", self.customer_number)])
        self.assertTrue(entry.sms_opted_out_by_customer)
        log = self.env["sms.consent"].search([("number", "=", self.customer_number)])
        self.assertEqual((log.action, log.source, log.keyword, log.applied), ("opt_out", "keyword", "STOP", True))
        self.assertEqual((log.message_id, log.number_id, log.company_id), (message, self.number_a, self.company))
        self.assertEqual(log.conversation_id, conversation)
        self.assertEqual(partner.with_user(self.user_seller_a).sms_consent_ids, log, "shown on the contact")
        self.assertEqual(conversation.consent_ids, log, "shown on the conversation")
        self.assertTrue(conversation.opted_out)

    def test_start_lifts_an_opt_out_of_the_customer(self):
        self._partner("Back Again", phone=self.customer_number)
        self._receive("STOP")
        self._receive("start")
        self.assertFalse(self.env["phone.blacklist"].sudo().search([("number", "=", self.customer_number)]))
        logs = self.env["sms.consent"].search([("number", "=", self.customer_number)], order="id")
        self.assertEqual(logs.mapped("action"), ["opt_out", "opt_in"])
        self.assertTrue(logs[1].applied)

    def test_start_does_not_lift_a_number_blacklisted_by_hand(self):
        self._partner("Blocked", phone=self.customer_number)
        self.env["phone.blacklist"].sudo()._add([self.customer_number], message="Asked us by phone")
        self._receive("START")
        self.assertTrue(self.env["phone.blacklist"].sudo().search([("number", "=", self.customer_number)]))
        log = self.env["sms.consent"].search([("number", "=", self.customer_number)])
        self.assertEqual((log.action, log.applied), ("opt_in", False))
        self.assertIn("by hand", log.note)
        self.env["ir.config_parameter"].sudo().set_param(OPT_IN_LIFTS_MANUAL_PARAM, "True")
        self._receive("START")
        self.assertFalse(self.env["phone.blacklist"].sudo().search([("number", "=", self.customer_number)]))

    def test_keywords_added_in_the_settings(self):
        self._partner("French", phone=self.customer_number)
        self.env["ir.config_parameter"].sudo().set_param(KEYWORD_PARAMS[keywords.OPT_OUT], "Arrêt, halte")
        self._receive("arret")
        self.assertTrue(self.env["phone.blacklist"].sudo().search([("number", "=", self.customer_number)]))
        self.assertEqual(self.env["sms.consent"].search([("number", "=", self.customer_number)]).keyword, "ARRET")

    def test_a_sentence_with_stop_is_a_message_not_an_opt_out(self):
        self._partner("Chatty", phone=self.customer_number)
        self._receive("Please stop by on Tuesday")
        self.assertFalse(self.env["phone.blacklist"].sudo().search([("number", "=", self.customer_number)]))
        self.assertFalse(self.env["sms.consent"].search([("number", "=", self.customer_number)]))

    def test_the_pane_shows_the_opt_out_and_refuses_to_send(self):
        partner = self._partner("Opted", phone=self.customer_number, user_id=self.user_seller_a.id)
        self._receive("STOP")
        Pane = self.env["sms.conversation"].with_user(self.user_seller_a)
        data = Pane.get_pane_data("res.partner", partner.id)
        self.assertIn("opted out", data["opted_out"])
        self.assertIn("STOP", data["opted_out"])
        with self.mock_twilio() as calls, self.assertRaisesRegex(UserError, "opted out"):
            Pane.send_message("res.partner", partner.id, self.customer_number, self.number_a.id, "Still there?")
        self.assertFalse(calls)
        self.assertFalse(self.env["sms.sms"].sudo().search([("number", "=", self.customer_number)]))

    def test_the_provider_opt_out_error_is_logged(self):
        partner = self._partner("Unsubscribed at Twilio", phone=self.customer_number)
        with self.mock_twilio([FakeResponse(400, {"code": 21610, "message": "Unsubscribed recipient"})]):
            message = self._send_from(partner)
            self._process_queue()
        entry = self.env["phone.blacklist"].sudo().search([("number", "=", self.customer_number)])
        self.assertTrue(entry.sms_opted_out_by_customer, "a START reply may lift it")
        log = self.env["sms.consent"].search([("number", "=", self.customer_number)])
        self.assertEqual((log.action, log.source, log.message_id), ("opt_out", "provider", message))


@tagged("post_install", "-at_install")
class TestConsentMigration(SmsConversationCase):
    def test_earlier_opt_outs_stay_the_customers(self):
        """An update from 1.1.0 marks the blacklist entries a STOP made: START still lifts them."""
        path = file_path("crm_sms_conversation/migrations/1.2.0/post-migrate.py")
        spec = importlib.util.spec_from_file_location("crm_sms_conversation_migrate_1_2_0", path)
        migration = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(migration)
        Blacklist = self.env["phone.blacklist"].sudo()
        by_stop = Blacklist._add(["+14155550131"], message="Opted out by replying STOP.")
        by_hand = Blacklist._add(["+14155550132"], message="Asked us by phone")
        self.env.flush_all()
        migration.migrate(self.env.cr, "18.0.1.1.0")
        self.env.invalidate_all()
        self.assertTrue(by_stop.sms_opted_out_by_customer)
        self.assertFalse(by_hand.sms_opted_out_by_customer)
