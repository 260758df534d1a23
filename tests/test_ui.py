from contextlib import contextmanager
from datetime import UTC, timedelta
from unittest.mock import patch
from zoneinfo import ZoneInfo

from odoo import fields
from odoo.addons.bus.models.bus import channel_with_db, dispatch, hashable
from odoo.addons.bus.websocket import WebsocketConnectionHandler
from odoo.addons.mail.tests.common import mail_new_test_user
from odoo.tests import HttpCase, tagged

from ..tools.sms_simulator import PHOTO_URL as SIMULATOR_PHOTO_URL
from .common import HAS_MOBILE

LIST_URL = "/odoo/action-crm_sms_conversation.sms_conversation_action"


@tagged("post_install", "-at_install")
class TestUi(HttpCase):
    """The seller's conversation pane, in a browser."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env.company.country_id = cls.env.ref("base.us")
        cls.seller = mail_new_test_user(
            cls.env,
            login="sms_tour_seller",
            name="Sam Seller",
            groups="sales_team.group_sale_salesman",
            notification_type="inbox",
        )
        cls.account = cls.env["sms.account"].create({"name": "Tour Simulator", "provider": "simulator"})
        cls.number = cls.env["sms.number"].create(
            {"number": "+14155550860", "account_id": cls.account.id, "user_ids": [(6, 0, cls.seller.ids)]}
        )
        cls.Conversation = cls.env["sms.conversation"]

    # Helpers -------------------------------------------------------------

    def _partner(self, name, **values):
        return self.env["res.partner"].create(
            {"name": name, "country_id": self.env.ref("base.us").id, "user_id": self.seller.id, **values}
        )

    def _inbound(self, from_number, body, number=None, media=None):
        event = self.account._simulate_inbound((number or self.number).number, from_number, body, media=media)
        self.assertEqual(event.state, "done", event.error)
        return event.conversation_id

    def _send(self, record, remote_number, body):
        return self.Conversation.with_user(self.seller).send_message(
            record._name, record.id, remote_number, self.number.id, body
        )

    def _process_queue(self):
        """Odoo's SMS queue, run as its cron worker does."""
        self.env.flush_all()
        self.env.ref("sms.ir_cron_sms_scheduler_action").sudo().method_direct_trigger()
        self.env.invalidate_all()

    @contextmanager
    def _live_bus(self):
        """Let the browser open its websocket and get bus notifications.

        During tests, Odoo neither accepts websockets nor tells them of new
        notifications (post-commit hooks do not run on the test cursor): wake
        the websockets subscribed to a channel once its notifications are
        written, as ``bus.tests.common.WebsocketCase`` does by hand.
        """
        Bus = type(self.env["bus.bus"])
        sendone = Bus._sendone

        def _sendone(bus, target, notification_type, message):
            sendone(bus, target, notification_type, message)
            cr = bus.env.cr
            channels = cr.precommit.data.setdefault("crm_sms_conversation.test_ui.channels", set())
            if not channels:

                @cr.precommit.add
                def wake_websockets():
                    woken = set()
                    for channel in cr.precommit.data.pop("crm_sms_conversation.test_ui.channels", ()):
                        woken.update(dispatch._channels_to_ws.get(channel, ()))
                    for websocket in woken:
                        websocket.trigger_notification_dispatching()

            channels.add(hashable(channel_with_db(cr.dbname, target)))

        with (
            patch.object(WebsocketConnectionHandler, "websocket_allowed", return_value=True),
            patch.object(Bus, "_sendone", _sendone),
        ):
            yield

    # Tours -----------------------------------------------------------------

    def test_open_from_my_text_messages(self):
        lucy = self._partner("Tour Lucy", phone="+1 415 555 0861")
        conversation = self._inbound("+14155550861", "Do you deliver to Oakland?")
        self.assertEqual((conversation.res_model, conversation.res_id), ("res.partner", lucy.id))
        self._send(lucy, "+14155550861", "Yes we do, every Tuesday.")
        self._process_queue()
        # More than a page of history: the oldest messages load when scrolling up.
        for index in range(29):
            self._inbound("+14155550861", f"Follow-up question {index + 1}")
        # The latest one with a picture, downloaded by its cron.
        self._inbound("+14155550861", "Follow-up question 30", media=[(SIMULATOR_PHOTO_URL, "image/png")])
        self.env.flush_all()
        self.env.ref("crm_sms_conversation.ir_cron_sms_media_download").sudo().method_direct_trigger()
        self.env.invalidate_all()
        self.assertEqual(conversation.message_ids[:1].attachment_ids.mapped("name"), ["picture-1.png"])
        self.assertEqual(conversation.unread_count, 31)

        self.start_tour(LIST_URL, "crm_sms_conversation_tour_list", login=self.seller.login)
        self.assertEqual(conversation.unread_count, 0, "Opening the pane marks the conversation read")

    def test_open_from_phone_and_send_template(self):
        # The tour clicks the SMS icon of the last phone field: mobile on Odoo 18, phone on 19.
        phones = {"phone": "+1 415 555 0872", "mobile": "(415) 555-0862"} if HAS_MOBILE else {"phone": "(415) 555-0862"}
        max_partner = self._partner("Tour Max", **phones)
        self.env["sms.template"].create(
            {
                "name": "Tour Follow-up",
                "model_id": self.env["ir.model"]._get_id("res.partner"),
                "body": "Hello {{ object.name }}, your trackers are ready.",
            }
        )
        self.start_tour(
            f"/odoo/action-base.action_partner_form/{max_partner.id}",
            "crm_sms_conversation_tour_phone_template",
            login=self.seller.login,
        )
        conversation = self.Conversation.search([("res_model", "=", "res.partner"), ("res_id", "=", max_partner.id)])
        self.assertEqual(conversation.remote_number, "+14155550862")
        self.assertEqual(conversation.number_id, self.number)
        bodies = conversation.message_ids.sorted("id").mapped("body")
        self.assertEqual(len(bodies), 2)
        self.assertIn("Hello Tour Max, your trackers are ready.", bodies[0])
        self.assertIn("See you on Friday", bodies[1])

    def test_inbound_reply_shows_live(self):
        nina = self._partner("Tour Nina", phone="+1 415 555 0863")
        conversation = self._inbound("+14155550863", "Is the demo still on?")
        self.assertEqual(conversation.res_id, nina.id)
        with self._live_bus():
            self.start_tour(LIST_URL, "crm_sms_conversation_tour_inbound", login=self.seller.login)
        self.assertEqual(len(conversation.message_ids), 2)
        self.assertEqual(conversation.unread_count, 0, "A reply read in the open pane is not unread")

    def test_failed_delivery_reason(self):
        oscar = self._partner("Tour Oscar", phone="+1 500 555 0001")
        self._send(oscar, "+15005550001", "Your quote is ready")
        otto = self._partner("Tour Otto", phone="+1 500 555 0009")  # the Simulator's outage number
        self._send(otto, "+15005550009", "Are you there?")
        self._process_queue()
        conversation = self.Conversation.search([("res_model", "=", "res.partner"), ("res_id", "=", oscar.id)])
        self.assertTrue(conversation.has_failure)
        self.start_tour(LIST_URL, "crm_sms_conversation_tour_failure", login=self.seller.login)

    def test_move_conversation_to_opportunity(self):
        self._partner("Tour Paula", phone="+1 415 555 0865")
        opportunity = self.env["crm.lead"].create(
            {"name": "Tour Paula trackers", "type": "opportunity", "user_id": self.seller.id}
        )
        conversation = self._inbound("+14155550865", "About the tracker quote")
        self.start_tour(LIST_URL, "crm_sms_conversation_tour_move", login=self.seller.login)
        self.assertEqual((conversation.res_model, conversation.res_id), ("crm.lead", opportunity.id))
        self.assertEqual(conversation.message_ids.mapped("model"), ["crm.lead"])

    def test_open_inbound_notification(self):
        opportunity = self.env["crm.lead"].create(
            {
                "name": "Tour Quinn trackers",
                "type": "opportunity",
                "user_id": self.seller.id,
                "phone": "+1 415 555 0866",
            }
        )
        # A manager follows the opportunity by e-mail: Odoo shows such notifications as envelopes.
        follower = mail_new_test_user(
            self.env, login="sms_tour_follower", groups="sales_team.group_sale_manager", notification_type="email"
        )
        opportunity.message_subscribe(partner_ids=follower.partner_id.ids)
        conversation = self._inbound("+14155550866", "Can we meet on Monday?")
        self.assertEqual((conversation.res_model, conversation.res_id), ("crm.lead", opportunity.id))
        message = conversation.message_ids
        self.assertEqual(len(message), 1)
        notification = message.notification_ids.filtered(lambda n: n.res_partner_id == self.seller.partner_id)
        self.assertEqual(notification.notification_type, "inbox")
        self.assertFalse(notification.is_read)

        with self._live_bus():
            self.start_tour("/odoo", "crm_sms_conversation_tour_notification", login=self.seller.login)
        self.assertTrue(notification.is_read, "Opening the notification reads it")
        self.assertIn("Perfect, see you then", conversation.message_ids[0].body, "the reply the chatter showed")

    def test_text_message_activity(self):
        opportunity = self.env["crm.lead"].create(
            {
                "name": "Tour Rita trackers",
                "type": "opportunity",
                "user_id": self.seller.id,
                "phone": "+1 415 555 0867",
            }
        )
        opportunity.activity_schedule(
            "crm_sms_conversation.mail_activity_type_text_message",
            summary="Confirm the delivery date",
            user_id=self.seller.id,
        )
        self.start_tour(
            "/odoo/action-crm.crm_lead_action_pipeline", "crm_sms_conversation_tour_activity", login=self.seller.login
        )
        conversation = self.Conversation.search([("res_model", "=", "crm.lead"), ("res_id", "=", opportunity.id)])
        self.assertEqual(conversation.remote_number, "+14155550867")
        self.assertIn("Your trackers ship on Thursday", conversation.message_ids.body)

    def test_conversation_on_another_sellers_lead(self):
        """The seller's number got a reply for another seller's lead: the
        notification opens the pane where it works, without an access error."""
        other = mail_new_test_user(
            self.env, login="sms_tour_other", name="Other Seller", groups="sales_team.group_sale_salesman"
        )
        team = self.env["crm.team"].create({"name": "Tour Team", "member_ids": [(6, 0, self.seller.ids)]})
        team_number = self.env["sms.number"].create(
            {"number": "+14155550871", "account_id": self.account.id, "team_id": team.id}
        )
        lead = self.env["crm.lead"].create(
            {"name": "Tour Vera trackers", "type": "opportunity", "user_id": other.id, "phone": "+1 415 555 0880"}
        )
        self.assertFalse(lead.with_user(self.seller).has_access("read"))
        self._inbound("+14155550880", "Hello?")
        self.Conversation.with_user(self.seller).send_message(
            "crm.lead", lead.id, "+14155550880", team_number.id, "Hello from your team line"
        )
        conversation = self._inbound("+14155550880", "Which of you do I talk to?")
        self.assertEqual((conversation.res_model, conversation.res_id), ("crm.lead", lead.id))
        with self._live_bus():
            self.start_tour("/odoo", "crm_sms_conversation_tour_not_mine", login=self.seller.login)
        answer = self.env["mail.message"].search(
            [("model", "=", "crm.lead"), ("res_id", "=", lead.id), ("body", "ilike", "I am your contact from now on")]
        )
        self.assertEqual(answer.author_id, self.seller.partner_id, "answered by the seller, on the lead")

    def test_opted_out_customer(self):
        """A customer who replied STOP: the pane says so and sends nothing."""
        opted = self._partner("Tour Opted", phone="+1 415 555 0891")
        self._inbound("+14155550891", "STOP")
        self.start_tour(
            f"/odoo/action-base.action_partner_form/{opted.id}",
            "crm_sms_conversation_tour_opted_out",
            login=self.seller.login,
        )
        self.assertEqual(self.env["sms.consent"].search([("number", "=", "+14155550891")]).keyword, "STOP")

    def test_quiet_hours(self):
        """Night for the customer: the pane says so, and asks the seller whether to send now or later."""
        customer = self._partner("Tour Night Owl", phone="+1 415 555 0893")
        # Quiet hours around the present moment in San Francisco, whenever the test runs.
        now = fields.Datetime.now().replace(tzinfo=UTC).astimezone(ZoneInfo("America/Los_Angeles"))
        hour = now.hour + now.minute / 60
        self.account.write(
            {"quiet_hours": True, "quiet_hours_start": (hour - 1) % 24, "quiet_hours_end": (hour + 2) % 24}
        )
        self.start_tour(
            f"/odoo/action-base.action_partner_form/{customer.id}",
            "crm_sms_conversation_tour_quiet_hours",
            login=self.seller.login,
        )
        self._process_queue()
        sms = self.env["sms.sms"].search([("number", "=", "+14155550893")])
        states = {text.body: (text.state, text.sms_quiet_hours_deferred) for text in sms}
        self.assertEqual(states["See you tomorrow"], ("outgoing", True), "waits for the customer's morning")
        self.assertNotEqual(states["Your order is at the door"][0], "outgoing", "sent at once")

    def test_empty_states(self):
        no_phone = self._partner("Tour Nophone")
        self.start_tour(
            f"/odoo/action-base.action_partner_form/{no_phone.id}",
            "crm_sms_conversation_tour_empty_states",
            login=self.seller.login,
        )
        other_team = self.env["crm.team"].create({"name": "Other Team"})
        other_number = self.env["sms.number"].create(
            {"number": "+14155550872", "account_id": self.account.id, "team_id": other_team.id}
        )
        hidden = self._partner("Tour Hidden", phone="+1 415 555 0881", user_id=False)
        self._inbound("+14155550881", "For the other team", number=other_number)
        self.assertFalse(self.Conversation.with_user(self.seller).search([("res_id", "=", hidden.id)]))
        self.start_tour(
            f"/odoo/action-base.action_partner_form/{hidden.id}",
            "crm_sms_conversation_tour_hidden_conversations",
            login=self.seller.login,
        )

    def test_reply_that_lands_elsewhere(self):
        walt = self._partner("Walt Harper", phone="+1 415 555 0882")
        fleet = self.env["crm.lead"].create(
            {
                "name": "Fleet for Harper",
                "type": "opportunity",
                "user_id": self.seller.id,
                "partner_id": walt.id,
                "phone": "+1 415 555 0882",
            }
        )
        first = self._inbound("+14155550882", "First question")
        self.assertEqual(first.res_id, walt.id, "rule 4: the contact first")
        first.last_message_date = fields.Datetime.now() - timedelta(hours=1)
        self._send(fleet, "+14155550882", "About your fleet")  # the opportunity now has the latest conversation
        with self._live_bus():
            self.start_tour(LIST_URL, "crm_sms_conversation_tour_elsewhere", login=self.seller.login)
        on_fleet = self.Conversation.search([("res_model", "=", "crm.lead"), ("res_id", "=", fleet.id)])
        self.assertEqual(len(on_fleet.message_ids.filtered(lambda m: m.sms_direction == "inbound")), 2)

    def test_template_counter_agrees_with_the_pane(self):
        self.start_tour(
            "/odoo/action-sms.sms_template_action", "crm_sms_conversation_tour_template_counter", login="admin"
        )
