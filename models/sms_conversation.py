import html
import logging
import re
import textwrap

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import format_date

from ..tools import keywords
from ..tools.compat import Constraint
from ..tools.phone import normalize_e164
from ..tools.sms_simulator import PHOTO_URL as SIMULATOR_PHOTO_URL
from .res_users import GATEWAY_XMLID

_logger = logging.getLogger(__name__)


def sms_html_to_text(body):
    """The text of an SMS message as the customer wrote or received it: line
    breaks kept, links as their URL, no footnotes (unlike html2plaintext)."""
    text = re.sub(r"<br\s*/?>", "\n", str(body), flags=re.IGNORECASE)
    text = re.sub(r"</p>\s*<p[^>]*>", "\n", text, flags=re.IGNORECASE)
    return html.unescape(re.sub(r"<[^>]+>", "", text)).strip()


# Replies by which customers opt out of (or back in to) text messages.
# Keywords an admin adds to the defaults (tools/keywords.py), one setting per kind.
KEYWORD_PARAMS = {
    keywords.OPT_OUT: "crm_sms_conversation.opt_out_keywords",
    keywords.OPT_IN: "crm_sms_conversation.opt_in_keywords",
    keywords.HELP: "crm_sms_conversation.help_keywords",
}

# Models a conversation can be linked to, in the order of routing rule 4 for
# the types they hold (see ``_routing_record_type_rank``).
CONVERSATION_MODELS = ("res.partner", "crm.lead")
# Pictures the pane shows inline; other files are links.
INLINE_IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})

ROUTING_RULES = [
    ("single", "Single candidate"),
    ("rule_1", "Rule 1: most recent conversation"),
    ("rule_2", "Rule 2: owner assigned to the number"),
    ("rule_3", "Rule 3: owner in the number's team"),
    ("rule_4", "Rule 4: record type"),
    ("rule_5", "Rule 5: active record"),
    ("rule_6", "Rule 6: most recently updated"),
    ("new_lead", "Unknown number: new lead"),
    ("manual", "Set by a user"),
]


