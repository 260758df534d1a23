"""The defects of a customer's database, each with the behaviour that fixes it
(numbers refer to the hardening issue's list)."""

from datetime import timedelta
from unittest.mock import patch

from odoo import Command, fields
from odoo.addons.mail.tests.common import mail_new_test_user
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import tagged
from odoo.tools import convert_file, mute_logger

from .. import uninstall_hook
from ..models.sms_account import SECRET_MASK
from ..models.sms_conversation import SmsConversation
from ..tools.compat import group_all_users
from ..tools.sms_simulator import simulator_signature
from ..tools.sms_twilio import TwilioApi
from .common import SmsConversationCase

EVENT_LOGGER = "odoo.addons.crm_sms_conversation.models.sms_event"
SMS_LOGGER = "odoo.addons.crm_sms_conversation.models.sms_sms"


@tagged("post_install", "-at_install")
class TestSecrets(SmsConversationCase):
    """2. Provider secrets are write-only: never read back, whoever asks."""

    def test_auth_token_is_never_read_back(self):
        manager = mail_new_test_user(self.env, login="sales_admin", groups="sales_team.group_sale_manager")
        for user in (manager, self.env.ref("base.user_admin")):
            account = self.account.with_user(user)
            self.assertEqual(account.read(["twilio_auth_token"])[0]["twilio_auth_token"], SECRET_MASK, user.name)
            self.assertNotIn(TWILIO_TOKEN_TEXT, str(account.search_read([], [])), user.name)
            self.assertNotIn(TWILIO_TOKEN_TEXT, str(account.web_read({"twilio_auth_token": {}})), user.name)
        self.assertEqual(self.account._get_provider_config().auth_token, TWILIO_TOKEN_TEXT, "the server uses it")

    def test_managers_replace_it_without_reading_it(self):
        manager = mail_new_test_user(self.env, login="sales_admin", groups="sales_team.group_sale_manager")
        account = self.account.with_user(manager)
        account.write({"twilio_auth_token": "a-new-token"})
        self.assertEqual(self.account._get_provider_config().auth_token, "a-new-token")
        account.write({"name": "Renamed", "twilio_auth_token": SECRET_MASK})
        self.assertEqual(self.account._get_provider_config().auth_token, "a-new-token", "the mask changes nothing")
        copy = self.account.copy()
        self.assertFalse(copy._get_provider_config().auth_token, "a copy has no credentials")

    def test_sellers_do_not_even_see_the_field(self):
        fields_info = self.env["sms.account"].with_user(self.user_seller_a).fields_get()
        self.assertNotIn("twilio_auth_token", fields_info)
        self.assertNotIn("simulator_secret", fields_info)

    def test_simulator_signs_with_its_own_secret_not_the_url_token(self):
        """16. The Simulator's signature key is not the token anyone holding its URL knows."""
        secret = self.simulator._get_secret("simulator_secret")
        self.assertTrue(secret)
        self.assertNotEqual(secret, self.simulator.webhook_token)
        api = self.simulator._get_provider_api()
        url = self.simulator.inbound_url
        body = b"id=X1&from=%2B14155550123&to=%2B14155550300&body=Hi"
        params = [("id", "X1"), ("from", "+14155550123"), ("to", self.number_sim.number), ("body", "Hi")]
        by_token = simulator_signature(self.simulator.webhook_token, url, body)
        self.assertFalse(api.verify_request(url, params, {"X-Simulator-Signature": by_token}, body))
        by_secret = simulator_signature(secret, url, body)
        self.assertTrue(api.verify_request(url, params, {"X-Simulator-Signature": by_secret}, body))
        self.assertFalse(api.verify_request(url, params, {"X-Simulator-Signature": by_secret}, body + b"x"))


TWILIO_TOKEN_TEXT = "twilio-test-auth-token"


