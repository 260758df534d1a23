from odoo.addons.mail.tests.common import mail_new_test_user as new_test_user
from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged
from odoo.tests.common import JsonRpcException
from odoo.tools import mute_logger

from ..tools.compat import group_all_users
from .common import SmsConversationCase, SmsWebhookCase

ALLOWED, DENIED = True, False


class SmsSecurityCase(SmsConversationCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.user_leader = new_test_user(
            cls.env, login="leader_a", name="Leader A", groups="sales_team.group_sale_salesman"
        )
        cls.team_a.user_id = cls.user_leader
        cls.user_manager = new_test_user(
            cls.env, login="sms_manager", name="SMS Manager", groups="sales_team.group_sale_manager"
        )
        cls.user_no_sms = new_test_user(
            cls.env, login="crm_no_sms", name="CRM Without SMS", groups="sales_team.group_sale_salesman"
        )
        cls._remove_from_group(cls.env.ref("crm_sms_conversation.crm_sms_conversation_group_seller"), cls.user_no_sms)
        cls.user_portal = new_test_user(cls.env, login="portal_user", name="Portal", groups="base.group_portal")

        cls.partner_a = cls._partner("Customer of A", phone="+14155550601", user_id=cls.user_seller_a.id)
        cls.partner_b = cls._partner("Customer of B", phone="+14155550602", user_id=cls.user_seller_b.id)
        Conversation = cls.env["sms.conversation"]
        cls.conv_a = Conversation._get_or_create(cls.number_a, "+14155550601", cls.partner_a)
        cls.conv_b = Conversation._get_or_create(cls.number_b, "+14155550602", cls.partner_b)
        cls.lead_a = cls._lead("Opportunity of A", user_id=cls.user_seller_a.id)
        cls.roles = {
            "seller_a": cls.user_seller_a,
            "seller_b": cls.user_seller_b,
            "leader_a": cls.user_leader,
            "manager": cls.user_manager,
            "crm_no_sms": cls.user_no_sms,
            "portal": cls.user_portal,
        }


@tagged("post_install", "-at_install")
class TestAccessMatrix(SmsSecurityCase):
    """Roles times operations, each cell run through the ORM as that user."""

    # Operation -> allowed roles (every other role is denied).
    MATRIX = {
        "read_list": {"seller_a", "leader_a", "manager"},
        "open_pane": {"seller_a", "leader_a", "manager"},
        "read_messages": {"seller_a", "leader_a", "manager"},
        "send": {"seller_a", "manager"},
        "move": {"seller_a", "manager"},
        "read_credentials": {"manager"},
        "configure_numbers": {"manager"},
    }

    def _op_read_list(self, user):
        return self.conv_a in self.env["sms.conversation"].with_user(user).search([])

    def _op_open_pane(self, user):
        data = self.env["sms.conversation"].with_user(user).get_pane_data("res.partner", self.partner_a.id)
        return data["conversation"] and data["conversation"]["id"] == self.conv_a.id

    def _op_read_messages(self, user):
        self.env["sms.conversation"].with_user(user).get_messages(self.conv_a.id)
        return True

    def _op_send(self, user):
        with self.mock_twilio():
            self.env["sms.conversation"].with_user(user).send_message(
                "res.partner", self.partner_a.id, "+14155550601", self.number_a.id, "Hello"
            )
        return True

    def _op_move(self, user):
        self.env["sms.conversation"].with_user(user).move_to(self.conv_a.id, "crm.lead", self.lead_a.id)
        return True

    def _op_read_credentials(self, user):
        self.account.with_user(user).read(["twilio_auth_token"])
        return True

    def _op_configure_numbers(self, user):
        self.env["sms.number"].with_user(user).create({"number": "+14155550999", "account_id": self.account.id})
        return True

    @mute_logger(
        "odoo.models", "odoo.models.unlink", "odoo.addons.base.models.ir_rule", "odoo.addons.base.models.ir_model"
    )
    def test_matrix(self):
        for operation, allowed_roles in self.MATRIX.items():
            for role, user in self.roles.items():
                expected = role in allowed_roles
                with self.subTest(operation=operation, role=role), self.env.cr.savepoint() as savepoint:
                    try:
                        allowed = bool(getattr(self, f"_op_{operation}")(user))
                    except (AccessError, UserError):
                        allowed = False
                    savepoint.rollback()
                    self.env.invalidate_all()
                    self.assertEqual(allowed, expected, f"{role} / {operation}")


@tagged("post_install", "-at_install")
class TestSecurityRules(SmsSecurityCase):
    def test_credentials_never_reach_a_seller(self):
        fields = self.env["sms.account"].with_user(self.user_seller_a).fields_get()
        for secret in ("twilio_auth_token", "webhook_token", "inbound_url", "status_url", "api_base_url"):
            self.assertNotIn(secret, fields, secret)
        manager_fields = self.env["sms.account"].with_user(self.user_manager).fields_get(attributes=["exportable"])
        self.assertFalse(manager_fields["twilio_auth_token"]["exportable"], "credentials are not exported")
        self.assertFalse(manager_fields["webhook_token"]["exportable"])

    def test_sales_users_get_the_seller_group_by_default(self):
        seller_group = self.env.ref("crm_sms_conversation.crm_sms_conversation_group_seller")
        manager_group = self.env.ref("crm_sms_conversation.crm_sms_conversation_group_manager")
        self.assertIn(self.user_seller_a, group_all_users(seller_group))
        self.assertIn(self.user_manager, group_all_users(manager_group))
        self.assertNotIn(self.user_no_sms, group_all_users(seller_group), "an admin may take the right away")
        self.user_no_sms.write({"name": "Still without SMS"})
        self.assertNotIn(self.user_no_sms, group_all_users(seller_group))

    def test_webhook_processing_runs_as_the_gateway_user(self):
        message = self._receive("New customer", from_number="+14155550777")
        gateway = self.env.ref("crm_sms_conversation.user_sms_gateway")
        lead = self.env["crm.lead"].browse(message.res_id)
        self.assertEqual(lead.create_uid, gateway, "not the superuser nor the public user")
        self.assertEqual(message.create_uid, gateway)

    def test_owner_without_the_seller_right_is_told_whom_to_ask(self):
        partner = self._partner("Owned by a user without SMS", phone="+14155550603", user_id=self.user_no_sms.id)
        message = self._receive("Hello?", from_number="+14155550603", number=self.number_a)
        self.assertEqual(message.res_id, partner.id, "the message is still stored and routed")
        notified = self.env["mail.notification"].sudo().search([("mail_message_id", "=", message.id)])
        self.assertEqual(notified.res_partner_id, self.user_seller_a.partner_id, "the number's seller gets it")
        self.assertEqual(len(notified), 1, "once")
        notice = (
            self.env["mail.message"]
            .sudo()
            .search(
                [("message_type", "=", "user_notification"), ("partner_ids", "in", self.user_no_sms.partner_id.ids)]
            )
        )
        self.assertEqual(len(notice), 1)
        self.assertIn("SMS: seller", notice.body)
        self.assertIn(self.user_manager.name, notice.body)
        self.assertNotIn("Hello?", notice.body, "the message itself stays private")

    def test_nothing_crosses_companies(self):
        other = self.env["res.company"].create({"name": "Other Company"})
        account = self.env["sms.account"].create({"name": "Other", "provider": "simulator", "company_id": other.id})
        number = self.env["sms.number"].create({"number": "+14155550700", "account_id": account.id})
        self.assertNotIn(account, self.env["sms.account"].with_user(self.user_manager).search([]))
        self.assertNotIn(number, self.env["sms.number"].with_user(self.user_manager).search([]))
        self._partner("Company 1 contact", phone="+14155550604", company_id=self.company.id)
        message = account._receive(
            "inbound",
            {
                "external_id": "SMother",
                "from_number": "+14155550604",
                "to_number": number.number,
                "body": "Hi",
                "num_media": 0,
            },
        ).message_id
        self.assertEqual(message.model, "crm.lead", "the other company's contact is no candidate: a new lead")
        self.assertEqual(self.env["crm.lead"].browse(message.res_id).company_id, other)
        conversation = message.sms_conversation_id
        self.assertNotIn(conversation, self.env["sms.conversation"].with_user(self.user_manager).search([]))

    def test_move_only_to_writable_records_and_logged(self):
        lead_b = self._lead("Opportunity of B", user_id=self.user_seller_b.id)
        with self.assertRaises(AccessError):
            self.env["sms.conversation"].with_user(self.user_seller_a).move_to(self.conv_a.id, "crm.lead", lead_b.id)
        self.env["sms.conversation"].with_user(self.user_seller_a).move_to(self.conv_a.id, "crm.lead", self.lead_a.id)
        self.assertEqual((self.conv_a.res_model, self.conv_a.res_id), ("crm.lead", self.lead_a.id))
        for record in (self.partner_a, self.lead_a):
            log = record.message_ids.filtered(lambda m: "moved from" in (m.body or ""))
            self.assertTrue(log, record)
            self.assertIn("Seller A", log[0].body)


@tagged("post_install", "-at_install")
class TestPublicAndPortal(SmsSecurityCase, SmsWebhookCase):
    """The public and portal cases, through the HTTP/RPC layer."""

    def _call_kw(self, model, method, args):
        return self.make_jsonrpc_request(
            f"/web/dataset/call_kw/{model}/{method}",
            {"model": model, "method": method, "args": args, "kwargs": {}},
        )

    def _rpc_operations(self):
        """The matrix's operations as the web client would call them."""
        return {
            "read_list": ("sms.conversation", "search_read", [[]]),
            "open_pane": ("sms.conversation", "get_pane_data", ["res.partner", self.partner_a.id]),
            "read_messages": ("sms.conversation", "get_messages", [self.conv_a.id]),
            "send": (
                "sms.conversation",
                "send_message",
                ["res.partner", self.partner_a.id, "+14155550601", self.number_a.id, "Hi"],
            ),
            "move": ("sms.conversation", "move_to", [self.conv_a.id, "crm.lead", self.lead_a.id]),
            "read_credentials": ("sms.account", "read", [[self.account.id], ["twilio_auth_token"]]),
            "configure_numbers": ("sms.number", "create", [{"number": "+14155550998", "account_id": self.account.id}]),
        }

    @mute_logger("odoo.http", "odoo.addons.base.models.ir_model", "odoo.addons.base.models.ir_rule")
    def test_portal_user_is_denied_everything(self):
        self.authenticate("portal_user", "portal_user")
        for operation, (model, method, args) in self._rpc_operations().items():
            with self.subTest(operation=operation), self.assertRaises(JsonRpcException) as error:
                self._call_kw(model, method, args)
            self.assertEqual(str(error.exception), "odoo.exceptions.AccessError", operation)

    @mute_logger("odoo.http")
    def test_public_user_is_denied_everything(self):
        for operation, (model, method, args) in self._rpc_operations().items():
            with self.subTest(operation=operation), self.assertRaises(JsonRpcException) as error:
                self._call_kw(model, method, args)
            self.assertEqual(str(error.exception), "odoo.http.SessionExpiredException", operation)
        self.env.invalidate_all()
        self.assertEqual((self.conv_a.res_model, self.conv_a.res_id), ("res.partner", self.partner_a.id))
        self.assertFalse(self.env["sms.number"].search([("number", "=", "+14155550998")]))


@tagged("post_install", "-at_install")
class TestSecurityEdges(SmsSecurityCase):
    def test_sellers_cannot_rewrite_conversations(self):
        """Moving goes through the checked, logged move; no direct write or create."""
        Conversation = self.env["sms.conversation"].with_user(self.user_seller_a)
        with self.assertRaises(AccessError):
            Conversation.browse(self.conv_a.id).write({"res_model": "crm.lead", "res_id": self.lead_a.id})
        with self.assertRaises(AccessError):
            Conversation.create(
                {
                    "number_id": self.number_b.id,
                    "remote_number": "+14155550699",
                    "res_model": "res.partner",
                    "res_id": self.partner_b.id,
                }
            )

    def test_conversation_on_a_record_the_seller_cannot_open(self):
        """A seller's number receives a reply for another seller's lead: the seller still sees it."""
        lead_b = self._lead("B's lead", phone="+14155550611", user_id=self.user_seller_b.id)
        message = self._receive("For A's number", from_number="+14155550611", number=self.number_a)
        conversation = message.sms_conversation_id
        self.assertEqual((conversation.res_model, conversation.res_id), ("crm.lead", lead_b.id))
        Conversation = self.env["sms.conversation"].with_user(self.user_seller_a)
        listed = Conversation.search_read([("id", "=", conversation.id)], ["record_name", "name"])
        self.assertEqual(listed[0]["record_name"], "B's lead", "the list shows it without an access error")
        data = Conversation.get_pane_data("crm.lead", lead_b.id, "+14155550611")
        self.assertEqual(data["conversation"]["id"], conversation.id)
        self.assertEqual(len(Conversation.get_messages(conversation.id)["messages"]), 1)
        with self.assertRaises(AccessError):
            Conversation.get_pane_data("crm.lead", self._lead("Unrelated", user_id=self.user_seller_b.id).id)

    def test_move_never_crosses_companies(self):
        other = self.env["res.company"].create({"name": "Elsewhere Inc"})
        self.user_manager.company_ids |= other
        lead_other = self._lead("Other company lead", company_id=other.id)
        Conversation = (
            self.env["sms.conversation"]
            .with_user(self.user_manager)
            .with_context(allowed_company_ids=[self.company.id, other.id])
        )
        targets = Conversation.search_move_targets("Other company lead")
        self.assertTrue(targets, "listed: the manager works in both companies")
        with self.assertRaisesRegex(UserError, "cannot move"):
            Conversation.move_to(self.conv_a.id, "crm.lead", lead_other.id)

    def test_sellers_edit_crm_templates_only(self):
        Template = self.env["sms.template"].with_user(self.user_seller_a)
        crm_template = Template.create(
            {"name": "Follow-up", "model_id": self.env["ir.model"]._get_id("crm.lead"), "body": "Hello"}
        )
        crm_template.body = "Hello again"
        other = self.env["sms.template"].create(
            {"name": "Invoice", "model_id": self.env["ir.model"]._get_id("res.users"), "body": "Hi"}
        )
        with self.assertRaises(AccessError):
            other.with_user(self.user_seller_a).body = "Changed"
        self.assertTrue(other.with_user(self.user_seller_a).name, "still readable")

    def test_inbound_reaches_only_users_of_the_number_company(self):
        other = self.env["res.company"].create({"name": "Elsewhere Inc"})
        outsider = new_test_user(
            self.env,
            login="outsider",
            groups="sales_team.group_sale_salesman",
            company_id=other.id,
            company_ids=[other.id],
        )
        partner = self._partner("Owned across companies", phone="+14155550612", user_id=outsider.id)
        message = self._receive("Hi", from_number="+14155550612", number=self.number_a)
        self.assertEqual(message.res_id, partner.id)
        notified = self.env["mail.notification"].sudo().search([("mail_message_id", "=", message.id)])
        self.assertEqual(notified.res_partner_id, self.user_seller_a.partner_id)
