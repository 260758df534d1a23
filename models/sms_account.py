import dataclasses
import datetime
import hashlib
import json
import logging
import secrets
import uuid

from werkzeug.urls import url_join

from odoo import _, api, fields, models, tools
from odoo.exceptions import UserError, ValidationError

from ..tools.compat import Constraint
from ..tools.phone import normalize_e164
from ..tools.quiet_hours import format_hour, is_quiet, next_allowed_time, recipient_time_zones, time_zone
from ..tools.sms_provider import PROVIDERS, CredentialsError, InboundSms, ProviderConfig
from ..tools.sms_vonage import load_private_key, private_key_pem

_logger = logging.getLogger(__name__)

WEBHOOK_ROUTE = "/crm_sms_conversation/webhook"


MANAGER_GROUP = "crm_sms_conversation.crm_sms_conversation_group_manager"
# What a secret field shows once a value is saved: the value itself is never read back.
SECRET_MASK = "••••••••"


def _new_webhook_token():
    return secrets.token_urlsafe(32)


def secret_field(string, **kwargs):
    """A provider credential: write-only, never returned by ``read`` (it shows
    ``SECRET_MASK`` once set), kept out of the ORM's reach in the
    ``provider_secrets`` column, copied and exported never."""
    return fields.Char(
        string,
        compute="_compute_secret_fields",
        inverse="_inverse_secret_fields",
        copy=False,
        exportable=False,
        groups=MANAGER_GROUP,
        **kwargs,
    )


def _hash_token(token):
    return hashlib.sha256(token.encode()).hexdigest()


