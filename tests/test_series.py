"""What must hold on every Odoo series the addon supports (18.0 and 19.0)."""

from odoo.exceptions import ValidationError
from odoo.tests import tagged

from ..tools.compat import ODOO_19, USER_GROUPS_FIELD
from .common import FakeResponse, SmsConversationCase

# The unique keys the event store's ON CONFLICT and the conversations'
# de-duplication rely on (Odoo 19 ignores ``_sql_constraints``).
UNIQUE_KEYS = {
    "sms_event_external_unique": ("sms_event", "UNIQUE (account_id, kind, external_id)"),
    "sms_conversation_conversation_unique": (
        "sms_conversation",
        "UNIQUE (number_id, remote_number, res_model, res_id)",
    ),
    "sms_account_webhook_token_unique": ("sms_account", "UNIQUE (webhook_token)"),
    "sms_number_number_account_unique": ("sms_number", "UNIQUE (number, account_id)"),
}


@tagged("post_install", "-at_install")
class TestSeries(SmsConversationCase):
    def test_unique_keys_exist_in_the_database(self):
        self.env.cr.execute(
            """
            SELECT con.conname, rel.relname, pg_get_constraintdef(con.oid)
              FROM pg_constraint con JOIN pg_class rel ON rel.oid = con.conrelid
             WHERE con.conname = ANY(%s)
            """,
            [list(UNIQUE_KEYS)],
        )
        found = {name: (table, definition) for name, table, definition in self.env.cr.fetchall()}
        self.assertEqual(found, UNIQUE_KEYS)

    def test_the_sms_rights_have_their_heading_in_the_user_form(self):
        """Odoo 18 groups rights by category, Odoo 19 by privilege: the SMS groups sit under SMS Conversations."""
        category = self.env.ref("crm_sms_conversation.module_category_crm_sms_conversation")
        for xmlid in ("crm_sms_conversation_group_seller", "crm_sms_conversation_group_manager"):
            group = self.env.ref(f"crm_sms_conversation.{xmlid}")
            heading = group.privilege_id.category_id if ODOO_19 else group.category_id
            self.assertEqual(heading, category, xmlid)
        gateway_groups = self.gateway[USER_GROUPS_FIELD]
        self.assertIn(self.env.ref("crm_sms_conversation.crm_sms_conversation_group_manager"), gateway_groups)
        self.assertIn(self.env.ref("sales_team.group_sale_salesman_all_leads"), gateway_groups)

    def test_a_duplicate_event_is_refused_by_the_database(self):
        """The second insert of one provider event is stored once (ON CONFLICT needs the key)."""
        values = self._inbound_values("Hello once", None, self.number_a, "SMdup0001")
        for _delivery in range(2):
            self.account._receive_webhook("inbound", values, raw_params=[])
        events = self.env["sms.event"].sudo().search([("external_id", "=", "SMdup0001")])
        self.assertEqual(len(events), 1)

    def test_due_messages_are_sent_before_messages_waiting_for_a_retry(self):
        """More messages waiting for a retry than the queue's batch never hold back a due one."""
        self.env["ir.config_parameter"].sudo().set_param("sms.session.batch.size", 3)
        partner = self._partner("Queue Customer", phone="(415) 555-0123")
        unavailable = [FakeResponse(503, {"message": "Service Unavailable"})] * 5
        with self.mock_twilio(unavailable) as calls:
            waiting = [self._send_from(partner, f"Waiting {index}") for index in range(5)]
            self._process_queue()
        self.assertEqual(len(calls), 5)
        sms_model = self.env["sms.sms"].sudo()
        self.assertTrue(all(sms_model.search([("mail_message_id", "=", m.id)]).sms_next_attempt_date for m in waiting))
        with self.mock_twilio() as calls:
            due = self._send_from(partner, "Due now")
            self._process_queue()
        self.assertEqual([call["data"]["Body"] for call in calls], ["Due now"])
        self.assertEqual(self._notifications(due).notification_status, "pending")


if ODOO_19:  # Odoo 19's own Twilio module (sms_twilio) exists on 19 only

    @tagged("post_install", "-at_install")
    class TestNextToOdooTwilio(SmsConversationCase):
        """Odoo 19's own Twilio module (sms_twilio) installed next to the addon."""

        COMPANY_SID = "AC11111111111111111111111111111111"

        def setUp(self):
            super().setUp()
            if "sms_twilio_account_sid" not in self.env["res.company"]._fields:
                self.fail("Odoo's sms_twilio module must be installed for these tests (make test installs it on 19.0)")
            self.company.write(
                {
                    "sms_provider": "twilio",
                    "sms_twilio_account_sid": self.COMPANY_SID,
                    "sms_twilio_auth_token": "company-twilio-token",
                }
            )
            self.partner = self._partner("Twilio Customer", phone="(415) 555-0123")

        def test_an_account_uses_the_company_twilio_credentials(self):
            self.account.twilio_use_company_credentials = True
            config = self.account._get_provider_config()
            self.assertEqual((config.account_sid, config.auth_token), (self.COMPANY_SID, "company-twilio-token"))
            with self.mock_twilio() as calls:
                message = self._send_from(self.partner, "Through the company's Twilio account")
                self._process_queue()
            self.assertEqual(len(calls), 1)
            self.assertIn(f"/Accounts/{self.COMPANY_SID}/Messages.json", calls[0]["url"])
            self.assertEqual(self._notifications(message).notification_status, "pending")

        def test_a_message_gets_one_status_callback(self):
            """The conversation's message leaves through the addon only, with the addon's status URL."""
            with self.mock_twilio() as calls:
                self._send_from(self.partner, "One callback")
                self._process_queue()
            self.assertEqual(len(calls), 1, "sent once, by the addon (not also by sms_twilio)")
            callback = calls[0]["data"]["StatusCallback"]
            self.assertTrue(callback.startswith(self.account.sudo().status_url.split("?")[0]), callback)
            self.assertNotIn("/sms_twilio/status/", callback)

        def test_a_number_is_served_by_one_of_them_only(self):
            self.env["sms.twilio.number"].create(
                {"company_id": self.company.id, "number": "+1 415 555 0999", "country_id": self.env.ref("base.us").id}
            )
            with self.assertRaisesRegex(ValidationError, "served by one of them only"):
                self.env["sms.number"].create({"number": "+14155550999", "account_id": self.account.id})

        def test_the_company_credentials_need_sms_twilio_and_a_twilio_account(self):
            simulator = self.env["sms.account"].create({"name": "Simulator", "provider": "simulator"})
            with self.assertRaisesRegex(ValidationError, "cannot use the company's Twilio account"):
                simulator.twilio_use_company_credentials = True
