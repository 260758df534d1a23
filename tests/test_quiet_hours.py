import datetime

from freezegun import freeze_time

from odoo.tests import tagged

from ..tools.quiet_hours import is_quiet, next_allowed_time, recipient_time_zones
from .common import SmsConversationCase

UTC = datetime.UTC


def utc(*args):
    return datetime.datetime(*args, tzinfo=UTC)


@tagged("post_install", "-at_install")
class TestQuietHoursTime(SmsConversationCase):
    """The customer's local time, read from their number, across time zones and daylight-saving changes."""

    def _zone_names(self, number):
        return sorted(zone.key for zone in recipient_time_zones(number))

    def test_time_zones_of_numbers(self):
        self.assertEqual(self._zone_names("+14155550123"), ["America/Los_Angeles"])
        self.assertEqual(self._zone_names("+12125550123"), ["America/New_York"])
        # A Spanish mobile may be on the Canary Islands, an hour behind the mainland.
        self.assertEqual(self._zone_names("+34612345678"), ["Atlantic/Canary", "Europe/Madrid"])
        # A range phonenumbers gives no zone for: the zones of its country.
        self.assertEqual(self._zone_names("+447700900123"), ["Europe/London"])
        self.assertEqual(self._zone_names("not a number"), [])

    def test_quiet_window_over_midnight_and_within_a_day(self):
        tz = recipient_time_zones("+14155550123")[0]
        at = lambda h, m=0: datetime.datetime(2026, 1, 15, h, m, tzinfo=tz)  # noqa: E731
        self.assertTrue(is_quiet(at(21), 21, 8))
        self.assertTrue(is_quiet(at(2), 21, 8))
        self.assertTrue(is_quiet(at(7, 59), 21, 8))
        self.assertFalse(is_quiet(at(8), 21, 8))
        self.assertFalse(is_quiet(at(20, 59), 21, 8))
        self.assertTrue(is_quiet(at(12, 30), 12, 14))
        self.assertFalse(is_quiet(at(14), 12, 14))

    def test_next_allowed_time_across_daylight_saving_changes(self):
        new_york = recipient_time_zones("+12125550123")
        # 22:30 on Saturday 7 March 2026 (EST, UTC-5); clocks go forward that night:
        # 08:00 on Sunday is EDT (UTC-4), 12:00 UTC and not 13:00.
        self.assertEqual(next_allowed_time(utc(2026, 3, 8, 3, 30), new_york, 21, 8), utc(2026, 3, 8, 12, 0))
        # 23:00 on Saturday 31 October 2026 (EDT); clocks go back that night: 08:00 EST is 13:00 UTC.
        self.assertEqual(next_allowed_time(utc(2026, 11, 1, 3, 0), new_york, 21, 8), utc(2026, 11, 1, 13, 0))
        # Quiet hours ending inside the skipped hour (02:30 on 8 March does not exist in New York):
        # read with the offset before the change, never earlier than the change: 03:30 EDT.
        self.assertEqual(next_allowed_time(utc(2026, 3, 8, 6, 0), new_york, 1, 2.5), utc(2026, 3, 8, 7, 30))
        madrid = recipient_time_zones("+34912345678")
        # Spain goes to summer time on 29 March 2026: 08:00 CEST is 06:00 UTC, the day before 07:00.
        self.assertEqual(next_allowed_time(utc(2026, 3, 28, 22, 0), madrid, 21, 8), utc(2026, 3, 29, 6, 0))
        self.assertEqual(next_allowed_time(utc(2026, 3, 27, 22, 0), madrid, 21, 8), utc(2026, 3, 28, 7, 0))

    def test_next_allowed_time_waits_for_every_zone_of_the_number(self):
        spanish_mobile = recipient_time_zones("+34612345678")
        # 08:30 in Madrid, but 07:30 on the Canary Islands: wait for 08:00 there.
        self.assertEqual(next_allowed_time(utc(2026, 1, 15, 7, 30), spanish_mobile, 21, 8), utc(2026, 1, 15, 8, 0))
        # 20:30 on the islands, 21:30 in Madrid: quiet in Madrid, until 08:00 Madrid time.
        self.assertEqual(next_allowed_time(utc(2026, 1, 15, 20, 30), spanish_mobile, 21, 8), utc(2026, 1, 16, 8, 0))
        # Out of the quiet hours everywhere: at once.
        self.assertEqual(next_allowed_time(utc(2026, 1, 15, 12, 0), spanish_mobile, 21, 8), utc(2026, 1, 15, 12, 0))


