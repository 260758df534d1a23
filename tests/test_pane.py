from odoo.addons.mail.tools.discuss import Store
from odoo.exceptions import UserError
from odoo.tests import tagged

from .common import HAS_MOBILE, FakeResponse, SmsConversationCase


@tagged("post_install", "-at_install")
class TestPaneApi(SmsConversationCase):
    """What the conversation pane asks the server, as a seller."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        mobile = {"mobile": "+1 415 555 0124"} if HAS_MOBILE else {}
        cls.contact = cls._partner("Pane Contact", phone="(415) 555-0123", user_id=cls.user_seller_a.id, **mobile)
        cls.opportunity = cls._lead("Pane Opportunity", partner_id=cls.contact.id, user_id=cls.user_seller_a.id)
        cls.Pane = cls.env["sms.conversation"].with_user(cls.user_seller_a)

    def test_pane_data_of_a_contact(self):
        self._receive("Hi there")
        data = self.Pane.get_pane_data("res.partner", self.contact.id)
        self.assertEqual(data["record"]["name"], "Pane Contact")
        phones = [("phone", "+14155550123"), ("mobile", "+14155550124")] if HAS_MOBILE else [("phone", "+14155550123")]
        self.assertEqual([(p["field"], p["number"]) for p in data["phones"]], phones)
        self.assertEqual(data["remote_number"], "+14155550123")
        self.assertEqual(data["default_number_id"], self.number_a.id)
        self.assertEqual([n["id"] for n in data["numbers"]], [self.number_a.id], "only the seller's own numbers")
        self.assertEqual(data["conversation"]["unread_count"], 1)
        self.assertIn(
            self.opportunity.id,
            [r["id"] for r in data["related"] if r["model"] == "crm.lead"],
            "a contact lists its opportunities",
        )
        self.assertTrue(data["can_move"])

    def test_pane_data_of_an_opportunity_lists_its_contact(self):
        data = self.Pane.get_pane_data("crm.lead", self.opportunity.id)
        self.assertEqual([(r["model"], r["id"]) for r in data["related"]], [("res.partner", self.contact.id)])
        self.assertFalse(data["conversation"])

    def test_send_and_read_pages_with_delivery_states(self):
        with self.mock_twilio(
            [FakeResponse(201, {"sid": "SMpane1"}), FakeResponse(400, {"code": 21211, "message": "Invalid"})]
        ):
            first = self.Pane.send_message("res.partner", self.contact.id, "+14155550123", self.number_a.id, "One")
            second = self.Pane.send_message("res.partner", self.contact.id, "+14155550123", self.number_a.id, "Two")
            self.assertEqual(first["message"]["state"], "queued")
            self._process_queue()
        conversation_id = first["conversation_id"]
        self.assertEqual(second["conversation_id"], conversation_id)
        self._receive("Three")
        page = self.Pane.get_messages(conversation_id, limit=2)
        self.assertTrue(page["has_more"])
        self.assertEqual([m["body"] for m in page["messages"]], ["Two", "Three"], "oldest first within a page")
        two, three = page["messages"]
        self.assertEqual((two["direction"], two["state"]), ("outbound", "failed"))
        self.assertIn("E.164", two["failure_reason"])
        self.assertEqual((three["direction"], three["state"]), ("inbound", False))
        older = self.Pane.get_messages(conversation_id, before_id=two["id"], limit=2)
        self.assertFalse(older["has_more"])
        self.assertEqual([(m["body"], m["state"]) for m in older["messages"]], [("One", "sent")])

    def test_send_refuses_bad_input(self):
        with self.assertRaisesRegex(UserError, "international format"):
            self.Pane.send_message("res.partner", self.contact.id, "12", self.number_a.id, "Hi")
        with self.assertRaisesRegex(UserError, "Choose one of your numbers"):
            self.Pane.send_message("res.partner", self.contact.id, "+14155550123", self.number_b.id, "Hi")
        with self.assertRaisesRegex(UserError, "Write a message"):
            self.Pane.send_message("res.partner", self.contact.id, "+14155550123", self.number_a.id, "  ")

    def test_render_template_for_the_record(self):
        template = self.env["sms.template"].create(
            {
                "name": "Greeting",
                "model_id": self.env["ir.model"]._get_id("res.partner"),
                "body": "Hello {{ object.name }}",
            }
        )
        data = self.Pane.get_pane_data("res.partner", self.contact.id)
        self.assertIn(template.id, [t["id"] for t in data["templates"]])
        self.assertEqual(self.Pane.render_template(template.id, "res.partner", self.contact.id), "Hello Pane Contact")
        with self.assertRaises(UserError):
            self.Pane.render_template(template.id, "crm.lead", self.opportunity.id)

    def test_mark_read(self):
        message = self._receive("Unread")
        conversation = message.sms_conversation_id
        self.assertEqual(conversation.unread_count, 1)
        self.Pane.mark_read(conversation.id)
        self.assertEqual(conversation.unread_count, 0)

    def test_move_with_all_messages_and_later_replies_follow(self):
        first = self._receive("Before the move")
        conversation = first.sms_conversation_id
        targets = self.Pane.search_move_targets("Pane Opp")
        self.assertIn(
            {"model": "crm.lead", "id": self.opportunity.id}, [{"model": t["model"], "id": t["id"]} for t in targets]
        )
        self.Pane.move_to(conversation.id, "crm.lead", self.opportunity.id)
        self.assertEqual((first.model, first.res_id), ("crm.lead", self.opportunity.id), "messages move too")
        self.assertIn(first, self.opportunity.message_ids)
        self.assertNotIn(first, self.contact.message_ids)
        later = self._receive("After the move")
        self.assertEqual((later.model, later.res_id), ("crm.lead", self.opportunity.id), "replies follow")
        self.assertEqual(conversation.routing_rule, "rule_1")

    def test_simulate_inbound_on_simulator_numbers_only(self):
        message = self._receive("Real provider")
        with self.assertRaises(UserError):
            self.Pane.simulate_inbound(message.sms_conversation_id.id, "Fake")
        partner = self._partner("Sim", phone="+14155550555", user_id=self.user_seller_c.id)
        conversation = self.env["sms.conversation"]._get_or_create(self.number_sim, "+14155550555", partner)
        self.env["sms.conversation"].with_user(self.user_seller_c).simulate_inbound(conversation.id, "Simulated")
        self.assertIn("Simulated", partner.message_ids[0].body)

    def test_search_by_name_number_or_text(self):
        conversation = self._receive("Looking for forty trackers").sms_conversation_id
        Conversation = self.env["sms.conversation"].with_user(self.user_seller_a)
        self.assertIn(conversation, Conversation.search([("record_name", "ilike", "pane cont")]))
        self.assertNotIn(conversation, Conversation.search([("record_name", "ilike", "nobody")]))
        self.assertIn(conversation, Conversation.search([("message_ids.body", "ilike", "forty trackers")]))
        self.assertIn(conversation.id, [r[0] for r in Conversation.name_search("+1415555012")])
        self.assertIn(conversation, Conversation.search([("unread_count", ">", 0)]))

    def test_web_client_knows_text_messages(self):
        """The messaging menu's data says which message is a customer's text, and from whom."""
        message = self._receive("Notify me")
        store = Store()
        store.add(message.with_user(self.user_seller_a))
        data = next(m for m in store.get_result()["mail.message"] if m["id"] == message.id)
        self.assertEqual(data["sms_conversation_id"], message.sms_conversation_id.id)
        self.assertEqual(data["sms_direction"], "inbound")
        self.assertEqual(data["sms_remote_number"], self.customer_number)

    def test_message_text_keeps_lines_and_links(self):
        self._receive("Line one\nLine two: see https://example.com/quote?id=4 & more")
        conversation = self.env["sms.conversation"].search([("remote_number", "=", self.customer_number)])
        body = self.Pane.get_messages(conversation.id)["messages"][-1]["body"]
        self.assertEqual(body, "Line one\nLine two: see https://example.com/quote?id=4 & more")

    def test_history_spans_our_numbers(self):
        """Messages sent from another of our numbers stay in the same thread of the pane."""
        self.team_b.member_ids |= self.user_seller_a
        first = self._receive("To number A", number=self.number_a)
        second = self._receive("To number B", number=self.number_b)
        self.assertNotEqual(first.sms_conversation_id, second.sms_conversation_id)
        page = self.Pane.get_messages(second.sms_conversation_id.id)
        self.assertEqual([m["body"] for m in page["messages"]], ["To number A", "To number B"])
