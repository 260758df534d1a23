import json
import re
from contextlib import contextmanager
from datetime import timedelta
from unittest.mock import patch
from urllib.parse import parse_qsl, urlsplit

import requests
from freezegun import freeze_time

from odoo import Command, fields
from odoo.addons.mail.tests.common import mail_new_test_user
from odoo.tests import HttpCase, TransactionCase

from ..tools.compat import GROUP_USERS_FIELD, ODOO_19, PHONE_FIELDS
from ..tools.sms_twilio import twilio_signature

# Odoo 19 has no mobile field on contacts and leads.
HAS_MOBILE = "mobile" in PHONE_FIELDS

TWILIO_SID = "AC0123456789abcdef0123456789abcdef"
TWILIO_TOKEN = "twilio-test-auth-token"
TWILIO_MESSAGES_RE = re.compile(r"^https://api\.twilio\.com/2010-04-01/Accounts/(AC\w+)/Messages\.json")
# The domain a customer's website gives its company: get_base_url() then returns it.
CUSTOMER_WEBSITE = "https://www.customer-website.example"


class FakeResponse(requests.Response):
    def __init__(self, status_code, payload=None, headers=None):
        super().__init__()
        self.status_code = status_code
        self._content = json.dumps(payload or {}).encode()
        self.headers.update(headers or {})
        self.encoding = "utf-8"