class QuietHoursCase(SmsConversationCase):
    """Quiet hours from 21:00 to 08:00 on the Twilio account."""

    # 22:00 in San Francisco (PST), where the customer and our numbers are.
    NIGHT = datetime.datetime(2026, 1, 15, 6, 0)
    MORNING = datetime.datetime(2026, 1, 15, 16, 0)  # 08:00 PST

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.account.write({"quiet_hours": True, "quiet_hours_start": 21.0, "quiet_hours_end": 8.0})
        cls.partner = cls._partner("Night Owl", phone=cls.customer_number, user_id=cls.user_seller_a.id)
        cls.template = cls.env["sms.template"].create(
            {"name": "Reminder", "model_id": cls.env["ir.model"]._get_id("res.partner"), "body": "Our reminder"}
        )

    def _sms_of(self, message):
        return self.env["sms.sms"].sudo().search([("mail_message_id", "=", message.id)])

    def _last_sms_message(self):
        return (
            self.env["mail.message"]
            .sudo()
            .search([("model", "=", "res.partner"), ("res_id", "=", self.partner.id), ("message_type", "=", "sms")])[:1]
        )


@tagged("post_install", "-at_install")
class TestQuietHoursSending(QuietHoursCase):
    """Quiet hours on the queue, the pane and the composer: automated texts wait,
    a seller is asked, answers to STOP and HELP leave at once."""

    def test_an_automated_text_waits_for_the_morning(self):
        with self.mock_twilio() as calls, freeze_time(self.NIGHT):
            message = self.partner.with_user(self.env.ref("base.user_root"))._message_sms("Automated reminder")
            self._process_queue(self.NIGHT)
            sms = self._sms_of(message)
            self.assertFalse(calls, "nothing leaves during the customer's night")
            self.assertEqual(sms.state, "outgoing")
            self.assertTrue(sms.sms_quiet_hours_deferred)
            self.assertEqual(sms.sms_next_attempt_date, self.MORNING)
            self.assertEqual(sms.sms_attempt_count, 0, "waiting is not a failed attempt")
            self.assertEqual(self._notifications(message).notification_status, "ready")
            # The pane tells the seller why it waits.
            values = self.env["sms.conversation"]._pane_message_values(message)[0]
            self.assertEqual(values["quiet_hours_until"], "2026-01-15 16:00:00")
            self.assertFalse(values["retry"])
            self._process_queue(self.MORNING - datetime.timedelta(minutes=1))
            self.assertFalse(calls)
        with self.mock_twilio() as calls:
            self._process_queue(self.MORNING)
        self.assertEqual(len(calls), 1)
        self.assertEqual(calls[0]["data"]["Body"], "Automated reminder")
        self.assertEqual(self._notifications(message).notification_status, "pending")

    def test_an_account_without_quiet_hours_sends_at_night(self):
        self.account.quiet_hours = False
        with self.mock_twilio() as calls, freeze_time(self.NIGHT):
            self.partner.with_user(self.env.ref("base.user_root"))._message_sms("Automated reminder")
            self._process_queue(self.NIGHT)
        self.assertEqual(len(calls), 1)

    def test_the_pane_asks_the_seller(self):
        Pane = self.env["sms.conversation"].with_user(self.user_seller_a)
        with self.mock_twilio() as calls, freeze_time(self.NIGHT):
            data = Pane.get_pane_data("res.partner", self.partner.id, self.customer_number)
            self.assertIn("It is 22:00 for this customer (America/Los_Angeles)", data["quiet_hours"]["message"])
            self.assertEqual(data["quiet_hours"]["local_until"], "08:00")
            asked = Pane.send_message("res.partner", self.partner.id, self.customer_number, self.number_a.id, "Hi")
            self.assertEqual(asked["quiet_hours"], data["quiet_hours"])
            self.assertFalse(self._last_sms_message(), "nothing is posted until the seller chooses")
            # Later: posted now, sent in the morning.
            later = Pane.send_message(
                "res.partner", self.partner.id, self.customer_number, self.number_a.id, "See you", quiet_hours="later"
            )
            self._process_queue(self.NIGHT)
            self.assertFalse(calls)
            self.assertEqual(later["message"]["body"], "See you")
            # Now: the seller confirmed, it leaves at once.
            Pane.send_message(
                "res.partner", self.partner.id, self.customer_number, self.number_a.id, "Urgent", quiet_hours="now"
            )
            self._process_queue(self.NIGHT)
        self.assertEqual([call["data"]["Body"] for call in calls], ["Urgent"])
        with freeze_time(self.MORNING):
            self.assertFalse(Pane.get_pane_data("res.partner", self.partner.id, self.customer_number)["quiet_hours"])

    def test_the_composer_warns_and_sends_now_only_when_asked(self):
        with self.mock_twilio() as calls, freeze_time(self.NIGHT):
            composer = self._composer(self.partner, "Waits")
            self.assertIn("22:00 for this customer", composer.sudo().sms_quiet_hours_notice)
            composer._action_send_sms()
            self._composer(self.partner, "Leaves now").action_send_sms_quiet_hours_now()
            self._process_queue(self.NIGHT)
        self.assertEqual([call["data"]["Body"] for call in calls], ["Leaves now"])
        with freeze_time(self.MORNING):
            self.assertFalse(self._composer(self.partner, "Morning").sudo().sms_quiet_hours_notice)

    def test_answers_to_stop_and_help_leave_at_once(self):
        self.account.write({"auto_reply_help": "Call us at 555-0100.", "auto_reply_stop": "You are unsubscribed."})
        with self.mock_twilio() as calls, freeze_time(self.NIGHT):
            self._receive("HELP")
            self._process_queue(self.NIGHT)
            self._receive("STOP")
            self._process_queue(self.NIGHT)
        self.assertEqual(
            sorted(call["data"]["Body"] for call in calls), ["Call us at 555-0100.", "You are unsubscribed."]
        )


