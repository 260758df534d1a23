import itertools
import json
import threading
import time
from unittest.mock import patch
from urllib.parse import parse_qsl

import requests
from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError

from odoo.addons.mail.tests.common import mail_new_test_user
from odoo.exceptions import UserError
from odoo.tests import tagged
from odoo.tools import mute_logger

from ..models import sms_sms as sms_sms_module
from ..models.sms_sms import _clock
from .common import FakeResponse, SmsConversationCase


def connection_refused():
    """What requests raises when nothing listens at the provider's address."""
    reason = NewConnectionError(None, "Failed to establish a new connection: [Errno 111] Connection refused")
    return requests.exceptions.ConnectionError(MaxRetryError(None, "/Messages.json", reason=reason))


TWILIO_MESSAGES = "https://api.twilio.com/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Messages.json"


@tagged("post_install", "-at_install")
class TestOutbound(SmsConversationCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.partner = cls._partner("Outbound Customer", phone="(415) 555-0123")

    def _sms(self, message):
        return self.env["sms.sms"].sudo().search([("mail_message_id", "=", message.id)])

    def test_sending_is_queued_then_one_request_per_message(self):
        with self.mock_twilio() as calls:
            message = self._send_from(self.partner, "Your quote is ready")
            self.assertFalse(calls, "no provider call inside the seller's request")
            sms = self._sms(message)
            self.assertEqual(sms.state, "outgoing")
            self.assertEqual(sms.sms_number_id, self.number_a, "the seller's own number")
            self.assertTrue(
                self.env["ir.cron.trigger"].search(
                    [("cron_id", "=", self.env.ref("sms.ir_cron_sms_scheduler_action").id)]
                ),
                "the queue is woken up",
            )
            self._process_queue()
        self.assertEqual(len(calls), 1)
        call = calls[0]
        self.assertEqual(call["url"], TWILIO_MESSAGES)
        self.assertEqual(call["data"]["To"], "+14155550123")
        self.assertEqual(call["data"]["From"], "+14155550100")
        self.assertEqual(call["data"]["Body"], "Your quote is ready")
        self.assertEqual(call["data"]["StatusCallback"], f"{self.account.status_url}?sms_uuid={sms.uuid}")
        self.assertTrue(call["timeout"], "every provider request has a timeout")
        self.assertTrue(call["auth"].startswith("Basic "))

        notification = self._notifications(message)
        self.assertEqual(notification.notification_status, "pending")
        self.assertEqual(notification.sms_tracker_ids.provider_message_id, "SM00000000000000000000000000000001")
        conversation = message.sms_conversation_id
        self.assertEqual((conversation.res_model, conversation.res_id), ("res.partner", self.partner.id))
        self.assertEqual(conversation.number_id, self.number_a)
        self.assertEqual(conversation.remote_number, "+14155550123")
        self.assertEqual(message.sms_direction, "outbound")

    def test_sender_defaults_to_the_last_number_used_with_the_customer(self):
        """Of the numbers the seller may use, the last one used with this customer comes first."""
        self.team_b.member_ids |= self.user_seller_a  # number B is one of seller A's teams' numbers
        self.env["sms.conversation"]._get_or_create(self.number_b, "+14155550123", self.partner)._touch()
        with self.mock_twilio() as calls:
            self._send_from(self.partner)
            self._process_queue()
        self.assertEqual(calls[0]["data"]["From"], self.number_b.number)

    def test_composer_proposes_and_lets_choose_the_sender(self):
        composer = self._composer(self.partner, "From the team line", user=self.user_seller_a)
        self.assertEqual(composer.sms_number_id, self.number_a, "the seller's own number is proposed")
        self.assertEqual(composer.sms_allowed_number_ids, self.number_a, "not another team's number")
        composer.sms_number_id = self.number_b
        with self.assertRaisesRegex(UserError, "your numbers"):
            composer._action_send_sms()

        self.team_b.member_ids |= self.user_seller_a
        composer = self._composer(self.partner, "From the team line", user=self.user_seller_a)
        self.assertEqual(composer.sms_allowed_number_ids, self.number_a | self.number_b)
        composer.sms_number_id = self.number_b
        with self.mock_twilio() as calls:
            composer._action_send_sms()
            self._process_queue()
        self.assertEqual(calls[0]["data"]["From"], self.number_b.number)

    def test_provider_does_not_depend_on_who_sends(self):
        """A user without the SMS seller right, an automation run by OdooBot: the
        company's account sends, from the record owner's number."""
        self.partner.user_id = self.user_seller_a
        user = mail_new_test_user(self.env, login="no_sms_right", groups="base.group_user,base.group_partner_manager")
        self.assertFalse(user._is_sms_seller())
        composer = self._composer(self.partner, "From a colleague", user=user)
        self.assertFalse(composer.sudo().sms_number_id, "nothing to choose from")
        with self.mock_twilio() as calls:
            by_user = composer._action_send_sms()
            by_automation = self.partner.with_user(self.env.ref("base.user_root"))._message_sms("Automated reminder")
            self._process_queue()
        for message in (by_user, by_automation):
            sms = self._sms(message)
            self.assertEqual(sms.sms_account_id, self.account, "not Odoo's IAP")
            self.assertEqual(sms.sms_number_id, self.number_a, "the record owner's number")
        self.assertEqual([call["data"]["From"] for call in calls], [self.number_a.number] * 2)

    def test_texts_to_several_records_leave_from_each_customer_number(self):
        """A server action ("SMS (with note)") texting several contacts: each text leaves from the number
        a text to that customer takes (its owner's), not the first number for all of them; in the
        composer on several records, a number the seller picks is used for them all."""
        manager = mail_new_test_user(
            self.env,
            login="sms_manager_several",
            groups="base.group_user,base.group_partner_manager,crm_sms_conversation.crm_sms_conversation_group_manager",
        )
        of_a = self._partner("Customer of A", phone="(415) 555-0131", user_id=self.user_seller_a.id)
        of_b = self._partner("Customer of B", phone="(415) 555-0132", user_id=self.user_seller_b.id)
        template = self.env["sms.template"].create(
            {"name": "Order ready", "model_id": self.env["ir.model"]._get_id("res.partner"), "body": "Order ready"}
        )
        action = self.env["ir.actions.server"].create(
            {
                "name": "Text the contacts",
                "model_id": self.env["ir.model"]._get_id("res.partner"),
                "state": "sms",
                "sms_template_id": template.id,
                "sms_method": "comment",
            }
        )
        with self.mock_twilio() as calls:
            action.with_user(manager).with_context(active_model="res.partner", active_ids=(of_a | of_b).ids).run()
            self._process_queue()
        self.assertEqual(
            sorted((call["data"]["To"], call["data"]["From"]) for call in calls),
            [("+14155550131", self.number_a.number), ("+14155550132", self.number_b.number)],
            "each from its owner's number",
        )

        self.team_b.member_ids |= self.user_seller_a
        composer = (
            self.env["sms.composer"]
            .with_user(self.user_seller_a)
            .with_context(default_res_model="res.partner", default_composition_mode="comment")
            .create({"body": "Picked for both", "number_field_name": "phone", "res_ids": repr((of_a | of_b).ids)})
        )
        self.assertFalse(composer.sms_number_id, "no one number proposed for all the customers")
        composer.sms_number_id = self.number_b
        with self.mock_twilio() as calls:
            composer._action_send_sms()
            self._process_queue()
        self.assertEqual([call["data"]["From"] for call in calls], [self.number_b.number] * 2, "the number picked")

    def test_automation_uses_the_owner_team_number_not_another_team(self):
        lead = self._lead("Team B lead", phone="+14155550123", user_id=self.user_seller_b.id, team_id=self.team_b.id)
        self.env["sms.conversation"]._get_or_create(self.number_a, "+14155550123", self.partner)._touch()
        message = lead.with_user(self.env.ref("base.user_root"))._message_sms("Your appointment is confirmed")
        self.assertEqual(self._sms(message).sms_number_id, self.number_b, "team B's number, not seller A's")

    def test_sender_defaults_to_the_seller_then_the_team(self):
        Number = self.env["sms.number"]
        self.assertEqual(
            Number.with_user(self.user_seller_a)._get_default_sender(user=self.user_seller_a), self.number_a
        )
        self.assertEqual(Number._get_default_sender(user=self.user_seller_b), self.number_b, "seller B's team number")
        self.assertEqual(Number._get_default_sender(user=self.user_seller_c), self.number_sim)

    def test_invalid_number_tells_to_use_e164(self):
        with self.mock_twilio([FakeResponse(400, {"code": 21211, "message": "Invalid 'To' Phone Number"})]):
            message = self._send_from(self.partner)
            self._process_queue()
        notification = self._notifications(message)
        self.assertEqual(notification.notification_status, "exception")
        self.assertEqual(notification.failure_type, "sms_number_format")
        self.assertIn("E.164", notification.failure_reason)
        self.assertIn("21211", notification.failure_reason)
        self.assertEqual(self._sms(message).state, "error")

    def test_opted_out_customer_is_blacklisted_and_not_sent_again(self):
        with self.mock_twilio([FakeResponse(400, {"code": 21610, "message": "Unsubscribed recipient"})]) as calls:
            message = self._send_from(self.partner)
            self._process_queue()
            self.assertEqual(self._notifications(message).failure_type, "sms_optout")
            self.assertTrue(self.env["phone.blacklist"].search([("number", "=", "+14155550123")]))
            second = self._send_from(self.partner, "Another try")
            self._process_queue()
        self.assertEqual(len(calls), 1, "an opted-out number is not sent to again")
        self.assertEqual(self._notifications(second).failure_type, "sms_optout")

    def test_server_error_is_retried_with_backoff(self):
        with self.mock_twilio([FakeResponse(503, {"message": "Service Unavailable"})]) as calls:
            message = self._send_from(self.partner)
            self._process_queue()
            sms = self._sms(message)
            self.assertEqual(sms.state, "outgoing", "a 5xx is temporary")
            self.assertEqual(self._notifications(message).notification_status, "ready")
            self.assertTrue(sms.sms_next_attempt_date)
            queue = self.env["sms.sms"].sudo().with_context(sms_conversation_queue=True)
            self.assertFalse(queue.search([("id", "=", sms.id)]), "the queue's searches skip it until its time")
            self.assertEqual(queue.search_count([("id", "=", sms.id)]), 0)
            queue.invalidate_model()
            self.assertEqual(queue.browse(sms.id).state, "outgoing", "reading it in the queue stays allowed")
            self._process_queue()
            self.assertEqual(len(calls), 1, "not retried before its time")
            self._process_queue(at=self._later(31))
        self.assertEqual(len(calls), 2)
        self.assertEqual(self._notifications(message).notification_status, "pending")

    def test_connection_refused_and_throttling_are_retried(self):
        responses = [
            connection_refused(),
            FakeResponse(429, {"message": "Too Many Requests"}, headers={"Retry-After": "120"}),
        ]
        with self.mock_twilio(responses) as calls:
            message = self._send_from(self.partner)
            self._process_queue()
            self._process_queue(at=self._later(31))
            sms = self._sms(message)
            self.assertEqual(sms.state, "outgoing")
            self.assertGreaterEqual((sms.sms_next_attempt_date - self._later(31)).total_seconds(), 119)
            self._process_queue(at=self._later(200))
        self.assertEqual(len(calls), 3)
        self.assertEqual(self._notifications(message).notification_status, "pending")

    def test_gives_up_after_five_attempts(self):
        with self.mock_twilio([FakeResponse(500)] * 5) as calls:
            message = self._send_from(self.partner)
            for hour in range(5):
                self._process_queue(at=self._later(3600 * hour))
        self.assertEqual(len(calls), 5)
        notification = self._notifications(message)
        self.assertEqual(notification.notification_status, "exception")
        self.assertEqual(notification.failure_type, "sms_server")

    def test_read_timeout_looks_up_before_resending(self):
        found = FakeResponse(
            200,
            {
                "messages": [
                    {"sid": "SMfound", "body": "Hi from Odoo", "date_created": "Mon, 01 Jan 2035 00:00:00 +0000"}
                ]
            },
        )
        with self.mock_twilio([requests.exceptions.ReadTimeout("read timed out"), found]) as calls:
            message = self._send_from(self.partner)
            self._process_queue()
            self.assertEqual(self._sms(message).state, "outgoing")
            self.assertTrue(self._sms(message).sms_outcome_unknown)
            self._process_queue(at=self._later(31))
        self.assertEqual([call["method"] for call in calls], ["POST", "GET"], "found at the provider: no resend")
        self.assertEqual(calls[1]["query"]["To"], "+14155550123")
        notification = self._notifications(message)
        self.assertEqual(notification.notification_status, "pending")
        self.assertEqual(notification.sms_tracker_ids.provider_message_id, "SMfound")

    def test_read_timeout_resends_when_the_provider_has_no_trace(self):
        with self.mock_twilio(
            [requests.exceptions.ReadTimeout("read timed out"), FakeResponse(200, {"messages": []})]
        ) as calls:
            message = self._send_from(self.partner)
            self._process_queue()
            self._process_queue(at=self._later(31))
        self.assertEqual([call["method"] for call in calls], ["POST", "GET", "POST"])
        self.assertEqual(self._notifications(message).notification_status, "pending")

    def test_connection_reset_after_sending_is_looked_up(self):
        """A connection dropped after the request went out may have reached the provider."""
        reset = requests.exceptions.ConnectionError(ProtocolError("Connection aborted.", ConnectionResetError(104)))
        with self.mock_twilio([reset, FakeResponse(200, {"messages": []})]) as calls:
            message = self._send_from(self.partner)
            self._process_queue()
            self.assertTrue(self._sms(message).sms_outcome_unknown)
            self._process_queue(at=self._later(31))
        self.assertEqual([call["method"] for call in calls], ["POST", "GET", "POST"])

    def test_failed_look_up_never_resends(self):
        with self.mock_twilio(
            [requests.exceptions.ReadTimeout("read timed out"), FakeResponse(503), FakeResponse(200, {"messages": []})]
        ) as calls:
            message = self._send_from(self.partner)
            self._process_queue()
            self._process_queue(at=self._later(31))
            self.assertEqual([call["method"] for call in calls], ["POST", "GET"], "look-up failed: no blind resend")
            self.assertEqual(self._sms(message).state, "outgoing")
            self._process_queue(at=self._later(200))
        self.assertEqual([call["method"] for call in calls], ["POST", "GET", "GET", "POST"])

    def test_resend_from_a_request_waits_for_the_queue(self):
        with self.mock_twilio([FakeResponse(400, {"code": 30001, "message": "Queue overflow"})]) as calls:
            message = self._send_from(self.partner)
            self._process_queue()
            sms = self._sms(message)
            self.assertEqual(sms.state, "error")
            sms.resend_failed()
            self.assertEqual(len(calls), 1, "no provider call inside the user's request")
            self.assertEqual(sms.state, "outgoing")
            self._process_queue()
        self.assertEqual(len(calls), 2)
        self.assertEqual(self._notifications(message).notification_status, "pending")

    def test_companies_without_account_keep_odoo_sms(self):
        other_company = self.env["res.company"].create({"name": "No SMS Account Co"})
        lead = self._lead("Elsewhere", phone="+14155550123", company_id=other_company.id)
        with self.mock_twilio() as calls:
            message = lead.with_company(other_company)._message_sms("Through IAP", put_in_queue=True)
        sms = self._sms(message)
        self.assertFalse(sms.sms_number_id, "left to Odoo's own SMS service")
        self.assertFalse(calls)

    def _report(self, message, status, error_code=""):
        sid = self._notifications(message).sms_tracker_ids.provider_message_id
        self.account._receive(
            "status",
            {"external_id": sid, "status": status, "error_code": error_code, "error_message": "", "sms_uuid": ""},
        )
        self.env.invalidate_all()
        return self._notifications(message)

    def _sent_message(self):
        with self.mock_twilio():
            message = self._send_from(self.partner)
            self._process_queue()
        return message

    def test_status_delivered(self):
        message = self._sent_message()
        self.assertEqual(self._report(message, "delivered").notification_status, "sent")

    def test_status_unreachable(self):
        notification = self._report(self._sent_message(), "undelivered", "30003")
        self.assertEqual(
            (notification.notification_status, notification.failure_type), ("exception", "sms_not_delivered")
        )
        self.assertIn("could not be reached", notification.failure_reason)

    def test_status_unknown_destination(self):
        notification = self._report(self._sent_message(), "undelivered", "30005")
        self.assertEqual(
            (notification.notification_status, notification.failure_type), ("bounce", "sms_invalid_destination")
        )

    def test_status_rejected(self):
        notification = self._report(self._sent_message(), "failed", "30007")
        self.assertEqual((notification.notification_status, notification.failure_type), ("bounce", "sms_rejected"))

    def test_status_does_not_go_back(self):
        message = self._sent_message()
        self._report(message, "delivered")
        self.assertEqual(self._report(message, "sent").notification_status, "sent", "a late 'sent' keeps 'delivered'")

    def test_failed_deliveries_flag_follows_the_chatter_state(self):
        message = self._sent_message()
        conversation = message.sms_conversation_id
        self._report(message, "failed", "30007")
        self.assertTrue(conversation.has_failure, "listed under Failed Deliveries")
        second = self._sent_message()
        self._report(second, "delivered")
        self.assertFalse(conversation.has_failure, "the last message went through")
        self._report(second, "failed", "30007")
        self.assertEqual(self._notifications(second).notification_status, "sent", "Odoo keeps 'delivered'")
        self.assertFalse(conversation.has_failure, "a report Odoo ignores changes no flag")

    def test_duplicate_status_report_is_stored_once(self):
        message = self._sent_message()
        self._report(message, "delivered")
        self._report(message, "delivered")
        self.assertEqual(self.env["sms.event"].search_count([("kind", "=", "status")]), 1)


@tagged("post_install", "-at_install")
class TestSimulator(SmsConversationCase):
    def _send(self, phone):
        partner = self._partner("Simulated", phone=phone)
        message = self._send_from(partner, user=self.user_seller_c)
        self._process_queue()
        self.env.invalidate_all()
        return self._notifications(message)

    def test_delivered(self):
        notification = self._send("+14155550777")
        self.assertEqual(notification.notification_status, "sent")
        self.assertTrue(notification.sms_tracker_ids.provider_message_id.startswith("SIM"))

    def test_invalid_number(self):
        notification = self._send("+15005550001")
        self.assertEqual(
            (notification.notification_status, notification.failure_type), ("exception", "sms_number_format")
        )

    def test_unknown_destination_after_sending(self):
        notification = self._send("+15005550005")
        self.assertEqual(
            (notification.notification_status, notification.failure_type), ("bounce", "sms_invalid_destination")
        )

    def test_outage_is_retried(self):
        notification = self._send("+15005550009")
        self.assertEqual(notification.notification_status, "ready")
        self.assertTrue(notification.sms_id.sms_next_attempt_date)

    def test_simulated_reply(self):
        partner = self._partner("Replying", phone="+14155550778")
        wizard = (
            self.env["sms.simulate.reply"]
            .with_user(self.user_seller_c)
            .create({"number_id": self.number_sim.id, "from_number": "+1 415 555 0778", "body": "Yes please"})
        )
        action = wizard.action_send()
        self.assertEqual((action["res_model"], action["res_id"]), ("res.partner", partner.id))
        self.assertIn("Yes please", partner.message_ids[0].body)

    def test_simulated_reply_needs_a_phone_number(self):
        wizard = self.env["sms.simulate.reply"].create(
            {"number_id": self.number_sim.id, "from_number": "not a number", "body": "Hi"}
        )
        with self.assertRaisesRegex(UserError, "international format"):
            wizard.action_send()


@tagged("post_install", "-at_install")
class TestLiveUpdates(SmsConversationCase):
    def _bus_payloads(self, notification_type, partner):
        self.env.cr.flush()  # bus notifications are written when the transaction commits
        notifications = self.env["bus.bus"].sudo().search([("message", "like", notification_type)])
        return [
            json.loads(n.message)["payload"]
            for n in notifications
            if json.loads(n.channel)[1:] == ["res.partner", partner.id]
        ]

    def test_delivery_report_reaches_open_panes(self):
        partner = self._partner("Live Customer", phone="(415) 555-0123", user_id=self.user_seller_a.id)
        with self.mock_twilio():
            message = self._send_from(partner)
            self._process_queue()
        sid = self._notifications(message).sms_tracker_ids.provider_message_id
        self.account._receive(
            "status",
            {"external_id": sid, "status": "delivered", "error_code": "", "error_message": "", "sms_uuid": ""},
        )
        payloads = self._bus_payloads("crm_sms_conversation/status", self.user_seller_a.partner_id)
        self.assertTrue(
            any(message.id in p["message_ids"] for p in payloads), "the seller's open pane shows 'delivered' live"
        )
        self.assertTrue(all(p["conversation_id"] == message.sms_conversation_id.id for p in payloads))

    def test_queue_run_updates_the_chatter_of_the_messages_it_sent_only(self):
        """A run whose time is up refreshes the chatter of the texts it sent,
        not of those it left for the next run."""
        self.number_a.rate_limit = 2
        partner = self._partner("Updates", phone="+14155550167")
        messages = [
            partner.with_context(sms_conversation_number_id=self.number_a.id)._message_sms(f"update {index}")
            for index in range(4)
        ]
        Message = type(self.env["mail.message"])
        notify = Message._notify_message_notification_update
        notified = set()

        def record(records, *args, **kwargs):
            notified.update(records.ids)
            return notify(records, *args, **kwargs)

        with (
            self.mock_twilio(),
            patch.object(sms_sms_module, "QUEUE_TIME_BUDGET", 0.8),
            patch.object(Message, "_notify_message_notification_update", record),
        ):
            self._process_queue()
        self.assertEqual(notified & {m.id for m in messages}, {messages[0].id, messages[1].id})

    def test_reading_updates_the_other_sellers_counts(self):
        self.team_a.member_ids |= self.user_seller_c
        self._partner("Read Customer", phone="(415) 555-0123", user_id=self.user_seller_a.id)
        conversation = self._receive("Unread until opened").sms_conversation_id
        self.env["sms.conversation"].with_user(self.user_seller_a).mark_read(conversation.id)
        payloads = self._bus_payloads("crm_sms_conversation/status", self.user_seller_c.partner_id)
        self.assertTrue(any(p.get("read") and p["conversation_id"] == conversation.id for p in payloads))


@tagged("post_install", "-at_install")
class TestConcurrentSending(SmsConversationCase):
    """The queue sends through several numbers at once, each number in order
    and within its rate limit."""

    def _slow_twilio(self, stamps, latency=0.2, fail_body=None):
        """Twilio answering after ``latency`` seconds; ``stamps`` gets (body, start, end) of each request."""
        lock = threading.Lock()

        def answer(count):
            return FakeResponse(201, {"sid": f"SM{count:032d}", "status": "queued"})

        def handler(request, **kw):
            body = dict(parse_qsl(request.body))["Body"]
            start = _clock()
            time.sleep(latency)
            if body == fail_body:
                raise RuntimeError("unexpected failure of the provider client")
            with lock:
                stamps.append((body, start, _clock()))
                return answer(len(stamps))

        return patch.object(type(self), "_api_handlers", {"https://api.twilio.com/": handler})

    def test_numbers_send_side_by_side_each_in_order_and_within_its_rate(self):
        (self.number_a | self.number_b).rate_limit = 2  # one request every 0.5 s at most
        for index in range(3):
            for number, customer in ((self.number_a, "+14155550161"), (self.number_b, "+14155550162")):
                partner = self._partner(f"Customer {index} {number.number}", phone=customer)
                partner.with_context(sms_conversation_number_id=number.id)._message_sms(f"{number.number} #{index}")
        stamps = []
        with self._slow_twilio(stamps):
            self._process_queue()
        by_number = {
            number.number: [stamp for stamp in stamps if stamp[0].startswith(number.number)]
            for number in (self.number_a, self.number_b)
        }
        for number, sent in by_number.items():
            self.assertEqual([body for body, _start, _end in sent], [f"{number} #{index}" for index in range(3)])
            starts = [start for _body, start, _end in sent]
            for before, after in itertools.pairwise(starts):
                self.assertGreaterEqual(after - before, 0.5 - 0.01, f"{number} kept to 2 messages per second")
        first_a, first_b = by_number[self.number_a.number][0], by_number[self.number_b.number][0]
        self.assertLess(max(first_a[1], first_b[1]), min(first_a[2], first_b[2]), "both numbers sent at once")
        self.assertFalse(self.env["sms.sms"].search([("state", "=", "outgoing")]), "all sent")

    def test_the_rate_holds_from_one_queue_run_to_the_next(self):
        self.number_a.rate_limit = 2
        partner = self._partner("Two Runs", phone="+14155550165")
        stamps = []
        with self._slow_twilio(stamps, latency=0):
            for text in ("first run", "second run"):
                partner.with_context(sms_conversation_number_id=self.number_a.id)._message_sms(text)
                self._process_queue()
        self.assertEqual([body for body, _start, _end in stamps], ["first run", "second run"])
        self.assertGreaterEqual(stamps[1][1] - stamps[0][1], 0.5 - 0.01, "the next run waited for the number")

    def test_queue_run_ends_in_time_and_asks_for_a_new_run(self):
        """A long queue (a number sending 2 messages a second) is sent over
        several runs, each within its time, each message once and in order:
        the cron worker is never kept past its time limit."""
        self.number_a.rate_limit = 2
        partner = self._partner("Long Queue", phone="+14155550165")
        for index in range(5):
            partner.with_context(sms_conversation_number_id=self.number_a.id)._message_sms(f"part {index}")
        cron = self.env.ref("sms.ir_cron_sms_scheduler_action")
        Trigger = self.env["ir.cron.trigger"].sudo()
        stamps = []
        with self._slow_twilio(stamps, latency=0), patch.object(sms_sms_module, "QUEUE_TIME_BUDGET", 0.8):
            Trigger.search([("cron_id", "=", cron.id)]).unlink()
            self._process_queue()
            self.assertEqual(len(stamps), 2, "0.8 s at 2 messages a second: two requests")
            self.assertTrue(Trigger.search([("cron_id", "=", cron.id)]), "a new run for the other three")
            for _run in range(2):
                self._process_queue()
        self.assertEqual([body for body, _start, _end in stamps], [f"part {index}" for index in range(5)])
        self.assertFalse(self.env["sms.sms"].search([("state", "=", "outgoing")]), "all sent, each once")

    def test_queue_run_whose_time_is_up_sends_one_message_at_least(self):
        """However long a run took to come to the requests, it sends one
        message at least: a slow run never leaves the queue where it was."""
        partner = self._partner("Slow Runs", phone="+14155550166")
        for index in range(3):
            partner.with_context(sms_conversation_number_id=self.number_a.id)._message_sms(f"slow {index}")
        stamps = []
        with self._slow_twilio(stamps, latency=0), patch.object(sms_sms_module, "QUEUE_TIME_BUDGET", 0):
            for run in range(3):
                self._process_queue()
                self.assertEqual(len(stamps), run + 1, "one message a run")
        self.assertEqual([body for body, _start, _end in stamps], ["slow 0", "slow 1", "slow 2"])

    def test_one_sending_thread_failing_fails_its_message_only(self):
        partner = self._partner("Two Texts", phone="+14155550163")
        partner.with_context(sms_conversation_number_id=self.number_a.id)._message_sms("breaks the client")
        partner.with_context(sms_conversation_number_id=self.number_b.id)._message_sms("goes through")
        stamps = []
        with (
            self._slow_twilio(stamps, latency=0, fail_body="breaks the client"),
            mute_logger("odoo.addons.crm_sms_conversation.models.sms_sms"),
        ):
            self._process_queue()
        self.assertEqual([body for body, _start, _end in stamps], ["goes through"])
        broken = self.env["sms.sms"].search([("body", "=", "breaks the client")])
        self.assertEqual(broken.state, "outgoing", "retried later")
        self.assertEqual(broken.sms_attempt_count, 1)
        self.assertTrue(broken.sms_next_attempt_date)

    def test_one_by_one_when_the_setting_says_so(self):
        self.env["ir.config_parameter"].sudo().set_param("crm_sms_conversation.send_concurrency", "1")
        (self.number_a | self.number_b).rate_limit = 0
        for number in (self.number_a, self.number_b):
            self._partner(f"Via {number.number}", phone="+14155550164").with_context(
                sms_conversation_number_id=number.id
            )._message_sms(f"via {number.number}")
        stamps = []
        with self._slow_twilio(stamps, latency=0.1):
            self._process_queue()
        self.assertEqual(len(stamps), 2)
        self.assertGreaterEqual(stamps[1][1], stamps[0][2], "the second request starts after the first ends")
