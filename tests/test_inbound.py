import json
from datetime import timedelta
from unittest.mock import patch

from freezegun import freeze_time

from odoo import fields, sql_db
from odoo.tests import tagged
from odoo.tools import mute_logger

from ..models import sms_event as sms_event_module
from ..models.sms_conversation import SmsConversation
from ..models.sms_event import ADVISORY_LOCK_CLASS, CRON_TIME_BUDGET, HELPERS_MIN_DUE, MAX_ATTEMPTS, SmsEvent
from ..tools.compat import MENU_GROUPS_FIELD
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
        self.assertEqual(
            self._inbox_partners(message),
            self.user_seller_b.partner_id | self.user_seller_a.partner_id,
            "the owner, and the number's seller since nobody wrote yet",
        )
        inbound = [
            (channel, msg)
            for channel, msg in self._bus_messages()
            if msg["type"] == "crm_sms_conversation/inbound" and msg["payload"]["message_id"] == message.id
        ]
        channels = {tuple(channel[1:]) for channel, _msg in inbound}
        self.assertEqual(
            channels,
            {
                ("res.partner", self.user_seller_b.partner_id.id),
                ("res.partner", self.user_seller_a.partner_id.id),
                ("res.partner", self.user_team_leader.partner_id.id),
            },
            "the owner, the seller of the receiving number and the owner's team leader, whose panes may be open",
        )
        self.assertEqual(inbound[0][1]["payload"]["res_id"], partner.id)

    def test_without_owner_the_number_users_are_notified(self):
        self._partner("No Owner", phone=self.customer_number)
        message = self._receive(number=self.number_a)
        self.assertEqual(self._inbox_partners(message), self.user_seller_a.partner_id)

    def test_the_seller_who_wrote_hears_of_the_reply_once(self):
        """Seller C answers from team B's number on seller B's record: both hear of the reply."""
        self.team_b.member_ids |= self.user_seller_c
        partner = self._partner("Asked by C", phone=self.customer_number, user_id=self.user_seller_b.id)
        with self.mock_twilio():
            self.env["sms.conversation"].with_user(self.user_seller_c).send_message(
                "res.partner", partner.id, self.customer_number, self.number_b.id, "Shall we meet?"
            )
        message = self._receive("Yes, Tuesday", number=self.number_b)
        notified = self.env["mail.notification"].sudo().search([("mail_message_id", "=", message.id)])
        self.assertEqual(notified.res_partner_id, self.user_seller_b.partner_id | self.user_seller_c.partner_id)
        self.assertEqual(len(notified), 2, "once each")
        with self.mock_twilio():
            self.env["sms.conversation"].with_user(self.user_seller_b).send_message(
                "res.partner", partner.id, self.customer_number, self.number_b.id, "I confirm"
            )
        message = self._receive("Great", number=self.number_b)
        notified = self.env["mail.notification"].sudo().search([("mail_message_id", "=", message.id)])
        self.assertIn(self.user_seller_b.partner_id, notified.res_partner_id, "the owner, who wrote last")
        self.assertIn(self.user_seller_c.partner_id, notified.res_partner_id, "C follows the contact since writing")
        self.assertEqual(len(notified), len(notified.res_partner_id), "nobody twice")

    def test_without_owner_nor_number_user_the_team_is_notified(self):
        self._partner("No Owner", phone=self.customer_number)
        message = self._receive(number=self.number_b)
        self.assertEqual(self._inbox_partners(message), self.user_team_leader.partner_id, "team B's leader")
        self.team_b.user_id = False
        message = self._receive(number=self.number_b)
        self.assertEqual(self._inbox_partners(message), self.user_seller_b.partner_id, "without leader, its members")

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
        event = self.number_a.account_id._receive("inbound", self._inbound_values("Look", num_media=2))
        self.assertIn("2 attachment(s)", event.message_id.body)


