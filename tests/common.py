import json
import re
from contextlib import contextmanager
from datetime import timedelta
from unittest.mock import patch
from urllib.parse import parse_qsl, urlsplit

import requests
from freezegun import freeze_time

from odoo import fields
from odoo.addons.crm_sms_conversation.tools.sms_twilio import twilio_signature
from odoo.addons.mail.tests.common import mail_new_test_user
from odoo.tests import HttpCase, TransactionCase

TWILIO_SID = "AC0123456789abcdef0123456789abcdef"
TWILIO_TOKEN = "twilio-test-auth-token"
TWILIO_MESSAGES_RE = re.compile(r"^https://api\.twilio\.com/2010-04-01/Accounts/(AC\w+)/Messages\.json")


class FakeResponse(requests.Response):
    def __init__(self, status_code, payload=None, headers=None):
        super().__init__()
        self.status_code = status_code
        self._content = json.dumps(payload or {}).encode()
        self.headers.update(headers or {})
        self.encoding = "utf-8"


class SmsConversationCase(TransactionCase):
    """Accounts, numbers, sellers and teams of a US company, and a Twilio
    API faked at the ``requests`` level: no test reaches the network."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if cls.registry.test_cr is None:
            # Events are stored "in their own transaction": in tests, a cursor
            # on the test transaction, as HttpCase sets up.
            cls.registry.enter_test_mode(cls.cr)
            cls.addClassCleanup(cls.registry.leave_test_mode)
        cls.company = cls.env.company
        cls.company.country_id = cls.env.ref("base.us")
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True, mail_create_nolog=True))

        cls.user_seller_a, cls.user_seller_b, cls.user_seller_c = (
            mail_new_test_user(
                cls.env,
                login=f"seller_{x}",
                name=f"Seller {x.upper()}",
                groups="sales_team.group_sale_salesman",
                notification_type="inbox",
            )
            for x in "abc"
        )
        cls.team_a = cls.env["crm.team"].create({"name": "Team A", "member_ids": [(6, 0, cls.user_seller_a.ids)]})
        cls.team_b = cls.env["crm.team"].create({"name": "Team B", "member_ids": [(6, 0, cls.user_seller_b.ids)]})

        cls.account = cls.env["sms.account"].create(
            {
                "name": "Twilio",
                "provider": "twilio",
                "twilio_account_sid": TWILIO_SID,
                "twilio_auth_token": TWILIO_TOKEN,
            }
        )
        # Number of seller A; number of team B.
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

    # Records -----------------------------------------------------------

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

    def _receive(self, body="Hello", from_number=None, number=None, sid=None):
        """An inbound message, as the webhook hands it over after verification."""
        number = number or self.number_a
        event = number.account_id._receive(
            "inbound",
            {
                "external_id": sid or self._new_sid(),
                "from_number": from_number or self.customer_number,
                "to_number": number.number,
                "body": body,
                "num_media": 0,
            },
        )
        self.assertEqual(event.state, "done", event.error)
        return event.message_id

    # Outbound: the Twilio API faked at the requests level -------------

    @classmethod
    def _request_handler(cls, s, r, /, **kw):
        handler = getattr(cls, "_twilio_handler", None)
        if handler and r.url.startswith("https://api.twilio.com/"):
            return handler(r, **kw)
        return super()._request_handler(s, r, **kw)

    @contextmanager
    def mock_twilio(self, responses=None):
        """Answer Twilio API calls from ``responses`` (a list consumed in
        order: a FakeResponse, or an exception to raise; when empty, a
        success). Yields the list of requests made, with their form data."""
        queue = list(responses or [])
        calls = []

        def handler(request, **kw):
            form = dict(parse_qsl(request.body)) if isinstance(request.body, str) and request.body else {}
            calls.append(
                {
                    "method": request.method,
                    "url": request.url,
                    "data": form,
                    "query": dict(parse_qsl(urlsplit(request.url).query)),
                    "timeout": kw.get("timeout"),
                    "auth": request.headers.get("Authorization"),
                }
            )
            answer = queue.pop(0) if queue else None
            if isinstance(answer, Exception):
                raise answer
            if answer is None:
                answer = FakeResponse(201, {"sid": f"SM{len(calls):032d}", "status": "queued"})
            return answer

        type(self)._twilio_handler = staticmethod(handler)
        try:
            yield calls
        finally:
            type(self)._twilio_handler = None

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
        with freeze_time(at or fields.Datetime.now()):
            self.env["sms.sms"].sudo()._process_queue()

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

    def _post_twilio(self, kind, params, account=None, signature=None, query="", headers=None):
        account = account or self.account
        path = self._webhook_path(account, kind, query)
        url = account.get_base_url().rstrip("/") + path
        if signature is None:
            signature = twilio_signature(TWILIO_TOKEN, url, list(params.items()))
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
