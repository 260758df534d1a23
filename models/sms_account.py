import dataclasses
import hashlib
import logging
import secrets
import uuid

from werkzeug.urls import url_join

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from ..tools.phone import normalize_e164
from ..tools.sms_provider import PROVIDERS, InboundSms, ProviderConfig
from ..tools.sms_twilio import TWILIO_API_BASE_URL

_logger = logging.getLogger(__name__)

WEBHOOK_ROUTE = "/crm_sms_conversation/webhook"


def _new_webhook_token():
    return secrets.token_urlsafe(32)


def _hash_token(token):
    return hashlib.sha256(token.encode()).hexdigest()


class SmsAccount(models.Model):
    _name = "sms.account"
    _description = "SMS Provider Account"
    _order = "sequence, id"

    name = fields.Char(required=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    provider = fields.Selection(
        [("simulator", "Simulator (no network)"), ("twilio", "Twilio")],
        required=True,
        default="twilio",
    )
    company_id = fields.Many2one("res.company", required=True, default=lambda self: self.env.company, index=True)
    number_ids = fields.One2many("sms.number", "account_id", string="Numbers")
    twilio_account_sid = fields.Char("Account SID", groups="crm_sms_conversation.crm_sms_conversation_group_manager")
    twilio_auth_token = fields.Char(
        "Auth Token", groups="crm_sms_conversation.crm_sms_conversation_group_manager", copy=False, exportable=False
    )
    api_base_url = fields.Char(
        "API Base URL",
        groups="base.group_system",
        default=TWILIO_API_BASE_URL,
        help="Root of the provider's API: the official one by default; another one for testing.",
    )
    webhook_token = fields.Char(
        required=True,
        copy=False,
        exportable=False,
        default=lambda self: _new_webhook_token(),
        groups="crm_sms_conversation.crm_sms_conversation_group_manager",
        help="Secret part of the webhook URLs. Regenerate it if the URLs leaked: "
        "then paste the new URLs in the provider's console.",
    )
    webhook_token_hash = fields.Char(
        compute="_compute_webhook_token_hash", store=True, index=True, copy=False, groups="base.group_system"
    )
    inbound_url = fields.Char(
        "Inbound Messages URL",
        compute="_compute_webhook_urls",
        exportable=False,
        groups="crm_sms_conversation.crm_sms_conversation_group_manager",
        help="Paste it in the provider's console as the URL called when a message comes in.",
    )
    status_url = fields.Char(
        "Delivery Reports URL",
        compute="_compute_webhook_urls",
        exportable=False,
        groups="crm_sms_conversation.crm_sms_conversation_group_manager",
        help="Status callback URL. Set on every message sent; paste it in the provider's console too.",
    )

    _sql_constraints = [
        ("webhook_token_unique", "unique(webhook_token)", "The webhook token must be unique."),
    ]

    @api.depends("webhook_token")
    def _compute_webhook_token_hash(self):
        for account in self:
            account.webhook_token_hash = _hash_token(account.webhook_token) if account.webhook_token else False

    @api.depends("webhook_token")
    def _compute_webhook_urls(self):
        for account in self:
            token = account.sudo().webhook_token
            if not token:
                account.inbound_url = account.status_url = False
                continue
            base = url_join(account.get_base_url(), f"{WEBHOOK_ROUTE}/{token}/")
            account.inbound_url = url_join(base, "inbound")
            account.status_url = url_join(base, "status")

    # Actions -------------------------------------------------------------

    def action_regenerate_webhook_token(self):
        for account in self:
            account.webhook_token = _new_webhook_token()
        return True

    def action_simulate_reply(self):
        """Open the wizard that simulates a customer's reply (Simulator accounts)."""
        self.ensure_one()
        if self.provider != "simulator":
            raise UserError(_("Only Simulator accounts can simulate a customer's reply."))
        return {
            "type": "ir.actions.act_window",
            "name": _("Simulate a Customer Reply"),
            "res_model": "sms.simulate.reply",
            "view_mode": "form",
            "target": "new",
            "context": {"default_number_id": self.number_ids[:1].id},
        }

    # Provider ------------------------------------------------------------

    def _get_provider_api_class(self):
        """The provider's protocol class. Sub-modules add providers here or in PROVIDERS."""
        self.ensure_one()
        return PROVIDERS[self.provider]

    def _get_provider_config(self):
        self.ensure_one()
        account_sudo = self.sudo()
        if self.provider == "twilio":
            return ProviderConfig(
                account_sid=account_sudo.twilio_account_sid or "",
                auth_token=account_sudo.twilio_auth_token or "",
                api_base_url=account_sudo.api_base_url or TWILIO_API_BASE_URL,
            )
        # The simulator signs its webhooks with the webhook token.
        return ProviderConfig(auth_token=account_sudo.webhook_token or "", api_base_url=account_sudo.api_base_url or "")

    def _get_provider_api(self):
        self.ensure_one()
        return self._get_provider_api_class()(self._get_provider_config())

    def _get_status_callback_url(self, sms_uuid):
        """Status callback set on one message: identifies it even before the provider's id is known."""
        self.ensure_one()
        return f"{self.sudo().status_url}?sms_uuid={sms_uuid}"

    @api.model
    def _get_by_webhook_token(self, token):
        """Active account owning ``token``, or an empty recordset."""
        if not token or len(token) > 128 or not token.isascii():
            return self.browse()
        # Looked up by hash: the lookup's timing tells nothing about stored tokens.
        account = self.sudo().search([("webhook_token_hash", "=", _hash_token(token))], limit=1)
        if account and secrets.compare_digest(account.webhook_token.encode(), token.encode()):
            return account
        return self.browse()

    # Inbound processing --------------------------------------------------

    def _get_gateway_env(self, cr=None):
        """Environment processing this account's events: the SMS Gateway
        technical user, in the account's company, not the superuser."""
        self.ensure_one()
        gateway = self.env.ref("crm_sms_conversation.user_sms_gateway")
        env = self.env(cr=cr or self.env.cr, user=gateway.id, su=False)
        return env(context=dict(env.context, allowed_company_ids=[self.company_id.id]))

    def _receive(self, kind, event_values, raw_params=None):
        """Store an event and process it in the current transaction.

        ``event_values`` is the provider-independent event (``InboundSms`` or
        ``StatusReport``) as a dict, ``raw_params`` what the provider sent.
        Returns the ``sms.event``.
        """
        self.ensure_one()
        Event = self._get_gateway_env()["sms.event"]
        event = Event.browse(Event._store(self, kind, event_values, raw_params))
        event._process()
        return event.with_env(self.env)

    def _receive_webhook(self, kind, event_values, raw_params):
        """Store a verified webhook event and commit it at once, apart from
        the request's transaction, then process it in a new transaction.

        Whatever happens after the commit (a crash, a timeout, a failed
        processing), the event is kept and the cron processes it again.
        Returns the event's id.
        """
        self.ensure_one()
        if not self.env.registry.ready:
            return self._receive(kind, event_values, raw_params).id
        with self.env.registry.cursor() as cr:
            Event = self._get_gateway_env(cr)["sms.event"]
            event = Event.browse(Event._store(self, kind, event_values, raw_params))
            # The verified event is kept whatever happens next.
            cr.commit()  # pylint: disable=invalid-commit
            with event._serialized():
                event._process()
            return event.id

    def _simulate_inbound(self, to_number, from_number, body):
        """Receive ``body`` from ``from_number`` on our number ``to_number``
        (E.164) as a Simulator webhook call would; returns the ``sms.event``."""
        self.ensure_one()
        if self.provider != "simulator":
            raise UserError(_("Replies can only be simulated on numbers of a Simulator account."))
        sender = normalize_e164(from_number)
        if not sender:
            raise UserError(
                _("%s is not a phone number: write it in international format (+ country code, number).", from_number)
            )
        inbound = InboundSms(external_id=f"SIMIN{uuid.uuid4().hex}", from_number=sender, to_number=to_number, body=body)
        return self._receive("inbound", dataclasses.asdict(inbound))

    def _process_inbound(self, inbound):
        """Route an ``InboundSms`` to its conversation and post it there."""
        self.ensure_one()
        number = self.env["sms.number"].with_context(active_test=False)._get_by_e164(inbound.to_number, self)
        if not number:
            raise ValueError(f"{inbound.to_number} is not a number of account {self.name}")
        conversation = self.env["sms.conversation"]._route_inbound(number, inbound.from_number)
        message = conversation._post_inbound(inbound)
        conversation._apply_opt_keywords(inbound.body)
        conversation._notify_inbound(message)
        conversation._notify_owner_without_right()
        return message

    def _process_status(self, report):
        """Apply a delivery report to the message's tracker and notification."""
        self.ensure_one()
        api = self._get_provider_api()
        domain = [("provider_message_id", "=", report.external_id)]
        if report.sms_uuid:
            domain = ["|", ("sms_uuid", "=", report.sms_uuid), *domain]
        trackers = self.env["sms.tracker"].sudo().search(domain)
        state = api.map_status(report.status)
        if not state:
            raise ValueError(f"unknown delivery status {report.status!r}")
        if not trackers:
            # Maybe sent by a transaction not committed yet: the cron tries again.
            raise ValueError(f"no message {report.external_id} ({report.sms_uuid or 'no uuid'}) found")
        if state == "error":
            failure_type = api.map_error(report.error_code)
            trackers._action_update_from_provider_failure(failure_type, report.error_code, report.error_message)
            if api.is_opt_out(report.error_code):
                trackers._sms_blacklist_recipients()
        else:
            trackers._action_update_from_sms_state(state)
        self.env["sms.sms"].sudo().search([("uuid", "in", trackers.mapped("sms_uuid"))])._write_provider_state(
            state, report
        )

    def _after_accepted(self, api, outgoing, result):
        """Hook run when the provider accepted a message. The Simulator, which
        has no network to call back, reports the delivery right away."""
        self.ensure_one()
        if self.provider == "simulator":
            report = api.delivery_report(outgoing, result.external_id)
            report.sms_uuid = outgoing.idempotency_key
            self._receive("status", dataclasses.asdict(report))