@tagged("post_install", "-at_install")
class TestEventProcessing(SmsConversationCase):
    def _store(self, sid, body="Kept safe", from_number=None):
        event_id, _wake = self.account._receive_webhook(
            "inbound", self._inbound_values(body, from_number=from_number, sid=sid), raw_params=[]
        )
        return self.env["sms.event"].browse(event_id)

    def _run_helper_cron(self):
        self._run_cron("crm_sms_conversation.ir_cron_sms_event_process_helper_1")

    def test_a_backlog_wakes_the_helper_crons(self):
        """A run of the processing cron that finds a backlog due has the
        helper crons run alongside it, on the cron workers free (of any
        server), each asked once."""
        Trigger = self.env["ir.cron.trigger"].sudo()
        helpers = self.env["sms.event"]._processing_helper_crons()
        self.assertEqual(len(helpers), 2)
        Trigger.search([("cron_id", "in", helpers.ids)]).unlink()
        self._store("SMfew", from_number="+14155550940")
        self._run_event_cron()
        self.assertFalse(Trigger.search([("cron_id", "in", helpers.ids)]), "one message: no helper")
        events = self.env["sms.event"]
        for index in range(HELPERS_MIN_DUE):
            events |= self._store(f"SMbacklog{index}", f"Backlog {index}", from_number=f"+1415555095{index}")
        self._run_event_cron()
        self.assertEqual(set(events.mapped("state")), {"done"})
        triggers = Trigger.search([("cron_id", "in", helpers.ids)])
        self.assertEqual(sorted(triggers.cron_id.ids), sorted(helpers.ids), "each helper asked to run")
        self.assertEqual(len(triggers), len(helpers), "once")
        for index in range(HELPERS_MIN_DUE):
            self._store(f"SMbacklog_more{index}", from_number=f"+1415555095{index}")
        self._run_event_cron()
        self.assertEqual(len(Trigger.search([("cron_id", "in", helpers.ids)])), len(helpers), "not asked twice")

    @mute_logger("odoo.addons.crm_sms_conversation.models.sms_event")
    def test_helper_cron_posts_messages_and_leaves_reports_to_the_processing_cron(self):
        """A helper takes customers' messages; delivery reports are applied by
        the processing cron alone, one at a time, in the order they came."""
        self._partner("Helped", phone=self.customer_number)
        message = self._store("SMhelped", "Helped")
        report_id, _wake = self.account._receive_webhook(
            "status",
            {"external_id": "SMunknown", "status": "delivered", "error_code": "", "error_message": "", "sms_uuid": ""},
            raw_params=[],
        )
        report = self.env["sms.event"].browse(report_id)
        self._run_helper_cron()
        self.assertEqual(message.state, "done", message.error)
        self.assertEqual((report.state, report.attempts), ("pending", 0), "not touched by the helper")
        self._run_event_cron()
        self.assertEqual(report.attempts, 1, "tried by the processing cron (no such message here)")

    def test_runs_at_once_share_the_customers(self):
        """Two runs at once (the processing cron and a helper, or two
        servers): the messages of a customer whose lock the other run holds
        are left to it, untouched, and posted in order; the others are
        processed; the run asks for another look a few seconds later."""
        busy, free = "+14155550971", "+14155550972"
        self._partner("Busy", phone=busy)
        self._partner("Free", phone=free)
        busy_first = self._store("SMshare1", "First", from_number=busy)
        other = self._store("SMshare2", "Other", from_number=free)
        busy_second = self._store("SMshare3", "Second", from_number=busy)
        cron = self.env.ref("crm_sms_conversation.ir_cron_sms_event_process")
        Trigger = self.env["ir.cron.trigger"].sudo()
        Trigger.search([("cron_id", "=", cron.id)]).unlink()
        key = f"{self.company.id}:{busy}"
        with sql_db.db_connect(self.env.cr.dbname).cursor() as other_run:
            other_run.execute("SELECT pg_advisory_lock(%s, hashtext(%s))", (ADVISORY_LOCK_CLASS, key))
            self._run_helper_cron()
            other_run.execute("SELECT pg_advisory_unlock(%s, hashtext(%s))", (ADVISORY_LOCK_CLASS, key))
        self.assertEqual(other.state, "done", other.error)
        for event in busy_first | busy_second:
            self.assertEqual(
                (event.state, event.attempts, event.next_attempt_date), ("pending", 0, False), "left as it was"
            )
        self.assertTrue(
            Trigger.search([("cron_id", "=", cron.id), ("call_at", ">", fields.Datetime.now())]),
            "another look in a few seconds",
        )
        self._run_event_cron()
        self.assertEqual((busy_first + busy_second).mapped("state"), ["done", "done"])
        self.assertLess(busy_first.message_id.id, busy_second.message_id.id, "posted in the order they came")

    def test_a_run_passing_by_a_waiting_message_leaves_the_customer_free(self):
        """A run meeting a customer's message while an earlier one is still to
        be posted (another run, or server, is at it) passes it by without
        taking the customer's lock, even for a moment: the run posting the
        earlier message finds the customer free and goes on with this one."""
        self._partner("Queued", phone=self.customer_number)
        first, second = self._store("SMfree1", "First"), self._store("SMfree2", "Second")
        self.assertFalse(second._process_in_own_transaction(), "passed by: the first message goes first")
        key = f"{self.company.id}:{self.customer_number}"
        with sql_db.db_connect(self.env.cr.dbname).cursor() as other_run:
            other_run.execute("SELECT pg_try_advisory_lock(%s, hashtext(%s))", (ADVISORY_LOCK_CLASS, key))
            self.assertTrue(other_run.fetchone()[0], "the customer left free for the run posting the first message")
            other_run.execute("SELECT pg_advisory_unlock(%s, hashtext(%s))", (ADVISORY_LOCK_CLASS, key))
        self.assertEqual((second.state, second.attempts, second.next_attempt_date), ("pending", 0, False))
        self._run_event_cron()
        self.assertEqual((first + second).mapped("state"), ["done", "done"])
        self.assertLess(first.message_id.id, second.message_id.id, "posted in the order they came")

    def test_a_customers_messages_are_posted_in_the_order_they_came(self):
        """A message postponed because its customer was busy (on another
        worker or server) is posted before the customer's later messages."""
        partner = self._partner("In Order", phone=self.customer_number)
        first, second = self._store("SMorder1", "First"), self._store("SMorder2", "Second")
        first._postpone()
        self._run_event_cron()
        self.assertEqual((first.state, second.state), ("pending", "pending"), "the second waits for the first")
        with freeze_time(fields.Datetime.now() + timedelta(seconds=60)):
            self._run_event_cron()
        self.assertEqual((first.state, second.state), ("done", "done"))
        self.assertLess(first.message_id.id, second.message_id.id, "posted in the order they came")
        self.assertEqual((first.message_id.model, first.message_id.res_id), ("res.partner", partner.id))
        self.assertIn("First", first.message_id.body)

    def test_cron_runs_fit_in_the_cron_workers_time_limit(self):
        """Odoo chains up to 10 runs of a job reporting work left within one
        cron worker cycle, and kills a prefork cron worker past its real-time
        limit: a backlog must not get the worker killed."""
        Event = self.env["sms.event"]
        cases = [
            ({"limit_time_real_cron": -1, "limit_time_real": 120}, 120),  # Odoo's defaults
            ({"limit_time_real_cron": 300, "limit_time_real": 120}, 300),
        ]
        for options, limit in cases:
            with patch.object(sms_event_module, "config", options):
                self.assertLess(Event._cron_time_budget() * 10, limit * 0.8, options)
        with patch.object(sms_event_module, "config", {"limit_time_real_cron": 0, "limit_time_real": 120}):
            self.assertEqual(Event._cron_time_budget(), sms_event_module.CRON_TIME_BUDGET, "no limit: the full budget")

    @mute_logger("odoo.addons.crm_sms_conversation.models.sms_event")
    def test_failed_processing_is_kept_and_retried_by_the_cron(self):
        partner = self._partner("Retry", phone=self.customer_number)
        event = self._store("SMretry")
        with patch.object(SmsConversation, "_route_inbound", side_effect=RuntimeError("database hiccup")):
            self._run_event_cron()
        self.assertEqual(event.state, "pending", "kept for another attempt")
        self.assertEqual(event.attempts, 1)
        self.assertIn("database hiccup", event.error)
        self.assertTrue(event.next_attempt_date)
        self.assertFalse(partner.message_ids.filtered(lambda m: m.sms_direction == "inbound"), "nothing half-written")
        self.assertFalse(self.env["sms.conversation"].search([("remote_number", "=", self.customer_number)]))

        self._run_event_cron()
        self.assertEqual(event.attempts, 1, "not tried again before its time")
        with freeze_time(event.next_attempt_date + timedelta(seconds=1)):
            self._run_event_cron()
        self.assertEqual(event.state, "done", event.error)
        self.assertEqual(event.attempts, 2)
        self.assertEqual(event.message_id.res_id, partner.id)
        self.assertEqual(event.message_id.create_uid, self.gateway, "a retry runs as the first attempt did")

    @mute_logger("odoo.addons.crm_sms_conversation.models.sms_event")
    def test_last_failed_attempt_tells_the_managers(self):
        self._partner("Never", phone=self.customer_number)
        event = self._store("SMnever")
        with patch.object(SmsConversation, "_route_inbound", side_effect=RuntimeError("always broken")):
            for _attempt in range(MAX_ATTEMPTS):
                with freeze_time((event.next_attempt_date or fields.Datetime.now()) + timedelta(seconds=1)):
                    self._run_event_cron()
        self.assertEqual((event.state, event.attempts), ("error", MAX_ATTEMPTS), "failed for good")
        notice = self.env["mail.message"].search(
            [("model", "=", "sms.event"), ("res_id", "=", event.id), ("message_type", "=", "user_notification")]
        )
        self.assertEqual(len(notice), 1)
        self.assertIn(self.team_follower.partner_id, notice.partner_ids, "the SMS managers are told")
        self.assertNotIn(self.gateway.partner_id, notice.partner_ids)
        self.assertIn(self.customer_number, notice.body)
        self.assertIn("Process Again", notice.body)
        # Listed where managers look, without debug mode.
        menu = self.env.ref("crm_sms_conversation.crm_sms_conversation_menu_events")
        self.assertNotIn(self.env.ref("base.group_no_one"), menu[MENU_GROUPS_FIELD])
        Event = self.env["sms.event"].with_user(self.team_follower)
        self.assertIn(event, Event.search([("state", "=", "error")]))

        # Fixed, then processed again by hand: as the gateway, a fresh series of attempts.
        Event.browse(event.id).action_retry()
        self.assertEqual((event.state, event.attempts), ("pending", 0), "a fresh series, for the cron")
        self._run_event_cron()
        self.assertEqual(event.state, "done", event.error)
        self.assertEqual(event.message_id.create_uid, self.gateway)

    def test_run_ends_in_time_and_asks_for_a_new_run(self):
        """The run's time is checked before each event, not each batch: a
        run of slow events stays within the cron worker's time limit (a
        worker past it is killed), and a new run comes at once for the rest."""
        self._partner("Busy", phone=self.customer_number)
        events = self._store("SMbusy1", "One") | self._store("SMbusy2", "Two") | self._store("SMbusy3", "Three")
        clock = [0.0]
        process = SmsEvent._process_in_own_transaction

        def slow_process(event):
            clock[0] += CRON_TIME_BUDGET * 0.6
            return process(event)

        fake_time = type("FakeTime", (), {"monotonic": staticmethod(lambda: clock[0])})
        cron = self.env.ref("crm_sms_conversation.ir_cron_sms_event_process")
        Trigger = self.env["ir.cron.trigger"].sudo()
        Trigger.search([("cron_id", "=", cron.id)]).unlink()
        with (
            patch.object(sms_event_module, "time", fake_time),
            patch.object(SmsEvent, "_process_in_own_transaction", slow_process),
        ):
            self._run_event_cron()
        self.assertEqual(events.mapped("state"), ["done", "done", "pending"], "the third is left to a new run")
        self.assertTrue(
            Trigger.search([("cron_id", "=", cron.id), ("call_at", "<=", fields.Datetime.now())]), "due at once"
        )
        self._run_event_cron()
        self.assertEqual(events[2].state, "done")

    def test_processed_event_is_not_processed_again(self):
        self._partner("Once", phone=self.customer_number)
        message = self._receive("Once", sid="SMonce")
        again = self._store("SMonce")
        self.assertEqual(again.message_id, message, "a replayed delivery is the same event")
        again._process()
        self._run_event_cron()
        self.assertEqual(
            self.env["mail.message"].search_count([("sms_conversation_id", "=", message.sms_conversation_id.id)]), 1
        )

    def test_old_events_are_deleted_after_the_retention_period(self):
        self._partner("Old", phone=self.customer_number)
        old = self._receive("Old news", sid="SMold")
        recent = self._receive("Fresh", sid="SMrecent")
        events = self.env["sms.event"].search([("message_id", "in", (old | recent).ids)])
        self.env.cr.execute(
            "UPDATE sms_event SET create_date = %s WHERE message_id = %s",
            (fields.Datetime.now() - timedelta(days=91), old.id),
        )
        self.env.invalidate_all()
        self.env["sms.event"]._gc_events()
        self.assertEqual(events.exists().message_id, recent, "kept 90 days by default")
        settings = self.env["res.config.settings"].create({"sms_event_retention_days": 0})
        settings.execute()
        self.assertEqual(self.env["res.config.settings"].create({}).sms_event_retention_days, 0, "shown as set")
        self.env.cr.execute("UPDATE sms_event SET create_date = %s", (fields.Datetime.now() - timedelta(days=900),))
        self.env.invalidate_all()
        self.env["sms.event"]._gc_events()
        self.assertTrue(events.exists(), "0 keeps them forever")
        self.assertTrue(old.exists(), "the chatter keeps the message itself")
