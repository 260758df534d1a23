"""What the server gives the seller's pane and lists: the seller's view,
without access errors, raw errors or misleading states."""

import json

from odoo.addons.mail.tests.common import mail_new_test_user
from odoo.tests import tagged
from odoo.tools import mute_logger
from odoo.tools.safe_eval import safe_eval

from ..tools.compat import MENU_GROUPS_FIELD, ODOO_19
from .common import SmsConversationCase
from .test_outbound import connection_refused

SMS_LOGGER = "odoo.addons.crm_sms_conversation.models.sms_sms"


@tagged("post_install", "-at_install")
class TestSellerView(SmsConversationCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Pane = cls.env["sms.conversation"].with_user(cls.user_seller_a)

    def test_another_sellers_record_is_shown_without_being_opened(self):
        lead = self._lead("B's opportunity", phone=self.customer_number, user_id=self.user_seller_b.id)
        self._receive("For A's number")
        data = self.Pane.get_pane_data("crm.lead", lead.id, self.customer_number)
        self.assertFalse(data["record"]["readable"], "the name is no link")
        self.assertIn("Seller B", data["record"]["hidden_reason"])
        self.assertFalse(data["can_move"], "no write access on the lead: no Move")
        self.assertTrue(data["conversation"], "the conversation itself is there")
        own = self._partner("A's contact", user_id=self.user_seller_a.id)
        data = self.Pane.get_pane_data("res.partner", own.id)
        self.assertTrue(data["record"]["readable"])
        self.assertFalse(data["record"]["hidden_reason"])

    def test_conversations_the_seller_cannot_see_are_counted(self):
        partner = self._partner("Team B's customer", phone=self.customer_number)
        self._receive("To team B", number=self.number_b)
        data = self.Pane.get_pane_data("res.partner", partner.id)
        self.assertFalse(data["conversation"])
        self.assertEqual(data["hidden_conversation_count"], 1, "the pane says they exist")

    def test_messages_say_which_of_our_numbers_spoke(self):
        self.team_b.member_ids |= self.user_seller_a
        partner = self._partner("Two lines", phone=self.customer_number, user_id=self.user_seller_a.id)
        first = self._receive("On A", number=self.number_a).sms_conversation_id
        self._receive("On B", number=self.number_b)
        messages = self.Pane.get_messages(first.id)["messages"]
        self.assertEqual({m["body"]: m["number"] for m in messages}, {"On A": "+14155550100", "On B": "+14155550200"})
        self.assertTrue(partner)

    def test_a_message_waiting_for_another_attempt_says_so(self):
        partner = self._partner("Retry", phone=self.customer_number, user_id=self.user_seller_a.id)
        with self.mock_twilio([connection_refused()]):
            message = self._send_from(partner, "Are you there?")
            self._process_queue()
        values = self.Pane.get_messages(message.sms_conversation_id.id)["messages"][0]
        self.assertEqual(values["state"], "queued")
        self.assertEqual((values["retry"]["attempt"], values["retry"]["max"]), (2, 5))
        self.assertTrue(values["retry"]["next_date"])

    @mute_logger(SMS_LOGGER)
    def test_sellers_never_see_a_raw_transport_error(self):
        partner = self._partner("Unreachable", phone=self.customer_number, user_id=self.user_seller_a.id)
        with self.mock_twilio([connection_refused()] * 5):
            message = self._send_from(partner, "Hello")
            for hour in range(5):
                self._process_queue(at=self._later(3600 * hour))
        reason = self._notifications(message).failure_reason
        self.assertIn("could not be reached", reason)
        for raw in ("Errno", "NewConnectionError", "Connection refused", "AC0123456789abcdef", "object at 0x"):
            self.assertNotIn(raw, reason)

    @mute_logger(SMS_LOGGER)
    def test_a_number_whose_provider_is_down_is_not_proposed(self):
        backup = self.env["sms.number"].create(
            {"number": "+14155550400", "account_id": self.simulator.id, "user_ids": [(6, 0, self.user_seller_a.ids)]}
        )
        partner = self._partner("Outage", phone=self.customer_number, user_id=self.user_seller_a.id)
        Number = self.env["sms.number"].with_user(self.user_seller_a)
        self.assertEqual(Number._get_default_sender(remote_number=self.customer_number), self.number_a)
        with self.mock_twilio([connection_refused()]):
            self._send_from(partner, "Hello")
            self._process_queue()
        self.assertTrue(self.account.unreachable_since)
        self.assertEqual(Number._get_default_sender(remote_number=self.customer_number), backup)
        with self.mock_twilio():
            self._process_queue(at=self._later(60))
        self.assertFalse(self.account.unreachable_since, "it answers again")
        self.assertEqual(Number._get_default_sender(remote_number=self.customer_number), self.number_a)

    def test_simulated_reply_tells_where_it_landed(self):
        partner = self._partner("Simulated", phone="+14155550778", user_id=self.user_seller_c.id)
        lead = self._lead("Simulated deal", phone="+14155550778", user_id=self.user_seller_c.id)
        conversation = self.env["sms.conversation"]._get_or_create(self.number_sim, "+14155550778", partner)
        self.env["sms.conversation"]._get_or_create(self.number_sim, "+14155550778", lead)._touch()
        landed = self.env["sms.conversation"].with_user(self.user_seller_c).simulate_inbound(conversation.id, "Hi")
        self.assertEqual((landed["res_model"], landed["res_id"]), ("crm.lead", lead.id), "rule 1")

    def test_inbound_tells_open_panes_where_it_went(self):
        lead = self._lead("Routed here", phone=self.customer_number, user_id=self.user_seller_a.id)
        message = self._receive("Where does it go?")
        self.env.cr.flush()
        notifications = self.env["bus.bus"].sudo().search([("message", "like", "crm_sms_conversation/inbound")])
        payloads = [json.loads(n.message)["payload"] for n in notifications]
        payload = next(p for p in payloads if p["message_id"] == message.id)
        self.assertEqual((payload["res_model"], payload["res_id"]), ("crm.lead", lead.id))
        self.assertEqual(payload["record_name"], "Routed here")


@tagged("post_install", "-at_install")
class TestSellerLists(SmsConversationCase):
    def test_customer_column_names_people(self):
        contact = self._partner("Jane Roe", phone=self.customer_number)
        lead = self._lead("Fleet deal", phone="+14155550124", partner_id=contact.id)
        anonymous = self._lead("Website request", phone="+14155550125", contact_name="John Doe")
        conversations = self.env["sms.conversation"]
        for record, number in ((contact, self.customer_number), (lead, "+14155550124"), (anonymous, "+14155550125")):
            conversations |= conversations._get_or_create(self.number_a, number, record)
        self.assertEqual(conversations.mapped("customer_name"), ["Jane Roe", "Jane Roe", "John Doe"])
        self.assertEqual(conversations.mapped("record_name"), ["Jane Roe", "Fleet deal", "Website request"])
        self.assertEqual(self.env["sms.conversation"]._fields["res_model"].string, "Record Type")

    def test_managers_have_theirs_and_all(self):
        manager = mail_new_test_user(self.env, login="sms_boss", groups="sales_team.group_sale_manager")
        self._partner("Somebody's", phone=self.customer_number)
        conversation = self._receive("Hi").sms_conversation_id
        mine = self.env.ref("crm_sms_conversation.sms_conversation_action")
        everything = self.env.ref("crm_sms_conversation.sms_conversation_action_all")
        Conversation = self.env["sms.conversation"].with_user(manager)
        domain = safe_eval(mine.domain, {"uid": manager.id})
        self.assertNotIn(conversation, Conversation.search(domain), "My Text Messages: the manager's own")
        self.assertIn(conversation, Conversation.search(safe_eval(everything.domain or "[]")))
        menu = self.env.ref("crm_sms_conversation.crm_sms_conversation_menu_conversations_all")
        self.assertEqual(
            menu[MENU_GROUPS_FIELD], self.env.ref("crm_sms_conversation.crm_sms_conversation_group_manager")
        )
        seller_domain = safe_eval(mine.domain, {"uid": self.user_seller_a.id})
        self.assertIn(conversation, self.env["sms.conversation"].with_user(self.user_seller_a).search(seller_domain))

    def test_details_open_from_the_list_and_the_pane(self):
        self._partner("Details", phone=self.customer_number)
        conversation = self._receive("Hi").sms_conversation_id
        action = conversation.with_user(self.user_seller_a).action_view_details()
        self.assertEqual(
            (action["res_model"], action["res_id"], action["target"]), ("sms.conversation", conversation.id, "new")
        )

    if not ODOO_19:  # Odoo 19 has no resend dialog: sellers resend from the conversation pane

        def test_failure_dialog_says_what_to_do_and_resends(self):
            partner = self._partner("Resend", phone=self.customer_number, user_id=self.user_seller_a.id)
            with self.mock_twilio([connection_refused()] * 5) as calls, mute_logger(SMS_LOGGER):
                message = self._send_from(partner, "Hello")
                for hour in range(5):
                    self._process_queue(at=self._later(3600 * hour))
            wizard = (
                self.env["sms.resend"]
                .with_user(self.user_seller_a)
                .with_context(default_mail_message_id=message.id)
                .create({})
            )
            self.assertIn("could not be reached", wizard.recipient_ids.failure_reason)
            self.assertTrue(wizard.can_resend)
            wizard.action_resend()
            with self.mock_twilio() as calls:
                self._process_queue(at=self._later(6 * 3600))
            self.assertEqual([call["data"]["Body"] for call in calls], ["Hello"], "sent again through the account")
            self.assertEqual(self._notifications(message).notification_status, "pending")
