import json
from datetime import timedelta
from unittest.mock import patch

from odoo import fields
from odoo.addons.crm_sms_conversation.models.sms_conversation import SmsConversation
from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import SmsConversationCase


@tagged("post_install", "-at_install")
class TestInboundNotifications(SmsConversationCase):
    def _bus_messages(self):
        self.env.cr.flush()  # bus notifications are written when the transaction commits
        notifications = self.env["bus.bus"].sudo().search([("message", "like", "crm_sms_conversation/")])
        return [(json.loads(n.channel), json.loads(n.message)) for n in notifications]

    def _inbox_partners(self, message):
        return (
            self.env["mail.notification"]
            .sudo()
            .search([("mail_message_id", "=", message.id), ("notification_type", "=", "inbox")])
            .res_partner_id
        )

    def test_owner_gets_inbox_and_bus_notifications(self):
        partner = self._partner("Owned", phone=self.customer_number, user_id=self.user_seller_b.id)
        message = self._receive("When can we meet?")
        self.assertEqual(self._inbox_partners(message), self.user_seller_b.partner_id)
        inbound = [
            (channel, msg)
            for channel, msg in self._bus_messages()
            if msg["type"] == "crm_sms_conversation/inbound" and msg["payload"]["message_id"] == message.id
        ]
        channels = {tuple(channel[1:]) for channel, _msg in inbound}
        self.assertEqual(
            channels,
            {("res.partner", self.user_seller_b.partner_id.id), ("res.partner", self.user_seller_a.partner_id.id)},
            "the owner, and the seller of the receiving number whose pane may be open",
        )
        self.assertEqual(inbound[0][1]["payload"]["res_id"], partner.id)

    def test_without_owner_the_number_users_are_notified(self):
        self._partner("No Owner", phone=self.customer_number)
        message = self._receive(number=self.number_a)
        self.assertEqual(self._inbox_partners(message), self.user_seller_a.partner_id)

    def test_without_owner_nor_number_user_the_team_is_notified(self):
        self._partner("No Owner", phone=self.customer_number)
        message = self._receive(number=self.number_b)
        self.assertEqual(self._inbox_partners(message), self.user_seller_b.partner_id, "team B's member")

    def test_customer_never_receives_its_own_message(self):
        partner = self._partner(
            "Follows Itself", phone=self.customer_number, email="customer@example.com", user_id=self.user_seller_b.id
        )
        partner.message_subscribe(partner_ids=partner.ids)
        lead = self._lead("Lead", partner_id=partner.id, phone=self.customer_number, user_id=self.user_seller_a.id)
        lead.message_subscribe(partner_ids=partner.ids)
        mails_before = self.env["mail.mail"].sudo().search_count([])
        for number in (self.number_a, self.number_b):
            message = self._receive("My own words", number=number)
            self.assertNotIn(partner, message.notification_ids.res_partner_id)
        self.assertEqual(self.env["mail.mail"].sudo().search_count([]), mails_before, "no e-mail is sent")
        self.assertFalse(self.env["sms.sms"].sudo().search([("number", "=", self.customer_number)]), "no SMS back")

    def test_author_is_the_customer_when_known(self):
        partner = self._partner("Known", phone=self.customer_number)
        message = self._receive()
        self.assertEqual(message.author_id, partner)
        message = self._receive(from_number="+14155550999")
        self.assertFalse(message.author_id)
        self.assertEqual(message.email_from, "+14155550999")

    def test_stop_and_start_keywords(self):
        self._partner("Opting Out", phone=self.customer_number)
        Blacklist = self.env["phone.blacklist"].sudo()
        self._receive(" stop ")
        self.assertTrue(Blacklist.search([("number", "=", self.customer_number)]))
        self._receive("START")
        self.assertFalse(Blacklist.search([("number", "=", self.customer_number)]))

    def test_media_count_is_shown(self):
        self._partner("Photo", phone=self.customer_number)
        event = self.number_a.account_id._receive(
            "inbound",
            {
                "external_id": "MMmedia",
                "from_number": self.customer_number,
                "to_number": self.number_a.number,
                "body": "Look",
                "num_media": 2,
            },
        )
        self.assertIn("2 attachment(s)", event.message_id.body)


@tagged("post_install", "-at_install")
class TestEventProcessing(SmsConversationCase):
    def _payload(self, sid):
        return {
            "external_id": sid,
            "from_number": self.customer_number,
            "to_number": self.number_a.number,
            "body": "Kept safe",
            "num_media": 0,
        }

    @mute_logger("odoo.addons.crm_sms_conversation.models.sms_event")
    def test_failed_processing_is_kept_and_retried_by_the_cron(self):
        partner = self._partner("Retry", phone=self.customer_number)
        with patch.object(SmsConversation, "_route_inbound", side_effect=RuntimeError("database hiccup")):
            event = self.account._receive("inbound", self._payload("SMretry"))
        self.assertEqual(event.state, "error")
        self.assertEqual(event.attempts, 1)
        self.assertIn("database hiccup", event.error)
        self.assertFalse(partner.message_ids.filtered(lambda m: m.sms_direction == "inbound"), "nothing half-written")
        self.assertFalse(self.env["sms.conversation"].search([("remote_number", "=", self.customer_number)]))

        self.env["sms.event"]._cron_process()
        self.assertEqual(event.state, "error", "the cron leaves events of the last minute to their request")
        self.env.cr.execute(
            "UPDATE sms_event SET create_date = %s WHERE id = %s",
            (fields.Datetime.now() - timedelta(minutes=2), event.id),
        )
        self.env["sms.event"]._cron_process()
        self.assertEqual(event.state, "done", event.error)
        self.assertEqual(event.message_id.res_id, partner.id)

    def test_processed_event_is_not_processed_again(self):
        self._partner("Once", phone=self.customer_number)
        event = self.account._receive("inbound", self._payload("SMonce"))
        again = self.account._receive("inbound", self._payload("SMonce"))
        self.assertEqual(again, event)
        event._process()
        self.assertEqual(
            self.env["mail.message"].search_count([("sms_conversation_id", "=", event.conversation_id.id)]), 1
        )
