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
        self._receive("STOP")
        self._receive("START")
        self.assertTrue(
            self.env["phone.blacklist"].sudo().search([("number", "=", self.customer_number)]),
            "a STOP does not make a block by hand the customer's",
        )
        self.env["ir.config_parameter"].sudo().set_param(OPT_IN_LIFTS_MANUAL_PARAM, "True")
        self._receive("START")
        self.assertFalse(self.env["phone.blacklist"].sudo().search([("number", "=", self.customer_number)]))

    def test_keywords_added_in_the_settings(self):
        self._partner("French", phone=self.customer_number)
        self.env["ir.config_parameter"].sudo().set_param(KEYWORD_PARAMS[keywords.OPT_OUT], "Arrêt, halte")
        self._receive("arret")
        self.assertTrue(self.env["phone.blacklist"].sudo().search([("number", "=", self.customer_number)]))
        self.assertEqual(self.env["sms.consent"].search([("number", "=", self.customer_number)]).keyword, "ARRET")

    def test_yes_of_a_subscribed_customer_is_a_message(self):
        self._partner("Agreeing", phone=self.customer_number)
        self._receive("Yes")
        self.assertFalse(self.env["sms.consent"].search([("number", "=", self.customer_number)]))

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
        sent = self.env["sms.sms"].sudo().search([("number", "=", self.customer_number)])
        self.assertEqual(sent.mapped("sms_auto_reply"), ["stop"], "only the opt-out confirmation")

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
class TestAutoReplies(SmsConversationCase):
    def _auto_replies(self):
        return self.env["sms.sms"].sudo().search([("sms_auto_reply", "!=", False)], order="id")

    def test_stop_is_confirmed_once_even_though_the_number_is_blacklisted(self):
        self._partner("Leaving", phone=self.customer_number, user_id=self.user_seller_a.id)
        with self.mock_twilio() as calls:
            self._receive("STOP")
            self._process_queue()
            self._receive("stop!")
            self._process_queue()
        self.assertEqual(len(calls), 1, "confirmed once, not at the second STOP")
        self.assertEqual(calls[0]["data"]["To"], self.customer_number)
        self.assertEqual(calls[0]["data"]["From"], self.number_a.number, "from the number the customer wrote to")
        self.assertEqual(calls[0]["data"]["Body"], self.account.auto_reply_stop)
        message = self.env["mail.message"].search(
            [("sms_direction", "=", "outbound"), ("body", "ilike", "unsubscribed")]
        )
        self.assertEqual(message.author_id, self.gateway.partner_id, "the account answers, not a seller")
        self.assertEqual(self._notifications(message).notification_status, "pending", "sent, not refused")

    def test_help_is_answered_unless_the_customer_opted_out(self):
        self._partner("Curious", phone=self.customer_number)
        self.account.auto_reply_help = "Sales team of Harbor: reply STOP to stop."
        with self.mock_twilio() as calls:
            self._receive("Help?")
            self._process_queue()
            self.env["phone.blacklist"].sudo()._add([self.customer_number], message="By hand")
            self._receive("INFO")
            self._process_queue()
        self.assertEqual([call["data"]["Body"] for call in calls], ["Sales team of Harbor: reply STOP to stop."])

    def test_empty_answers_send_nothing(self):
        self._partner("Quiet", phone=self.customer_number)
        self.account.write({"auto_reply_stop": False, "auto_reply_help": ""})
        with self.mock_twilio() as calls:
            self._receive("HELP")
            self._receive("STOP")
            self._process_queue()
        self.assertFalse(calls)
        self.assertFalse(self._auto_replies())

    def test_a_seller_message_to_an_opted_out_number_is_still_refused(self):
        partner = self._partner("Still Out", phone=self.customer_number, user_id=self.user_seller_a.id)
        self.account.auto_reply_stop = False
        self._receive("STOP")
        with self.mock_twilio() as calls:
            message = self._send_from(partner, "One more offer")
            self._process_queue()
        self.assertFalse(calls)
        self.assertEqual(self._notifications(message).failure_type, "sms_optout")


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