class SmsConversationCase(TransactionCase):
    """A database in a customer's state, and a Twilio API faked at the
    ``requests`` level: no test reaches the network.

    As on a customer's database: no demo data, no outgoing mail server, the
    SMS Gateway and OdooBot without e-mail, a sales team with followers, an
    automation of the customer's own on new leads (an activity for the team
    leader and an e-mail), the company's website (when installed) giving it
    another base URL. Sellers A, B, C; number A has exactly one seller (A),
    number B only a team (team B, led by its leader), the Simulator number
    belongs to seller C. No e-mail leaves through SMTP without the test
    knowing it (``smtp_calls``).
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company = cls.env.company
        cls.company.country_id = cls.env.ref("base.us")
        cls.env = cls.env(
            context=dict(cls.env.context, tracking_disable=True, mail_create_nolog=True, mail_notify_force_send=False)
        )
        cls.gateway = cls.env.ref("crm_sms_conversation.user_sms_gateway")

        cls.user_seller_a, cls.user_seller_b, cls.user_seller_c = (
            mail_new_test_user(
                cls.env,
                login=f"seller_{x}",
                name=f"Seller {x.upper()}",
                email=f"seller_{x}@customer.example",
                groups="sales_team.group_sale_salesman",
                notification_type="inbox",
            )
            for x in "abc"
        )
        cls.user_team_leader = mail_new_test_user(
            cls.env,
            login="team_leader_b",
            name="Leader B",
            email="leader_b@customer.example",
            groups="sales_team.group_sale_salesman_all_leads",
            notification_type="email",
        )
        cls.team_a = cls.env["crm.team"].create({"name": "Team A", "member_ids": [(6, 0, cls.user_seller_a.ids)]})
        cls.team_b = cls.env["crm.team"].create(
            {"name": "Team B", "member_ids": [(6, 0, cls.user_seller_b.ids)], "user_id": cls.user_team_leader.id}
        )

        cls.account = cls.env["sms.account"].create(
            {
                "name": "Twilio",
                "provider": "twilio",
                "twilio_account_sid": TWILIO_SID,
                "twilio_auth_token": TWILIO_TOKEN,
            }
        )
        # Number of exactly one seller (A); number of team B only.
        cls.number_a = cls.env["sms.number"].create(
            {"number": "+14155550100", "account_id": cls.account.id, "user_ids": [(6, 0, cls.user_seller_a.ids)]}
        )
        cls.number_b = cls.env["sms.number"].create(
            {"number": "+14155550200", "account_id": cls.account.id, "team_id": cls.team_b.id}
        )
        cls.simulator = cls.env["sms.account"].create({"name": "Simulator", "provider": "simulator"})
        cls.number_sim = cls.env["sms.number"].create(
            {"number": "+14155550300", "account_id": cls.simulator.id, "user_ids": [(6, 0, cls.user_seller_c.ids)]}
        )
        cls.customer_number = "+14155550123"
        cls._setup_customer_database()

    @classmethod
    def _setup_customer_database(cls):
        """What distinguishes a customer's database from a fresh test one."""
        env = cls.env
        # Technical users have no e-mail; no mail server, no default sender.
        (cls.gateway.partner_id | env.ref("base.partner_root")).write({"email": False})
        env["ir.mail_server"].sudo().search([]).unlink()
        env["res.company"].sudo().search([]).write({"alias_domain_id": False})
        # A sales team followed by a manager, who hears of its new leads by e-mail.
        cls.team_follower = mail_new_test_user(
            env,
            login="team_follower",
            name="Team Follower",
            email="follower@customer.example",
            groups="sales_team.group_sale_manager",
            notification_type="email",
        )
        cls.team_b.message_subscribe(
            partner_ids=cls.team_follower.partner_id.ids,
            subtype_ids=(env.ref("mail.mt_comment") | env.ref("crm.mt_salesteam_lead")).ids,
        )
        # The customer's own automation on new leads.
        cls.automation = cls._create_lead_automation() if "base.automation" in env else None
        # The company's website gives it another base URL than web.base.url.
        if "website" in env:
            website = env["website"].sudo().search([("company_id", "=", cls.company.id)], limit=1)
            if website:
                website.domain = CUSTOMER_WEBSITE

    @classmethod
    def _create_lead_automation(cls):
        env = cls.env
        lead_model = env.ref("crm.model_crm_lead")
        template = env["mail.template"].create(
            {
                "name": "New lead: tell the team leader",
                "model_id": lead_model.id,
                "subject": "New lead: {{ object.name }}",
                "body_html": "<p>A new lead came in: {{ object.name }}. Call it back today.</p>",
                "email_to": "leader_b@customer.example",
            }
        )
        automation = env["base.automation"].create(
            {
                "name": "New lead: activity for the team leader and an e-mail",
                "model_id": lead_model.id,
                "trigger": "on_create_or_write",
                "trigger_field_ids": [Command.set(env.ref("crm.field_crm_lead__name").ids)],
            }
        )
        env["ir.actions.server"].create(
            [
                {
                    "name": "Call the new lead back",
                    "base_automation_id": automation.id,
                    "model_id": lead_model.id,
                    "state": "next_activity",
                    "activity_type_id": env.ref("mail.mail_activity_data_call").id,
                    "activity_summary": "Call the new lead back",
                    "activity_user_type": "specific",
                    "activity_user_id": cls.user_team_leader.id,
                },
                {
                    "name": "E-mail the new lead",
                    "base_automation_id": automation.id,
                    "model_id": lead_model.id,
                    "state": "mail_post",
                    "mail_post_method": "email",
                    "template_id": template.id,
                },
                {
                    "name": "Log the new lead",
                    "base_automation_id": automation.id,
                    "model_id": lead_model.id,
                    "state": "mail_post",
                    "mail_post_method": "comment",
                    "template_id": template.id,
                },
            ]
        )
        return automation

    def setUp(self):
        super().setUp()
        self.smtp_calls = []
        calls = self.smtp_calls

        def connect(server, *args, **kwargs):
            calls.append(("connect", kwargs.get("mail_server_id")))

        def send_email(server, message, *args, **kwargs):
            calls.append(("send_email", message["To"]))
            return message["Message-Id"]

        def mail_send(mails, *args, **kwargs):
            calls.append(("mail.mail.send", mails.ids))

        mail_server = type(self.env["ir.mail_server"])
        # Odoo 19 renamed connect() to _connect__().
        connect_name = "connect" if hasattr(mail_server, "connect") else "_connect__"
        for target, name, replacement in (
            (mail_server, connect_name, connect),
            (mail_server, "send_email", send_email),
            (type(self.env["mail.mail"]), "_send", mail_send),
        ):
            patcher = patch.object(target, name, replacement)
            patcher.start()
            self.addCleanup(patcher.stop)

    # Records -----------------------------------------------------------

    @staticmethod
    def _remove_from_group(group, users):
        """Take a group away from users, as an administrator does."""
        group.write({GROUP_USERS_FIELD: [Command.unlink(user.id) for user in users]})

    @classmethod
    def _partner(cls, name, **values):
        return cls.env["res.partner"].create(dict({"name": name, "country_id": cls.env.ref("base.us").id}, **values))

    @classmethod
    def _lead(cls, name, lead_type="opportunity", **values):
        return cls.env["crm.lead"].create(
            dict({"name": name, "type": lead_type, "user_id": False, "team_id": False}, **values)
        )

    # Inbound -----------------------------------------------------------

    _sid_counter = 0

    def _new_sid(self):
        SmsConversationCase._sid_counter += 1
        return f"SM{SmsConversationCase._sid_counter:032d}"

    def _inbound_values(self, body="Hello", from_number=None, number=None, sid=None, num_media=0):
        number = number or self.number_a
        return {
            "external_id": sid or self._new_sid(),
            "from_number": from_number or self.customer_number,
            "to_number": number.number,
            "body": body,
            "num_media": num_media,
        }

    def _receive(self, body="Hello", from_number=None, number=None, sid=None):
        """An inbound message, stored as the webhook does, then processed by
        the processing cron as in production; it must succeed at its first
        attempt, without any e-mail sent."""
        number = number or self.number_a
        event_id, _wake = number.account_id._receive_webhook(
            "inbound", self._inbound_values(body, from_number, number, sid), raw_params=[]
        )
        event = self.env["sms.event"].browse(event_id)
        self.assertEqual(event.state, "pending", "the webhook only stores")
        self._run_event_cron()
        self.assertEqual(event.state, "done", event.error)
        self.assertEqual(event.attempts, 1, "processed at its first attempt")
        self.assertFalse(self.smtp_calls, "no e-mail is sent while a message is processed")
        return event.message_id

    def _run_cron(self, xmlid):
        """Run a cron as its worker does (as its own user). Odoo 19 runs it
        on a cursor of its own, which the registry's test mode makes see the
        test's data."""
        cron = self.env.ref(xmlid).sudo()
        if ODOO_19 and not type(self)._registry_patched:
            with self.enter_registry_test_mode():
                cron.method_direct_trigger()
        else:
            self.env.flush_all()
            cron.method_direct_trigger()
        self.env.invalidate_all()

    def _run_event_cron(self):
        """Run the processing cron."""
        self._run_cron("crm_sms_conversation.ir_cron_sms_event_process")

    # Outbound: the providers' APIs faked at the requests level --------

    _api_handlers = {}  # URL prefix -> handler, while a mock_provider_api block runs

    @classmethod
    def _request_handler(cls, s, r, /, **kw):
        for prefix, handler in cls._api_handlers.items():
            if r.url.startswith(prefix):
                return handler(r, **kw)
        return super()._request_handler(s, r, **kw)

    @contextmanager
    def mock_provider_api(self, url_prefix, responses, default_answer):
        """Answer the calls to ``url_prefix`` from ``responses`` (a list consumed
        in order: a FakeResponse, or an exception to raise; when empty,
        ``default_answer(number of calls)``). Yields the list of requests
        made, with their form data or JSON body."""
        queue = list(responses or [])
        calls = []

        def handler(request, **kw):
            body = request.body
            calls.append(
                {
                    "method": request.method,
                    "url": request.url,
                    "data": dict(parse_qsl(body)) if isinstance(body, str) and body else {},
                    "json": json.loads(body) if isinstance(body, bytes) and body else None,
                    "query": dict(parse_qsl(urlsplit(request.url).query)),
                    "timeout": kw.get("timeout"),
                    "auth": request.headers.get("Authorization"),
                }
            )
            answer = queue.pop(0) if queue else None
            if isinstance(answer, Exception):
                raise answer
            # Not "answer or ...": a Response is falsy when not ok.
            return default_answer(len(calls)) if answer is None else answer

        type(self)._api_handlers = {**type(self)._api_handlers, url_prefix: handler}
        try:
            yield calls
        finally:
            type(self)._api_handlers = {
                prefix: h for prefix, h in type(self)._api_handlers.items() if prefix != url_prefix
            }

    def mock_twilio(self, responses=None):
        """The Twilio API: a message is accepted unless ``responses`` says otherwise."""
        return self.mock_provider_api(
            "https://api.twilio.com/",
            responses,
            lambda count: FakeResponse(201, {"sid": f"SM{count:032d}", "status": "queued"}),
        )

    def _composer(self, record, body="Hi from Odoo", number_field=None, user=None):
        """The chatter's SMS composer opened on ``record`` by ``user`` (seller A by default)."""
        return (
            self.env["sms.composer"]
            .with_user(user or self.user_seller_a)
            .with_context(default_res_model=record._name, default_res_id=record.id, default_composition_mode="comment")
            .create({"body": body, "number_field_name": number_field or "phone"})
        )

    def _send_from(self, record, body="Hi from Odoo", number_field=None, user=None):
        """Post an SMS on ``record`` the way the chatter's SMS composer does."""
        return self._composer(record, body, number_field, user)._action_send_sms()

    def _process_queue(self, at=None):
        """Run Odoo's SMS queue as its cron worker does (Odoo 19's queue commits its progress)."""
        with freeze_time(at or fields.Datetime.now()):
            self._run_cron("sms.ir_cron_sms_scheduler_action")

    def _later(self, seconds):
        return fields.Datetime.now() + timedelta(seconds=seconds)

    def _notifications(self, message):
        return (
            self.env["mail.notification"]
            .sudo()
            .search([("mail_message_id", "=", message.id), ("notification_type", "=", "sms")])
        )