@tagged("post_install", "-at_install")
class TestConversationIntegrity(SmsConversationCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.partner_a = cls._partner("Customer of A", phone=cls.customer_number, user_id=cls.user_seller_a.id)
        cls.lead_b = cls._lead("Lead of B", user_id=cls.user_seller_b.id)

    def test_move_checks_the_seller_rights_on_the_target(self):
        """3. The pane opens records of the seller's conversations in sudo: a
        move still needs the seller's own write access on the target."""
        message = self._receive("Hi")
        conversation = message.sms_conversation_id
        # The seller may see a conversation on lead B (one of their numbers): the pane opens it.
        self.env["sms.conversation"]._get_or_create(self.number_a, self.customer_number, self.lead_b)
        Pane = self.env["sms.conversation"].with_user(self.user_seller_a)
        self.assertTrue(Pane.get_pane_data("crm.lead", self.lead_b.id)["record"])
        with self.assertRaises(AccessError):
            Pane.move_to(conversation.id, "crm.lead", self.lead_b.id)
        self.assertEqual((conversation.res_model, conversation.res_id), ("res.partner", self.partner_a.id))

    def test_on_another_sellers_record_only_its_customers_are_answered(self):
        """A record seen through a conversation only: its customer may be
        answered, no other number (a new conversation there would divert that
        customer's replies, by routing rule 1)."""
        lead = self._lead("B's deal", phone="+14155550611", user_id=self.user_seller_b.id)
        self.assertEqual(self._receive("On A's number", from_number="+14155550611").res_id, lead.id)
        Pane = self.env["sms.conversation"].with_user(self.user_seller_a)
        with self.mock_twilio():
            Pane.send_message("crm.lead", lead.id, "+14155550611", self.number_a.id, "Answered")
            with self.assertRaises(AccessError):
                Pane.send_message("crm.lead", lead.id, "+14155550999", self.number_a.id, "Someone else")
        self.assertFalse(self.env["sms.conversation"].search([("remote_number", "=", "+14155550999")]))

    def test_nobody_files_a_fake_customer_message(self):
        """4. Posting over RPC cannot mark a message as a customer's text."""
        conversation = self._receive("Genuine").sms_conversation_id
        lead = self._lead("Seller C's lead", user_id=self.user_seller_c.id)
        as_c = lead.with_user(self.user_seller_c)
        for values in ({"sms_conversation_id": conversation.id}, {"sms_direction": "inbound"}):
            with self.subTest(values=values), self.assertRaises(AccessError):
                as_c.message_post(body="I want to cancel everything", message_type="comment", **values)
        note = as_c.message_post(body="A note")
        with self.assertRaises(AccessError):
            note.with_user(self.user_seller_c).write({"sms_conversation_id": conversation.id})
        with self.assertRaises(AccessError):
            self.env["mail.message"].with_user(self.user_seller_c).create(
                {"model": "crm.lead", "res_id": lead.id, "body": "Fake", "sms_direction": "inbound"}
            )
        self.assertEqual(len(conversation.message_ids), 1)

    def test_mark_read_and_move_act_on_the_whole_thread(self):
        """14. The pane shows one thread across our numbers: reading and moving
        act on all of it."""
        self.team_b.member_ids |= self.user_seller_a
        first = self._receive("To A's number", number=self.number_a).sms_conversation_id
        second = self._receive("To team B's number", number=self.number_b).sms_conversation_id
        self.assertNotEqual(first, second)
        Pane = self.env["sms.conversation"].with_user(self.user_seller_a)
        Pane.mark_read(first.id)
        self.assertEqual((first.unread_count, second.unread_count), (0, 0))
        lead = self._lead("Moved here", user_id=self.user_seller_a.id)
        Pane.move_to(first.id, "crm.lead", lead.id)
        for conversation in (first, second):
            self.assertEqual((conversation.res_model, conversation.res_id), ("crm.lead", lead.id))
        self.assertEqual(len(lead.message_ids.filtered("sms_direction")), 2, "both messages moved")

    def test_merged_contacts_keep_their_conversation(self):
        """8. Odoo's merge wizard: the conversation follows the merged contact."""
        conversation = self._receive("Before the merge").sms_conversation_id
        duplicate = self._partner("Customer of A (duplicate)", email="a@customer.example")
        wizard = self.env["base.partner.merge.automatic.wizard"].create({})
        wizard._merge((self.partner_a | duplicate).ids, duplicate)
        self.assertFalse(self.partner_a.exists())
        self.assertEqual((conversation.res_model, conversation.res_id), ("res.partner", duplicate.id))
        duplicate.phone = self.customer_number
        reply = self._receive("After the merge")
        self.assertEqual(reply.sms_conversation_id, conversation, "the reply continues the same conversation")
        data = self.env["sms.conversation"].with_user(self.user_seller_a).get_messages(conversation.id)
        self.assertEqual(len(data["messages"]), 2, "the pane keeps the history")

    def test_merged_leads_keep_their_conversations(self):
        lead = self._lead("Lead", "lead", phone=self.customer_number, user_id=self.user_seller_a.id)
        self.partner_a.phone = False
        conversation = self._receive("About the lead").sms_conversation_id
        self.assertEqual(conversation.res_id, lead.id)
        other = self._lead("Same customer", user_id=self.user_seller_a.id)
        merged = (lead | other)._merge_opportunity(auto_unlink=True)
        self.assertEqual(merged, other, "the opportunity remains, the lead is merged into it")
        self.assertFalse(lead.exists())
        self.assertEqual((conversation.res_model, conversation.res_id), ("crm.lead", other.id))

    def test_merge_joins_two_conversations_with_the_same_numbers(self):
        conversation = self._receive("On A").sms_conversation_id
        duplicate = self._partner("Duplicate", phone=self.customer_number)
        other = self.env["sms.conversation"]._get_or_create(self.number_a, self.customer_number, duplicate)
        self.env["sms.conversation"]._merge_records(self.partner_a, duplicate)
        self.assertFalse(conversation.exists())
        self.assertEqual(other.message_ids.mapped("body"), ["<p>On A</p>"])
        self.assertEqual(other.unread_count, 1)

    def test_deleted_record_takes_its_conversations_along(self):
        conversation = self._receive("Soon gone").sms_conversation_id
        self.partner_a.unlink()
        self.assertFalse(conversation.exists())
        message = self._receive("Still there?")
        self.assertEqual(message.model, "crm.lead", "the next reply starts anew: a lead")

    def test_stop_from_a_possible_but_invalid_number_is_kept(self):
        """7. phonenumbers finds +33712345678 possible, not valid: Odoo's
        blacklist refuses it, the opt-out is recorded all the same."""
        number = "+33712345678"
        message = self._receive("STOP", from_number=number)
        self.assertTrue(message, "the message is posted")
        blacklisted = self.env["phone.blacklist"].sudo().search([("number", "=", number)])
        self.assertTrue(blacklisted.active)
        self._receive("START", from_number=number)
        self.assertFalse(blacklisted.active)

    def test_keys_do_not_depend_on_who_saves(self):
        """13. A national number without country reads with the record's
        company, else the main company: never the user's current company."""
        belgium = self.env["res.company"].create({"name": "Belgian branch", "country_id": self.env.ref("base.be").id})
        user = mail_new_test_user(
            self.env,
            login="belgian_seller",
            groups="sales_team.group_sale_salesman,base.group_partner_manager",
            company_id=belgium.id,
            company_ids=[belgium.id, self.company.id],
        )
        as_us = self.env["res.partner"].create({"name": "Saved in the US", "phone": "(415) 555-0177"})
        as_be = (
            self.env["res.partner"]
            .with_user(user)
            .with_company(belgium)
            .create({"name": "Saved in Belgium", "phone": "(415) 555-0177"})
        )
        self.assertEqual(as_us.sms_phone_e164, "+14155550177")
        self.assertEqual(as_be.sms_phone_e164, as_us.sms_phone_e164)

    def test_failure_flag_follows_the_last_message_only(self):
        """16. A late report on an older message does not clear the flag."""
        with self.mock_twilio():
            older = self._send_from(self.partner_a, "First")
            newer = self._send_from(self.partner_a, "Second")
            self._process_queue()
        conversation = newer.sms_conversation_id
        self._report(newer, "failed", "30007")
        self.assertTrue(conversation.has_failure)
        self._report(older, "delivered")
        self.assertTrue(conversation.has_failure, "the last message still failed")

    def test_delivery_reports_leave_the_conversation_alone(self):
        """12. A delivery report that changes no flag does not write the busy conversation row."""
        with self.mock_twilio():
            message = self._send_from(self.partner_a, "Hello")
            self._process_queue()
        with patch.object(SmsConversation, "write", autospec=True, side_effect=SmsConversation.write) as write:
            self._report(message, "sent")
            self._report(message, "delivered")
        self.assertFalse(write.call_args_list, "no write on the conversation")

    def test_status_report_of_another_account_changes_nothing(self):
        """16. Reports are matched within the account that sent the message."""
        with self.mock_twilio():
            message = self._send_from(self.partner_a, "Hello")
            self._process_queue()
        sid = self._notifications(message).sms_tracker_ids.provider_message_id
        other = self.env["sms.account"].create(
            {"name": "Other Twilio", "provider": "twilio", "twilio_account_sid": "AC1", "twilio_auth_token": "t"}
        )
        report = {"external_id": sid, "status": "failed", "error_code": "30007", "error_message": "", "sms_uuid": ""}
        with mute_logger(EVENT_LOGGER):
            event = other._receive("status", report)
        self.assertNotEqual(event.state, "done")
        self.assertEqual(self._notifications(message).notification_status, "pending")

    def _report(self, message, status, error_code=""):
        sid = self._notifications(message).sms_tracker_ids.provider_message_id
        self.account._receive(
            "status",
            {"external_id": sid, "status": status, "error_code": error_code, "error_message": "", "sms_uuid": ""},
        )


@tagged("post_install", "-at_install")
class TestAdministration(SmsConversationCase):
    def test_update_keeps_the_admin_choices(self):
        """5. An update (-u) neither gives the rights back nor resets the cron."""
        seller_group = self.env.ref("crm_sms_conversation.crm_sms_conversation_group_seller")
        self._remove_from_group(seller_group, self.user_seller_b)
        cron = self.env.ref("crm_sms_conversation.ir_cron_sms_event_process")
        cron.write({"interval_number": 17})
        for filename in ("security/crm_sms_conversation_security.xml", "data/ir_cron_data.xml"):
            convert_file(self.env, "crm_sms_conversation", filename, {}, mode="update")
        self.env.invalidate_all()
        self.assertNotIn(self.user_seller_b, group_all_users(seller_group))
        self.assertEqual(cron.interval_number, 17)

    def test_retry_is_for_managers_and_runs_as_the_gateway(self):
        """6. Processing again is checked, the payload is read-only."""
        self._partner("Retried", phone=self.customer_number)
        with (
            patch.object(SmsConversation, "_route_inbound", side_effect=RuntimeError("broken")),
            mute_logger(EVENT_LOGGER),
        ):
            event = self.account._receive("inbound", self._inbound_values("Try me"))
        self.assertEqual(event.state, "pending")
        portal = mail_new_test_user(self.env, login="portal_retry", groups="base.group_portal")
        for user in (portal, self.user_seller_a):
            with self.subTest(user=user.login), self.assertRaises(AccessError):
                event.with_user(user).action_retry()
        manager = mail_new_test_user(self.env, login="sms_admin", groups="sales_team.group_sale_manager")
        with self.assertRaises(AccessError):
            event.with_user(manager).write({"payload": '{"event": {"body": "Forged"}}'})
        event.with_user(manager).action_retry()
        self._run_event_cron()
        self.assertEqual(event.state, "done", event.error)
        self.assertEqual(event.message_id.create_uid, self.gateway)
        self.assertIn("Try me", event.message_id.body)

    def test_number_assignments_stay_in_the_company(self):
        """16. A seller or team of another company cannot be given a number
        (every new-lead inbound would then fail)."""
        other = self.env["res.company"].create({"name": "Other Co"})
        outsider = mail_new_test_user(
            self.env,
            login="outsider_seller",
            groups="sales_team.group_sale_salesman",
            company_id=other.id,
            company_ids=[other.id],
        )
        other_team = self.env["crm.team"].create({"name": "Other team", "company_id": other.id})
        with self.assertRaises(ValidationError):
            self.number_a.user_ids |= outsider
        with self.assertRaises(UserError):
            self.number_b.team_id = other_team

    def test_new_lead_type_follows_the_company_setting(self):
        """16. Lead or opportunity comes from the Leads setting and the team, not from who is assigned."""
        self.env.ref("base.group_user").sudo().implied_ids |= self.env.ref("crm.group_use_lead")
        self.team_b.use_leads = True
        self.team_b.user_id = False
        message = self._receive("Hi", from_number="+14155550931", number=self.number_b)
        self.assertEqual(self.env["crm.lead"].browse(message.res_id).type, "lead")
        self.team_b.use_leads = False
        message = self._receive("Hi", from_number="+14155550932", number=self.number_b)
        self.assertEqual(self.env["crm.lead"].browse(message.res_id).type, "opportunity")

    def test_routing_reason_and_lead_name_in_the_reader_language(self):
        """16. Stored once, read in each seller's language."""
        self.env["res.lang"]._activate_lang("es_ES")
        self.env["ir.module.module"]._load_module_terms(["crm_sms_conversation"], ["es_ES"], overwrite=True)
        self.user_seller_a.lang = "es_ES"
        message = self._receive("Hola", from_number="+14155550933")
        conversation = message.sms_conversation_id
        self.assertIn("SMS de", self.env["crm.lead"].browse(message.res_id).name, "named in its seller's language")
        spanish = conversation.with_context(lang="es_ES").routing_reason
        english = conversation.with_context(lang="en_US").routing_reason
        self.assertIn("new lead", english)
        self.assertNotEqual(spanish, english)

    def test_incoming_messages_trigger_automations(self):
        """16. An inbound text is a message from the customer, as "on incoming
        message" automations expect."""
        partner = self._partner("Automated", phone=self.customer_number)
        self.env["base.automation"].create(
            {
                "name": "Tag incoming texts",
                "model_id": self.env.ref("base.model_res_partner").id,
                "trigger": "on_message_received",
                "action_server_ids": [
                    Command.create(
                        {
                            "name": "Mark",
                            "model_id": self.env.ref("base.model_res_partner").id,
                            "state": "object_write",
                            "update_path": "ref",
                            "value": "Texted us",
                        }
                    )
                ],
            }
        )
        self._receive("Hello there")
        self.assertEqual(partner.ref, "Texted us")

    def test_uninstall_cancels_what_the_accounts_queued(self):
        """16. Queued messages would otherwise go out through IAP."""
        partner = self._partner("Queued", phone=self.customer_number, user_id=self.user_seller_a.id)
        message = self._send_from(partner, "Still queued")
        uninstall_hook(self.env)
        self.assertEqual(self._notifications(message).notification_status, "canceled")


@tagged("post_install", "-at_install")
class TestSending(SmsConversationCase):
    """11 and 12. Who sends, from which number, and a batch that survives."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.partner = cls._partner("Sending Customer", phone="(415) 555-0123", user_id=cls.user_seller_a.id)

    def _sms(self, message):
        return self.env["sms.sms"].sudo().search([("mail_message_id", "=", message.id)])

    def test_archived_account_stops_its_sends(self):
        message = self._send_from(self.partner, "Before archiving")
        self.account.active = False
        with self.mock_twilio() as calls:
            self._process_queue()
        self.assertFalse(calls)
        notification = self._notifications(message)
        self.assertEqual(notification.notification_status, "exception")
        self.assertIn("archived", notification.failure_reason)

    def test_account_without_active_number_fails_clearly_instead_of_iap(self):
        (self.number_a | self.number_b | self.number_sim).active = False
        with self.mock_twilio() as calls:
            message = self.partner._message_sms("No number left")
            self._process_queue()
        sms = self._sms(message)
        self.assertEqual(sms.sms_account_id, self.account, "not handed to Odoo's IAP service")
        self.assertFalse(calls)
        notification = self._notifications(message)
        self.assertEqual(notification.notification_status, "exception")
        self.assertIn("no active sender number", notification.failure_reason)

    def test_one_broken_message_does_not_stop_the_batch(self):
        other = self._partner("Second Customer", phone="(415) 555-0124", user_id=self.user_seller_a.id)
        first = self._send_from(self.partner, "Breaks")
        second = self._send_from(other, "Goes through")
        original = TwilioApi.send

        def send(api, sms):
            if sms.body == "Breaks":
                raise RuntimeError("unexpected bug")
            return original(api, sms)

        with self.mock_twilio() as calls, patch.object(TwilioApi, "send", send), mute_logger(SMS_LOGGER):
            self._process_queue()
        self.assertEqual([call["data"]["Body"] for call in calls], ["Goes through"])
        self.assertEqual(self._notifications(second).notification_status, "pending")
        self.assertEqual(self._sms(first).state, "outgoing", "retried later")
        self.assertTrue(self._sms(first).sms_next_attempt_date)

    def test_render_template_needs_read_access(self):
        """16. A template renders the record's fields: not on a record the seller may not read."""
        lead = self._lead("Confidential", user_id=self.user_seller_b.id, expected_revenue=99999)
        self.env["sms.conversation"]._get_or_create(self.number_a, "+14155550140", lead)
        template = self.env["sms.template"].create(
            {
                "name": "Leak",
                "model_id": self.env["ir.model"]._get_id("crm.lead"),
                "body": "{{ object.expected_revenue }}",
            }
        )
        Pane = self.env["sms.conversation"].with_user(self.user_seller_a)
        self.assertTrue(Pane.get_pane_data("crm.lead", lead.id), "the pane opens it")
        with self.assertRaises(AccessError):
            Pane.render_template(template.id, "crm.lead", lead.id)


@tagged("post_install", "-at_install")
class TestEventStorage(SmsConversationCase):
    def test_a_replayed_event_is_stored_once_without_error(self):
        values = self._inbound_values("Once", sid="SMreplay")
        first, _wake = self.account._receive_webhook("inbound", values, [])
        second, _wake = self.account._receive_webhook("inbound", values, [])
        self.assertEqual(first, second)
        self.assertEqual(self.env["sms.event"].search_count([("external_id", "=", "SMreplay")]), 1)

    def test_a_trigger_already_due_does_not_keep_the_cron_workers_asleep(self):
        """A run going on may have looked at the events already: each stored
        event wakes the cron workers, even when a trigger of the processing
        cron is already due (the run's own, deleted when the run ends)."""
        cron = self.env.ref("crm_sms_conversation.ir_cron_sms_event_process").sudo()
        cron._trigger(fields.Datetime.now() - timedelta(seconds=1))
        self.env.flush_all()
        _event, wake = self.account._receive_webhook("inbound", self._inbound_values("Late", sid="SMlate"), [])
        self.assertTrue(wake, "the cron workers are woken up for this event")
        cron.active = False
        self.env.flush_all()
        _event, wake = self.account._receive_webhook("inbound", self._inbound_values("Off", sid="SMoff"), [])
        self.assertFalse(wake, "nothing to wake for a deactivated processing cron")
