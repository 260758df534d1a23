from odoo import sql_db
from odoo.addons.mail.tests.common import mail_new_test_user
from odoo.tests import tagged
from odoo.tools import mute_logger

from ..models.sms_event import ADVISORY_LOCK_CLASS
from .common import SmsWebhookCase


@tagged("post_install", "-at_install")
class TestCustomerDatabase(SmsWebhookCase):
    """Every inbound path, through the real route and the processing cron, on
    a database in a customer's state (see ``SmsConversationCase``): each is
    processed at its first attempt, as the SMS Gateway, without any e-mail
    sent on the way (they wait in the queue), and each record has the author
    and creator the README gives."""

    def _deliver(self, body, from_number, number):
        response = self._post_twilio("inbound", self._inbound_params(body, from_number, number.number))
        self.assertEqual(response.status_code, 200)
        event = self.env["sms.event"].search([("remote_number", "=", from_number)], order="id desc", limit=1)
        self.assertEqual(event.state, "pending", "the request only stores the event")
        self.assertEqual(event.create_uid, self.gateway)
        self._run_event_cron()
        self.assertEqual((event.state, event.attempts), ("done", 1), event.error)
        self.assertFalse(self.smtp_calls, "no e-mail is sent while a message is processed")
        message = event.message_id
        self.assertEqual(message.create_uid, self.gateway, "processed by the SMS Gateway, not the superuser")
        self.assertEqual(message.message_type, "sms")
        self.assertEqual(message.subtype_id, self.env.ref("mail.mt_comment"), "a message, not a note")
        return message

    def _queued_mails(self, record):
        return self.env["mail.mail"].sudo().search([("model", "=", record._name), ("res_id", "=", record.id)])

    def test_known_contact(self):
        partner = self._partner("Known Customer", phone="(415) 555-0123", user_id=self.user_seller_b.id)
        message = self._deliver("Is the quote still valid?", self.customer_number, self.number_a)
        self.assertEqual((message.model, message.res_id), ("res.partner", partner.id))
        self.assertEqual(message.author_id, partner, "authored by the customer")
        self.assertEqual(message.sms_conversation_id.create_uid, self.gateway)

    def test_unknown_number_to_a_seller_number_becomes_their_lead(self):
        message = self._deliver("Please call me back", "+14155550901", self.number_a)
        lead = self.env["crm.lead"].browse(message.res_id)
        self.assertEqual(message.model, "crm.lead")
        self.assertEqual(lead.user_id, self.user_seller_a, "the number's only seller")
        self.assertEqual(lead.create_uid, self.gateway)
        self.assertFalse(message.author_id, "an unknown number has no contact")
        self.assertEqual(message.email_from, "+14155550901")
        # The customer's automation ran at once, within the processing.
        activity = lead.activity_ids.filtered(lambda a: a.summary == "Call the new lead back")
        self.assertEqual(activity.user_id, self.user_team_leader)
        mails = self._queued_mails(lead)
        self.assertTrue(mails, "the automation's e-mail is queued")
        self.assertEqual(set(mails.mapped("state")), {"outgoing"}, "queued, not failed nor sent")

    def test_unknown_number_to_a_team_number_becomes_the_team_lead(self):
        message = self._deliver("Hello, any news?", "+14155550902", self.number_b)
        lead = self.env["crm.lead"].browse(message.res_id)
        self.assertEqual(lead.team_id, self.team_b)
        self.assertFalse(lead.user_id, "no seller: the gateway is not the salesperson")
        self.assertEqual(lead.create_uid, self.gateway)
        self.assertIn(self.team_follower.partner_id, lead.message_partner_ids, "the team's followers follow it")
        mails = self._queued_mails(lead)
        self.assertIn(self.team_follower.partner_id, mails.recipient_ids, "and hear of it by e-mail, queued")
        self.assertEqual(set(mails.mapped("state")), {"outgoing"})
        notified = message.notification_ids.filtered(lambda n: n.notification_type == "inbox").res_partner_id
        self.assertIn(self.user_team_leader.partner_id, notified, "the team's leader is told of the message")
        self.assertIn(self.team_follower.partner_id, notified, "and so are the lead's followers, in their Inbox")

    def test_stop_then_start(self):
        self._partner("Opting Out", phone=self.customer_number)
        Blacklist = self.env["phone.blacklist"].sudo().with_context(active_test=False)
        self._deliver("STOP", self.customer_number, self.number_a)
        self.assertTrue(Blacklist.search([("number", "=", self.customer_number), ("active", "=", True)]))
        self._deliver("Start", self.customer_number, self.number_a)
        self.assertFalse(Blacklist.search([("number", "=", self.customer_number), ("active", "=", True)]))

    def test_owner_without_the_seller_right_is_told_by_odoobot_without_email(self):
        owner = mail_new_test_user(
            self.env, login="crm_only", email="crm_only@customer.example", groups="sales_team.group_sale_salesman"
        )
        self._remove_from_group(self.env.ref("crm_sms_conversation.crm_sms_conversation_group_seller"), owner)
        self._partner("Owned", phone=self.customer_number, user_id=owner.id)
        self._deliver("Hello?", self.customer_number, self.number_a)
        notice = self.env["mail.message"].search(
            [("message_type", "=", "user_notification"), ("partner_ids", "in", owner.partner_id.ids)]
        )
        self.assertEqual(notice.author_id, self.env.ref("base.partner_root"))

    def test_webhook_never_waits_for_a_customer_being_processed(self):
        """The customer's lock is held elsewhere (another worker processes their
        previous message): the webhook still answers at once, the event waits."""
        self._partner("Busy", phone=self.customer_number)
        key = f"{self.company.id}:{self.customer_number}"
        with sql_db.db_connect(self.env.cr.dbname).cursor() as other:
            other.execute("SELECT pg_advisory_lock(%s, hashtext(%s))", (ADVISORY_LOCK_CLASS, key))
            response = self._post_twilio("inbound", self._inbound_params("While busy"))
            self.assertEqual(response.status_code, 200)
            event = self.env["sms.event"].search([("remote_number", "=", self.customer_number)])
            self._run_event_cron()
            self.assertEqual((event.state, event.attempts), ("pending", 0), "left for later, not an attempt")
            other.execute("SELECT pg_advisory_unlock(%s, hashtext(%s))", (ADVISORY_LOCK_CLASS, key))
        self._run_event_cron()
        self.assertEqual(event.state, "done", event.error)

    def test_each_webhook_call_leaves_a_trigger_for_the_cron(self):
        cron = self.env.ref("crm_sms_conversation.ir_cron_sms_event_process")
        Trigger = self.env["ir.cron.trigger"].sudo()
        Trigger.search([("cron_id", "=", cron.id)]).unlink()
        with mute_logger("odoo.addons.base.models.ir_cron"):
            for index in range(3):
                params = self._inbound_params(f"Burst {index}", from_number=f"+1415555091{index}")
                self.assertEqual(self._post_twilio("inbound", params).status_code, 200)
        self.assertEqual(Trigger.search_count([("cron_id", "=", cron.id)]), 3, "each call leaves a trigger")
        self.assertEqual(self.env["sms.event"].search_count([("state", "=", "pending")]), 3)