class SmsAccount(models.Model):
    _name = "sms.account"
    _description = "SMS Provider Account"
    _order = "sequence, id"

    name = fields.Char(required=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(
        default=True, help="An archived account neither receives nor sends: its queued messages fail with a reason."
    )
    provider = fields.Selection(
        [
            ("simulator", "Simulator (no network)"),
            ("twilio", "Twilio"),
            ("telnyx", "Telnyx"),
            ("plivo", "Plivo"),
            ("vonage", "Vonage"),
        ],
        required=True,
        default="twilio",
    )
    company_id = fields.Many2one("res.company", required=True, default=lambda self: self.env.company, index=True)
    number_ids = fields.One2many("sms.number", "account_id", string="Numbers")
    twilio_use_company_credentials = fields.Boolean(
        "Use the Company's Twilio Account",
        groups=MANAGER_GROUP,
        help="Take the Account SID and Auth Token saved in Odoo's own Twilio settings (Settings > SMS, the "
        "sms_twilio module of Odoo 19) instead of typing them here again.",
    )
    sms_twilio_installed = fields.Boolean("Odoo Twilio Module Installed", compute="_compute_sms_twilio_installed")
    twilio_account_sid = fields.Char("Account SID", groups=MANAGER_GROUP)
    twilio_auth_token = secret_field(
        "Auth Token", help="Twilio's Auth Token. Saved write-only: type it again to change it."
    )
    auto_reply_stop = fields.Text(
        "Opt-out Confirmation",
        default=lambda self: self.env._(
            "You are unsubscribed and will receive no more text messages from us. Reply START to subscribe again."
        ),
        help="Sent once to a customer who opts out (STOP), even though the number is now blacklisted. Keep it to "
        "the confirmation: no marketing content. Empty: no confirmation.",
    )
    auto_reply_help = fields.Text(
        "Help Answer",
        default=lambda self: self.env._("Reply STOP to receive no more text messages from us."),
        help="Sent to a customer who replies HELP or INFO. Empty: no answer.",
    )
    quiet_hours = fields.Boolean(
        help="Automated and scheduled texts wait while it is night for the customer (their local time, read from "
        "their number); a seller sending one by hand is asked to confirm.",
    )
    quiet_hours_start = fields.Float(
        "Quiet From", default=21.0, help="Customer's local time from which no automated text is sent."
    )
    quiet_hours_end = fields.Float("Quiet Until", default=8.0, help="Customer's local time when texts go out again.")
    plivo_auth_id = fields.Char("Auth ID", groups=MANAGER_GROUP)
    plivo_auth_token = secret_field(
        "Plivo Auth Token",
        help="Plivo's Auth Token (Console > Overview). Saved write-only: type it again to change it.",
    )
    telnyx_api_key = secret_field(
        "Telnyx API Key",
        help="Telnyx API key (Portal > Auth > API Keys). Saved write-only: type it again to change it.",
    )
    telnyx_public_key = fields.Char(
        "Public Key",
        groups=MANAGER_GROUP,
        help="The base64 Ed25519 public key of the Telnyx portal (Keys & Credentials > Public Key): it checks "
        "that webhooks come from Telnyx.",
    )
    vonage_api = fields.Selection(
        [("sms", "SMS API"), ("messages", "Messages API")],
        "Vonage API",
        default="sms",
        groups=MANAGER_GROUP,
        help="The API that sends the messages, and whose webhooks Odoo reads: choose the one the Vonage "
        "dashboard's API Settings set as the SMS setting.",
    )
    vonage_api_key = fields.Char("API Key", groups=MANAGER_GROUP)
    vonage_api_secret = secret_field(
        "API Secret",
        help="Vonage's API Secret (Dashboard > API Settings). Saved write-only: type it again to change it.",
    )
    vonage_signature_secret = secret_field(
        "Signature Secret",
        help="The signature secret of the Vonage dashboard (API Settings): it checks that webhooks come from Vonage "
        "(the SMS API's sig, the Messages API's JWT). Saved write-only: type it again to change it.",
    )
    vonage_signature_method = fields.Selection(
        [
            ("md5hash", "MD5 hash"),
            ("md5", "MD5 HMAC"),
            ("sha1", "SHA1 HMAC"),
            ("sha256", "SHA-256 HMAC"),
            ("sha512", "SHA-512 HMAC"),
        ],
        "Signature Method",
        default="md5hash",
        groups=MANAGER_GROUP,
        help="The signature method chosen in the Vonage dashboard (API Settings) for the SMS API's webhooks; "
        "Vonage's default is MD5 hash. The Messages API always signs with SHA-256.",
    )
    vonage_application_id = fields.Char(
        "Application ID",
        groups=MANAGER_GROUP,
        help="Only when the Vonage application of the numbers (Messages API) has Secure Inbound Media switched on "
        "(Capabilities > Messages): the pictures and files customers send are then fetched with a token signed by "
        "this application's private key. Leave it empty otherwise: Vonage's files then need no credentials.",
    )
    vonage_private_key = secret_field(
        "Application Private Key",
        help="The private key of the same Vonage application (its private.key file, from -----BEGIN PRIVATE KEY----- "
        "to -----END PRIVATE KEY-----), needed with the Application ID for Secure Inbound Media only. Saved "
        "write-only: paste it again to change it.",
    )
    simulator_secret = secret_field(
        "Signing Secret",
        help="Key of the Simulator's webhook signatures (X-Simulator-Signature), generated at creation. "
        "Set your own to sign calls by hand.",
    )
    unreachable_since = fields.Datetime(
        readonly=True,
        copy=False,
        groups=MANAGER_GROUP,
        help="Set while the provider cannot be reached (connection errors, server errors): its numbers are then "
        "proposed as senders only when no other number is.",
    )
    api_base_url = fields.Char(
        "API Base URL",
        groups="base.group_system",
        compute="_compute_api_base_url",
        store=True,
        readonly=False,
        help="Root of the provider's API: the official one by default; another one for testing.",
    )
    webhook_token = fields.Char(
        required=True,
        copy=False,
        exportable=False,
        default=lambda self: _new_webhook_token(),
        groups=MANAGER_GROUP,
        help="Secret part of the webhook URLs. Regenerate it if the URLs leaked: "
        "then paste the new URLs in the provider's console.",
    )
    webhook_token_hash = fields.Char(
        compute="_compute_webhook_token_hash", store=True, index=True, copy=False, groups="base.group_system"
    )
    webhook_base_url = fields.Char(
        "Public URL",
        required=True,
        default=lambda self: self._default_webhook_base_url(),
        groups=MANAGER_GROUP,
        help="Address of this Odoo as the provider calls it, e.g. https://crm.example.com (a path prefix such as "
        "https://example.com/odoo is kept). The webhook URLs start with it and signatures are checked against it, "
        "whatever the server's base URL becomes.",
    )
    base_url_warning = fields.Char(compute="_compute_base_url_warning", groups=MANAGER_GROUP)
    inbound_url = fields.Char(
        "Inbound Messages URL",
        compute="_compute_webhook_urls",
        exportable=False,
        groups=MANAGER_GROUP,
        help="Paste it in the provider's console as the URL called when a message comes in.",
    )
    status_url = fields.Char(
        "Delivery Reports URL",
        compute="_compute_webhook_urls",
        exportable=False,
        groups=MANAGER_GROUP,
        help="Status callback URL. Odoo sets it on every message it sends: the provider's console needs it only "
        "for messages sent from elsewhere (a Messaging Service's status callback).",
    )

    _webhook_token_unique = Constraint("unique(webhook_token)", "The webhook token must be unique.")

    @api.constrains("provider", "twilio_use_company_credentials", "company_id")
    def _check_twilio_use_company_credentials(self):
        for account in self.filtered("twilio_use_company_credentials"):
            if account.provider != "twilio" or not account.sms_twilio_installed:
                raise ValidationError(
                    _(
                        "%(account)s cannot use the company's Twilio account: that needs a Twilio account and "
                        "Odoo's own Twilio module (sms_twilio, Odoo 19) installed.",
                        account=account.name,
                    )
                )

    @api.constrains("quiet_hours", "quiet_hours_start", "quiet_hours_end")
    def _check_quiet_hours(self):
        for account in self.filtered("quiet_hours"):
            hours = (account.quiet_hours_start, account.quiet_hours_end)
            if not all(0 <= hour < 24 for hour in hours) or hours[0] == hours[1]:
                raise ValidationError(
                    _(
                        "The quiet hours of %(account)s must start and end at two different times of the day "
                        "(00:00 to 23:59).",
                        account=account.name,
                    )
                )

    @api.constrains("vonage_private_key")
    def _check_vonage_private_key(self):
        for account in self:
            problem = account._vonage_private_key_problem()
            if problem:
                raise ValidationError(problem)

    def init(self):
        # Credentials live outside any ORM field: nothing reads them back over RPC.
        self.env.cr.execute("ALTER TABLE sms_account ADD COLUMN IF NOT EXISTS provider_secrets jsonb")

    @api.model
    def _default_webhook_base_url(self):
        """The company's public address (its website's domain, else web.base.url)."""
        return self.env.company.get_base_url() or ""

    @api.depends("provider")
    def _compute_secret_fields(self):
        names = self._secret_field_names()
        stored = self._read_secrets()
        for account in self:
            saved = stored.get(account.id, {})
            for name in names:
                account[name] = SECRET_MASK if saved.get(name) else False

    def _inverse_secret_fields(self):
        names = self._secret_field_names()
        for account in self:
            values = {name: account[name] for name in names}
            for name, value in values.items():
                if value != SECRET_MASK:  # the mask means "saved, unchanged"
                    account._set_secret(name, self._clean_secret(name, value) or None)

    @api.model
    def _clean_secret(self, name, value):
        """A secret as it is saved: a private key with its PEM lines put back (a
        password field drops them), any other as typed."""
        if name == "vonage_private_key" and value:
            return private_key_pem(value)
        return value

    @api.depends("provider")
    def _compute_api_base_url(self):
        for account in self:
            api_class = PROVIDERS.get(account.provider)
            account.api_base_url = api_class.API_BASE_URL if api_class else ""

    def _compute_sms_twilio_installed(self):
        installed = "sms_twilio_account_sid" in self.env["res.company"]._fields
        for account in self:
            account.sms_twilio_installed = installed

    @api.depends("webhook_token")
    def _compute_webhook_token_hash(self):
        for account in self:
            account.webhook_token_hash = _hash_token(account.webhook_token) if account.webhook_token else False

    @api.depends("webhook_token", "webhook_base_url")
    def _compute_webhook_urls(self):
        for account in self:
            account_sudo = account.sudo()
            token, base = account_sudo.webhook_token, account_sudo.webhook_base_url
            if not token or not base:
                account.inbound_url = account.status_url = False
                continue
            prefix = url_join(base.rstrip("/") + "/", f"{WEBHOOK_ROUTE.lstrip('/')}/{token}/")
            account.inbound_url = url_join(prefix, "inbound")
            account.status_url = url_join(prefix, "status")

    @api.depends("webhook_base_url", "company_id")
    def _compute_base_url_warning(self):
        for account in self:
            current = (account.get_base_url() or "").rstrip("/")
            given = (account.sudo().webhook_base_url or "").rstrip("/")
            if given and current and current != given:
                account.base_url_warning = _(
                    "This server's base URL is now %(current)s, but the provider was given %(given)s. Webhooks "
                    "keep working while %(given)s reaches this server; if it no longer does, change the Public URL "
                    "and paste the new webhook URLs in the provider's console.",
                    current=current,
                    given=given,
                )
            else:
                account.base_url_warning = False

    # CRUD ----------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        accounts = super().create(vals_list)
        for account in accounts:
            if account.provider == "simulator" and not account._get_secret("simulator_secret"):
                account._set_secret("simulator_secret", secrets.token_urlsafe(32))
        self.env.registry.clear_cache()  # _get_sending_account_id
        return accounts

    def write(self, vals):
        res = super().write(vals)
        if {"active", "company_id", "sequence"} & set(vals):
            self.env.registry.clear_cache()  # _get_sending_account_id
        return res

    def unlink(self):
        res = super().unlink()
        self.env.registry.clear_cache()  # _get_sending_account_id
        return res

    # Actions -------------------------------------------------------------

    def action_regenerate_webhook_token(self):
        for account in self:
            account.webhook_token = _new_webhook_token()
        return True

    def action_use_current_base_url(self):
        """Take the server's current base URL as the public URL (the provider's console must follow)."""
        for account in self:
            account.webhook_base_url = account.get_base_url()
        return True

    def action_test_connection(self):
        """Call the provider with the account's credentials; say what came back."""
        self.ensure_one()
        self.check_access("write")  # managers only, as the form's button
        problem = self._settings_problem()
        if problem:
            return self._notification("danger", problem)
        result = self._get_provider_api().check_credentials()
        self._set_reachable(result.reached)
        if result.status == "accepted":
            return self._notification(
                "success",
                _(
                    "%(provider)s accepted the credentials (%(name)s).",
                    provider=self._provider_label(),
                    name=result.external_id,
                ),
            )
        if not result.reached:
            message = _(
                "%(provider)s could not be reached: %(error)s. Check the server's internet access (and the API Base "
                "URL), then try again.",
                provider=self._provider_label(),
                error=result.error_message or result.error_code,
            )
        else:
            message = _(
                "%(provider)s refused the credentials [%(code)s]: %(error)s. Check %(credentials)s in the "
                "provider's console.",
                provider=self._provider_label(),
                code=result.error_code,
                error=result.error_message,
                credentials=", ".join(self._provider_credential_labels()),
            )
        return self._notification("danger", message)

    def action_send_test_sms(self):
        """Open the wizard sending one text message from a number of the account."""
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": _("Send a Test Text Message"),
            "res_model": "sms.account.test",
            "view_mode": "form",
            "target": "new",
            "context": {"default_account_id": self.id},
        }

    def _settings_problem(self):
        """What keeps the account's settings from working, seen without calling
        the provider (a message for the administrator), or False."""
        self.ensure_one()
        if self.provider != "vonage":
            return False
        account_sudo = self.sudo()
        has_application = bool((account_sudo.vonage_application_id or "").strip())
        if account_sudo.vonage_api == "messages" and has_application != bool(self._get_secret("vonage_private_key")):
            return _(
                "%(account)s: Secure Inbound Media needs both the Application ID and the Application Private Key of "
                "the Vonage application; leave both empty when Secure Inbound Media is off.",
                account=self.name,
            )
        return self._vonage_private_key_problem()

    def _vonage_private_key_problem(self):
        """Why the saved Vonage private key cannot sign the application's JWTs, or False."""
        self.ensure_one()
        private_key = self._get_secret("vonage_private_key")
        if not private_key:
            return False
        try:
            load_private_key(private_key)
        except CredentialsError as exc:
            return _(
                "The Application Private Key of %(account)s cannot be used (%(reason)s). Paste the whole "
                "private.key file of the Vonage application, from -----BEGIN PRIVATE KEY----- to "
                "-----END PRIVATE KEY-----.",
                account=self.name,
                reason=str(exc),
            )
        return False

    def _provider_credential_labels(self):
        """Labels of the provider's credential fields, as the form shows them."""
        self.ensure_one()
        names = {
            "twilio": ["twilio_account_sid", "twilio_auth_token"],
            "telnyx": ["telnyx_api_key"],
            "plivo": ["plivo_auth_id", "plivo_auth_token"],
            "vonage": ["vonage_api_key", "vonage_api_secret"],
        }.get(self.provider, [])
        return [self._fields[name].get_description(self.env)["string"] for name in names]

    def _provider_label(self):
        self.ensure_one()
        return dict(self._fields["provider"]._description_selection(self.env))[self.provider]

    @api.model
    def _notification(self, kind, message, sticky=False):
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {"type": kind, "message": message, "sticky": sticky or kind == "danger"},
        }

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

    # Secrets -------------------------------------------------------------

    @api.model
    def _secret_field_names(self):
        return [name for name, field in self._fields.items() if field.inverse == "_inverse_secret_fields"]

    def _read_secrets(self):
        """{account id: {secret field: value}} of the stored credentials (server side only)."""
        ids = [account_id for account_id in self.ids if isinstance(account_id, int)]
        if not ids:
            return {}
        self.env.cr.execute("SELECT id, provider_secrets FROM sms_account WHERE id IN %s", (tuple(ids),))
        return {account_id: secrets_ or {} for account_id, secrets_ in self.env.cr.fetchall()}

    def _get_secret(self, name):
        self.ensure_one()
        return self._read_secrets().get(self.id, {}).get(name) or ""

    def _set_secret(self, name, value):
        self.ensure_one()
        if value:
            self.env.cr.execute(
                """
                UPDATE sms_account SET provider_secrets = COALESCE(provider_secrets, '{}'::jsonb) || %s::jsonb
                 WHERE id = %s
                """,
                (json.dumps({name: value}), self.id),
            )
        else:
            self.env.cr.execute(
                "UPDATE sms_account SET provider_secrets = provider_secrets - %s WHERE id = %s", (name, self.id)
            )
        self.invalidate_recordset(self._secret_field_names())

    # Provider ------------------------------------------------------------

    def _get_provider_api_class(self):
        """The provider's protocol class. Sub-modules add providers here or in PROVIDERS."""
        self.ensure_one()
        return PROVIDERS[self.provider]

    def _get_provider_config(self):
        self.ensure_one()
        account_sudo = self.sudo()
        if self.provider == "twilio" and account_sudo.twilio_use_company_credentials and self.sms_twilio_installed:
            company_sudo = account_sudo.company_id
            return ProviderConfig(
                account_sid=company_sudo.sms_twilio_account_sid or "",
                auth_token=company_sudo.sms_twilio_auth_token or "",
                api_base_url=account_sudo.api_base_url or "",
            )
        if self.provider == "twilio":
            return ProviderConfig(
                account_sid=account_sudo.twilio_account_sid or "",
                auth_token=self._get_secret("twilio_auth_token"),
                api_base_url=account_sudo.api_base_url or "",
            )
        if self.provider == "plivo":
            return ProviderConfig(
                account_sid=account_sudo.plivo_auth_id or "",
                auth_token=self._get_secret("plivo_auth_token"),
                api_base_url=account_sudo.api_base_url or "",
            )
        if self.provider == "vonage":
            return ProviderConfig(
                account_sid=account_sudo.vonage_api_key or "",
                auth_token=self._get_secret("vonage_api_secret"),
                signature_secret=self._get_secret("vonage_signature_secret"),
                signature_method=account_sudo.vonage_signature_method or "md5hash",
                api_variant=account_sudo.vonage_api or "sms",
                api_base_url=account_sudo.api_base_url or "",
                application_id=(account_sudo.vonage_application_id or "").strip(),
                private_key=self._get_secret("vonage_private_key"),
            )
        if self.provider == "telnyx":
            return ProviderConfig(
                auth_token=self._get_secret("telnyx_api_key"),
                public_key=(account_sudo.telnyx_public_key or "").strip(),
                api_base_url=account_sudo.api_base_url or "",
            )
        return ProviderConfig(auth_token=self._get_secret("simulator_secret"))

    def _get_provider_api(self):
        self.ensure_one()
        return self._get_provider_api_class()(self._get_provider_config())

    def _set_reachable(self, reachable):
        """Follow whether the provider answers; written only when it changes."""
        for account_sudo in self.sudo():
            if reachable and account_sudo.unreachable_since:
                account_sudo.unreachable_since = False
            elif not reachable and not account_sudo.unreachable_since:
                account_sudo.unreachable_since = fields.Datetime.now()

    def _get_status_callback_url(self, sms_uuid):
        """Status callback set on one message: identifies it even before the provider's id is known."""
        self.ensure_one()
        return f"{self.sudo().status_url}?sms_uuid={sms_uuid}"

    def _get_signed_url(self, path, query=""):
        """The URL a provider called and signed: the public URL given to it,
        then the request's path and query (never the Host header)."""
        self.ensure_one()
        url = (self.sudo().webhook_base_url or "").rstrip("/") + path
        return f"{url}?{query}" if query else url

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

    def _get_gateway_env(self):
        """Environment processing this account's events: the SMS Gateway
        technical user, in the account's company, not the superuser, with a
        context of its own (whoever triggers the processing). Mails are
        queued, never sent during the processing."""
        self.ensure_one()
        gateway = self.env.ref("crm_sms_conversation.user_sms_gateway").sudo()
        context = {
            "allowed_company_ids": [self.company_id.id],
            "lang": gateway.lang or self.company_id.partner_id.lang or "en_US",
            "tz": gateway.tz or self.company_id.partner_id.tz or "UTC",
            "mail_notify_force_send": False,
        }
        return self.env(user=gateway.id, su=False, context=context)

    def _receive(self, kind, event_values, raw_params=None):
        """Store an event and process it at once, in the current transaction
        (Simulator, demo data). Returns the ``sms.event``; when its customer
        is being processed elsewhere, it is left to the processing cron.

        ``event_values`` is the provider-independent event (``InboundSms`` or
        ``StatusReport``) as a dict, ``raw_params`` what the provider sent.
        """
        self.ensure_one()
        Event = self.env["sms.event"].sudo()
        event = Event.browse(Event._store(self, kind, event_values, raw_params))
        if not event._process():
            Event._trigger_processing()
        return event.with_env(self.env)

    def _receive_webhook(self, kind, event_values, raw_params):
        """Store a verified webhook event with the request's cursor and have
        the processing cron run; nothing else happens in the request, which
        commits and answers at once. Returns the event's id (None when a
        concurrent delivery of the same event stores it) and whether the cron
        workers are to be woken up (``wake_cron_workers``) once the request is
        over."""
        self.ensure_one()
        Event = self.env["sms.event"].sudo()
        event_id = Event._store(self, kind, event_values, raw_params)
        wake = bool(event_id) and Event._trigger_processing(notify=False)
        return event_id, wake

    def _simulate_inbound(self, to_number, from_number, body, media=None):
        """Receive ``body`` (and ``media``, ``InboundSms.media`` pairs) from
        ``from_number`` on our number ``to_number`` (E.164) as a Simulator
        webhook call would; returns the ``sms.event``."""
        self.ensure_one()
        if self.provider != "simulator":
            raise UserError(_("Replies can only be simulated on numbers of a Simulator account."))
        sender = normalize_e164(from_number)
        if not sender:
            raise UserError(
                _("%s is not a phone number: write it in international format (+ country code, number).", from_number)
            )
        media = [list(pair) for pair in media or []]
        inbound = InboundSms(
            external_id=f"SIMIN{uuid.uuid4().hex}",
            from_number=sender,
            to_number=to_number,
            body=body,
            num_media=len(media),
            media=media,
        )
        return self._receive("inbound", dataclasses.asdict(inbound))

    def _process_inbound(self, inbound):
        """Route an ``InboundSms`` to its conversation and post its text there;
        its files are queued for the download cron."""
        self.ensure_one()
        number = self.env["sms.number"].with_context(active_test=False)._get_by_e164(inbound.to_number, self)
        if not number:
            raise ValueError(f"{inbound.to_number} is not a number of account {self.name}")
        conversation = self.env["sms.conversation"]._route_inbound(number, inbound.from_number)
        message = conversation._post_inbound(inbound)
        # Downloaded afterwards by their own cron: the text never waits for them.
        self.env["sms.media"]._queue(self, message, inbound.media)
        conversation._apply_consent_keywords(message, inbound.body)
        conversation._notify_inbound(message)
        conversation._notify_owner_without_right()
        return message

    def _process_status(self, report):
        """Apply a delivery report to the message's tracker and notification."""
        self.ensure_one()
        api = self._get_provider_api()
        domain = [("provider_message_id", "=", report.external_id)]
        if report.sms_uuid and report.sms_uuid_signed:
            # Our id, signed by the provider: a report of any part of a long message finds it.
            domain = [("sms_uuid", "=", report.sms_uuid)]
        elif report.sms_uuid:
            # Our id, from the callback URL (not signed by every provider): it must agree with the
            # provider's id once known.
            domain = [
                ("sms_uuid", "=", report.sms_uuid),
                "|",
                ("provider_message_id", "=", False),
                ("provider_message_id", "=", report.external_id),
            ]
        # Only messages this account sent: another account's report changes nothing here.
        trackers = self.env["sms.tracker"].sudo().search([("sms_account_id", "=", self.id), *domain])
        state = api.map_status(report.status)
        if not state:
            raise ValueError(f"unknown delivery status {report.status!r}")
        if not trackers:
            # Maybe sent by a transaction not committed yet: tried again later.
            raise ValueError(f"no message {report.external_id} ({report.sms_uuid or 'no uuid'}) found")
        if report.sequence:
            # Reports numbered by the provider: one older than the last applied changes nothing.
            trackers = trackers.filtered(lambda tracker: tracker.provider_status_sequence < report.sequence)
            if not trackers:
                return
            trackers.provider_status_sequence = report.sequence
        if state != "error" and any(
            tracker.provider_message_id and tracker.provider_message_id != report.external_id for tracker in trackers
        ):
            # Another part of a long message than its first, whose reports tell its delivery: only a
            # failed part changes the message.
            return
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

    # Quiet hours ----------------------------------------------------------

    def _quiet_hours_time_zones(self, remote_number, sender_number=None):
        """The customer's time zones: those of their number, else of our
        sender number, else the company's."""
        self.ensure_one()
        zones = recipient_time_zones(remote_number) or (recipient_time_zones(sender_number) if sender_number else [])
        return zones or [time_zone(self.company_id.partner_id.tz or "UTC") or time_zone("UTC")]

    def _quiet_hours_until(self, remote_number, sender_number=None, now=None):
        """When ``remote_number`` is in quiet hours: the (naive UTC) end of
        them, else False."""
        self.ensure_one()
        if not self.quiet_hours:
            return False
        moment = (now or fields.Datetime.now()).replace(tzinfo=datetime.UTC)
        allowed = next_allowed_time(
            moment,
            self._quiet_hours_time_zones(remote_number, sender_number),
            self.quiet_hours_start,
            self.quiet_hours_end,
        )
        return allowed.replace(tzinfo=None) if allowed > moment else False

    def _quiet_hours_notice(self, remote_number, sender_number=None, now=None):
        """What a seller is told before texting ``remote_number`` during its
        quiet hours (dict with ``message`` and ``until``), else False."""
        self.ensure_one()
        until = self._quiet_hours_until(remote_number, sender_number, now)
        if not until:
            return False
        moment = (now or fields.Datetime.now()).replace(tzinfo=datetime.UTC)
        zones = self._quiet_hours_time_zones(remote_number, sender_number)
        quiet_zone = next(
            zone for zone in zones if is_quiet(moment.astimezone(zone), self.quiet_hours_start, self.quiet_hours_end)
        )
        local = moment.astimezone(quiet_zone)
        wakes = until.replace(tzinfo=datetime.UTC).astimezone(quiet_zone)
        return {
            "message": self.env._(
                "It is %(time)s for this customer (%(zone)s), within the quiet hours from %(start)s to %(end)s. "
                "Automated texts wait until %(until)s their time.",
                time=local.strftime("%H:%M"),
                zone=quiet_zone.key,
                start=format_hour(self.quiet_hours_start),
                end=format_hour(self.quiet_hours_end),
                until=wakes.strftime("%H:%M"),
            ),
            "until": fields.Datetime.to_string(until),
            "local_until": wakes.strftime("%H:%M"),
        }

    @api.model
    def _get_sending_account(self, company):
        """The active SMS account sending ``company``'s messages (the first by
        sequence), whoever posts them; empty: Odoo's own SMS service sends."""
        return self.sudo().browse(self._get_sending_account_id(company.id))

    @api.model
    @tools.ormcache("company_id")
    def _get_sending_account_id(self, company_id):
        # Cached: every SMS posted in the database asks, most companies have no account.
        return self.sudo().search([("company_id", "=", company_id), ("active", "=", True)], limit=1).id