@tagged("post_install", "-at_install")
class TestOptOutOnEverySendPath(SmsConversationCase):
    """The compliance matrix, opt-out column: whichever way a text leaves for
    an opted-out number, no provider call, and the reason is told."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.partner = cls._partner("Opted Out Everywhere", phone=cls.customer_number, user_id=cls.user_seller_a.id)
        cls.env["phone.blacklist"].sudo()._sms_opt_out(cls.customer_number, "Opted out by replying STOP.")
        cls.template = cls.env["sms.template"].create(
            {"name": "Offer", "model_id": cls.env["ir.model"]._get_id("res.partner"), "body": "Our offer"}
        )

    def _assert_refused_by_the_queue(self, messages):
        self._process_queue()
        notifications = (
            self.env["mail.notification"]
            .sudo()
            .search([("mail_message_id", "in", messages.ids), ("notification_type", "=", "sms")])
        )
        self.assertTrue(notifications)
        self.assertEqual(set(notifications.mapped("failure_type")), {"sms_optout"})
        self.assertTrue(all("opted out" in reason for reason in notifications.mapped("failure_reason")))

    def _messages_since(self, last_id):
        return (
            self.env["mail.message"]
            .sudo()
            .search(
                [
                    ("id", ">", last_id),
                    ("model", "=", "res.partner"),
                    ("res_id", "=", self.partner.id),
                    ("message_type", "=", "sms"),
                ]
            )
        )

    def test_every_send_path(self):
        Pane = self.env["sms.conversation"].with_user(self.user_seller_a)
        composer = self.env["sms.composer"].with_user(self.user_seller_a)
        context = {"default_res_model": "res.partner", "default_res_id": self.partner.id}
        server_action = self.env["ir.actions.server"].create(
            {
                "name": "Text the offer",
                "model_id": self.env["ir.model"]._get_id("res.partner"),
                "state": "sms",
                "sms_template_id": self.template.id,
                "sms_method": "comment",
            }
        )
        paths = {
            "chatter composer": lambda: self._send_from(self.partner, "Hello"),
            "template": lambda: composer.with_context(context, default_composition_mode="comment")
            .create({"template_id": self.template.id, "number_field_name": "phone"})
            .action_send_sms(),
            "server action": lambda: server_action.with_context(
                active_model="res.partner", active_id=self.partner.id, active_ids=self.partner.ids
            ).run(),
            "automation (OdooBot)": lambda: self.partner.with_user(self.env.ref("base.user_root"))._message_sms(
                "Automated reminder"
            ),
        }
        with self.mock_twilio() as calls:
            for path, send in paths.items():
                with self.subTest(path=path):
                    last_id = self.env["mail.message"].sudo().search([], order="id desc", limit=1).id
                    send()
                    self._assert_refused_by_the_queue(self._messages_since(last_id))
            with self.subTest(path="RPC with the automatic answer's context"):
                last_id = self.env["mail.message"].sudo().search([], order="id desc", limit=1).id
                composer.with_context(
                    context, default_composition_mode="comment", sms_conversation_auto_reply="stop"
                ).create({"body": "Sneaking past the blacklist", "number_field_name": "phone"}).action_send_sms()
                self._assert_refused_by_the_queue(self._messages_since(last_id))
            with self.subTest(path="pane"), self.assertRaisesRegex(UserError, "opted out"):
                Pane.send_message("res.partner", self.partner.id, self.customer_number, self.number_a.id, "Hi")
            with self.subTest(path="mass SMS"):
                mass = composer.with_context(
                    default_res_model="res.partner", default_composition_mode="mass", active_ids=self.partner.ids
                ).create(
                    {
                        "body": "Mass offer",
                        "mass_keep_log": True,
                        "number_field_name": "phone",
                        "res_ids": repr(self.partner.ids),
                    }
                )
                mass.action_send_sms()
                sms = self.env["sms.sms"].sudo().search([("body", "=", "Mass offer")])
                self.assertEqual((sms.state, sms.failure_type), ("canceled", "sms_blacklist"))
        self.assertFalse(calls, "no path reached the provider")