class SmsWebhookCase(SmsConversationCase, HttpCase):
    """Webhook calls through the real HTTP route, signed like Twilio does."""

    def _webhook_path(self, account, kind, query=""):
        path = f"/crm_sms_conversation/webhook/{account.webhook_token}/{kind}"
        return f"{path}?{query}" if query else path

    def _signed_url(self, account, path):
        """The URL the provider was given: the account's public URL, then the path."""
        return account.webhook_base_url.rstrip("/") + path

    def _post_twilio(self, kind, params, account=None, signature=None, query="", headers=None):
        account = account or self.account
        path = self._webhook_path(account, kind, query)
        if signature is None:
            signature = twilio_signature(TWILIO_TOKEN, self._signed_url(account, path), list(params.items()))
        all_headers = {"X-Twilio-Signature": signature} if signature else {}
        all_headers.update(headers or {})
        return self.url_open(path, data=params, headers=all_headers)

    def _inbound_params(self, body="Hello", from_number=None, to_number=None, sid=None):
        return {
            "MessageSid": sid or self._new_sid(),
            "AccountSid": TWILIO_SID,
            "From": from_number or self.customer_number,
            "To": to_number or self.number_a.number,
            "Body": body,
            "NumMedia": "0",
        }


def patch_now(dt):
    return patch.object(fields.Datetime, "now", lambda *args, **kwargs: dt)