class SmsConversation(models.Model):
    _name = "sms.conversation"
    _description = "SMS Conversation"
    _order = "last_message_date desc nulls last, id desc"
    _rec_names_search = ["remote_number", "record_name"]

    name = fields.Char(compute="_compute_name")
    number_id = fields.Many2one("sms.number", string="Our Number", required=True, ondelete="restrict", index=True)
    account_id = fields.Many2one(related="number_id.account_id", store=True)
    account_provider = fields.Selection(related="number_id.account_id.provider")
    company_id = fields.Many2one(related="number_id.company_id", store=True, index=True)
    remote_number = fields.Char("Customer Number", required=True, index=True, help="Customer's number in E.164.")
    res_model = fields.Selection(
        [("res.partner", "Contact"), ("crm.lead", "Lead/Opportunity")],
        string="Record Type",
        required=True,
    )
    res_id = fields.Many2oneReference("Record ID", model_field="res_model", required=True, index=True)
    record_name = fields.Char("Record", compute="_compute_name", search="_search_record_name")
    customer_name = fields.Char(
        "Customer", compute="_compute_name", help="The person or company texting: the contact, or the lead's customer."
    )
    user_id = fields.Many2one(
        "res.users", string="Owner", compute="_compute_owner", store=True, index=True, readonly=False
    )
    team_id = fields.Many2one("crm.team", string="Sales Team", compute="_compute_owner", store=True, readonly=False)
    last_message_date = fields.Datetime(readonly=True, index=True)
    last_message_preview = fields.Char("Last Message", readonly=True)
    unread_count = fields.Integer(
        "Unread",
        default=0,
        readonly=True,
        help="Customer messages received since a seller last opened the conversation.",
    )
    has_failure = fields.Boolean(
        "Failed Delivery", default=False, readonly=True, help="The last message sent to the customer failed."
    )
    message_ids = fields.One2many("mail.message", "sms_conversation_id", string="Messages")
    routing_rule = fields.Selection(ROUTING_RULES, readonly=True)
    routing_data = fields.Json(
        readonly=True, help="What the routing reason names, kept to word it in each reader's language."
    )
    routing_reason = fields.Char(
        compute="_compute_routing_reason", help="Why the last inbound message landed on this record."
    )
    opted_out = fields.Boolean(
        compute="_compute_consent", help="The customer's number is on the phone blacklist: nothing is sent to it."
    )
    consent_ids = fields.Many2many(
        "sms.consent", compute="_compute_consent", help="Opt-outs and opt-ins of this number."
    )

    _conversation_unique = Constraint(
        "unique(number_id, remote_number, res_model, res_id)",
        "A conversation already links this number and customer number to this record.",
    )

    @api.depends("res_model", "res_id", "remote_number")
    def _compute_name(self):
        # sudo: a conversation the user may see names its record, even one they may not open;
        # one query per model, not per conversation.
        names = {}
        for model, conversations in self.grouped("res_model").items():
            if not model:
                continue
            records = self.env[model].sudo().with_context(active_test=False).browse(conversations.mapped("res_id"))
            names.update(
                {(model, record.id): (record.display_name, record._sms_customer_name()) for record in records.exists()}
            )
        for conversation in self:
            record_name, customer_name = names.get((conversation.res_model, conversation.res_id), (False, False))
            conversation.record_name = record_name or False
            conversation.customer_name = customer_name or conversation.remote_number
            conversation.name = (
                f"{record_name} ({conversation.remote_number})" if record_name else conversation.remote_number
            )

    def _search_record_name(self, operator, value):
        """Conversations whose contact, company, lead or opportunity matches by name."""
        if operator not in ("ilike", "=", "like", "=ilike", "not ilike"):
            raise UserError(_("Unsupported search on the record name."))
        positive = operator != "not ilike"
        search_operator = operator if positive else "ilike"
        domain = []
        for model in CONVERSATION_MODELS:
            ids = self.env[model].with_context(active_test=False)._search([("display_name", search_operator, value)])
            domain = [*(["|"] if domain else []), *domain, "&", ("res_model", "=", model), ("res_id", "in", ids)]
        return domain if positive else ["!", *domain]

    @api.depends("remote_number", "company_id")
    def _compute_consent(self):
        blacklisted = self.env["phone.blacklist"]._sms_blacklisted(self.mapped("remote_number"))
        logs = self.env["sms.consent"].search([("number", "in", self.mapped("remote_number"))])
        for conversation in self:
            conversation.opted_out = conversation.remote_number in blacklisted
            conversation.consent_ids = logs.filtered(
                lambda log, c=conversation: log.number == c.remote_number and log.company_id == c.company_id
            )

    @api.depends("routing_rule", "routing_data")
    @api.depends_context("lang")
    def _compute_routing_reason(self):
        for conversation in self:
            conversation.routing_reason = conversation._routing_reason_text(
                conversation.routing_rule, conversation.routing_data or {}
            )

    @api.depends("res_model", "res_id")
    def _compute_owner(self):
        for conversation in self:
            record = conversation._get_record()
            conversation.user_id = record.user_id if record else False
            conversation.team_id = record._sms_owner_team() if record else False

    # Actions -------------------------------------------------------------

    def action_view_details(self):
        """The conversation's form (routing rule and reason, our number, its messages), in a dialog."""
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.display_name,
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "views": [(False, "form")],
            "target": "new",
        }

    def action_open_record(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": self.res_model,
            "res_id": self.res_id,
            "view_mode": "form",
        }

    # Business ------------------------------------------------------------

    def _get_record(self):
        """The linked record (archived included), or None when it is gone."""
        self.ensure_one()
        if not self.res_model or not self.res_id:
            return None
        record = self.env[self.res_model].with_context(active_test=False).browse(self.res_id).exists()
        return record or None

    @api.model
    def _get_or_create(self, number, remote_number, record):
        """The conversation of ``number`` with ``remote_number`` on ``record``.

        Idempotent and safe under concurrency: an INSERT ... ON CONFLICT
        returns the row a concurrent transaction created. When that row is
        not visible yet (it was committed after this transaction started),
        PostgreSQL raises a serialization failure and the caller's
        transaction is retried: Odoo replays the request, the event
        processing postpones the event.
        """
        domain = [
            ("number_id", "=", number.id),
            ("remote_number", "=", remote_number),
            ("res_model", "=", record._name),
            ("res_id", "=", record.id),
        ]
        conversation = self.sudo().with_context(active_test=False).search(domain, limit=1)
        if conversation:
            return conversation.with_env(self.env)
        record_sudo = record.sudo()
        owner = record_sudo.user_id if "user_id" in record_sudo._fields else self.env["res.users"]
        number_sudo = number.sudo()
        self.env.flush_all()
        self.env.cr.execute(
            """
            INSERT INTO sms_conversation (number_id, account_id, company_id, remote_number, res_model, res_id,
                                          user_id, team_id, unread_count, has_failure,
                                          create_uid, create_date, write_uid, write_date)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s, 0, false,
                    %s, now() at time zone 'UTC', %s, now() at time zone 'UTC')
            ON CONFLICT (number_id, remote_number, res_model, res_id) DO NOTHING
            RETURNING id
            """,
            (
                number_sudo.id,
                number_sudo.account_id.id,
                number_sudo.company_id.id,
                remote_number,
                record._name,
                record.id,
                owner.id or None,
                record_sudo._sms_owner_team().id or None,
                self.env.uid,
                self.env.uid,
            ),
            log_exceptions=False,
        )
        row = self.env.cr.fetchone()
        if row:
            return self.browse(row[0])
        # Created by a concurrent transaction already committed and visible.
        return self.sudo().search(domain, limit=1).with_env(self.env)

    def _touch(self, date=None, preview=None, inbound=False, outbound=False):
        """Record a new message: its date, a preview and, when it comes from
        the customer, one more unread; a new message to the customer clears
        the failure flag (it is about the last message sent)."""
        for conversation in self:
            values = {"last_message_date": date or fields.Datetime.now()}
            if preview is not None:
                values["last_message_preview"] = textwrap.shorten(preview, 120, placeholder="…") or preview[:120]
            if inbound:
                values["unread_count"] = conversation.unread_count + 1
            if outbound and conversation.has_failure:
                values["has_failure"] = False
            conversation.sudo().write(values)

    def _update_failure_flag(self):
        """Set "Failed Delivery" from the state of the last message sent to the
        customer (a late report on an older message changes nothing)."""
        if not self:
            return
        self.env["mail.message"].flush_model(["sms_conversation_id", "sms_direction"])
        self.env["mail.notification"].flush_model(["mail_message_id", "notification_type", "notification_status"])
        self.env.cr.execute(
            """
            SELECT DISTINCT ON (m.sms_conversation_id) m.sms_conversation_id, n.notification_status
              FROM mail_message m
              JOIN mail_notification n ON n.mail_message_id = m.id AND n.notification_type = 'sms'
             WHERE m.sms_conversation_id IN %s AND m.sms_direction = 'outbound'
          ORDER BY m.sms_conversation_id, m.id DESC
            """,
            (tuple(self.ids),),
        )
        failed = {conv_id for conv_id, status in self.env.cr.fetchall() if status in ("exception", "bounce")}
        for conversation in self:
            flag = conversation.id in failed
            if conversation.has_failure != flag:
                conversation.sudo().has_failure = flag

    # Routing -------------------------------------------------------------

    @api.model
    def _route_inbound(self, number, remote_number):
        """Pick the conversation an inbound message from ``remote_number`` to
        ``number`` belongs to, creating it (and a lead) when needed.

        Returns the conversation; its ``routing_rule``/``routing_reason`` say
        which rule decided.
        """
        candidates = self._routing_candidates(number, remote_number)
        if not candidates:
            record = self._routing_create_lead(number, remote_number)
            rule, data = "new_lead", {"remote": remote_number}
        elif len(candidates) == 1:
            record = candidates[0]
            rule, data = "single", {"winner": record._sms_routing_label_data(), "remote": remote_number}
        else:
            record, rule, data = self._routing_decide(candidates, number, remote_number)
        conversation = self._get_or_create(number, remote_number, record)
        if (conversation.routing_rule, conversation.routing_data) != (rule, data):
            conversation.sudo().write({"routing_rule": rule, "routing_data": data})
        return conversation

    @api.model
    def _routing_candidates(self, number, remote_number):
        """Records holding ``remote_number`` (archived included), and records
        a conversation with it was moved to, in the number's company."""
        company_ids = [False, number.company_id.id]
        records = []
        for model in CONVERSATION_MODELS:
            Model = self.env[model].with_context(active_test=False)
            records += list(
                Model.search(
                    [*Model._sms_phone_key_domain(remote_number), ("company_id", "in", company_ids)],
                    order="id",
                )
            )
        linked = self.search([("remote_number", "=", remote_number), ("company_id", "=", number.company_id.id)])
        for conversation in linked:
            record = conversation._get_record()
            if record and record not in records:
                records.append(record)
        return records

    @api.model
    def _routing_decide(self, candidates, number, remote_number):
        """Order ``candidates`` by the routing rules; return the winner, the
        rule that decided against the runner-up, and what the reason names."""
        last_dates = self._routing_last_conversation_dates(candidates, remote_number, number.company_id)
        team_users = number.team_id.member_ids | number.team_id.user_id
        keyed = sorted(
            ((self._routing_sort_key(r, number, team_users, last_dates), r) for r in candidates),
            key=lambda pair: pair[0],
        )
        (winner_key, winner), (runner_key, runner) = keyed[0], keyed[1]
        rule_index = next((i for i, (a, b) in enumerate(zip(winner_key, runner_key, strict=True)) if a != b), 5)
        rule_index = min(rule_index, 5)  # the final id tie-breaker belongs to rule 6
        data = {
            "winner": winner._sms_routing_label_data(),
            "runner": runner._sms_routing_label_data(),
            "number": number.number,
            "team": number.team_id.display_name or "",
        }
        return winner, f"rule_{rule_index + 1}", data

    @api.model
    def _routing_last_conversation_dates(self, candidates, remote_number, company):
        conversations = self.search(
            [
                ("remote_number", "=", remote_number),
                ("company_id", "=", company.id),
                ("last_message_date", "!=", False),
            ]
        )
        dates = {}
        for conversation in conversations:
            key = (conversation.res_model, conversation.res_id)
            dates[key] = max(dates.get(key, conversation.last_message_date), conversation.last_message_date)
        return dates

    @api.model
    def _routing_sort_key(self, record, number, team_users, last_dates):
        """Ascending sort key: each position is one routing rule, in order."""
        last_date = last_dates.get((record._name, record.id))
        owner = record.user_id
        return (
            -(last_date.timestamp() if last_date else 0.0),  # rule 1
            not (owner and owner in number.user_ids),  # rule 2
            not (owner and owner in team_users),  # rule 3
            record._sms_routing_type_rank(),  # rule 4
            not record._sms_routing_is_active(),  # rule 5
            -(record.write_date.timestamp() if record.write_date else 0.0),  # rule 6
            -record.id,  # final tie-breaker, reported as rule 6
        )

    @api.model
    def _routing_label(self, label_data):
        """A record named in a routing reason, in the reader's language."""
        if not label_data:
            return "-"
        labels = self.env["sms.phone.key.mixin"]._sms_type_labels()
        kind = labels.get(label_data.get("type"), "")
        return f"{kind} {label_data.get('name', '')}".strip()

    @api.model
    def _routing_reason_text(self, rule, data):
        """The routing reason, worded in the current language from ``data``."""
        if not rule:
            return False
        if data.get("legacy"):
            return data["legacy"]  # worded once, before reasons were worded on read
        texts = {
            "single": _("Only %(winner)s has %(remote)s."),
            "new_lead": _("No contact, company, lead or opportunity has %(remote)s: new lead."),
            "rule_1": _("%(winner)s has the most recent conversation with this number (before %(runner)s)."),
            "rule_2": _("%(winner)s is owned by a seller assigned to %(number)s (%(runner)s is not)."),
            "rule_3": _("%(winner)s is owned by a member of %(team)s, the team owning %(number)s (%(runner)s is not)."),
            "rule_4": _(
                "%(winner)s comes first by record type (contact, company, opportunity, lead) before %(runner)s."
            ),
            "rule_5": _("%(winner)s is active, %(runner)s is archived, won or lost."),
            "rule_6": _("%(winner)s was updated more recently than %(runner)s."),
            "manual": _("Moved by %(user)s from %(origin)s."),
        }
        if rule not in texts:
            return False
        return texts[rule] % {
            "winner": self._routing_label(data.get("winner")),
            "runner": self._routing_label(data.get("runner")),
            "origin": self._routing_label(data.get("origin")),
            "remote": data.get("remote", ""),
            "number": data.get("number", ""),
            "team": data.get("team", ""),
            "user": data.get("user", ""),
        }

    @api.model
    def _routing_create_lead(self, number, remote_number):
        lead_values = self._routing_prepare_lead_values(number, remote_number)
        return self.env["crm.lead"].with_context(mail_create_nosubscribe=True).create(lead_values)

    @api.model
    def _routing_uses_leads(self, team):
        """Whether a new lead starts as a lead: the company uses leads (the CRM
        Leads setting) and the number's team, if any, takes leads."""
        uses_leads = self.env.ref("crm.group_use_lead") in self.env.ref("base.group_user").sudo().implied_ids
        return uses_leads and (not team or team.sudo().use_leads)

    @api.model
    def _routing_prepare_lead_values(self, number, remote_number):
        seller = number.user_ids if len(number.user_ids) == 1 else self.env["res.users"]
        # Named in the language of the seller who will read it (or the company's).
        reader = seller or number.team_id.user_id
        lang = reader.lang or number.company_id.partner_id.lang or self.env.lang
        return {
            "name": self.with_context(lang=lang).env._("SMS from %s", remote_number),
            "phone": remote_number,
            "type": "lead" if self._routing_uses_leads(number.team_id) else "opportunity",
            "team_id": number.team_id.id or False,
            # Set explicitly: the default would be the current (gateway) user.
            "user_id": seller.id or False,
            "company_id": number.company_id.id,
        }

    @api.model
    def _sync_owner(self, records):
        """Follow owner and team changes of linked records."""
        conversations = self.sudo().search([("res_model", "=", records._name), ("res_id", "in", records.ids)])
        for fname in ("user_id", "team_id"):
            self.env.add_to_compute(self._fields[fname], conversations)

    # Messages ------------------------------------------------------------

    def _post_inbound(self, inbound):
        """Post the customer's message on the linked record's chatter, as a
        message (not a note): "on incoming message" automations see it."""
        self.ensure_one()
        record = self._get_record()
        body = inbound.body
        # Files counted by the provider without a URL to download them from.
        missing = inbound.num_media - len(inbound.media)
        if missing > 0:
            body = _("%(body)s\n[%(count)s attachment(s) not shown]", body=body, count=missing).strip()
        author = record._sms_routing_author(self.remote_number)
        message = record.with_context(mail_create_nosubscribe=True, mail_notify_force_send=False).message_post(
            body=body,
            message_type="sms",
            subtype_xmlid="mail.mt_comment",
            author_id=author.id or False,
            email_from=(author.email_formatted if author else False) or self.remote_number,
            partner_ids=self._get_inbound_recipients().partner_id.ids,
            sms_conversation_id=self.id,
            sms_direction="inbound",
        )
        preview = inbound.body or (_("Picture") if inbound.media else "")
        self._touch(message.date, preview=preview, inbound=True)
        return message

    def _get_inbound_recipients(self):
        """Users told of an inbound message, each once:

        - the record's owner, else the number's sellers, else its team's
          leader, else that team's members;
        - and the seller who last wrote to the customer in this conversation
          (the one waiting for the answer), or, when nobody wrote yet, the
          number's sellers.

        Only users of the conversation's company with the SMS seller right count.
        """
        self.ensure_one()
        team = self.number_id.team_id
        recipients = self.env["res.users"]
        for users in (self.user_id, self.number_id.user_ids, team.user_id, team.member_ids):
            recipients = self._filter_sms_sellers(users)
            if recipients:
                break
        writer = self._filter_sms_sellers(self._get_last_writer())
        return recipients | (writer or self._filter_sms_sellers(self.number_id.user_ids))

    def _filter_sms_sellers(self, users):
        self.ensure_one()
        return users.filtered(lambda u: u.active and u._sms_works_for(self.company_id) and u._is_sms_seller())

    def _get_last_writer(self):
        """The user who wrote the conversation's latest message to the customer."""
        self.ensure_one()
        last = (
            self.env["mail.message"]
            .sudo()
            .search(
                [
                    ("sms_conversation_id", "=", self.id),
                    ("sms_direction", "=", "outbound"),
                    # The account's automatic answers are nobody's.
                    ("author_id", "!=", self.env.ref(GATEWAY_XMLID).partner_id.id),
                ],
                order="id desc",
                limit=1,
            )
        )
        return last.author_id.user_ids.filtered(lambda u: not u.share)[:1]

    def _notify_owner_without_right(self):
        """The owner lacks the SMS seller right: tell them whom to ask, without
        the message itself, in their language."""
        self.ensure_one()
        owner = self.user_id
        if not owner or owner._is_sms_seller() or not owner.active:
            return
        managers = self.env["res.users"]._sms_managers(self.company_id)
        recipients = self._get_inbound_recipients()
        record = self._get_record()
        env = self.with_context(lang=owner.lang or self.env.lang).env
        others = env._("It was given to %s instead.", ", ".join(recipients.mapped("name"))) if recipients else ""
        record.with_env(env).message_notify(
            partner_ids=owner.partner_id.ids,
            author_id=self.env.ref("base.partner_root").id,
            subject=env._("A text message is waiting for you"),
            body=env._(
                "A customer sent a text message about %(record)s, which you own, but you lack the "
                '"SMS: seller" right to read and answer text messages. %(others)s Ask an SMS manager '
                "(%(managers)s) to grant you the right.",
                record=record.display_name,
                others=others,
                managers=", ".join(managers.mapped("name")) or env._("your administrator"),
            ),
        )

    def _get_watchers(self):
        """Sellers whose open panes and lists follow this conversation: those who may see it
        through its number, its record's owner or their teams."""
        self.ensure_one()
        number_team, record_team = self.number_id.team_id, self.team_id
        users = (
            self.user_id
            | self.number_id.user_ids
            | number_team.member_ids
            | number_team.user_id
            | record_team.member_ids
            | record_team.user_id
        )
        return users.filtered(lambda u: u.active and u._sms_works_for(self.company_id) and u._is_sms_seller())

    def _bus_send_watchers(self, notification_type, payload, users=None):
        self.ensure_one()
        for user in self._get_watchers() | (users or self.env["res.users"]):
            user.partner_id._bus_send(notification_type, payload)

    def _notify_status(self, messages):
        """Tell open panes that ``messages`` changed: their delivery state, their files."""
        for conversation in self:
            mine = messages.filtered(lambda m, c=conversation: m.sms_conversation_id == c)
            senders = mine.author_id.user_ids.filtered(lambda u: not u.share)
            conversation._bus_send_watchers(
                "crm_sms_conversation/status",
                {"conversation_id": conversation.id, "message_ids": mine.ids},
                users=senders,
            )

    def _notify_inbound(self, message):
        """Tell the recipients' open web clients, on their own bus channel."""
        self.ensure_one()
        payload = {
            "conversation_id": self.id,
            "message_id": message.id,
            "res_model": self.res_model,
            "res_id": self.res_id,
            "record_name": self.record_name or "",
            "remote_number": self.remote_number,
            "routing_rule": self.routing_rule or False,
        }
        self._bus_send_watchers("crm_sms_conversation/inbound", payload, users=self._get_inbound_recipients())

    @api.model
    def _opt_out_notice(self, remote_number, company):
        """What tells a seller that ``remote_number`` opted out, else False."""
        if not self.env["phone.blacklist"]._sms_blacklisted([remote_number]):
            return False
        last = (
            self.env["sms.consent"]
            .sudo()
            .search(
                [("number", "=", remote_number), ("action", "=", "opt_out"), ("company_id", "=", company.id)], limit=1
            )
        )
        if last.source == "keyword":
            return _(
                "%(number)s opted out of text messages (replied %(keyword)s on %(date)s): nothing can be sent to it. "
                "The customer can reply START to receive them again.",
                number=remote_number,
                keyword=last.keyword,
                date=format_date(self.env, last.date),
            )
        return _("%s is on the phone blacklist (opted out of text messages): nothing can be sent to it.", remote_number)

    @api.model
    def _consent_keyword_sets(self):
        """The consent keywords: the defaults and those added in the settings."""
        get_param = self.env["ir.config_parameter"].sudo().get_param
        return keywords.keyword_sets(
            {kind: keywords.parse_keywords(get_param(param)) for kind, param in KEYWORD_PARAMS.items()}
        )

    def _apply_consent_keywords(self, message, body):
        """An opt-out keyword alone in a reply blacklists the customer's number
        at once, an opt-in keyword lifts it; both are logged (sms.consent)."""
        self.ensure_one()
        kind, keyword = keywords.classify(body, self._consent_keyword_sets())
        Blacklist = self.env["phone.blacklist"]
        log_values = {"conversation": self, "message": message, "keyword": keyword, "source": "keyword"}
        if kind == keywords.OPT_OUT:
            already_out = self._is_blacklisted()
            Blacklist._sms_opt_out(self.remote_number, _("Opted out by replying %s.", keyword))
            self.env["sms.consent"]._record(self.remote_number, "opt_out", company=self.company_id, **log_values)
            if not already_out:
                # Confirmed once: a second STOP gets no answer.
                self._send_auto_reply("stop")
        elif kind == keywords.OPT_IN and self._is_blacklisted():
            # Only an opted-out number opts in: a "Yes" of a subscribed customer is a message.
            _lifted, refused = Blacklist._sms_opt_in(self.remote_number, _("Opted in again by replying %s.", keyword))
            self.env["sms.consent"]._record(
                self.remote_number,
                "opt_in",
                company=self.company_id,
                applied=not refused,
                note=_("Not applied: the number was blacklisted by hand.") if refused else False,
                **log_values,
            )
        elif kind == keywords.HELP and not self._is_blacklisted():
            self._send_auto_reply("help")
        return kind

    def _is_blacklisted(self):
        self.ensure_one()
        return bool(self.env["phone.blacklist"]._sms_blacklisted([self.remote_number]))

    def _send_auto_reply(self, kind):
        """The account's own answer to a STOP or HELP reply, from the number
        the customer wrote to, through the queue. Posted by the SMS Gateway:
        never a seller's message."""
        self.ensure_one()
        account = self.number_id.account_id
        body = (account.auto_reply_stop if kind == "stop" else account.auto_reply_help) or ""
        if not body.strip() or not account.active or not self.number_id.active:
            return self.env["mail.message"]
        record = self.env[self.res_model].browse(self.res_id).exists()
        if not record:
            return self.env["mail.message"]
        return record.with_context(
            sms_conversation_number_id=self.number_id.id, sms_conversation_auto_reply=kind
        )._message_sms(body, sms_numbers=[self.remote_number])

    # Pane API (called by the web client) --------------------------------

    NOTIFICATION_TO_PANE_STATE = {
        "ready": "queued",
        "process": "queued",
        "pending": "sent",
        "sent": "delivered",
        "exception": "failed",
        "bounce": "failed",
        "canceled": "failed",
    }

    @api.model
    def _pane_record_sudo(self, res_model, res_id):
        """The record the pane shows, in sudo once access is checked: one the
        user may read, or one holding a conversation the user may see (e.g. on
        their number) though it is another seller's. Read it for display only;
        what needs the user's rights goes through ``with_env(self.env)``."""
        if res_model not in CONVERSATION_MODELS:
            raise UserError(_("Text message conversations are available on contacts, leads and opportunities."))
        record = self.env[res_model].with_context(active_test=False).browse(int(res_id)).exists()
        if not record:
            raise UserError(_("This record does not exist anymore."))
        if not record.has_access("read") and not self.search_count(
            [("res_model", "=", res_model), ("res_id", "=", record.id)], limit=1
        ):
            record.check_access("read")  # raises the user's access error
        return record.sudo()

    @api.model
    def _pane_record_info(self, record):
        return {
            "model": record._name,
            "id": record.id,
            "name": record.display_name,
            "type_label": record._sms_type_label(),
        }

    @api.model
    def _pane_hidden_reason(self, record_sudo):
        """Why the pane shows a record the user may not open."""
        owner = record_sudo.user_id.name if "user_id" in record_sudo._fields else False
        return _(
            "You may not open this %(type)s: it belongs to %(owner)s. You see its text messages because they came "
            "in on a number of yours or of your team: you can read and answer them here.",
            type=record_sudo._sms_type_label().lower(),
            owner=owner or _("another team"),
        )

    @api.model
    def _pane_user_numbers(self, company):
        """Sender numbers the current user may send from."""
        return self.env["sms.number"]._get_sendable_numbers(company)

    def _pane_siblings(self):
        """The conversations the user may see with the same customer number on
        the same record, whichever of our numbers: the pane's one thread."""
        self.ensure_one()
        return self | self.search(
            [
                ("res_model", "=", self.res_model),
                ("res_id", "=", self.res_id),
                ("remote_number", "=", self.remote_number),
            ]
        )

    @api.model
    def _pane_find_conversation(self, record, remote_number):
        return self.search(
            [("res_model", "=", record._name), ("res_id", "=", record.id), ("remote_number", "=", remote_number)],
            limit=1,
        )

    @api.model
    def _pane_related_records(self, record_sudo, remote_number):
        """Records of the same customer the user may read: a contact's
        opportunities, an opportunity's contact and company."""
        related = self.env["crm.lead"]
        if record_sudo._name == "res.partner":
            related = self.env["crm.lead"].search(
                [
                    "|",
                    ("partner_id", "child_of", record_sudo.commercial_partner_id.id),
                    *self.env["crm.lead"]._sms_phone_key_domain(remote_number or "-"),
                ],
                limit=20,
            )
        elif record_sudo.partner_id:
            related = (record_sudo.partner_id | record_sudo.partner_id.parent_id).with_env(self.env)
            related = related._filtered_access("read")
        return [self._pane_record_info(r) for r in related if (r._name, r.id) != (record_sudo._name, record_sudo.id)]

    @api.model
    def get_pane_data(self, res_model, res_id, remote_number=False):
        record_sudo = self._pane_record_sudo(res_model, res_id)
        record = record_sudo.with_env(self.env)
        phones = [
            {
                "field": field,
                "label": record_sudo._fields[field].get_description(self.env)["string"],
                "number": number,
                "display": record_sudo[field],
            }
            for field, number in record_sudo._sms_phone_numbers().items()
        ]
        remote = normalize_e164(remote_number, record_sudo._sms_phone_region()) if remote_number else False
        if not remote:
            last = self.search([("res_model", "=", record._name), ("res_id", "=", record.id)], limit=1)
            remote = last.remote_number or (phones[0]["number"] if phones else False)
        company = record_sudo._sms_conversation_company()
        numbers = self._pane_user_numbers(company)
        default = self.env["sms.number"]._get_default_sender(
            remote_number=remote or None, company=company, record=record_sudo
        )
        if default not in numbers:
            default = numbers[:1]
        conversation = self._pane_find_conversation(record, remote) if remote else self.browse()
        templates = self.env["sms.template"].search([("model", "=", record._name)])
        readable = record.has_access("read")
        visible = self.search_count([("res_model", "=", record._name), ("res_id", "=", record.id)])
        hidden = self.sudo().search_count([("res_model", "=", record._name), ("res_id", "=", record.id)]) - visible
        return {
            "record": dict(
                self._pane_record_info(record_sudo),
                readable=readable,
                hidden_reason=False if readable else self._pane_hidden_reason(record_sudo),
            ),
            "hidden_conversation_count": hidden,
            "phones": phones,
            "remote_number": remote,
            "opted_out": self._opt_out_notice(remote, company) if remote else False,
            "quiet_hours": default.account_id._quiet_hours_notice(remote, default.number)
            if remote and default
            else False,
            "numbers": [{"id": n.id, "number": n.number, "label": n.display_name} for n in numbers],
            "default_number_id": default.id or False,
            "conversation": {
                "id": conversation.id,
                "unread_count": conversation.unread_count,
                "last_message_date": fields.Datetime.to_string(conversation.last_message_date),
                "routing_reason": conversation.routing_reason or "",
                "simulator": conversation.account_provider == "simulator",
            }
            if conversation
            else False,
            "related": self._pane_related_records(record_sudo, remote),
            "templates": [{"id": t.id, "name": t.name} for t in templates],
            "template_model_id": self.env["ir.model"]._get_id(record._name),
            "can_move": bool(conversation) and record.has_access("write"),
        }

    def _pane_message_values(self, messages):
        """Messages as the pane shows them: our number, the delivery state of
        outgoing ones, their retries and, for failures, what to do."""
        notifications = (
            self.env["mail.notification"]
            .sudo()
            .search([("mail_message_id", "in", messages.ids), ("notification_type", "=", "sms")])
        )
        by_message = {notification.mail_message_id.id: notification for notification in notifications}
        retrying = {
            sms.mail_message_id.id: sms
            for sms in self.env["sms.sms"]
            .sudo()
            .search(
                [
                    ("mail_message_id", "in", messages.ids),
                    ("state", "=", "outgoing"),
                    ("sms_next_attempt_date", "!=", False),
                ]
            )
        }
        downloading = {
            message.id: count
            for message, count in self.env["sms.media"]
            .sudo()
            ._read_group([("message_id", "in", messages.ids), ("state", "=", "pending")], ["message_id"], ["__count"])
        }
        values = []
        for message in messages:
            notification = by_message.get(message.id)
            direction = message.sms_direction or "outbound"
            state = (
                self.NOTIFICATION_TO_PANE_STATE.get(notification.notification_status)
                if notification and direction == "outbound"
                else False
            )
            sms = retrying.get(message.id)
            values.append(
                {
                    "id": message.id,
                    "date": fields.Datetime.to_string(message.date),
                    "body": sms_html_to_text(message.body or ""),
                    "direction": direction,
                    "author": message.author_id.name or message.email_from or "",
                    "number": message.sudo().sms_conversation_id.number_id.number or False,
                    "state": state,
                    "retry": {
                        "attempt": sms.sms_attempt_count + 1,
                        "max": sms._sms_max_attempts(),
                        "next_date": fields.Datetime.to_string(sms.sms_next_attempt_date),
                    }
                    if sms and state == "queued" and not sms.sms_quiet_hours_deferred
                    else False,
                    "quiet_hours_until": fields.Datetime.to_string(sms.sms_next_attempt_date)
                    if sms and state == "queued" and sms.sms_quiet_hours_deferred
                    else False,
                    "failure_type": notification.failure_type or False if notification else False,
                    "failure_reason": (notification.failure_reason or notification.format_failure_reason())
                    if notification and notification.notification_status in ("exception", "bounce")
                    else False,
                    "attachments": self._pane_attachment_values(message.sudo().attachment_ids),
                    "downloading": downloading.get(message.id, 0),
                }
            )
        return values

    @api.model
    def _pane_attachment_values(self, attachments):
        """Files of a message as the pane shows them: pictures inline, others as
        links, through the access token of the files the download cron attached
        (whoever sees the conversation may not read the record)."""
        return [
            {
                "id": attachment.id,
                "name": attachment.name,
                "mimetype": attachment.mimetype,
                # Browsers do not show HEIC pictures: a link.
                "is_image": attachment.mimetype in INLINE_IMAGE_TYPES,
                "access_token": attachment.access_token or False,
            }
            for attachment in attachments.sorted("id")
        ]

    @api.model
    def get_messages(self, conversation_id, before_id=False, limit=30):
        conversation = self.browse(int(conversation_id)).exists()
        if not conversation:
            raise UserError(_("This conversation does not exist anymore."))
        conversation.check_access("read")
        # The whole exchange with this customer on this record, whichever of our numbers was used.
        siblings = self.search(
            [
                ("res_model", "=", conversation.res_model),
                ("res_id", "=", conversation.res_id),
                ("remote_number", "=", conversation.remote_number),
            ]
        )
        domain = [("sms_conversation_id", "in", (siblings | conversation).ids)]
        if before_id:
            domain.append(("id", "<", int(before_id)))
        limit = max(1, min(int(limit), 200))
        messages = self.env["mail.message"].sudo().search(domain, order="id desc", limit=limit + 1)
        return {
            "messages": conversation._pane_message_values(messages[:limit].sorted("id")),
            "has_more": len(messages) > limit,
        }

    @api.model
    def send_message(self, res_model, res_id, remote_number, number_id, body, quiet_hours=False):
        """Send a seller's text from the pane. During the customer's quiet
        hours nothing is sent unless ``quiet_hours`` says what the seller
        chose: ``"now"`` (send anyway) or ``"later"`` (when they end); the
        answer then holds the ``quiet_hours`` notice to ask them."""
        record_sudo = self._pane_record_sudo(res_model, res_id)
        if not (body or "").strip():
            raise UserError(_("Write a message first."))
        remote = normalize_e164(remote_number, record_sudo._sms_phone_region())
        if not remote:
            raise UserError(
                _("%s is not a phone number: use the international format (+ country code, number).", remote_number)
            )
        number = self._pane_user_numbers(record_sudo._sms_conversation_company()).filtered(lambda n: n.id == number_id)
        if not number:
            raise UserError(_("Choose one of your numbers to send from."))
        if notice := self._opt_out_notice(remote, number.company_id):
            raise UserError(notice)
        if quiet_hours not in ("now", "later") and (
            quiet := number.account_id._quiet_hours_notice(remote, number.number)
        ):
            return {"quiet_hours": quiet}
        if not record_sudo.with_env(self.env).has_access("read"):
            # Another seller's record: only the customers of the conversations the user may see there.
            visible = self.search([("res_model", "=", record_sudo._name), ("res_id", "=", record_sudo.id)])
            if remote not in visible.mapped("remote_number"):
                raise AccessError(_("You may only answer the customers of the conversations you see on this record."))
        # sudo: a seller answers a conversation they may see on a record they may not edit;
        # the message is authored by them.
        message = record_sudo.with_context(
            sms_conversation_number_id=number.id, sms_conversation_quiet_hours_confirmed=quiet_hours == "now"
        )._message_sms(body, sms_numbers=[remote], author_id=self.env.user.partner_id.id)
        conversation = message.sms_conversation_id.with_env(self.env)
        return {"conversation_id": conversation.id, "message": conversation._pane_message_values(message)[0]}

    @api.model
    def render_template(self, template_id, res_model, res_id):
        """A template's text for the record, rendered with the user's rights:
        a record the user may not read is refused (its fields would leak)."""
        record = self._pane_record_sudo(res_model, res_id).with_env(self.env)
        record.check_access("read")
        template = self.env["sms.template"].browse(int(template_id)).exists()
        if not template or template.model != record._name:
            raise UserError(_("This template is not meant for this kind of record."))
        return template._render_field("body", record.ids, compute_lang=True)[record.id]

    @api.model
    def mark_read(self, conversation_id):
        """Mark the pane's thread read: the conversation and its siblings on our other numbers."""
        conversation = self.browse(int(conversation_id)).exists()
        if not conversation:
            return True
        conversation.check_access("read")
        for unread in conversation._pane_siblings().filtered("unread_count"):
            unread.sudo().unread_count = 0
            unread._bus_send_watchers(
                "crm_sms_conversation/status", {"conversation_id": unread.id, "message_ids": [], "read": True}
            )
        return True

    @api.model
    def search_move_targets(self, query, limit=8):
        """Contacts, companies, leads and opportunities the user may write, matching ``query``."""
        results = []
        company_ids = [False, *self.env.companies.ids]
        for model in CONVERSATION_MODELS:
            records = self.env[model].search(
                [("display_name", "ilike", query or ""), ("company_id", "in", company_ids)], limit=limit * 4
            )
            results += [self._pane_record_info(r) for r in records._filtered_access("write")[:limit]]
        return results

    @api.model
    def move_to(self, conversation_id, res_model, res_id):
        """Move the pane's thread (the conversation and its siblings) to another record."""
        conversation = self.browse(int(conversation_id)).exists()
        if not conversation:
            raise UserError(_("This conversation does not exist anymore."))
        if res_model not in CONVERSATION_MODELS:
            raise UserError(_("Text message conversations are available on contacts, leads and opportunities."))
        target = self.env[res_model].with_context(active_test=False).browse(int(res_id)).exists()
        if not target:
            raise UserError(_("This record does not exist anymore."))
        conversation.check_access("read")
        for sibling in conversation._pane_siblings():
            sibling._move_to(target)
        return {"res_model": target._name, "res_id": target.id}

    def _move_to(self, target):
        """Move the conversation and all its messages to ``target`` (a record
        of the user's environment), logged on both records. The user needs
        write access on both."""
        self.ensure_one()
        self.check_access("read")
        target.check_access("write")
        source = self._get_record()
        if source:
            source.with_env(self.env).check_access("write")
        if target.company_id and target.company_id != self.company_id:
            raise UserError(
                _(
                    "This conversation belongs to %(company)s: it cannot move to a record of %(other)s.",
                    company=self.company_id.name,
                    other=target.company_id.name,
                )
            )
        if source == target:
            return self
        conversation_sudo = self.sudo()._reassign(target, move_messages=True)
        origin = source._sms_routing_label_data() if source else None
        conversation_sudo.write(
            {"routing_rule": "manual", "routing_data": {"user": self.env.user.name, "origin": origin}}
        )
        log = _(
            "Text message conversation with %(number)s moved from %(origin)s to %(target)s by %(user)s.",
            number=conversation_sudo.remote_number,
            origin=self._routing_label(origin),
            target=target._sms_routing_label(),
            user=self.env.user.name,
        )
        for record in filter(None, (source, target)):
            record.sudo().message_post(
                body=log,
                message_type="notification",
                subtype_xmlid="mail.mt_note",
                author_id=self.env.user.partner_id.id,
            )
        return conversation_sudo.with_env(self.env)

    def _reassign(self, target, move_messages=False):
        """Link the conversation to ``target`` (no access check: callers do),
        merging it into the conversation already there with the same numbers.
        Returns the conversation now on ``target``."""
        self.ensure_one()
        existing = self.search(
            [
                ("number_id", "=", self.number_id.id),
                ("remote_number", "=", self.remote_number),
                ("res_model", "=", target._name),
                ("res_id", "=", target.id),
                ("id", "!=", self.id),
            ],
            limit=1,
        )
        messages_sudo = self.sudo().message_ids
        if move_messages:
            messages_sudo.write({"model": target._name, "res_id": target.id})
        if not existing:
            self.write({"res_model": target._name, "res_id": target.id})
            return self
        messages_sudo.write({"sms_conversation_id": existing.id})
        dates = [d for d in (existing.last_message_date, self.last_message_date) if d]
        values = {"unread_count": existing.unread_count + self.unread_count}
        if dates:
            values["last_message_date"] = max(dates)
        if self.last_message_date and (
            not existing.last_message_date or self.last_message_date > existing.last_message_date
        ):
            values["last_message_preview"] = self.last_message_preview
        existing.write(values)
        self.env["sms.sms"].sudo().search([("sms_conversation_id", "=", self.id)]).write(
            {"sms_conversation_id": existing.id}
        )
        self.env["sms.event"].sudo().search([("conversation_id", "=", self.id)]).write({"conversation_id": existing.id})
        self.unlink()
        existing._update_failure_flag()
        return existing

    @api.model
    def _merge_records(self, sources, destination):
        """Records ``sources`` are merged into ``destination`` (Odoo's merge of
        contacts or leads, which moves their messages): their conversations
        follow, so the next reply lands on the merged record."""
        conversations = self.sudo().search([("res_model", "=", sources._name), ("res_id", "in", sources.ids)])
        for conversation in conversations:
            conversation._reassign(destination)

    @api.model
    def _unlink_records(self, records):
        """Records are deleted (with their chatter): their conversations go too."""
        self.sudo().search([("res_model", "=", records._name), ("res_id", "in", records.ids)]).unlink()

    @api.model
    def simulate_inbound(self, conversation_id, body, with_picture=False):
        """A customer's reply on a Simulator conversation (demo, browser tests),
        with a picture that the download cron fetches when ``with_picture``."""
        conversation = self.browse(int(conversation_id)).exists()
        if not conversation or conversation.account_provider != "simulator":
            raise UserError(_("Replies can only be simulated on conversations of a Simulator number."))
        conversation.check_access("read")
        event = conversation.account_id.sudo()._simulate_inbound(
            conversation.number_id.number,
            conversation.remote_number,
            body,
            media=[(SIMULATOR_PHOTO_URL, "image/png")] if with_picture else None,
        )
        landed = event.sudo().conversation_id
        return {"conversation_id": landed.id, "res_model": landed.res_model, "res_id": landed.res_id}