@tagged("post_install", "-at_install")
class TestQuietHoursOnEverySendPath(QuietHoursCase):
    """The compliance matrix, quiet-hours column: during the customer's night
    every automated path waits for the morning, a seller's confirmation sends
    a 1:1 text at once, and nobody else can confirm."""

    def test_every_send_path(self):
        composer = self.env["sms.composer"].with_user(self.user_seller_a)
        context = {"default_res_model": "res.partner", "default_res_id": self.partner.id}
        server_action = self.env["ir.actions.server"].create(
            {
                "name": "Text the reminder",
                "model_id": self.env["ir.model"]._get_id("res.partner"),
                "state": "sms",
                "sms_template_id": self.template.id,
                "sms_method": "comment",
            }
        )
        Pane = self.env["sms.conversation"].with_user(self.user_seller_a)
        waits = {
            "chatter composer": lambda: self._send_from(self.partner, "Composer"),
            "template": lambda: composer.with_context(context, default_composition_mode="comment")
            .create({"template_id": self.template.id, "number_field_name": "phone"})
            .action_send_sms(),
            "server action": lambda: server_action.with_context(
                active_model="res.partner", active_id=self.partner.id, active_ids=self.partner.ids
            ).run(),
            "automation (OdooBot)": lambda: self.partner.with_user(self.env.ref("base.user_root"))._message_sms(
                "Automated"
            ),
            "automation with a seller's confirmation in its context": lambda: self.partner.with_user(
                self.env.ref("base.user_root")
            )
            .with_context(sms_conversation_quiet_hours_confirmed=True)
            ._message_sms("Forged confirmation"),
            "pane, sent later": lambda: Pane.send_message(
                "res.partner", self.partner.id, self.customer_number, self.number_a.id, "Later", quiet_hours="later"
            ),
            "mass SMS": lambda: composer.with_context(
                default_res_model="res.partner", default_composition_mode="mass", active_ids=self.partner.ids
            )
            .create(
                {
                    "body": "Mass reminder",
                    "mass_keep_log": True,
                    "number_field_name": "phone",
                    "res_ids": repr(self.partner.ids),
                }
            )
            .action_send_sms(),
        }
        sent_now = {
            "composer, Send Now": lambda: self._composer(
                self.partner, "Composer now"
            ).action_send_sms_quiet_hours_now(),
            "pane, Send Now": lambda: Pane.send_message(
                "res.partner", self.partner.id, self.customer_number, self.number_a.id, "Pane now", quiet_hours="now"
            ),
        }
        with freeze_time(self.NIGHT):
            for path, send in waits.items():
                with self.subTest(path=path), self.mock_twilio() as calls:
                    last_id = self.env["sms.sms"].sudo().search([], order="id desc", limit=1).id or 0
                    send()
                    self._process_queue(self.NIGHT)
                    sms = self.env["sms.sms"].sudo().search([("id", ">", last_id)])
                    self.assertEqual(len(sms), 1)
                    self.assertEqual(sms.sms_account_id, self.account, "sent through the company's account")
                    self.assertFalse(calls, "no provider call during the customer's night")
                    self.assertEqual((sms.state, sms.sms_next_attempt_date), ("outgoing", self.MORNING))
            for path, send in sent_now.items():
                with self.subTest(path=path), self.mock_twilio() as calls:
                    send()
                    self._process_queue(self.NIGHT)
                    self.assertEqual(len(calls), 1, "the seller confirmed: sent at once")
            with self.subTest(path="pane, not confirmed"), self.mock_twilio() as calls:
                asked = Pane.send_message("res.partner", self.partner.id, self.customer_number, self.number_a.id, "?")
                self.assertTrue(asked["quiet_hours"])
                self._process_queue(self.NIGHT)
                self.assertFalse(calls)
        with self.mock_twilio() as calls:
            self._process_queue(self.MORNING)
        self.assertEqual(len(calls), len(waits), "every waiting text leaves in the morning, once")
